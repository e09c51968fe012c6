"""`refman notes`: the vault roots the catalog knows and their notes."""

from __future__ import annotations

import typer

from refman.cli.common import app, counted, emit_json, handle_errors, options


@app.command("notes")
@handle_errors
def notes(
    roots_only: bool = typer.Option(False, "--roots", help="Only the vault roots and their counts."),
    as_json: bool = typer.Option(False, "--json", help="Print [{root, exists, notes, mentions, sources, skipped,"
                                                       " note_list}] as JSON."),
) -> None:
    """List the known vault roots and their notes, with how many mentions each note has. A note is its path
    relative to its vault root, whatever path it was imported through."""
    from refman.notes.importer import list_notes
    from refman.store import open_store

    data = list_notes(open_store(options.db_path, create=False))  # a read: never creates a catalog
    if as_json:
        emit_json([{k: v for k, v in r.items() if not (roots_only and k == "note_list")} for r in data])
        return
    for r in data:
        missing = "" if r["exists"] else " (missing on disk)"
        typer.echo(f"{r['root']}{missing}\t{counted(r['notes'], 'note')}, {counted(r['mentions'], 'mention')},"
                   f" {counted(r['sources'], 'source')}"
                   + (f", {r['skipped']} skipped" if r["skipped"] else ""))
        if roots_only:
            continue
        for n in r["note_list"]:
            extra = f"\t{n['status']}: {n['reason']}" if n["status"] != "ok" else ""
            typer.echo(f"  {n['path']}\t{n['mentions']}{extra}")
    if not data:
        typer.echo("no notes imported yet")
