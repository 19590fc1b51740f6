"""The tool's own error types: every failure a user can cause ends in one of these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a migration file, at a place in the original file (1-based).

    A "warning" is worth saying but does not stop anything (e.g. a parameter Milvus accepts and ignores).
    """

    file: str
    line: int
    col: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:" if self.line <= 0 else f"{self.file}:{self.line}:{self.col}:"
        label = " warning:" if self.severity == "warning" else ""
        return f"{where}{label} {self.message}"


class MigrateError(Exception):
    """Base of every error the CLI reports as `Error: <message>` with `exit_code`."""

    exit_code: ClassVar[int] = 1

    @property
    def message(self) -> str:
        return str(self)


class SpecError(MigrateError):
    """Migration files that do not validate; `problems` holds every problem found."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None):
        self.problems = sorted(problems)
        # Warnings found alongside (shown with the problems, never counted as one).
        self.warnings = sorted(warnings or [])
        super().__init__("\n".join(str(p) for p in self.problems))


class ConnectionFailed(MigrateError):
    """Milvus could not be reached; the message names the redacted URI."""


class UnsupportedByServer(MigrateError):
    """The declared state needs something the connected Milvus cannot do."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__(
            "the connected Milvus cannot apply this declaration:\n" + "\n".join(f"  - {r}" for r in reasons)
        )


class DataLossRefused(MigrateError):
    """The plan has destructive operations and --allow-data-loss was not given; nothing ran."""

    def __init__(self, descriptions: list[str]):
        self.descriptions = descriptions
        lines = "\n".join(f"  - {d}" for d in descriptions)
        super().__init__(
            f"the plan would lose data, so nothing was changed:\n{lines}\n"
            "Re-run with --allow-data-loss to apply it."
        )


class ChecksumMismatch(MigrateError):
    """Applied migration files changed on disk after they were applied."""

    def __init__(self, changed: list[tuple[str, str, str]]):
        self.changed = changed
        lines = "\n".join(
            f"  - {name} changed after it was applied (recorded sha256 {rec[:12]}…, now {now[:12]}…)"
            for name, rec, now in changed
        )
        super().__init__(
            f"applied migration files changed:\n{lines}\nRestore them, or run 'milvus-migrate repair' to accept the new contents."
        )


class OutOfOrderMigration(MigrateError):
    """Files with versions at or below the database's version that were never applied (a merged branch)."""

    def __init__(self, files: list[tuple[str, int]], current: int):
        self.files, self.current = files, current
        lines = "\n".join(f"  - {file} (version {version})" for file, version in files)
        super().__init__(
            f"migration files below the database's version {current} were never applied:\n{lines}\n"
            f"Files apply in version order: renumber each above {current} (e.g. as version {current + 1}) and run again."
        )


class StalePlan(MigrateError):
    """A saved plan whose inputs changed since it was made; nothing ran."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        lines = "\n".join(f"  - {r}" for r in reasons)
        super().__init__(f"the plan is stale, so nothing was changed:\n{lines}\nMake a new plan with 'milvus-migrate plan --out FILE'.")


class PlanDiverged(MigrateError):
    """Milvus changed under a running `up`/`down`: a step found another state than the plan expected."""

    def __init__(self, step: str, differences: list[str]):
        self.step, self.differences = step, differences
        lines = "\n".join(f"  - {d}" for d in differences)
        super().__init__(
            f"Milvus changed while this run was applying: before {step} it is not what the plan expected "
            f"(to match the plan it would need):\n{lines}\nNothing of {step} ran; run 'milvus-migrate plan' to see the new plan."
        )


class LockHeld(MigrateError):
    """Another deployment holds the migration lock: who (user@host), its pid, since when; how long this one waited."""

    def __init__(
        self, holder: str | None, since: str | None, *, pid: int | None = None, waited: float = 0.0,
        lease: float | None = None,
    ):  # fmt: skip
        self.holder, self.since, self.pid, self.waited, self.lease = holder, since, pid, waited, lease
        who = f"{holder or '?'}, pid {pid if pid is not None else '?'}, since {since or '?'}" if holder else "holder unknown"
        crashed = (
            f"a later run takes the lock over once its {lease:g} s lease has run out; "
            if lease
            else ""
        )
        super().__init__(
            f"another deployment holds the migration lock ({who}); waited {waited:g} s. "
            f"If that run crashed, {crashed}'milvus-migrate unlock' breaks the lock at once."
        )


class LockLost(MigrateError):
    """This deployment's lease on the migration lock ran out or was broken; it stopped before its next operation."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(
            f"lost the deployment lock ({reason}); another deployment may hold it now, so nothing more was "
            "applied here. Run the same command again to continue."
        )


class HistoryError(MigrateError):
    """The history in Milvus is inconsistent with the migration files."""


class ApplyFailed(MigrateError):
    """An operation failed while applying a plan; the message lists what ran and what did not.

    `report` is the run's report up to the failure (commands.RunReport), for machine-readable output.
    """

    def __init__(self, message: str, report: object = None):
        super().__init__(message)
        self.report = report


def describe_value(value: object) -> str:
    """How a YAML value is named in messages: 'the string 'x'', 'the number 3', 'true', 'a list'."""
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "empty" if value is None else type(value).__name__


def did_you_mean(word: str, choices: object) -> str:
    """' (did you mean 'x'?)' for the closest of `choices`, or '' when none is close."""
    import difflib

    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)  # type: ignore[attr-defined]
    return f" (did you mean {close[0]!r}?)" if close else ""
