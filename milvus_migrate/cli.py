"""The milvus-migrate command line: options → one core call → rendered output → exit code."""

from __future__ import annotations

import asyncio
import functools
import io
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from milvus_migrate import __version__
from milvus_migrate.config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_HISTORY_COLLECTION,
    DEFAULT_URI,
    ConnectionSettings,
    redact,
    secrets_of,
)
from milvus_migrate.errors import ApplyFailed, MigrateError, SpecError

# Exit codes: 0 success, 1 error (a usage error included), 2 changes/pending/drift (only with
# --detailed-exitcode / --check). click exits 2 on usage errors, which CI would read as "changes".
EXIT_CHANGES = 2
EXIT_USAGE = 1


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--var")
        variables[key.strip()] = value
    return variables


# Options every command that reads migration files takes, then those of commands that talk to Milvus:
# (declarations, settings). Each reads an environment variable; the group takes them too (before the
# command: `milvus-migrate --uri … plan`), there without environment variables or defaults.
_FILE_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--dir", "directory"), dict(envvar="MILVUS_MIGRATE_DIR", default="migrations", show_default=True,
                                  type=click.Path(path_type=Path), help="Migration files directory.")),
    (("--var", "variables"), dict(envvar="MILVUS_MIGRATE_VAR", multiple=True, metavar="KEY=VALUE",
                                  help="Template variable, seen as vars.KEY (repeatable; the variable: space-separated).")),
]  # fmt: skip
_CONNECTION_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--uri",), dict(envvar="MILVUS_URI", default=DEFAULT_URI, show_default=True,
                      help="Milvus URI, or a local .db file for Milvus Lite.")),
    (("--token",), dict(envvar="MILVUS_TOKEN", default="", help="Token or user:password.")),
    (("--db-name",), dict(envvar="MILVUS_DB_NAME", default="default", show_default=True, help="Database.")),
    (("--concurrency",), dict(envvar="MILVUS_MIGRATE_CONCURRENCY", default=DEFAULT_CONCURRENCY, show_default=True, type=click.IntRange(1, 64),
                              help="Collections read or changed at once.")),
    (("--timeout",), dict(envvar="MILVUS_MIGRATE_TIMEOUT", default=120.0, show_default=True, type=click.FloatRange(1),
                          help="Seconds allowed for one Milvus call (index builds and loads included).")),
    (("--history-collection",), dict(envvar="MILVUS_MIGRATE_HISTORY_COLLECTION", default=DEFAULT_HISTORY_COLLECTION,
                                     show_default=True, help="Collection that keeps the version history.")),
    (("--secure/--no-secure",), dict(envvar="MILVUS_MIGRATE_SECURE", default=False, help="Use TLS.")),
    (("--server-name",), dict(envvar="MILVUS_MIGRATE_SERVER_NAME", default=None, help="TLS server name to verify.")),
    (("--server-pem-path",), dict(envvar="MILVUS_MIGRATE_SERVER_PEM_PATH", default=None, help="Server certificate (one-way TLS).")),
    (("--ca-pem-path",), dict(envvar="MILVUS_MIGRATE_CA_PEM_PATH", default=None, help="CA certificate (two-way TLS).")),
    (("--client-pem-path",), dict(envvar="MILVUS_MIGRATE_CLIENT_PEM_PATH", default=None, help="Client certificate (two-way TLS).")),
    (("--client-key-path",), dict(envvar="MILVUS_MIGRATE_CLIENT_KEY_PATH", default=None, help="Client key (two-way TLS).")),
    (("-v", "--verbose"), dict(envvar="MILVUS_MIGRATE_VERBOSE", count=True, help="More detail (repeatable).")),
]  # fmt: skip
_GROUP_LEVEL = {"directory", "variables", "uri", "token", "db_name", "concurrency", "timeout", "history_collection",
                "secure", "server_name", "server_pem_path", "ca_pem_path", "client_pem_path", "client_key_path"}  # fmt: skip


def _apply(command: Callable, table: list[tuple[tuple[str, ...], dict[str, Any]]]) -> Callable:
    for decls, settings in reversed(table):
        command = click.option(*decls, show_envvar=True, **settings)(command)
    return command


def file_options(command: Callable) -> Callable:
    """--dir and --var: where the migration files are and what their templates see."""
    return _apply(command, _FILE_OPTIONS)


def connection_options(command: Callable) -> Callable:
    """Every option of a command that talks to Milvus."""
    return file_options(_apply(command, _CONNECTION_OPTIONS))


