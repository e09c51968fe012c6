"""Catalog commands: import, add, list, show, tag, set, unset, stats, db upgrade/status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from refman.cli.common import (
    app,
    console,
    counted,
    db_app,
    emit_json,
    error,
    handle_errors,
    open_catalog,
    options,
    progress_bar,
    stdout_is_terminal,
    warn,
)
from refman.cli.render import flat, name_of, site_of

# How the import summary names a kind of skipped link (refman.urls reasons), singular and plural.
_SKIP_KINDS = {
    "relative link": ("link to another note", "links to other notes"),
    "anchor link": ("anchor", "anchors"),
    "empty URL": ("empty link", "empty links"),
    "URL has no host": ("URL without a host", "URLs without a host"),
    "invalid host name": ("URL with an invalid host", "URLs with an invalid host"),
}


def skip_kind(reason: str) -> str:
    """The kind of a skipped link for the summary: 'relative link', 'mailto: link', 'invalid URL', …"""
    if reason in _SKIP_KINDS:
        return reason
    if reason.endswith("link, not a web page"):
        return reason.split(",")[0]  # "mailto: link"
    return "invalid URL" if reason.startswith("invalid") else reason


def skipped_summary(skipped: list[dict[str, Any]]) -> str:
    """'967 links to other notes, 265 anchors, 1 mailto: link skipped' (kinds by count, largest first)."""
    import collections

    kinds = collections.Counter(skip_kind(item["reason"]) for item in skipped if item.get("url") is not None)
    parts = []
    for kind, n in kinds.most_common():
        one, many = _SKIP_KINDS.get(kind, (kind, kind + "s"))
        parts.append(counted(n, one, many))
    return ", ".join(parts) + " skipped" if parts else ""


@app.command("import")
@handle_errors
def import_(
    paths: list[Path] = typer.Argument(
        ..., help="Notes, folders of notes, or bibliographies: .bib, CSL .json, .ris, bookmarks .html."),
    as_json: bool = typer.Option(False, "--json", help="Print the import report as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print no warnings and no progress bar."),
) -> None:
    """Import the reference definitions (and bare reference lines) of Markdown notes, or a bibliography:
    BibTeX/BibLaTeX, CSL-JSON, RIS or a browser's bookmarks.html (folders become tags). A progress bar shows on
    a terminal. Skipped links are summed up by kind (each one with -v or in --json)."""
    from refman.api import check_paths_exist

    check_paths_exist(paths)  # before a catalog is created for them
    # Another import (a cron job and a hand run) is waited for rather than failing after the usual timeout.
    with open_catalog(create=True, wait_s=IMPORT_WAIT_S) as cat, \
            progress_bar("import", "notes", quiet=as_json or quiet) as progress:
        imported = cat.import_paths(paths, progress=progress)
    result = imported.to_dict()
    if as_json:
        emit_json(result)
        return
    if imported.notes:
        _echo_import(result, quiet)
    if imported.bibliography is not None:
        bib = result["bibliography"]
        if not quiet:
            for item in bib["warnings"]:
                where = f"{item['path']}:{item['line']}" if item.get("line") else item["path"]
                warn(f"{where}: {item['message']}")
        typer.echo(f"{counted(bib['entries'], 'bibliography entry', 'bibliography entries')} →"
                   f" {counted(bib['new'], 'new source')}"
                   + (f" ({bib['without_url']} without URL)" if bib["without_url"] else "")
                   + f", {bib['matched']} matched"
                   + (f", {bib['skipped']} skipped" if bib["skipped"] else "")
                   + (f"; {counted(len(bib['warnings']), 'warning')}" if bib["warnings"] else ""))


IMPORT_WAIT_S = 600


def _echo_import(result: dict[str, Any], quiet: bool) -> None:
    links = [item for item in result["skipped"] if item.get("url") is not None]
    notes_skipped = [item for item in result["skipped"] if item.get("url") is None]
    if not quiet:
        for item in notes_skipped:
            warn(f"{item['path']}: skipped: {item['reason']}")
        for item in result["warnings"]:
            where = f"{item['path']}:{item['line']}" if item.get("line") else item["path"]
            warn(f"{where}: {item['message']}")
        if options.verbose:
            for item in links:
                warn(f"{item['path']}:{item['line']}: skipped {item['url']}: {item['reason']}")
        if links:
            typer.echo(skipped_summary(links) + ("" if options.verbose else " (-v lists them)"), err=True)
    typer.echo(
        f"{counted(result['notes_scanned'], 'note')} scanned, {result['notes_unchanged']} unchanged"
        + (f", {result['notes_removed']} removed" if result["notes_removed"] else "")
        + f"; {counted(result['definitions'], 'definition')}"
        + (f" and {counted(result['bare_references'], 'bare reference line')}" if result["bare_references"] else "")
        + f" → {counted(result['sources_new'], 'new source')},"
        f" {result['sources_updated']} updated, {counted(result['mentions'], 'mention')};"
        f" {counted(len(links), 'link')} and {counted(len(notes_skipped), 'note')} skipped,"
        f" {counted(len(result['warnings']), 'warning')}"
    )


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
    from refman.urls import normalise_url

    normalise_url(url)  # an invalid URL is refused before a catalog is created for it
    fetched: dict[str, Any] | None = None
    with open_catalog(create=True) as cat:
        added = cat.add(url, title=title, tags=tag, note=note)
        if fetch:
            from refman.fetch.fallback import FallbackOptions

            # the settings file's fallbacks ([fetch] wayback, render, adapters) apply as to `refman fetch`
            fetched = cat.fetch([added.id], fallback=FallbackOptions.from_settings()).to_dict()
        item = cat.sources([added.id])[0].to_dict()
    source_id = added.id
    if as_json:
        emit_json({"created": added.created, "source": item, **({"fetch": fetched} if fetched else {})})
        return
    verb = "added" if added.created else "already in the catalog:"
    typer.echo(f"{verb} #{source_id} {item['url']}")
    if fetched is not None:
        typer.echo(f"fetch: {item['status']}" + (f" ({item['reason']})" if item["reason"] else ""))


@app.command("list")
@handle_errors
def list_(
    tag: list[str] = typer.Option([], "--tag", help="Only sources with this tag (repeat: all of them).",
                                  show_default=False),
    orphans: bool = typer.Option(False, "--orphans", help="Only sources notes cited once and none cites now."),
    status: str | None = typer.Option(None, "--status", help="Only sources with this status (new, ok, dead, …)."),
    since: str | None = typer.Option(None, "--since", help="Issued on or after this date (2024, 2024-06, …)."),
    until: str | None = typer.Option(None, "--until", help="Issued on or before this date (2024 = until its end)."),
    site: str | None = typer.Option(None, "--site", help="Only this domain and its subdomains."),
    cited_in: str | None = typer.Option(None, "--cited-in", metavar="NOTE",
                                        help="Only sources cited by this note, or by notes in this folder."),
    sort: str = typer.Option("added", "--sort", help="added | issued (newest first) | title | cited (most first)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many first."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array of sources."),
) -> None:
    """List the sources in the catalog (a table on a terminal, tab-separated in a pipe)."""
    from refman.search import SearchFilters

    filters = SearchFilters(tags=tag, since=since, until=until, site=site, cited_in=cited_in, status=status)
    with open_catalog() as cat:
        items = [s.to_dict() for s in cat.sources(orphans=orphans, limit=limit, offset=offset, filters=filters,
                                                  sort=sort)]
        total = cat.count(orphans=orphans, filters=filters) if limit and len(items) == limit else len(items)
    if as_json:
        emit_json(items)
        return
    if not stdout_is_terminal():
        for it in items:
            typer.echo("\t".join(_cell(v) for v in (it["id"], it["status"], it["issued"], site_of(it),
                                                    ",".join(it["tags"]), it["title"], it["url"])))
        return
    from refman.cli.render import source_table

    con = console()
    con.print(source_table(items))
    shown = counted(len(items), "source")
    if limit and len(items) == limit:
        shown = f"{shown} of {total} (--limit {limit}" + (f", --offset {offset}" if offset else "") + ")"
    con.print(shown)


def _cell(value: Any) -> str:
    return flat(value) if value is not None else ""


@app.command()
@handle_errors
def show(
    ref: str = typer.Argument(..., help="An id, a citation key or a URL."),
    as_json: bool = typer.Option(False, "--json", help="Print the source as JSON."),
) -> None:
    """Show one source: merged fields and where each came from, mentions, snapshots. In a pipe: one
    `field<TAB>value` line each, never wrapped."""
    from refman.cli.render import show_lines, show_plain

    with open_catalog() as cat:
        item = cat.get(ref).to_dict()
    if as_json:
        emit_json(item)
    elif stdout_is_terminal():
        con = console()
        for text in show_lines(item):
            con.print(text)
    else:
        for plain in show_plain(item):
            typer.echo(plain)


@app.command()
@handle_errors
def tag(
    refs: list[str] = typer.Argument(..., help="Sources (ids, citation keys or URLs)."),
    add: list[str] = typer.Option([], "--add", "-a", help="Tag to add (repeatable; quote a multi-word tag)."),
    remove: list[str] = typer.Option([], "--remove", "-r", help="Tag to remove (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the sources' tags as JSON."),
) -> None:
    """Add or remove tags; with neither, print the sources' tags. Tags are case-insensitive: the catalog keeps
    the first spelling (ML and ml are one tag)."""
    from refman.catalog import normalise_tag

    for t in (*add, *remove):
        normalise_tag(t)  # refuse a bad tag before anything is opened
    with open_catalog() as cat:
        ids = cat.resolve_many(refs)
        not_there = cat.tag(ids, add=add, remove=remove) if add or remove else []
        items = [s.to_dict() for s in cat.sources(ids)]
    if as_json:
        emit_json([{"id": it["id"], "tags": it["tags"]} for it in items])
        return
    for sid, t in not_there:
        warn(f"#{sid} has no tag {t!r}: nothing to remove")
    for it in items:
        typer.echo(f"#{it['id']}\t{', '.join(it['tags'])}")


@app.command("tags")
@handle_errors
def tags_(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List every tag with how many sources carry it."""
    with open_catalog() as cat:
        counts = cat.tags()
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
                                             " publisher, doi, language, type, abstract, citekey, note, url)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was set as JSON."),
) -> None:
    """Pin your own value for fields; no fetch overwrites them. Authors: 'Family, Given; Other, Name'.
    Dates are calendar dates (2024, 2024-06, 2024-06-30); languages BCP 47 tags (en, en-US, zh-Hans)."""
    with open_catalog() as cat:
        source_id = cat.resolve(ref)
        done = cat.set_fields(source_id, assignments)
    if as_json:
        emit_json({"id": source_id, "set": done})
        return
    merged = done.pop("merged", None)
    for field, value in done.items():
        typer.echo(f"#{source_id} {field} = {_as_typed(value)}")
    if merged:
        typer.echo(f"#{source_id} merged into #{merged['kept']}, which has that URL"
                   + (f" (key {merged['citekey']})" if merged.get("citekey") else "")
                   + (f"; keys that no longer exist: {', '.join(merged['dropped_citekeys'])}"
                      if merged.get("dropped_citekeys") else ""))


