"""Reading the archive and the web app: `refman read`, `refman open`, `refman serve`, `refman capture`.

Library: refman.reader, refman.capture, refman.web (the optional `refman[web]` extra, imported only by
`serve`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from refman.cli.common import (
    app,
    console,
    emit_json,
    error,
    handle_errors,
    open_catalog,
    options,
    stdout_is_terminal,
    warn,
)

if TYPE_CHECKING:
    from refman.api import Catalog

DEFAULT_PORT = 8737
# Longer than this on a terminal, the text goes through the pager.
PAGER_LINES = 60


@app.command("read")
@handle_errors
def read(
    ref: str = typer.Argument(..., help="An id, a citation key or a URL."),
    snapshot: str | None = typer.Option(None, "--snapshot", "-s", metavar="N|DATE",
                                        help="Which archived copy: N (1 = latest, 2 = the one before) or the "
                                        "latest on or before DATE (2024, 2024-06-30)."),
    html: bool = typer.Option(False, "--html", help="Write the raw archived page to a file (see -o)."),
    output: Path | None = typer.Option(None, "--output", "-o", metavar="FILE",
                                       help="With --html: the file (default: refman-ID-SNAPSHOT.html here)."),
    diff: tuple[str, str] | None = typer.Option(None, "--diff", metavar="A B",
                                                help="Show what changed in the text from copy A to copy B "
                                                "(each N or DATE)."),
    pager: bool = typer.Option(True, "--pager/--no-pager", help="Page long text on a terminal."),
    as_json: bool = typer.Option(False, "--json", help="Print {id, title, url, snapshot_id, fetched_at, origin,"
                                 " memento_at, content_type, markdown} (with --diff: the diff) as JSON."),
) -> None:
    """Print the archived main text of a source as Markdown, with its title, URL, date and origin on top."""
    cat = open_catalog()  # a read: a missing catalog is "no catalog at PATH"
    with cat:
        _read(cat, ref, snapshot, html, output, diff, pager, as_json)


def _read(cat: Catalog, ref: str, snapshot: str | None, html: bool, output: Path | None,
          diff: tuple[str, str] | None, pager: bool, as_json: bool) -> None:
    source_id = cat.resolve(ref)
    if diff:
        result = cat.diff_snapshots(source_id, diff[0], diff[1])
        if as_json:
            emit_json(result.to_json())
            return
        if not result.lines:
            typer.echo(f"#{source_id}: the texts of {result.a['fetched_at']} and {result.b['fetched_at']} are equal")
            return
        if stdout_is_terminal():
            from rich.syntax import Syntax

            console().print(Syntax("\n".join(result.lines), "diff", theme="ansi_dark", word_wrap=True))
        else:
            typer.echo("\n".join(result.lines))
        return
    if html:
        from refman.citation.export import atomic_writer

        body, content_type, snap_id = cat.raw_page(source_id, snapshot)
        target = output or Path(f"refman-{source_id}-{snap_id}.{_extension(content_type)}")
        with atomic_writer(target) as handle:
            handle.buffer.write(body)  # type: ignore[attr-defined]  # a text file opened by refman: it has one
        if as_json:
            emit_json({"id": source_id, "snapshot_id": snap_id, "content_type": content_type, "path": str(target),
                       "size": len(body)})
        else:
            typer.echo(f"wrote {target} ({len(body)} bytes, {content_type}): archived data, scripts included;"
                       " open it in a browser offline")
        return
    text = cat.read(source_id, snapshot)
    if as_json:
        emit_json(text.to_json())
        return
    copy = f"{text.origin} copy" + (f" of {text.memento_at}" if text.memento_at else "")
    if not stdout_is_terminal():
        typer.echo(f"{text.title or text.url}\n{text.url}\narchived {text.fetched_at} ({copy})\n")
        typer.echo(text.markdown)
        return
    from rich.markdown import Markdown
    from rich.markup import escape

    con = console()

    def show() -> None:
        con.print(f"[bold]{escape(text.title or text.url)}[/bold]")
        con.print(f"[link={escape(text.url)}]{escape(text.url)}[/link]", soft_wrap=True)
        con.print(f"[dim]archived {text.fetched_at} ({escape(copy)})[/dim]\n")
        con.print(Markdown(text.markdown or "*(no text)*", hyperlinks=True))

    if pager and text.markdown.count("\n") > PAGER_LINES:
        with con.pager(styles=True):
            show()
    else:
        show()


def _extension(content_type: str) -> str:
    kind = content_type.split(";", 1)[0].strip().lower()
    return {"application/pdf": "pdf", "text/plain": "txt", "text/markdown": "md", "application/xhtml+xml": "xhtml",
            }.get(kind, "html")


@app.command("capture")
@handle_errors
def capture(
    files: list[Path] = typer.Argument(..., help="Pages saved in a browser (SingleFile or 'Save page as')."),
    url: str | None = typer.Option(None, "--url", help="The page's URL (only with one file; default: the URL the"
                                   " file names: SingleFile's comment, og:url or its canonical link)."),
    as_json: bool = typer.Option(False, "--json", help="Print [{id, url, created, snapshot_id, outcome, reason,"
                                 " title, saved_at}] as JSON."),
) -> None:
    """Archive pages saved in your browser as snapshots of origin `capture`, with their text and metadata."""
    from refman.errors import NotFoundError, RefmanError, UsageError

    if url and len(files) > 1:
        raise UsageError("--url names the page of one file: give one file with it")
    for path in files:
        if not path.is_file():
            raise NotFoundError(f"no such file: {path}")
    results = []
    failed = 0
    with open_catalog(create=True) as cat:
        for path in files:
            try:
                result = cat.capture(path.read_bytes(), url)
            except RefmanError as exc:  # one bad file does not stop the others
                error(f"{path}: {exc}")
                failed += 1
                continue
            results.append(result)
            if not as_json:
                verb = "new source" if result.created else "source"
                typer.echo(f"{path}: {verb} #{result.id} {result.url}: {result.outcome}"
                           + (f" ({result.reason})" if result.reason else "")
                           + (f", saved {result.saved_at}" if result.saved_at else ""))
            if result.outcome not in ("ok", "thin"):
                warn(f"{path}: no readable text in the page ({result.outcome})")
    if as_json:
        emit_json([r.to_json() for r in results])
    if failed:
        raise typer.Exit(2 if not results else 1)


@app.command("serve")
@handle_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (other than loopback: a token is"
                             " required for everything)."),
    port: int = typer.Option(DEFAULT_PORT, "--port", min=0, max=65535, help="Port (0: any free port). Raw"
                             " snapshots are served on a second listener, on port+1 (or any free one)."),
    token: str | None = typer.Option(None, "--token", envvar="REFMAN_TOKEN",
                                     help="API token for writes (and for everything off loopback); generated"
                                     " and printed when absent."),
    open_browser: bool = typer.Option(False, "--open", help="Open the app in a web browser."),
) -> None:
    """Serve the local web app: search, sources, reader view, bibliographies, link health, capture API.
    The first line on stdout is `serving http://HOST:PORT/`. Needs the `refman[web]` extra."""
    try:
        from refman.web.server import run
    except ImportError as exc:
        from refman.errors import RefmanError

        raise RefmanError(f"the web app needs the web extra: pip install 'refman[web]' ({exc.name} is missing)"
                          ) from exc
    run(options.location, host=host, port=port, token=token, open_browser=open_browser)


@app.command("open")
@handle_errors
def open_(
    ref: str = typer.Argument(..., help="An id, a citation key or a URL."),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="The port `refman serve` listens on."),
    host: str = typer.Option("127.0.0.1", "--host", help="The host `refman serve` listens on."),
    print_only: bool = typer.Option(False, "--print", help="Print the page's address instead of opening it."),
) -> None:
    """Open a source's page in the web app (start it with `refman serve`)."""
    import webbrowser

    with open_catalog() as cat:
        source_id = cat.resolve(ref)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/sources/{source_id}"
    if print_only:
        typer.echo(address)
        return
    import socket

    from refman.errors import RefmanError

    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        raise RefmanError(f"nothing listens on {shown}:{port}: start the app with `refman serve`"
                          + (f" --port {port}" if port != DEFAULT_PORT else "")) from None
    if not webbrowser.open(address):
        typer.echo(address)