def _group_options(command: Callable) -> Callable:
    """The shared options on the group itself, for `milvus-migrate --env prod --uri … COMMAND`."""
    keep = ("type", "multiple", "metavar", "help")
    for decls, settings in reversed(_FILE_OPTIONS + _CONNECTION_OPTIONS):
        if decls[0] == "-v":
            continue  # verbosity stays with the command
        group_settings = {k: v for k, v in settings.items() if k in keep}
        # No default and no environment variable here: None means "not given before the command".
        command = click.option(*decls, default=None, allow_from_autoenv=False, **group_settings)(command)
    return command


@dataclass
class _Invocation:
    """What the group resolved before the command runs: the configuration file's values and group-level flags."""

    file_values: dict[str, Any]
    group_flags: dict[str, Any]
    environment: str | None
    config_path: Path | None

    def target_suffix(self) -> str:
        from milvus_migrate.configfile import shown

        if self.environment:
            return f" (environment {self.environment} of {shown(self.config_path)})"  # type: ignore[arg-type]
        return f" (settings from {shown(self.config_path)})" if self.config_path and self.file_values else ""


def _resolved(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The command's option values with group-level flags applied where the command's own flags are absent.

    Precedence: the command's flag > a flag before the command > environment variable > configuration
    file (environment table, then top-level) > default. click already orders flag > variable > file
    (the file's values are its default_map); a group-level flag outranks all but the command's own flag.
    """
    ctx = click.get_current_context()
    invocation = ctx.find_object(_Invocation)
    values = dict(kwargs)
    if invocation is None:
        return values
    from click.core import ParameterSource

    for key, value in invocation.group_flags.items():
        if key in values and key != "variables" and ctx.get_parameter_source(key) is not ParameterSource.COMMANDLINE:
            values[key] = value
    if "variables" in values:
        merged = {**invocation.file_values.get("variables", {}), **_parse_vars(tuple(invocation.group_flags.get("variables", ())))}
        values["variables"] = tuple(f"{k}={v}" for k, v in merged.items()) + tuple(values["variables"])
    return values


def _options(kwargs: dict[str, Any], lock_timeout: float = 60.0) -> Any:
    from pydantic import SecretStr

    from milvus_migrate.commands import Options

    kwargs.update(_resolved(kwargs))
    invocation = click.get_current_context().find_object(_Invocation)
    suffix = invocation.target_suffix() if invocation else ""
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
        directory=Path(kwargs.pop("directory")),
        variables=_parse_vars(kwargs.pop("variables")),
        history_collection=kwargs.pop("history_collection"),
        concurrency=kwargs.pop("concurrency"),
        lock_timeout=lock_timeout,
        # Said on stderr, so `--format json` output stays pure JSON on stdout.
        on_connect=lambda target: click.echo(f"Target: {target}{suffix}", err=True),
    )


def handle_errors(command: Callable) -> Callable:
    """Turn MigrateError into 'Error: …' on stderr and its exit code; never show a raw traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        effective = _resolved(kwargs) if click.get_current_context(silent=True) else kwargs
        secrets = secrets_of(effective.get("uri") or "", effective.get("token") or "")
        verbose = kwargs.get("verbose", 0)
        try:
            return command(*args, **kwargs)
        except SpecError as exc:
            for problem in sorted([*exc.problems, *exc.warnings]):
                click.echo(redact(str(problem), secrets), err=True)
            click.echo(f"Error: {len(exc.problems)} problem(s) in migration files; nothing was changed.", err=True)
            sys.exit(exc.exit_code)
        except MigrateError as exc:
            click.echo(f"Error: {redact(exc.message, secrets)}", err=True)
            sys.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, BrokenPipeError):
            raise
        except KeyboardInterrupt:
            click.echo("Error: interrupted; the deployment lock was released; run the same command again to continue", err=True)
            sys.exit(1)
        except Exception as exc:  # a server refusal or a bug: one line, secrets scrubbed
            if verbose >= 2:
                click.echo(redact(traceback.format_exc(), secrets), err=True)
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            if _unreachable(exc):
                # The server went away mid-command (crashed, restarting, network): it refused nothing.
                click.echo(f"Error: lost the connection to Milvus: {redact(str(message), secrets)}", err=True)
            elif any(cls.__name__ in ("MilvusException", "RpcError") for cls in type(exc).__mro__):
                click.echo(f"Error: Milvus refused a call: {redact(str(message), secrets)}", err=True)
            else:
                click.echo(f"Error: unexpected {type(exc).__name__}: {redact(str(message), secrets)}", err=True)
            sys.exit(1)

    return wrapper


def _unreachable(exc: BaseException) -> bool:
    from milvus_migrate.milvus.retry import is_unreachable

    return is_unreachable(exc)


def _run_async(coroutine: Any) -> Any:
    """asyncio.run, where SIGTERM (what Kubernetes and systemd send) cancels like Ctrl-C does.

    Cancelling unwinds the command's `async with` blocks, so the deployment lock is released.
    """
    import logging
    import signal

    from milvus_migrate.milvus.connection import import_pymilvus

    import_pymilvus()  # pymilvus configures its loggers when imported: quiet them after that
    # pymilvus and Milvus Lite log failures with tracebacks at ERROR; the CLI reports failures itself.
    # Only the CLI does this: the Python API leaves an application's logging as it is.
    for noisy in ("pymilvus", "milvus_lite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)

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


class _QuietStream(io.TextIOWrapper):
    """stdout/stderr that survive their reader going away (`| head`) and characters the terminal cannot encode.

    Once the reader is gone the rest of the output is dropped and the command carries on: an `up` piped
    into `head` still finishes its versions and releases its lock, and exits with its own code.
    """

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except BrokenPipeError:
            self._drop_output()
            return len(text)

    def flush(self) -> None:
        try:
            super().flush()
        except BrokenPipeError:
            self._drop_output()

    def _drop_output(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.fileno())
        os.close(devnull)
        super().flush()  # what was still buffered goes to /dev/null


def _quiet_std_streams() -> None:
    """Replace the process's own stdout/stderr by _QuietStreams (not a CliRunner's or pytest's capture)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if type(stream) is not io.TextIOWrapper:
            continue
        try:
            stream.flush()
        except BrokenPipeError:
            pass
        quiet = _QuietStream(
            stream.buffer, encoding=stream.encoding, errors="backslashreplace", line_buffering=stream.line_buffering,
            write_through=True,
        )  # fmt: skip
        setattr(sys, name, quiet)


class _Cli(click.Group):
    """The command group: quiet standard streams, and usage errors that exit EXIT_USAGE instead of click's 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _quiet_std_streams()
        return super().main(*args, **kwargs)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            exc.exit_code = EXIT_USAGE
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)  # parses the subcommand's options, then runs it
        except click.UsageError as exc:
            exc.exit_code = EXIT_USAGE
            raise


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "MILVUS_MIGRATE"})
@click.version_option(__version__, prog_name="milvus-migrate")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="MILVUS_MIGRATE_CONFIG",
              show_envvar=True, help="Configuration file [default: milvus-migrate.toml, else [tool.milvus-migrate] in pyproject.toml].")
