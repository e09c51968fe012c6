"""`refman search` and `refman db reindex`.

Only typer and refman.cli.common are imported at module level; the command itself uses refman.store and
refman.search, which need nothing but the standard library (a test checks that searching never imports
SQLAlchemy, sqlmodel, alembic, pydantic, httpx, lxml or trafilatura)."""

from __future__ import annotations

import typer

from refman.cli.common import (
    app,
    catalog_store,
    counted,
    db_app,
    emit_json,
    handle_errors,
    progress_bar,
    stdout_is_terminal,
)

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
    from refman.search import SearchFilters, count_matches
    from refman.search import search as run_search

    text = " ".join(query or [])
    filters = SearchFilters(tags=tag, since=since, until=until, site=site, cited_in=cited_in, status=status)
    store = catalog_store()
    try:
        hits = run_search(store, text, filters, limit=limit, offset=offset)
        # The table says how many there are; counting costs a second query, so only when the page is full.
        total = (count_matches(store, text, filters) if len(hits) == limit else offset + len(hits)) \
            if stdout_is_terminal() and not as_json else 0
    finally:
        store.close()
    if as_json:
        emit_json([hit.to_json() for hit in hits])
    elif stdout_is_terminal():
        _print_table(hits, total, limit, offset)
    else:
        _print_plain(hits)


def _print_plain(hits: list) -> None:  # type: ignore[type-arg]
    import sys

    from refman.search import HL_CLOSE, HL_OPEN

    for hit in hits:
        snippet = hit.snippet.replace(HL_OPEN, "").replace(HL_CLOSE, "")
        cells = [str(hit.id), (hit.issued or "")[:4], hit.site or "", hit.title or hit.url, snippet]
        sys.stdout.write("\t".join(c.replace("\t", " ").replace("\n", " ") for c in cells) + "\n")


def _print_table(hits: list, total: int, limit: int, offset: int) -> None:  # type: ignore[type-arg]
    from refman.cli.common import console
    from refman.cli.render import search_table
    from refman.search import HL_CLOSE, HL_OPEN

    con = console()
    if not hits:
        con.print("no matches" if not offset else f"no matches past {offset} (of {total})", style="dim")
        return
    con.print(search_table(hits, HL_OPEN, HL_CLOSE))
    if total > offset + len(hits) or offset:
        more = f" (--limit {limit})" if total > offset + len(hits) else ""
        con.print(f"{offset + 1}–{offset + len(hits)} of {counted(total, 'result')}{more}", style="dim")
    else:
        con.print(counted(total, "result"), style="dim")


@db_app.command("reindex")
@handle_errors
def reindex(as_json: bool = typer.Option(False, "--json", help="Print {sources, elapsed_s} as JSON.")) -> None:
    """Rebuild the full-text search index from the catalog."""
    import time

    from refman.search import rebuild_index

    started = time.perf_counter()
    store = catalog_store()
    try:
        with progress_bar("reindex", "sources", quiet=as_json) as progress:
            count = rebuild_index(store, progress=progress)
    finally:
        store.close()
    elapsed = time.perf_counter() - started
    if as_json:
        emit_json({"sources": count, "elapsed_s": round(elapsed, 3)})
        return
    typer.echo(f"indexed {counted(count, 'source')} in {elapsed:.1f} s", err=True)
