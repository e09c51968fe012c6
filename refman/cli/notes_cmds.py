"""`refman notes`: the vault roots the catalog knows and their notes."""

from __future__ import annotations

import typer

from refman.cli.common import app, counted, emit_json, handle_errors, open_catalog


@app.command("notes")
@handle_errors
def notes(
    roots_only: bool = typer.Option(False, "--roots", help="Only the vault roots and their counts."),
    as_json: bool = typer.Option(False, "--json", help="Print [{root, owner, exists, notes, mentions, sources,"
                                                       " skipped, note_list}] as JSON."),
) -> None:
    """List the known vault roots (every user's, with who imported them) and their notes, with how many mentions
    each note has. A note is its path relative to its vault root, whatever path it was imported through; vault
    roots are per user."""
    with open_catalog() as cat:  # a read: never creates a catalog
        data = cat.notes()
    if as_json:
        emit_json([{k: v for k, v in r.items() if not (roots_only and k == "note_list")} for r in data])
        return
    for r in data:
        missing = "" if r["exists"] else " (missing on disk)"
        typer.echo(f"{r['root']}{missing}\t{counted(r['notes'], 'note')}, {counted(r['mentions'], 'mention')},"
                   f" {counted(r['sources'], 'source')}"
                   + (f", {r['skipped']} skipped" if r["skipped"] else "")
                   + f"\towner {r['owner'] or 'unknown'}")
        if roots_only:
            continue
        for n in r["note_list"]:
            extra = f"\t{n['status']}: {n['reason']}" if n["status"] != "ok" else ""
            typer.echo(f"  {n['path']}\t{n['mentions']}{extra}")
    if not data:
        typer.echo("no notes imported yet")