@click.option("--env", "environment", envvar="MILVUS_MIGRATE_ENV", show_envvar=True,
              help="Use this environment of the configuration file ([environments.NAME]).")
@_group_options
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, environment: str | None, **given: Any) -> None:
    """Versioned, declarative schema migrations for Milvus.

    Migration files (migrations/NNNN_slug.yaml) declare collections; `plan` shows what would change,
    `up`/`down` apply it and record the version in Milvus itself. Settings come from flags (before or
    after the command), environment variables, then milvus-migrate.toml (--env NAME), then defaults.
    """
    from milvus_migrate import configfile

    try:
        path = config_path or configfile.find()
        values = configfile.resolve(configfile.load(path) if path else None, environment)
    except MigrateError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    flags = {key: value for key, value in given.items() if value is not None and value != ()}
    ctx.obj = _Invocation(file_values=values, group_flags=flags, environment=environment, config_path=path)
    # The file's values are each command's default_map: click ranks them below flags and environment variables.
    ctx.default_map = {
        name: {key: value for key, value in values.items() if key != "variables" and key in {p.name for p in command.params}}
        for name, command in main.commands.items()
    }


@main.command(short_help="Check the migration files offline.")
@file_options
@handle_errors
def validate(directory: Path, variables: tuple[str, ...]) -> None:
    """Check every migration file offline (no Milvus needed)."""
    from milvus_migrate.commands import Options, load

    values = _resolved({"directory": directory, "variables": variables})
    migration_set = load(Options(directory=Path(values["directory"]), variables=_parse_vars(values["variables"])))
    for warning in migration_set.warnings:
        click.echo(str(warning), err=True)
    count = len(migration_set.migrations)
    click.echo(f"{count} migration file{'s' if count != 1 else ''} valid (latest version {migration_set.latest_version}).")


