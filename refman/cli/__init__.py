"""The `refman` command line: a thin typer layer over the library."""

from __future__ import annotations

import sys

import typer

from refman.cli import (  # noqa: F401  (register commands)
    archive_cmds,
    catalog_cmds,
    export_cmds,
    exports_cmds,
    fetch_cmds,
    maintenance_cmds,
    notes_cmds,
    search_cmds,
    watch_cmds,
    web_cmds,
)
from refman.cli.common import app, error, options, setup_logging
from refman.cli.exports_cmds import keep_exports_fresh


def _version(value: bool) -> None:
    if value:
        from refman import __version__

        typer.echo(f"refman {__version__}")
        raise typer.Exit(0)


@app.callback()
def _global_options(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None, "--db", help="Catalog file (default: $REFMAN_DB, else the user data directory).", metavar="PATH"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what happens to stderr."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print refman's version and exit."),
) -> None:
    options.db = db
    options.verbose = verbose
    setup_logging(verbose)
    keep_exports_fresh(ctx)  # every command that commits a change re-writes the registered exports it changed


def main() -> None:
    """Run the CLI. Usage errors (unknown option, bad value) are one line on stderr and exit 2, like every
    other error (refman.cli.common.handle_errors)."""
    import click

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