def _as_typed(value: Any) -> str:
    """A stored value written back the way a user types it (authors as 'Family, Given; {Org}')."""
    if isinstance(value, list):
        return "; ".join("{" + n["literal"] + "}" if "literal" in n else name_of(n) for n in value)
    return str(value)


@app.command()
@handle_errors
def unset(
    ref: str = typer.Argument(..., help="An id, a citation key or a URL."),
    fields: list[str] = typer.Argument(..., help="Fields to release."),
    as_json: bool = typer.Option(False, "--json", help="Print the released fields' values now, as JSON."),
) -> None:
    """Release pinned fields: fetched or label values show again. A field that is not pinned is reported as
    such (nothing to release)."""
    with open_catalog() as cat:
        source_id = cat.resolve(ref)
        released, not_pinned = cat.unset_fields(source_id, fields)
        shown = cat.get(source_id, snapshots=0).to_dict()
    now = {field: {"value": shown.get("DOI" if field == "doi" else field),
                   "origin": None if field == "note" else shown["provenance"].get(field)} for field in released}
    if as_json:
        emit_json({"id": source_id, "unset": now, "not_pinned": not_pinned})
        return
    for field in not_pinned:
        typer.echo(f"#{source_id} {field} is not pinned: nothing to release")
    for field, value in now.items():
        shown_value = value["value"]
        if isinstance(shown_value, list):
            shown_value = "; ".join(name_of(n) for n in shown_value)
        typer.echo(f"#{source_id} {field} released: " + ("now empty" if shown_value in (None, "", []) else
                   f"now {shown_value} (from {value['origin'] or 'the catalog'})"))


