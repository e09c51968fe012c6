"""What every command shares: the app and its sub-apps, global options, error handling, output helpers.

Only typer, rich and the standard library are imported here: command modules import library code inside
their functions so that `refman search` and `refman list` start fast."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from refman.api import Catalog

CONTEXT = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(
    name="refman",
    help="Reference definitions in Markdown notes → an archived, searchable, citable catalog.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT,
)
db_app = typer.Typer(help="Catalog maintenance: schema status, upgrade, check, backup, gc, search index, copy.",
                     no_args_is_help=True, context_settings=CONTEXT)
app.add_typer(db_app, name="db")


@dataclass
class GlobalOptions:
    db: str | None = None
    verbose: bool = False

    @property
    def location(self) -> Path | str:
        """The catalog: a SQLite file, or a PostgreSQL URL (refman.config.catalog_location)."""
        from refman.config import resolve_catalog

        return resolve_catalog(self.db)

    def location_or_none(self) -> Path | str | None:
        """The catalog's location for messages; None when the option itself is what failed."""
        try:
            return self.location
        except Exception:
            return None

    def shown_location(self) -> str:
        """The catalog's location as a message names it (a URL without its password)."""
        from refman.config import describe_catalog

        return describe_catalog(self.location_or_none())


options = GlobalOptions()

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn every failure into a one-line message and a documented exit code (README: exit codes): the
    library's typed errors, SQLite's errors (translated once, by refman.store), files that cannot be
    written, and, as a last resort, anything unforeseen (its traceback only with -v)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except BaseException as exc:
            code = report_failure(exc)
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


def report_failure(exc: BaseException) -> int:
    """Print one line for `exc` on stderr and return the exit code it means."""
    from refman.errors import RefmanError

    if isinstance(exc, KeyboardInterrupt):
        error("interrupted")
        return 130
    if isinstance(exc, BrokenPipeError):  # `refman list | head`: not an error
        with contextlib.suppress(OSError):
            sys.stderr.close()
        return 0
    if not isinstance(exc, RefmanError):
        from refman.store import translate_error

        exc = translate_error(exc, options.location_or_none()) or exc
    if isinstance(exc, RefmanError):
        error(str(exc))
        return exc.exit_code
    if isinstance(exc, OSError):
        name = f": {exc.filename}" if exc.filename else ""
        error(f"{exc.strerror or exc}{name}")
        return 1
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    if options.verbose:
        import traceback

        traceback.print_exception(exc)
    error(f"internal error: {type(exc).__name__}: {one_line(str(exc))} (run with -v for details)")
    return 1


def one_line(text: str, limit: int = 300) -> str:
    from refman.cli.render import flat

    text = flat(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error(message: str) -> None:
    typer.echo(f"refman: {one_line(message, 2000)}", err=True)


def warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """'1 note', '2 notes': the count with the noun in the right number (noun + s unless `plural` is given:
    counted(n, "entry", "entries"))."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def open_catalog(*, create: bool = False, wait_s: float | None = None) -> Catalog:
    """The catalog as the public API's `refman.Catalog`; use it in a `with` block. Only commands that add to the
    catalog (import, add, capture) pass `create`: for every other one a missing catalog is "no catalog at PATH"
    (exit 3) and nothing is created. A catalog that cannot be written opens read-only: reads work, a write says
    "read-only" (exit 4)."""
    from refman.api import Catalog

    return Catalog.open(options.location, create=create, wait_s=wait_s)


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
                 **fields: Any) -> Iterator[Callable[..., None] | None]:
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

    def update(done: int, total: int, **values: Any) -> None:
        bar.update(task, completed=done, total=total, **values)

    with bar:
        yield update


def console() -> Console:
    """The stdout console. Never hand it user or page text as a str: build Text with refman.cli.render.line
    (markup, emoji codes and highlighting are off here too, as a second guard)."""
    from refman.cli.render import make_console

    return make_console()


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
