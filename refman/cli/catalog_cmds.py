"""Catalog commands: import, add, list, show, tag, set, unset, stats, db upgrade/status."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import typer

from refman.cli.common import (
    app,
    console,
    counted,
    db_app,
    emit_json,
    handle_errors,
    options,
    progress_bar,
    stdout_is_terminal,
    warn,
)

BIBLIOGRAPHY_SUFFIXES = (".bib", ".json")


def open_conn() -> sqlite3.Connection:
    from refman.store import connect

    return connect(options.db_path)


@app.command("import")
@handle_errors
def import_(
    paths: list[Path] = typer.Argument(..., help="Notes, folders of notes, or .bib / CSL .json bibliographies."),
    as_json: bool = typer.Option(False, "--json", help="Print the import report as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print no per-item warnings and no progress bar."),
) -> None:
    """Import the reference definitions (and bare reference lines) of Markdown notes, or a BibTeX / CSL-JSON
    bibliography. A progress bar shows on a terminal."""
    from refman.errors import NotFoundError
    from refman.vault import import_vault

    for path in paths:
        if not path.expanduser().exists():
            raise NotFoundError(f"no such file or folder: {path}")
    bibs = [p for p in paths if p.is_file() and p.suffix.lower() in BIBLIOGRAPHY_SUFFIXES]
    notes = [p for p in paths if p not in bibs]
    conn = open_conn()
    result: dict[str, Any] = {}
    if notes:
        with progress_bar("import", "notes", quiet=as_json or quiet) as progress:
            result = import_vault(conn, notes, progress=progress).as_dict()
    if bibs:
        from refman.catalog import import_bibliographies

        result["bibliography"] = import_bibliographies(conn, bibs)
    if as_json:
        emit_json(result)
        return
    if notes:
        if not quiet:
            for item in result["skipped"]:
                where = f"{item['path']}:{item['line']}" if item.get("line") else item["path"]
                warn(f"{where}: skipped {item['url'] or 'note'}: {item['reason']}")
            for item in result["warnings"]:
                where = f"{item['path']}:{item['line']}" if item.get("line") else item["path"]
                warn(f"{where}: {item['message']}")
        typer.echo(
            f"{counted(result['notes_scanned'], 'note')} scanned, {result['notes_unchanged']} unchanged"
            + (f", {result['notes_removed']} removed" if result["notes_removed"] else "")
            + f"; {counted(result['definitions'], 'definition')}"
            + (f" and {counted(result['bare_references'], 'bare reference line')}" if result["bare_references"]
               else "")
            + f" → {counted(result['sources_new'], 'new source')},"
            f" {result['sources_updated']} updated, {counted(result['mentions'], 'mention')};"
            f" {len(result['skipped'])} skipped, {counted(len(result['warnings']), 'warning')}"
        )
    if bibs:
        bib = result["bibliography"]
        typer.echo(f"{bib['entries']} bibliography entries → {bib['new']} new sources, {bib['matched']} matched"
                   + (f", {bib['skipped']} without URL or DOI skipped" if bib["skipped"] else ""))


@app.command()
@handle_errors
def add(
    url: str = typer.Argument(..., help="The page's URL (http or https)."),
    title: str | None = typer.Option(None, "--title", help="Your title for it (pinned)."),
    tag: list[str] = typer.Option([], "--tag", help="A tag (repeatable)."),
    note: str | None = typer.Option(None, "--note", help="Your note on the source (searchable)."),
    fetch: bool = typer.Option(False, "--fetch", help="Fetch and archive it now."),
    as_json: bool = typer.Option(False, "--json", help="Print the source as JSON."),
) -> None:
    """Register one source."""
    from refman.catalog import add_source, list_sources

    conn = open_conn()
    source_id, created = add_source(conn, url, title=title, tags=tag, note=note)
    fetched: dict[str, Any] | None = None
    if fetch:
        from refman.fetch.fallback import FallbackOptions
        from refman.fetch.pipeline import fetch_sources

        # the settings file's fallbacks ([fetch] wayback, render, adapters) apply as to `refman fetch`
        fetched = fetch_sources(options.db_path, [source_id], fallback=FallbackOptions.from_settings())
    item = list_sources(conn, ids=[source_id])[0]
    if as_json:
        emit_json({"created": created, "source": item, **({"fetch": fetched} if fetched else {})})
        return
    verb = "added" if created else "already in the catalog:"
    typer.echo(f"{verb} #{source_id} {item['url']}")
    if fetched is not None:
        typer.echo(f"fetch: {item['status']}" + (f" ({item['reason']})" if item["reason"] else ""))


def _site(item: dict[str, Any]) -> str:
    return item.get("container_title") or item.get("publisher") or ""


@app.command("list")
@handle_errors
def list_(
    tag: str | None = typer.Option(None, "--tag", help="Only sources with this tag."),
    orphans: bool = typer.Option(False, "--orphans", help="Only sources notes cited once and none cites now."),
    status: str | None = typer.Option(None, "--status", help="Only sources with this status (new, ok, dead, …)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array of sources."),
) -> None:
    """List the sources in the catalog."""
    from refman.catalog import list_sources

    items = list_sources(open_conn(), tag=tag, orphans=orphans, status=status, limit=limit)
    if as_json:
        emit_json(items)
        return
    if not stdout_is_terminal():
        for it in items:
            typer.echo("\t".join(str(v or "") for v in (it["id"], it["status"], it["issued"], _site(it),
                                                        it["title"], it["url"])))
        return
    from rich.table import Table

    table = Table(show_lines=False, header_style="bold")
    for col, kw in (("id", {"justify": "right"}), ("title", {"ratio": 3}), ("site", {"ratio": 1}),
                    ("issued", {}), ("status", {}), ("cited", {"justify": "right"})):
        table.add_column(col, overflow="ellipsis", no_wrap=col != "title", **kw)  # type: ignore[arg-type]
    for it in items:
        table.add_row(str(it["id"]), it["title"] or it["url"], _site(it), it["issued"] or "", it["status"],
                      str(len(it["mentions"])))
    con = console()
    con.print(table)
    con.print(f"{len(items)} sources")


@app.command()
@handle_errors
def show(
    ref: str = typer.Argument(..., help="An id, a citation key or a URL."),
    as_json: bool = typer.Option(False, "--json", help="Print the source as JSON."),
) -> None:
    """Show one source: merged fields and where each came from, mentions, snapshots."""
    from refman.catalog import resolve_source, show_source
    from refman.fetch.fallback import copy_lines

    conn = open_conn()
    item = show_source(conn, resolve_source(conn, ref))
    if as_json:
        emit_json(item)
        return
    from rich.markup import escape

    con = console()
    con.print(f"[bold]#{item['id']} {escape(item['title'] or item['url'])}[/bold]")
    prov = item["provenance"]
    rows = [("url", item["url"], None), ("as written", item["url_as_written"], None),
            ("citekey", item["citekey"], None), ("type", item["type"], prov.get("type"))]
    for key, label in (("author", "author"), ("issued", "issued"), ("container_title", "site"),
                       ("publisher", "publisher"), ("DOI", "DOI"), ("language", "language")):
        value = item[key]
        if key == "author":
            value = "; ".join(_name(n) for n in value)
        rows.append((label, value, prov.get(key.lower() if key == "DOI" else key)))
    rows += [("title", item["title"], prov.get("title")), ("tags", ", ".join(item["tags"]), None),
             ("status", item["status"] + (f" ({item['reason']})" if item["reason"] else ""), None),
             ("accessed", item["accessed"], None), ("note", item["note"], None)]
    for label, value, origin in rows:
        if value:
            pin = " 📌" if origin == "user" else ""
            suffix = f"  [dim]from {origin}{pin}[/dim]" if origin else ""
            con.print(f"  {label:>11}: {escape(str(value))}{suffix}")
    for line in copy_lines(item):
        con.print(f"  {escape(line)}")
    if item["mentions"]:
        con.print("  [bold]cited in[/bold]")
        for m in item["mentions"]:
            if m["kind"] == "bare":  # a bare reference line: its marker and title or caption, if any
                said = " ".join(x for x in (m["flag"], m["label"]) if x) or "(a URL on its own line)"
                con.print(f"    {escape(m['path'])}:{m['line']}  {escape(said)}")
            else:
                role = f"  [dim](link id: {m['label_id']})[/dim]" if m.get("label_id") else ""
                con.print(f"    {escape(m['path'])}:{m['line']}  {escape('[' + m['label'] + ']')}{role}")
            if m["annotation"]:
                con.print("      [dim]" + escape(m["annotation"].replace("\n", " ")[:200]) + "[/dim]")
    for field, values in item.get("label_conflicts", {}).items():
        con.print(f"  [yellow]labels disagree on {field}[/yellow]: {escape(str(values[0]))} (kept) vs "
                  + ", ".join(escape(str(v)) for v in values[1:]))
    if item["snapshots"]:
        con.print("  [bold]snapshots[/bold]")
        for s in item["snapshots"]:
            when = f" of {s['memento_at']}" if s["memento_at"] else ""
            copy = "" if s["origin"] == "live" else f"  ({s['origin']} copy{when})"
            con.print(f"    {s['fetched_at']}  {s['outcome']:<10} {s['http_status'] or '':<4}"
                      f" {s['size'] or 0:>9} B  {escape(s['reason'] or '')}{escape(copy)}")


def _name(n: dict[str, str]) -> str:
    if "literal" in n:
        return n["literal"]
    return ", ".join(p for p in (n.get("family"), n.get("given")) if p)


@app.command()
@handle_errors
def tag(
    refs: list[str] = typer.Argument(..., help="Sources (ids, citation keys or URLs)."),
    add: list[str] = typer.Option([], "--add", "-a", help="Tag to add (repeatable)."),
    remove: list[str] = typer.Option([], "--remove", "-r", help="Tag to remove (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the sources' tags as JSON."),
) -> None:
    """Add or remove tags; with neither, print the sources' tags."""
    from refman.catalog import list_sources, resolve_sources, tag_sources

    conn = open_conn()
    ids = resolve_sources(conn, refs)
    if add or remove:
        tag_sources(conn, ids, add, remove)
    items = list_sources(conn, ids=ids)
    if as_json:
        emit_json([{"id": it["id"], "tags": it["tags"]} for it in items])
        return
    for it in items:
        typer.echo(f"#{it['id']}\t{' '.join(it['tags'])}")