@app.command()
@handle_errors
def stats(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Counts: notes, sources, mentions, orphans, statuses, archive size, top hosts."""
    with open_catalog() as cat:
        data = cat.stats()
    if as_json:
        emit_json(data)
        return
    from refman.cli.maintenance_cmds import human_size

    def shown(key: str, value: Any) -> str:
        return human_size(value) if key.endswith("bytes") else str(value)

    if not stdout_is_terminal():
        for key, value in data.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    typer.echo(f"{key}.{k}\t{v}")
            else:
                typer.echo(f"{key}\t{value}")
        return
    from rich.table import Table

    from refman.cli.render import line

    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(justify="right", style="bold")
    table.add_column(justify="right")
    table.add_column()
    for key, value in data.items():
        if isinstance(value, dict):
            table.add_row(key.replace("_", " "), "", "")
            for k, v in value.items():
                table.add_row("", str(v), line(k))
        else:
            table.add_row(key.replace("_", " "), shown(key, value), "")
    console().print(table)


@db_app.command("upgrade")
@handle_errors
def db_upgrade(as_json: bool = typer.Option(False, "--json", help="Print the status after it as JSON.")) -> None:
    """Create or upgrade the catalog's schema (also done automatically on open)."""
    from refman.store import catalog_status

    before = catalog_status(options.location, check=False)["revision"]
    open_catalog(create=True).close()  # creates or upgrades, or says why it cannot (read-only, too new, damaged)
    status = catalog_status(options.location, check=False)
    if as_json:
        emit_json({**status, "previous_revision": before})
        return
    typer.echo(f"{status['path']}: at revision {status['revision']}"
               + ("" if before == status["revision"] else f" (was {before or 'empty'})"))


@db_app.command("status")
@handle_errors
def db_status(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Where the catalog is, whether its schema is current, whether it is damaged or read-only. Writes
    nothing. Exit 3 when there is no catalog, 4 when it is damaged or too new."""
    from refman.store import catalog_status

    status = catalog_status(options.location)
    if as_json:
        emit_json(status)
    else:
        state = status["state"] + (f" ({status['problem']})" if status["problem"] else "")
        if status["read_only"] and status["exists"]:
            state += ", read-only"
        typer.echo(f"{status['path']}: revision {status['revision'] or '-'} (head {status['head']}), {state}")
        if status["state"] == "damaged":
            error(f"catalog {status['path']} is damaged: `refman db check` tells what; restore a backup to"
                  " repair it")
    if status["state"] == "missing":
        error(f"no catalog at {status['path']}")
        raise typer.Exit(3)
    if status["state"] in ("damaged", "too new"):
        raise typer.Exit(4)


@app.command()
@handle_errors
def duplicates(
    merge: bool = typer.Option(False, "--merge", help="Merge each group into its proposed kept source."),
    as_json: bool = typer.Option(False, "--json", help="Print {groups, merged} as JSON."),
) -> None:
    """Find sources that are the same page by evidence (redirects, canonical URL, DOI); --merge merges them."""
    with open_catalog() as cat:
        groups = cat.duplicates()
        merged = cat.merge_duplicates(groups) if merge and groups else []
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
    with open_catalog() as cat:
        result = cat.merge(keep, cat.resolve_many(dups))
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
