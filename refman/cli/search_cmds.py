"""`refman search` and `refman db reindex`.

Only typer and refman.cli.common are imported at module level; the command itself uses refman.store and
refman.search, which need nothing but the standard library (a test checks that searching never imports
SQLAlchemy, sqlmodel, alembic, pydantic, httpx, lxml or trafilatura)."""

from __future__ import annotations

import typer

from refman.cli.common import app, db_app, emit_json, handle_errors, options, progress_bar, stdout_is_terminal

_SEARCH_HELP = """Find sources by their title, authors, site, tags, notes and archived text, best first.

Query syntax: words (all must match), "exact phrase", prefix*, OR, -word or NOT word, (parentheses), and
field filters title:, author:, site:, tag: (also note:, text:). Chinese works with or without spaces:
数据库, "推理 优化", RDMA 网络. Put `--` before a query that starts with -word.
"""


@app.command(help=_SEARCH_HELP, context_settings={"ignore_unknown_options": True})
@handle_errors
def search(
    query: list[str] = typer.Argument(None, help="Search words; several arguments are joined with spaces.",
                                      show_default=False),
    tag: list[str] = typer.Option([], "--tag", help="Only sources with this tag (repeat: all of them).",
                                  show_default=False),
    since: str | None = typer.Option(None, "--since", help="Issued on or after this date (2024, 2024-06, …)."),
    until: str | None = typer.Option(None, "--until", help="Issued on or before this date (2024 = until its end)."),
    site: str | None = typer.Option(None, "--site", help="Only this domain and its subdomains."),
    cited_in: str | None = typer.Option(None, "--cited-in", metavar="NOTE",
                                        help="Only sources cited by this note, or by notes in this folder."),
    status: str | None = typer.Option(None, "--status", help="Only sources with this fetch status (ok, dead, …)."),
    limit: int = typer.Option(20, "--limit", min=1, help="At most this many results."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many results first."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of results."),
) -> None:
    from refman.search import SearchFilters
    from refman.search import search as run_search
    from refman.store import connect

    text = " ".join(query or [])
    filters = SearchFilters(tags=tag, since=since, until=until, site=site, cited_in=cited_in, status=status)
    conn = connect(options.db_path)
    try:
        hits = run_search(conn, text, filters, limit=limit, offset=offset)
    finally:
        conn.close()
    if as_json:
        emit_json([hit.to_json() for hit in hits])
    elif stdout_is_terminal():
        _print_table(hits)
    else:
        _print_plain(hits)


def _print_plain(hits: list) -> None:  # type: ignore[type-arg]
    import sys

    from refman.search import HL_CLOSE, HL_OPEN

    for hit in hits:
        snippet = hit.snippet.replace(HL_OPEN, "").replace(HL_CLOSE, "")
        cells = [str(hit.id), (hit.issued or "")[:4], hit.site or "", hit.title or hit.url, snippet]
        sys.stdout.write("\t".join(c.replace("\t", " ").replace("\n", " ") for c in cells) + "\n")


def _print_table(hits: list) -> None:  # type: ignore[type-arg]
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from refman.search import HL_CLOSE, HL_OPEN

    console = Console()
    if not hits:
        console.print("no matches", style="dim")
        return
    table = Table(show_lines=False, expand=True)
    table.add_column("id", justify="right", style="dim", no_wrap=True)
    table.add_column("title", ratio=3)
    table.add_column("site", ratio=1, overflow="ellipsis")
    table.add_column("year", no_wrap=True)
    table.add_column("snippet", ratio=4)
    for hit in hits:
        snippet = Text()
        for i, part in enumerate(hit.snippet.replace(HL_CLOSE, HL_OPEN).split(HL_OPEN)):
            snippet.append(part, style="bold yellow" if i % 2 else None)  # odd parts sit between the markers
        table.add_row(str(hit.id), Text(hit.title or hit.url), Text(hit.site or ""), (hit.issued or "")[:4],
                      snippet)
    console.print(table)


@db_app.command("reindex")
@handle_errors
def reindex(as_json: bool = typer.Option(False, "--json", help="Print {sources, elapsed_s} as JSON.")) -> None:
    """Rebuild the full-text search index from the catalog."""
    import time

    from refman.search import rebuild_index
    from refman.store import connect

    started = time.perf_counter()
    conn = connect(options.db_path)
    try:
        with progress_bar("reindex", "sources", quiet=as_json) as progress:
            count = rebuild_index(conn, progress=progress)
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    if as_json:
        emit_json({"sources": count, "elapsed_s": round(elapsed, 3)})
        return
    typer.echo(f"indexed {count} sources in {elapsed:.1f} s", err=True)
