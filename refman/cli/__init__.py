"""The `refman` command line: a thin typer layer over the library."""

from __future__ import annotations

import typer

from refman.cli import (  # noqa: F401  (register commands)
    archive_cmds,
    catalog_cmds,
    export_cmds,
    exports_cmds,
    fetch_cmds,
    notes_cmds,
    search_cmds,
    watch_cmds,
    web_cmds,
)
from refman.cli.common import app, options, setup_logging
from refman.cli.exports_cmds import keep_exports_fresh


@app.callback()
def _global_options(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None, "--db", help="Catalog file (default: $REFMAN_DB, else the user data directory).", metavar="PATH"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what happens to stderr."),
) -> None:
    options.db = db
    options.verbose = verbose
    setup_logging(verbose)
    keep_exports_fresh(ctx)  # every command that commits a change re-writes the registered exports it changed


def main() -> None:
    app()
