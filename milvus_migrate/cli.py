"""The milvus-migrate command line: options → one core call → rendered output → exit code."""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from milvus_migrate import __version__
from milvus_migrate.config import DEFAULT_HISTORY_COLLECTION, DEFAULT_URI, ConnectionSettings
from milvus_migrate.errors import MigrateError, SpecError

# Exit codes: 0 success, 1 error, 2 changes/pending/drift (only with --detailed-exitcode / --check).
EXIT_CHANGES = 2


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--var")
        variables[key.strip()] = value
    return variables


def file_options(command: Callable) -> Callable:
    """--dir and --var: where the migration files are and what their templates see."""
    command = click.option(
        "--var", "variables", multiple=True, metavar="KEY=VALUE", help="Template variable, seen as vars.KEY (repeatable)."
    )(command)
    command = click.option(
        "--dir", "directory", envvar="MILVUS_MIGRATE_DIR", default="migrations", show_default=True,
        type=click.Path(path_type=Path), help="Migration files directory [env MILVUS_MIGRATE_DIR].",
    )(command)  # fmt: skip
    return command


def connection_options(command: Callable) -> Callable:
    """Every option of a command that talks to Milvus."""
    options = [
        click.option("--uri", envvar="MILVUS_URI", default=DEFAULT_URI, show_default=True,
                     help="Milvus URI, or a local .db file for Milvus Lite [env MILVUS_URI]."),
        click.option("--token", envvar="MILVUS_TOKEN", default="", show_default=False,
                     help="Token or user:password [env MILVUS_TOKEN]."),
        click.option("--db-name", envvar="MILVUS_DB_NAME", default="default", show_default=True,
                     help="Database [env MILVUS_DB_NAME]."),
        click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 64),
                     help="Collections read or changed at once."),
        click.option("--timeout", default=120.0, show_default=True, type=click.FloatRange(1),
                     help="Seconds allowed for one Milvus call (index builds and loads included)."),
        click.option("--history-collection", default=DEFAULT_HISTORY_COLLECTION, show_default=True,
                     help="Collection that keeps the version history."),
        click.option("--secure/--no-secure", default=False, help="Use TLS."),
        click.option("--server-name", default=None, help="TLS server name to verify."),
        click.option("--server-pem-path", default=None, help="Server certificate (one-way TLS)."),
        click.option("--ca-pem-path", default=None, help="CA certificate (two-way TLS)."),
        click.option("--client-pem-path", default=None, help="Client certificate (two-way TLS)."),
        click.option("--client-key-path", default=None, help="Client key (two-way TLS)."),
        click.option("-v", "--verbose", count=True, help="More detail (repeatable)."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return file_options(command)


def _options(kwargs: dict[str, Any], lock_timeout: float = 60.0) -> Any:
    from pydantic import SecretStr

    from milvus_migrate.commands import Options

    settings = ConnectionSettings(
        uri=kwargs.pop("uri"),
        token=SecretStr(kwargs.pop("token") or ""),
        db_name=kwargs.pop("db_name"),
        timeout=kwargs.pop("timeout"),
        secure=kwargs.pop("secure"),
        server_name=kwargs.pop("server_name"),
        server_pem_path=kwargs.pop("server_pem_path"),
        ca_pem_path=kwargs.pop("ca_pem_path"),
        client_pem_path=kwargs.pop("client_pem_path"),
        client_key_path=kwargs.pop("client_key_path"),
    )
    return Options(
        settings=settings,
        directory=kwargs.pop("directory"),
        variables=_parse_vars(kwargs.pop("variables")),
        history_collection=kwargs.pop("history_collection"),
        concurrency=kwargs.pop("concurrency"),
        lock_timeout=lock_timeout,
    )


def handle_errors(command: Callable) -> Callable:
    """Turn MigrateError into 'Error: …' on stderr and its exit code; never show a raw traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        secrets = _secrets_from(kwargs)
        verbose = kwargs.get("verbose", 0)
        try:
            return command(*args, **kwargs)
        except SpecError as exc:
            for problem in exc.problems:
                click.echo(_scrub(str(problem), secrets), err=True)
            click.echo(f"Error: {len(exc.problems)} problem(s) in migration files; nothing was changed.", err=True)
            sys.exit(exc.exit_code)
        except MigrateError as exc:
            click.echo(f"Error: {_scrub(exc.message, secrets)}", err=True)
            sys.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("Error: interrupted; the deployment lock was released; run the same command again to continue", err=True)
            sys.exit(1)
        except Exception as exc:  # a server refusal or a bug: one line, secrets scrubbed
            if verbose >= 2:
                click.echo(_scrub(traceback.format_exc(), secrets), err=True)
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            if _unreachable(exc):
                # The server went away mid-command (crashed, restarting, network): it refused nothing.
                click.echo(f"Error: lost the connection to Milvus: {_scrub(str(message), secrets)}", err=True)
            elif any(cls.__name__ in ("MilvusException", "RpcError") for cls in type(exc).__mro__):
                click.echo(f"Error: Milvus refused a call: {_scrub(str(message), secrets)}", err=True)
            else:
                click.echo(f"Error: unexpected {type(exc).__name__}: {_scrub(str(message), secrets)}", err=True)
            sys.exit(1)

    return wrapper


def _unreachable(exc: BaseException) -> bool:
    from milvus_migrate.connection import is_unreachable

    return is_unreachable(exc)


def _secrets_from(kwargs: dict[str, Any]) -> list[str]:
    from urllib.parse import urlsplit

    found = []
    token = kwargs.get("token") or ""
    if token:
        found.append(token)
        found.extend(token.split(":", 1)[1:])
    try:
        parts = urlsplit(kwargs.get("uri") or "")
        if parts.password:
            found.append(parts.password)
    except ValueError:
        pass
    return [s for s in found if s]


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _run_async(coroutine: Any) -> Any:
    """asyncio.run, where SIGTERM (what Kubernetes and systemd send) cancels like Ctrl-C does.

    Cancelling unwinds the command's `async with` blocks, so the deployment lock is released.
    """
    import signal

    async def main() -> Any:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)  # type: ignore[union-attr]
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            pass
        return await coroutine

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None


def _colour() -> bool:
    return sys.stdout.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="milvus-migrate")
def main() -> None:
    """Versioned, declarative schema migrations for Milvus.

    Migration files (migrations/NNNN_slug.yaml) declare collections; `plan` shows what would change,
    `up`/`down` apply it and record the version in Milvus itself.
    """


@main.command()
@file_options
@handle_errors
def validate(directory: Path, variables: tuple[str, ...]) -> None:
    """Check every migration file offline (no Milvus needed)."""
    from milvus_migrate.commands import Options, load

    migration_set = load(Options(directory=directory, variables=_parse_vars(variables)))
    count = len(migration_set.migrations)
    click.echo(f"{count} migration file{'s' if count != 1 else ''} valid (latest version {migration_set.latest_version}).")


@main.command()
def schema() -> None:
    """Print the JSON Schema of migration files (for editors)."""
    from milvus_migrate.spec import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@main.command()
@click.argument("message")
@click.option("--collection", "collections", multiple=True, help="Pre-fill this collection's latest declaration (repeatable).")
@file_options
@handle_errors
def new(message: str, collections: tuple[str, ...], directory: Path, variables: tuple[str, ...]) -> None:
    """Write the next migration file, e.g. `new "add title index" --collection docs`."""
    from milvus_migrate.scaffold import write_next

    path = write_next(directory, message, list(collections), _parse_vars(variables))
    click.echo(f"Created {path}")


@main.command()
@click.option("--to", "to", type=int, default=None, help="Target version (default: latest, or one below with --down).")
@click.option("--down", is_flag=True, help="Plan a step down instead of up.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes.")
@connection_options
@handle_errors
def plan(to: int | None, down: bool, fmt: str, detailed_exitcode: bool, **kwargs: Any) -> None:
    """Show what `up` (or `down`) would change, changing nothing."""
    from milvus_migrate import render
    from milvus_migrate.commands import make_plan

    options = _options(kwargs)
    result = _run_async(make_plan(options, to=to, down=down))
    click.echo(render.render_plan(result, fmt, colour=_colour() and fmt == "text"), nl=False)
    if detailed_exitcode and not result.is_empty:
        sys.exit(EXIT_CHANGES)


def _run_options(command: Callable) -> Callable:
    command = click.option("--allow-data-loss", is_flag=True, help="Allow destructive operations (drops, recreates).")(command)
    command = click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")(command)
    command = click.option("--lock-timeout", default=60.0, show_default=True, type=click.FloatRange(0),
                           help="Seconds to wait for another deployment's lock.")(command)  # fmt: skip
    return command


@main.command()
@click.option("--to", "to", type=int, default=None, help="Stop at this version (default: latest).")
@_run_options
@connection_options
@handle_errors
def up(to: int | None, dry_run: bool, allow_data_loss: bool, lock_timeout: float, **kwargs: Any) -> None:
    """Apply pending versions up to the latest (or --to)."""
    _run("up", kwargs, lock_timeout, to=to, steps=None, dry_run=dry_run, allow_data_loss=allow_data_loss)


@main.command()
@click.option("--to", "to", type=int, default=None, help="Go back to this version (0: nothing).")
@click.option("--steps", type=click.IntRange(1), default=None, help="Go back this many versions (default 1).")
@_run_options
@connection_options
@handle_errors
def down(to: int | None, steps: int | None, dry_run: bool, allow_data_loss: bool, lock_timeout: float, **kwargs: Any) -> None:
    """Go back one version (or --steps N, or --to VERSION)."""
    if to is not None and steps is not None:
        raise click.UsageError("use --to or --steps, not both")
    _run("down", kwargs, lock_timeout, to=to, steps=steps, dry_run=dry_run, allow_data_loss=allow_data_loss)


def _run(direction: str, kwargs: dict[str, Any], lock_timeout: float, **run_kwargs: Any) -> None:
    from milvus_migrate import render
    from milvus_migrate.commands import run

    verbose = kwargs.get("verbose", 0)
    options = _options(kwargs, lock_timeout)
    progress = _Progress(verbose, live=sys.stderr.isatty())

    def step_done(step: Any) -> None:
        # Printed as each version is recorded: when a later version fails, the earlier ones were shown.
        with progress.lock:
            progress.clear()
            for warning in step.plan.warnings:
                click.echo(f"note: {warning}", err=True)
            verb = {"up": "applied", "down": "reverted", "reconcile": "re-applied (drift repaired)"}[step.direction]
            changes = len(step.plan.ops)
            click.echo(f"{verb} {step.name} ({changes} operation{'s' if changes != 1 else ''}, {step.seconds:.1f} s)")

    try:
        report = _run_async(run(options, direction=direction, on_event=progress, on_step=step_done, **run_kwargs))
    finally:
        progress.close()
    if report.dry_run_plan is not None:
        click.echo(render.render_plan(report.dry_run_plan, "text", colour=_colour()), nl=False)
        click.echo("Dry run: nothing was changed.")
        return
    for name in report.recovered:
        click.echo(f"finished the switch of {name} that an interrupted run left half done (its copy was complete)")
    if not report.steps:
        click.echo(f"Nothing to do: the database is at version {report.from_version}.")
        return
    click.echo(f"The database is now at version {report.steps[-1].plan.to_version}.")


class _Progress:
    """Prints each finished operation; on a TTY also keeps one live line naming what is still running."""

    def __init__(self, verbose: int, live: bool):
        import threading

        self.verbose, self.live = verbose, live
        self.running: dict[int, tuple[str, float]] = {}
        self.tenths: dict[int, int] = {}  # copy operation -> tenths of its rows already reported
        self.lock = threading.Lock()
        self.done = threading.Event()
        if live:
            threading.Thread(target=self._tick, daemon=True).start()

    def __call__(self, event: Any) -> None:
        import time

        with self.lock:
            self.clear()
            if event.kind == "start":
                self.running[id(event.op)] = (event.op.describe(), time.monotonic())
                if self.verbose:
                    click.echo(f"  … {event.op.describe()}", err=True)
                return
            if event.kind == "progress":
                self._rows(event)
                return
            self.running.pop(id(event.op), None)
            if event.kind == "done":
                click.echo(f"  {event.op.category.value} {event.op.describe()} ({event.seconds:.1f} s)", err=True)
            elif event.kind == "failed":
                click.echo(f"  ! {event.op.describe()} failed: {event.message}", err=True)

    def _rows(self, event: Any) -> None:
        """A copy's progress: on the live line on a TTY, else one line per 10 %."""
        done, total = event.done, event.total
        text = f"{event.op.describe()}: {done:,}" + (f"/{total:,} rows" if total else " rows")
        if self.live:
            since = self.running.get(id(event.op), ("", 0.0))[1]
            self.running[id(event.op)] = (text, since)
        elif total:
            tenth = min(done * 10 // total, 10)
            if tenth > self.tenths.get(id(event.op), 0):
                self.tenths[id(event.op)] = tenth
                click.echo(f"  … {text} ({tenth * 10} %)", err=True)

    def _tick(self) -> None:
        import time

        while not self.done.wait(1.0):
            with self.lock:
                if self.running:
                    text, since = min(self.running.values(), key=lambda item: item[1])
                    more = f" (+{len(self.running) - 1} more)" if len(self.running) > 1 else ""
                    line = f"  … {text}{more}: {time.monotonic() - since:.0f} s"
                    click.echo(f"\r\x1b[K{line[:200]}", nl=False, err=True)

    def clear(self) -> None:
        if self.live:
            click.echo("\r\x1b[K", nl=False, err=True)

    def close(self) -> None:
        self.done.set()
        with self.lock:
            self.clear()


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--check", is_flag=True, help="Exit 2 when anything is pending, drifted or changed.")
@connection_options
@handle_errors
def status(fmt: str, check: bool, **kwargs: Any) -> None:
    """Current and latest version, pending versions, drift, changed files, unmanaged collections."""
    from milvus_migrate import render
    from milvus_migrate.commands import status as read_status

    options = _options(kwargs)
    report = _run_async(read_status(options))
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render.render_template("status.txt.j2", report, colour=_colour()), nl=False)
    if check and (report["pending"] or report["drift"] or report["changed_files"] or report["problems"]):
        sys.exit(EXIT_CHANGES)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@connection_options
@handle_errors
def history(fmt: str, **kwargs: Any) -> None:
    """The applied steps recorded in Milvus, oldest first."""
    from milvus_migrate import render
    from milvus_migrate.commands import read_history

    options = _options(kwargs)
    records = _run_async(read_history(options))
    if fmt == "json":
        click.echo(json.dumps([r.to_json() for r in records], indent=2))
    else:
        click.echo(render.render_template("history.txt.j2", {"records": [r.to_json() for r in records]}), nl=False)


@main.command()
@click.argument("version", type=int)
@click.option("--lock-timeout", default=60.0, show_default=True, type=click.FloatRange(0))
@connection_options
@handle_errors
def stamp(version: int, lock_timeout: float, **kwargs: Any) -> None:
    """Record VERSION as applied without changing anything (adopt an existing deployment)."""
    from milvus_migrate.commands import stamp as record_stamp

    _run_async(record_stamp(_options(kwargs, lock_timeout), version))
    click.echo(f"Stamped: the database is now recorded at version {version}.")


@main.command()
@click.option("--lock-timeout", default=60.0, show_default=True, type=click.FloatRange(0))
@connection_options
@handle_errors
def repair(lock_timeout: float, **kwargs: Any) -> None:
    """Accept changed contents of applied migration files by recording their new checksums."""
    from milvus_migrate.commands import repair as record_repair

    records = _run_async(record_repair(_options(kwargs, lock_timeout)))
    if not records:
        click.echo("Nothing to repair: every applied file matches its recorded checksum.")
    for r in records:
        click.echo(f"Recorded new checksum of {r.name}: {r.checksum[:12]}…")


@main.command()
@click.option("--dry-run", is_flag=True, help="List what would be dropped; drop nothing.")
@click.option("--lock-timeout", default=60.0, show_default=True, type=click.FloatRange(0))
@connection_options
@handle_errors
def prune(dry_run: bool, lock_timeout: float, **kwargs: Any) -> None:
    """Drop the backups that copies kept of managed collections (<name>__mm_backup_v<N>)."""
    from milvus_migrate.commands import prune as drop_backups

    dropped = _run_async(drop_backups(_options(kwargs, lock_timeout), dry_run=dry_run))
    verb = "Would drop" if dry_run else "Dropped"
    click.echo(f"{verb}: {', '.join(dropped)}." if dropped else "Nothing to prune.")


@main.command()
@connection_options
@handle_errors
def unlock(**kwargs: Any) -> None:
    """Break the deployment lock left by a crashed run."""
    from milvus_migrate.commands import unlock as break_lock

    holder = _run_async(break_lock(_options(kwargs)))
    click.echo(f"Lock broken (it was held by {holder})." if holder else "No lock was held; left-over lock markers removed.")