@app.command("tags")
@handle_errors
def tags_(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List every tag with how many sources carry it."""
    from refman.catalog import all_tags

    counts = all_tags(open_conn())
    if as_json:
        emit_json([{"tag": t, "sources": n} for t, n in counts])
        return
    for t, n in counts:
        typer.echo(f"{t}\t{n}")


@app.command("set")
@handle_errors
def set_(
    ref: str = typer.Argument(..., help="An id, a citation key or a URL."),
    assignments: list[str] = typer.Argument(..., help="field=value … (title, author, issued, container_title,"
                                             " publisher, doi, language, type, abstract, citekey, note)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was set as JSON."),
) -> None:
    """Pin your own value for fields; no fetch overwrites them. Authors: 'Family, Given; Other, Name'."""
    from refman.catalog import resolve_source, set_fields

    conn = open_conn()
    source_id = resolve_source(conn, ref)
    done = set_fields(conn, source_id, assignments)
    if as_json:
        emit_json({"id": source_id, "set": done})
        return
    for field, value in done.items():
        typer.echo(f"#{source_id} {field} = {value}")


@app.command()
@handle_errors
def unset(
    ref: str = typer.Argument(..., help="An id, a citation key or a URL."),
    fields: list[str] = typer.Argument(..., help="Fields to release."),
    as_json: bool = typer.Option(False, "--json", help="Print the released fields' values now, as JSON."),
) -> None:
    """Release pinned fields: fetched or label values show again."""
    from refman.catalog import resolve_source, show_source, unset_fields

    conn = open_conn()
    source_id = resolve_source(conn, ref)
    released = unset_fields(conn, source_id, fields)
    shown = show_source(conn, source_id, snapshots=0)
    now = {field: {"value": shown.get("DOI" if field == "doi" else field),
                   "origin": None if field == "note" else shown["provenance"].get(field)} for field in released}
    if as_json:
        emit_json({"id": source_id, "unset": now})
        return
    for field, value in now.items():
        shown_value = value["value"]
        if isinstance(shown_value, list):
            shown_value = "; ".join(_name(n) for n in shown_value)
        typer.echo(f"#{source_id} {field} released: " + ("now empty" if shown_value in (None, "", []) else
                   f"now {shown_value} (from {value['origin'] or 'the catalog'})"))


@app.command()
@handle_errors
def stats(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Counts: notes, sources, mentions, orphans, statuses, archive size, top hosts."""
    from refman.catalog import catalog_stats

    data = catalog_stats(open_conn())
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            typer.echo(f"{key}:")
            for k, v in value.items():
                typer.echo(f"  {k}\t{v}")
        else:
            typer.echo(f"{key}\t{value}")


@db_app.command("upgrade")
@handle_errors
def db_upgrade(as_json: bool = typer.Option(False, "--json", help="Print the status after it as JSON.")) -> None:
    """Create or upgrade the catalog's schema (also done automatically on open)."""
    from refman.db import catalog_status, upgrade_catalog

    before = catalog_status(options.db_path)["revision"]
    upgrade_catalog(options.db_path)
    status = catalog_status(options.db_path)
    if as_json:
        emit_json({**status, "previous_revision": before})
        return
    typer.echo(f"{status['path']}: at revision {status['revision']}"
               + ("" if before == status["revision"] else f" (was {before or 'empty'})"))


@db_app.command("status")
@handle_errors
def db_status(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Where the catalog is and whether its schema is current."""
    from refman.db import catalog_status

    status = catalog_status(options.db_path)
    if as_json:
        emit_json(status)
        return
    state = "up to date" if status["up_to_date"] else ("missing" if not status["exists"] else "needs upgrade")
    typer.echo(f"{status['path']}: revision {status['revision'] or '-'} (head {status['head']}), {state}")


@app.command()
@handle_errors
def duplicates(
    merge: bool = typer.Option(False, "--merge", help="Merge each group into its proposed kept source."),
    as_json: bool = typer.Option(False, "--json", help="Print {groups, merged} as JSON."),
) -> None:
    """Find sources that are the same page by evidence (redirects, canonical URL, DOI); --merge merges them."""
    from refman.catalog import find_duplicates
    from refman.duplicates import merge_duplicates

    conn = open_conn()
    groups = find_duplicates(conn)
    merged = merge_duplicates(conn, groups) if merge and groups else []
    if as_json:
        emit_json({"groups": groups, "merged": merged})
        return
    for group in groups:
        typer.echo(f"{group['reason']}:")
        for src in group["sources"]:
            mark = "keep" if src["id"] == group["keep"] else ("merged" if merge else "dup")
            typer.echo(f"  {mark:<6} #{src['id']}\t{src['url']}\t{src['title'] or ''}")
    for result in merged:
        _echo_merge(result)
    if not groups:
        typer.echo("no duplicates found")
    elif not merge:
        typer.echo(f"{counted(len(groups), 'group')} of duplicates; `refman duplicates --merge` merges each into"
                   " its first source, `refman merge KEEP DUP...` chooses")


@app.command("merge")
@handle_errors
def merge_(
    keep: str = typer.Argument(..., help="The source to keep (id, citation key or URL)."),
    dups: list[str] = typer.Argument(..., help="Sources merged into it, then deleted (ids, keys or URLs)."),
    as_json: bool = typer.Option(False, "--json", help="Print what the merge did as JSON."),
) -> None:
    """Merge duplicate sources into one: mentions, tags, notes, pinned fields and snapshots are kept."""
    from refman.catalog import merge_sources, resolve_source, resolve_sources

    conn = open_conn()
    keep_id = resolve_source(conn, keep)
    result = merge_sources(conn, keep_id, resolve_sources(conn, dups))
    if as_json:
        emit_json(result)
        return
    _echo_merge(result)


def _echo_merge(result: dict[str, Any]) -> None:
    dropped = ", ".join(f"#{d}" for d in result["dropped"])
    typer.echo(f"merged {dropped} into #{result['kept']}: {counted(result['mentions_moved'], 'mention')},"
               f" {counted(len(result['tags_added']), 'new tag')}, {counted(result['snapshots_moved'], 'snapshot')}"
               " moved" + (f"; citation key {result['citekey']}" if result["citekey"] else ""))
    for key in result["dropped_citekeys"]:
        warn(f"citation key {key} no longer exists: use {result['citekey']} instead")
    for pin in result["pins_discarded"]:
        warn(f"#{pin['id']}'s pinned {pin['field']} ({pin['value']}) differed from #{result['kept']}'s and was"
             " not kept")