@main.command(short_help="Print the JSON Schema of migration files.")
def schema() -> None:
    """Print the JSON Schema of migration files (for editors)."""
    from milvus_migrate.files.spec import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@main.command(short_help="Write the next migration file.")
@click.argument("message")
@click.option("--collection", "collections", multiple=True, help="Pre-fill this collection's latest declaration (repeatable).")
@file_options
@handle_errors
def new(message: str, collections: tuple[str, ...], directory: Path, variables: tuple[str, ...]) -> None:
    """Write the next migration file, e.g. `new "add title index" --collection docs`."""
    from milvus_migrate.files.scaffold import write_next

    values = _resolved({"directory": directory, "variables": variables})
    path = write_next(Path(values["directory"]), message, list(collections), _parse_vars(values["variables"]))
    click.echo(f"Created {path}")


@main.command(short_help="Show what up (or down) would do, step by step.")
@click.option("--to", "to", type=int, default=None, help="Target version (default: latest; below the current one plans a down).")
@click.option("--down", is_flag=True, help="Plan a step down instead of up.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True,
              help="Output: text for people, markdown for pull-request comments, json for machines.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the plan to FILE, for 'up --plan FILE' / 'down --plan FILE'.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when up/down would change or record anything.")
@connection_options
@handle_errors
def plan(to: int | None, down: bool, fmt: str, out: Path | None, detailed_exitcode: bool, **kwargs: Any) -> None:
    """Show what `up` (or `down`) would do, step by step; change nothing."""
    from milvus_migrate import render
    from milvus_migrate.commands import make_plan

    options = _options(kwargs)
    planned = _run_async(make_plan(options, to=to, down=down))
    if out is not None:
        try:
            out.write_text(json.dumps(planned.to_saved(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise MigrateError(f"cannot write the plan file {out}: {exc.strerror or exc}") from None
    click.echo(render.render_plan(planned.run, fmt, colour=_colour() and fmt == "text"), nl=False)
    if out is not None:
        click.echo(f"Saved the plan to {out}; apply exactly it with 'milvus-migrate {planned.run.direction.value} --plan {out}'.", err=True)
    if detailed_exitcode and not planned.run.is_empty:
        sys.exit(EXIT_CHANGES)


def _run_options(command: Callable) -> Callable:
    command = click.option("--allow-data-loss", is_flag=True, help="Allow destructive operations (drops, recreates).")(command)
    command = click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")(command)
    command = _lock_timeout_option(command)
    command = click.option("--plan", "plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                           help="Apply exactly this saved plan (from 'plan --out'), or refuse if it is stale.")(command)  # fmt: skip
    command = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
                           help="Output: text, or json (what ran, what failed, what did not run).")(command)  # fmt: skip
    command = click.option("--events", type=click.Path(dir_okay=False, path_type=Path), default=None,
                           help="Append every operation's start, progress, end and each recorded version to FILE "
                                "as JSON lines, as they happen (for dashboards and tests).")(command)  # fmt: skip
    return command


def _lock_timeout_option(command: Callable) -> Callable:
    return click.option("--lock-timeout", default=60.0, show_default=True, type=click.FloatRange(0),
                        help="Seconds to wait for another deployment's lock.")(command)  # fmt: skip


@main.command(short_help="Apply pending versions.")
@click.option("--to", "to", type=int, default=None, help="Stop at this version (default: latest).")
@_run_options
@connection_options
@handle_errors
def up(to: int | None, **kwargs: Any) -> None:
    """Apply pending versions up to the latest (or --to)."""
    _run("up", kwargs, to=to, steps=None)


@main.command(short_help="Go back one or more versions.")
@click.option("--to", "to", type=int, default=None, help="Go back to this version (0: nothing).")
@click.option("--steps", type=click.IntRange(1), default=None, help="Go back this many versions (default 1).")
@_run_options
@connection_options
@handle_errors
def down(to: int | None, steps: int | None, **kwargs: Any) -> None:
    """Go back one version (or --steps N, or --to VERSION)."""
    if to is not None and steps is not None:
        raise click.UsageError("use --to or --steps, not both")
    _run("down", kwargs, to=to, steps=steps)


def _run(direction: str, kwargs: dict[str, Any], **run_kwargs: Any) -> None:
    from milvus_migrate import render
    from milvus_migrate.commands import read_saved_plan, run
    from milvus_migrate.planning.ops import Direction

    fmt, plan_file, dry_run, events_path = kwargs.pop("fmt"), kwargs.pop("plan_file"), kwargs.pop("dry_run"), kwargs.pop("events")
    allow_data_loss, lock_timeout = kwargs.pop("allow_data_loss"), kwargs.pop("lock_timeout")
    if plan_file is not None and (run_kwargs["to"] is not None or run_kwargs.get("steps") is not None):
        raise click.UsageError("--plan runs the saved plan's steps: leave out --to and --steps")
    verbose = kwargs.get("verbose", 0)
    options = _options(kwargs, lock_timeout)
    saved = read_saved_plan(plan_file) if plan_file is not None else None
    try:
        events = events_path.open("a", encoding="utf-8") if events_path is not None else None
    except OSError as exc:
        raise MigrateError(f"cannot write the events file {events_path}: {exc.strerror or exc}") from None
    progress = _Progress(verbose, live=sys.stderr.isatty(), events=events)

    def step_done(done: Any) -> None:
        # Printed as each version is recorded: when a later version fails, the earlier ones were shown.
        if events is not None:
            progress.record({"event": "recorded", "version": done.step.version, "name": done.step.name,
                              "direction": done.step.direction.value, "to_version": done.step.to_version})  # fmt: skip
        with progress.lock:
            progress.clear()
            step = done.step
            verb = {"up": "applied", "down": "reverted", "reconcile": "re-applied (drift repaired)"}[step.direction.value]
            changes = len(step.plan.ops)
            click.echo(f"{verb} {step.name} ({changes} operation{'s' if changes != 1 else ''}, {done.seconds:.1f} s)", err=fmt == "json")

    try:
        report = _run_async(
            run(options, direction=Direction(direction), dry_run=dry_run, allow_data_loss=allow_data_loss,
                saved_plan=saved, on_event=progress, on_step=step_done, **run_kwargs)
        )  # fmt: skip
    except ApplyFailed as exc:
        if fmt == "json" and exc.report is not None:
            click.echo(json.dumps(exc.report.to_json(), indent=2))
        raise
    finally:
        progress.close()
        if events is not None:
            events.close()
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    if report.dry_run:
        click.echo(render.render_plan(report.run, "text", colour=_colour()), nl=False)
        click.echo("Dry run: nothing was changed.")
        return
    for switch in report.run.recovery:
        click.echo(f"finished the switch of {switch.collection} that an interrupted run left half done: {switch.describe()}")
    for warning in report.run.warnings:
        click.echo(f"note: {warning}", err=True)
    if not report.steps:
        click.echo(f"Nothing to do: the database is at version {report.final_version}.")
        return
    click.echo(f"The database is now at version {report.final_version}.")


class _Progress:
    """Prints each finished operation; on a TTY also keeps one live line naming what is still running."""

    def __init__(self, verbose: int, live: bool, events: Any = None):
        import threading

        self.verbose, self.live = verbose, live
        self.events = events  # a text file: every executor event and recorded step as a JSON line (--events)
        self.running: dict[int, tuple[str, float]] = {}
        self.tenths: dict[int, int] = {}  # copy operation -> tenths of its rows already reported
        self.lock = threading.Lock()
        self.done = threading.Event()
        if live:
            threading.Thread(target=self._tick, daemon=True).start()

    def __call__(self, event: Any) -> None:
        import time

        from milvus_migrate.milvus.executor import EventKind

        if self.events is not None:
            self.record(event.to_json())
        with self.lock:
            self.clear()
            if event.kind is EventKind.START:
                self.running[id(event.op)] = (event.op.describe(), time.monotonic())
                if self.verbose:
                    click.echo(f"  … {event.op.describe()}", err=True)
                return
            if event.kind is EventKind.PROGRESS:
                self._rows(event)
                return
            self.running.pop(id(event.op), None)
            if event.kind is EventKind.DONE:
                click.echo(f"  {event.op.category.value} {event.op.describe()} ({event.seconds:.1f} s)", err=True)
                if self.verbose:
                    click.echo(f"      why: {event.op.reason}", err=True)
            elif event.kind is EventKind.FAILED:
                click.echo(f"  ! {event.op.describe()} failed: {event.message}", err=True)

    def record(self, line: dict[str, Any]) -> None:
        """One JSON line in the --events file, written at once (a watcher may act on it)."""
        self.events.write(json.dumps(line) + "\n")
        self.events.flush()

    def _rows(self, event: Any) -> None:
        """A copy's progress: on the live line on a TTY, else one line per 10 %."""
        import time

        done, total = event.done, event.total
        text = f"{event.op.describe()}: {done:,}" + (f"/{total:,} rows" if total else " rows")
        if self.live:
            since = self.running.get(id(event.op), ("", time.monotonic()))[1]
            rate = done / max(time.monotonic() - since, 1e-3)
            text += f", {rate:,.0f} rows/s"
            if total and rate > 0:
                text += f", ETA {max(total - done, 0) / rate:.0f} s"
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


@main.command(short_help="Show versions, pending, drift, failures, changed files.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
@click.option("--check", is_flag=True, help="Exit 2 when anything needs attention (pending, drift, changed or out-of-order files, a failed run).")
@connection_options
@handle_errors
def status(fmt: str, check: bool, **kwargs: Any) -> None:
    """Current and latest version, pending versions, drift, changed files, unmanaged collections."""
    from milvus_migrate import render
    from milvus_migrate.commands import status as read_status

    options = _options(kwargs)
    report = _run_async(read_status(options))
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(render.render_template("status.txt.j2", report.to_json(), colour=_colour()), nl=False)
    if check and not report.up_to_date:
        sys.exit(EXIT_CHANGES)


@main.command(short_help="List the applied steps, oldest first.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
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
        click.echo(render.render_history([r.to_json() for r in records]), nl=False)


@main.command(short_help="Record a version without changing anything.")
@click.argument("version", type=int)
@_lock_timeout_option
@connection_options
@handle_errors
def stamp(version: int, lock_timeout: float, **kwargs: Any) -> None:
    """Record VERSION as applied without changing anything (adopt an existing deployment)."""
    from milvus_migrate.commands import stamp as record_stamp

    _run_async(record_stamp(_options(kwargs, lock_timeout), version))
    click.echo(f"Stamped: the database is now recorded at version {version}.")


@main.command(short_help="Record new checksums of edited applied files.")
@_lock_timeout_option
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


@main.command(short_help="Write a migration file of the live collections.")
@click.option("--collection", "collections", multiple=True, help="Declare only this collection (repeatable; default: all).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the file here (e.g. migrations/0001_baseline.yaml) instead of printing it.")
@connection_options
@handle_errors
def inspect(collections: tuple[str, ...], output: Path | None, **kwargs: Any) -> None:
    """Write a migration file declaring the live collections (adopt an existing deployment)."""
    from milvus_migrate.commands import inspect as read_live
    from milvus_migrate.files.scaffold import write_schema

    text = _run_async(read_live(_options(kwargs), list(collections)))
    if output is None:
        click.echo(text, nl=False)
        return
    if output.exists():
        raise MigrateError(f"{output} exists; choose another file name (inspect never overwrites a file)")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        write_schema(output.parent)  # the file's first line points editors at it
    except OSError as exc:
        raise MigrateError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"Wrote {output}. Next: 'milvus-migrate validate', then 'milvus-migrate stamp VERSION' to adopt it.", err=True)


@main.command(short_help="Drop the backups copies kept.")
@click.option("--dry-run", is_flag=True, help="List what would be dropped; drop nothing.")
@_lock_timeout_option
@connection_options
@handle_errors
def prune(dry_run: bool, lock_timeout: float, **kwargs: Any) -> None:
    """Drop the backups that copies kept of managed collections (<name>__mm_backup_v<N>)."""
    from milvus_migrate.commands import prune as drop_backups

    dropped = _run_async(drop_backups(_options(kwargs, lock_timeout), dry_run=dry_run))
    verb = "Would drop" if dry_run else "Dropped"
    click.echo(f"{verb}: {', '.join(dropped)}." if dropped else "Nothing to prune.")


@main.command(short_help="Break the lock left by a crashed run.")
@connection_options
@handle_errors
def unlock(**kwargs: Any) -> None:
    """Break the deployment lock left by a crashed run."""
    from milvus_migrate.commands import unlock as break_lock

    holder = _run_async(break_lock(_options(kwargs)))
    click.echo(f"Lock broken (it was held by {holder})." if holder else "No lock was held; left-over lock markers removed.")


def _show_every_envvar() -> None:
    # Every option reads an environment variable (explicit, or MILVUS_MIGRATE_<COMMAND>_<OPTION>): say which in --help.
    for command in main.commands.values():
        for param in command.params:
            if isinstance(param, click.Option):
                param.show_envvar = True


_show_every_envvar()
