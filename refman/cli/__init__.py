"""The `refman` command line: a thin typer layer over the library."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

from refman.cli import common
from refman.cli.common import error, options, setup_logging

# The modules that register commands, in the order `refman --help` lists them.
COMMAND_MODULES = ("archive_cmds", "catalog_cmds", "copy_cmds", "export_cmds", "exports_cmds", "fetch_cmds",
                   "maintenance_cmds", "notes_cmds", "search_cmds", "watch_cmds", "web_cmds", "worker_cmds")
# The module(s) each top-level command or group lives in: a run imports only those (typer builds every
# registered command's parameters on each start, and `refman search` must start fast). Help, an unknown name and
# no name at all import every module. tests/test_cli_conventions.py checks this table against what the modules
# register.
COMMAND_HOME: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("import", "add", "list", "show", "tag", "tags", "set", "unset", "stats", "duplicates",
                     "merge"), ("catalog_cmds",)),
    **dict.fromkeys(("export", "cite", "rekey"), ("export_cmds",)),
    "exports": ("exports_cmds",),
    **dict.fromkeys(("fetch", "check"), ("fetch_cmds",)),
    "delete": ("maintenance_cmds",),
    "notes": ("notes_cmds",),
    "search": ("search_cmds",),
    "watch": ("watch_cmds",),
    **dict.fromkeys(("read", "capture", "serve", "open"), ("web_cmds",)),
    "wayback": ("archive_cmds",),
    "worker": ("worker_cmds",),
    "db": ("catalog_cmds", "copy_cmds", "maintenance_cmds", "search_cmds"),
}
_GLOBAL_WITH_VALUE = ("--db",)


def command_name(args: list[str]) -> str | None:
    """The command a command line names (its first word after the global options), or None when it asks for
    help before naming one or names none."""
    it = iter(args)
    for arg in it:
        if arg in _GLOBAL_WITH_VALUE:
            next(it, None)
        elif arg in ("-h", "--help"):
            return None
        elif not arg.startswith("-"):
            return arg
    return None


def register_commands(args: list[str] | None = None) -> typer.Typer:
    """Import the command modules that the command line `args` needs (all of them when None) and return the app."""
    name = command_name(args) if args is not None else None
    for module in COMMAND_HOME.get(name or "", COMMAND_MODULES):
        importlib.import_module(f"refman.cli.{module}")
    return common.app


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole CLI, for tests and documentation generators
        return register_commands()
    raise AttributeError(name)


def _version(value: bool) -> None:
    if value:
        from refman import __version__

        typer.echo(f"refman {__version__}")
        raise typer.Exit(0)


@common.app.callback()
def _global_options(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None, "--db", help="Catalog: a SQLite file, or postgresql://USER@HOST/DB (default: $REFMAN_DB, else a file"
        " in the user data directory).", metavar="PATH|URL"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what happens to stderr."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print refman's version and exit."),
) -> None:
    options.db = db
    options.verbose = verbose
    setup_logging(verbose)
    from refman.cli.exports_cmds import keep_exports_fresh

    keep_exports_fresh(ctx)  # every command that commits a change re-writes the registered exports it changed


def main() -> None:
    """Run the CLI. Usage errors (unknown option, bad value) are one line on stderr and exit 2, like every
    other error (refman.cli.common.handle_errors)."""
    import click

    app = register_commands(sys.argv[1:])
    try:
        code = app(standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # `refman` or `refman db` alone: the help, exit 0
        typer.echo(exc.ctx.get_help())
        code = 0
    except click.exceptions.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "refman"
        error(f"{exc.format_message()} (see `{command} --help`)")
        code = 2
    except click.exceptions.Abort:
        error("interrupted")
        code = 130
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except Exception as exc:
        from refman.cli.common import report_failure

        code = report_failure(exc)
    sys.exit(code if isinstance(code, int) else 0)
