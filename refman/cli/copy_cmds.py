"""`refman db copy --to LOCATION` / `--from LOCATION` (library: refman.catalog_copy)."""

from __future__ import annotations

from typing import Any

import typer

from refman.cli.common import counted, db_app, emit_json, handle_errors, open_catalog, progress_bar

_KIND_NAMES = {"sources": ("source", None), "notes": ("note", None), "mentions": ("mention", None),
               "evidence": ("field value", None), "tags": ("tag", None), "aliases": ("alias", "aliases"),
               "snapshots": ("snapshot", None), "blobs": ("archived body", "archived bodies"),
               "texts": ("archived text", None), "exports": ("registered export", None),
               "history": ("overwritten value", None)}


@db_app.command("copy")
@handle_errors
def db_copy(
    to: str | None = typer.Option(None, "--to", metavar="PATH|URL",
                                  help="Copy this catalog into that one (created if missing)."),
    from_: str | None = typer.Option(None, "--from", metavar="PATH|URL", help="Copy that catalog into this one."),
    as_json: bool = typer.Option(False, "--json", help="Print {from, to, counts, key_clashes, dropped_keys,"
                                 " pin_conflicts, notes_replaced, exports_skipped, seconds}."),
) -> None:
    """Copy a catalog into another, any backend to any backend (a personal SQLite file into a team's PostgreSQL
    catalog, or back): sources with every field value and pin, aliases, tags, notes and mentions, citation keys,
    snapshots and archived bodies, registered exports. Sources the target has already (same URL or alias, else
    DOI, else ISBN) are merged without losing a mention, tag, pin or key; a key another target source holds gets
    a suffix. All in one transaction on the target: all of it or nothing."""
    from refman.errors import UsageError

    if (to is None) == (from_ is None):
        raise UsageError("give one of --to LOCATION (this catalog into that one) or --from LOCATION (that one"
                         " into this one)")
    with open_catalog(create=from_ is not None) as cat, \
            progress_bar("copy", "rows", quiet=as_json) as progress:
        report = cat.copy_to(to, progress=progress) if to is not None else cat.copy_from(from_ or "", progress=progress)
    if as_json:
        emit_json(report)
        return
    _echo(report)


def _echo(report: dict[str, Any]) -> None:
    typer.echo(f"copied {report['from']} into {report['to']} in {report['seconds']:.1f} s")
    for kind, counts in report["counts"].items():
        if not any(counts.values()):
            continue
        noun, plural = _KIND_NAMES[kind]
        parts = [f"{counts[how]} {how}" for how in ("merged", "skipped") if counts[how]]
        typer.echo(f"  {counted(counts['copied'], noun, plural)} copied" + (f" ({', '.join(parts)})" if parts else ""))
    for clash in report["key_clashes"]:
        typer.echo(f"key clash: {clash['key']} is another source's in the target: #{clash['source']} is now"
                   f" {clash['renamed']}")
    for dropped in report["dropped_keys"]:
        typer.echo(f"key kept: #{dropped['source']} keeps {dropped['kept']} (the copied {dropped['key']} is gone)")
    for pin in report["pin_conflicts"]:
        typer.echo(f"pin kept: #{pin['source']} {pin['field']} stays {pin['kept']!r} (copied: {pin['copied']!r})")
    for note in report["notes_replaced"]:
        typer.echo(f"note replaced (the copied one is newer): {note['path']} in {note['root']}")
    for name in report["exports_skipped"]:
        typer.echo(f"registered export skipped (the target has its name or path): {name}")
