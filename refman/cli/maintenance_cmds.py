"""`refman delete`, `refman db check`, `refman db backup`, `refman db gc` (library: refman.maintenance)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from refman.cli.common import app, counted, db_app, emit_json, error, handle_errors, open_catalog, options


def human_size(n: int) -> str:
    """1536 → '1.5 KiB'."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@app.command()
@handle_errors
def delete(
    refs: list[str] = typer.Argument(..., help="Sources to delete (ids, citation keys or URLs)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (needed when stdin is not a terminal)."),
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Say what would be removed; remove nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print what was removed as JSON."),
) -> None:
    """Delete sources with their mentions, tags, pinned fields, citation keys and snapshots; archived bodies
    that nothing references any more go too. There is no undo but a backup (`refman db backup PATH` first).
    A note that still cites a deleted URL brings it back when that note changes and is imported again."""
    from refman.errors import UsageError

    with open_catalog() as cat:
        ids = cat.resolve_many(refs)
        preview = cat.delete(ids, dry_run=True)
        if not dry_run and not yes:
            if not sys.stdin.isatty():
                raise UsageError("refusing to delete without --yes when not asked on a terminal")
            _echo_delete(preview, "would delete")
            if not typer.confirm("delete them?", default=False, err=True):
                raise typer.Exit(1)
        report = preview if dry_run else cat.delete(ids)
    if as_json:
        emit_json(report)
        return
    _echo_delete(report, "would delete" if dry_run else "deleted")
    if not dry_run:
        typer.echo("(no undo: restore a backup to get them back)", err=True)


def _echo_delete(report: dict, verb: str) -> None:  # type: ignore[type-arg]
    for src in report["sources"]:
        typer.echo(f"{verb} #{src['id']} {src['url']}" + (f"  {src['title']}" if src["title"] else ""))
    bodies = counted(report["blobs_removed"], "archived body", "archived bodies")
    typer.echo(f"{verb} {counted(len(report['sources']), 'source')} with {counted(report['mentions'], 'mention')},"
               f" {counted(report['tags'], 'tag')}, {counted(report['pins'], 'pinned field')},"
               f" {counted(report['snapshots'], 'snapshot')}; {bodies}"
               f" ({human_size(report['stored_bytes_freed'])}) freed")


@db_app.command("check")
@handle_errors
def db_check(as_json: bool = typer.Option(False, "--json", help="Print {ok, integrity, foreign_keys, search_index}.")
             ) -> None:
    """Check the catalog: SQLite's integrity check, foreign keys, the search index. Exit 4 when damaged."""
    from refman.errors import CatalogCorruptError

    try:
        with open_catalog() as cat:
            report = cat.check_integrity()
    except CatalogCorruptError as exc:  # a file too damaged to run the checks is a finding, not a crash
        report = {"ok": False, "integrity": [str(exc)], "foreign_keys": [], "search_index": "not checked",
                  "skipped": ["the foreign keys and the search index (the file is too damaged)"]}
    if as_json:
        emit_json(report)
    else:
        typer.echo(f"integrity: {'ok' if report['integrity'] == 'ok' else '; '.join(report['integrity'])}")
        broken = report["foreign_keys"]
        typer.echo(f"foreign keys: {counted(len(broken), 'broken reference') if broken else 'ok'}")
        index = report["search_index"]
        typer.echo(f"search index: {index if isinstance(index, str) else '; '.join(index)}")
        for what in report.get("skipped", []):
            typer.echo(f"not checked: {what}")
        if not report["ok"]:
            error(f"catalog {options.shown_location()} has problems: restore a backup; if only the search index is"
                  " wrong, `refman db reindex` rebuilds it")
    if not report["ok"]:
        raise typer.Exit(4)


@db_app.command("backup")
@handle_errors
def db_backup(
    path: Path = typer.Argument(..., help="The copy to write (a file, or a folder to put a dated copy in)."),
    force: bool = typer.Option(False, "--force", help="Replace PATH if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Print {path, bytes, pages, elapsed_s}."),
) -> None:
    """A consistent copy of the catalog, made while other refman commands go on (SQLite's online backup),
    written atomically. Restore by using it as --db (or copying it over the catalog)."""
    with open_catalog() as cat:
        result = cat.backup(path, replace=force)
    if as_json:
        emit_json(result)
        return
    typer.echo(f"backed up to {result['path']} ({human_size(result['bytes'])})")


@db_app.command("gc")
@handle_errors
def db_gc(
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Count only."),
    as_json: bool = typer.Option(False, "--json", help="Print {blobs, stored_bytes}."),
) -> None:
    """Remove archived bodies that no snapshot or archived text references any more."""
    with open_catalog() as cat:
        result = cat.collect_garbage(dry_run=dry_run)
    if as_json:
        emit_json(result)
        return
    verb = "would remove" if dry_run else "removed"
    typer.echo(f"{verb} {counted(result['blobs'], 'unreferenced body', 'unreferenced bodies')}"
               f" ({human_size(result['stored_bytes'])})")
