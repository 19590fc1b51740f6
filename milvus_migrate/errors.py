"""The tool's own error types: every failure a user can cause ends in one of these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a migration file, at a place in the original file (1-based)."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class MigrateError(Exception):
    """Base of every error the CLI reports as `Error: <message>` with `exit_code`."""

    exit_code: ClassVar[int] = 1

    @property
    def message(self) -> str:
        return str(self)


class SpecError(MigrateError):
    """Migration files that do not validate; `problems` holds every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConnectionFailed(MigrateError):
    """Milvus could not be reached; the message names the redacted URI."""


class MilvusCallFailed(MigrateError):
    """A Milvus call failed; `operation` names what was attempted."""


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
    """An operation failed while applying a plan; the message lists what ran and what did not."""


def did_you_mean(word: str, choices: object) -> str:
    """' (did you mean 'x'?)' for the closest of `choices`, or '' when none is close."""
    import difflib

    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)  # type: ignore[attr-defined]
    return f" (did you mean {close[0]!r}?)" if close else ""
