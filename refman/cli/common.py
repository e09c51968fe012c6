"""What every command shares: the app and its sub-apps, global options, error handling, output helpers.

Only typer, rich and the standard library are imported here: command modules import library code inside
their functions so that `refman search` and `refman list` start fast."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer

app = typer.Typer(
    name="refman",
    help="Reference definitions in Markdown notes → an archived, searchable, citable catalog.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Catalog maintenance: schema status, upgrade, search index.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@dataclass
class GlobalOptions:
    db: str | None = None
    verbose: bool = False

    @property
    def db_path(self) -> Path:
        from refman.config import resolve_db_path

        return resolve_db_path(self.db)


options = GlobalOptions()

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn the library's foreseeable errors into a one-line message and a meaningful exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from refman.errors import RefmanError

        try:
            return func(*args, **kwargs)
        except RefmanError as exc:
            error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            error("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None

    return wrapper  # type: ignore[return-value]


def error(message: str) -> None:
    typer.echo(f"refman: {message}", err=True)


def warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def counted(n: int, noun: str) -> str:
    """'1 note', '2 notes': the count with the noun in the right number (English plurals in -s)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def emit_json(data: Any) -> None:
    """Machine-readable output: UTF-8 JSON on stdout, stable field names (documented in README.md)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    sys.stdout.write("\n")


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def progress_bar(label: str, *columns: str, quiet: bool = False,
                 **fields: object) -> Iterator[Callable[..., None] | None]:
    """A rich progress bar on stderr when it is a terminal and output is not quiet (--json, --quiet): yields
    `update(done, total, **fields)`; else None, and nothing is printed (rich.progress is not even imported).
    `columns` are rich text templates shown after the count (`"{task.fields[ok]} ok"`), `fields` their first
    values."""
    if quiet or not stderr_is_terminal():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), *(TextColumn(c) for c in columns),
        TimeElapsedColumn(), console=Console(stderr=True), transient=False,
    )
    task = bar.add_task(label, total=None, **fields)

    def update(done: int, total: int, **values: object) -> None:
        bar.update(task, completed=done, total=total, **values)

    with bar:
        yield update


def console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(soft_wrap=False)


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
