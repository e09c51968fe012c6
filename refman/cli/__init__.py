"""The `refman` command line: a thin typer layer over the library."""

from __future__ import annotations

import typer

from refman.cli import (  # noqa: F401  (register commands)
    archive_cmds,
    catalog_cmds,
    export_cmds,
    fetch_cmds,
    search_cmds,
    web_cmds,
)
from refman.cli.common import app, options, setup_logging


@app.callback()
def _global_options(
    db: str | None = typer.Option(
        None, "--db", help="Catalog file (default: $REFMAN_DB, else the user data directory).", metavar="PATH"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what happens to stderr."),
) -> None:
    options.db = db
    options.verbose = verbose
    setup_logging(verbose)


def main() -> None:
    app()
