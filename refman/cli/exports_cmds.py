"""`refman exports` (list, remove, refresh) and the end-of-command refresh of registered exports
(library: refman.exports_registry). `refman export … --keep-updated` registers one (refman.cli.export_cmds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from refman.cli.common import app, emit_json, error, handle_errors, open_catalog, options, stderr_is_terminal, warn

exports_app = typer.Typer(
    help="Registered exports: bibliographies refman re-writes whenever their content changes. Without a command:"
    " list them with their state (current, stale, missing: its folder is gone, error: its selection no longer"
    " exists) and last write.",
    invoke_without_command=True,
)
app.add_typer(exports_app, name="exports")

_changes: Any = None  # the CatalogChanges opened when this command started (keep_exports_fresh)


def keep_exports_fresh(ctx: typer.Context) -> None:
    """Called before every command: note the catalog's change counter now, and when the command ends (normally
    or not), re-write the registered exports whose bytes changed if anything committed to the catalog meanwhile.
    One mechanism for every command, present and future: none of them has to remember to call it."""
    global _changes
    if ctx.resilient_parsing:
        return
    from refman.errors import RefmanError

    try:
        location = options.location
    except RefmanError:
        return  # the command itself reports the bad catalog path
    if isinstance(location, Path):
        from refman.store.sqlite.changes import CatalogChanges

        _changes = CatalogChanges(location)
    else:
        from refman.store.postgres.changes import PostgresChanges

        _changes = PostgresChanges(location)
    ctx.call_on_close(_refresh_if_changed)


def exports_are_current() -> None:
    """The running command has just written the registered exports itself: nothing to redo when it ends."""
    if _changes is not None:
        _changes.rebaseline()


def _refresh_if_changed() -> None:
    changes, cat = _changes, None
    if changes is None or changes.conn is None:
        return
    try:
        if not changes.changed():
            return
        from refman.exports_registry import has_registered_exports

        if changes.backend == "sqlite":
            from refman.store.sqlite import SqliteStore

            # asked on the change signal's own connection: cheaper than opening the catalog for nothing
            if not has_registered_exports(SqliteStore(changes.conn)):
                return
            cat = open_catalog()  # a missing catalog is "no catalog at PATH"
        else:
            cat = open_catalog()
            if not has_registered_exports(cat.store):
                return
        report_refresh(cat.refresh_exports(), quiet=not stderr_is_terminal())
    except KeyboardInterrupt:
        error("interrupted while refreshing registered exports")
        raise typer.Exit(130) from None
    except Exception as exc:  # the command's own work is done and committed: a failed refresh is one line
        error(f"registered exports not refreshed: {exc}")
    finally:
        if cat is not None:
            cat.close()
        changes.close()


def report_refresh(results: list[Any], quiet: bool = False) -> int:
    """One line per export written (unless quiet) and per export that could not be: how many could not."""
    failed = 0
    for r in results:
        if r.status in ("missing", "error"):
            warn(f"registered export {r.name!r} ({r.path}): {r.detail}")
            failed += 1
        elif r.status == "written" and not quiet:
            typer.echo(f"{_describe(r)}", err=True)
    return failed


def _describe(r: Any) -> str:
    if r.entries is not None:
        return f"wrote {r.path} ({r.entries} entries)"
    removed = f", removed {r.files_removed}" if r.files_removed else ""
    return f"wrote {r.files_written} files in {r.path}{removed}"


@exports_app.callback()
@handle_errors
def exports_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the registered exports as JSON."),
) -> None:
    """List the registered exports, their last write and whether the file on disk is current."""
    if ctx.invoked_subcommand is not None:
        return
    with open_catalog() as cat:  # a missing catalog is "no catalog at PATH"
        rows = [{**export.as_dict(), "state": state} for export, state in cat.registered_exports()]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("no registered exports (refman export -o FILE --keep-updated registers one)", err=True)
        return
    for row in rows:
        typer.echo(f"{row['name']}\t{row['state']}\t{row['written_at'] or 'never written'}\t"
                   f"{row['format']}{' per note' if row['per_note'] else ''}\t{_selection_text(row)}\t"
                   f"{row['path']}")


def _selection_text(row: dict[str, Any]) -> str:
    parts = [*row["refs"]]
    parts += [f"--tag {t}" for t in row["tags"]]
    if row["cited_in"]:
        parts.append(f"--cited-in {row['cited_in']}")
    if row["query"]:
        parts.append(f"--query {row['query']}")
    return " ".join(parts) or "all"


@exports_app.command("remove")
@handle_errors
def exports_remove(
    names: list[str] = typer.Argument(..., help="Names of registered exports (refman exports lists them)."),
    as_json: bool = typer.Option(False, "--json", help="Print the removed exports as JSON."),
) -> None:
    """Stop keeping exports up to date. Their files stay where they are."""
    with open_catalog() as cat:  # a missing catalog is "no catalog at PATH"
        removed = cat.remove_exports(names)
    if as_json:
        emit_json([e.as_dict() for e in removed])
        return
    for e in removed:
        typer.echo(f"removed {e.name} (its file {e.path} stays)", err=True)


@exports_app.command("refresh")
@handle_errors
def exports_refresh(
    names: list[str] | None = typer.Argument(None, help="Names of registered exports (default: all of them)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done to each export as JSON."),
) -> None:
    """Re-write the registered exports whose content changed now (a file that would not change is not touched).
    Exits 1 when one could not be written (its folder is gone, its selection no longer exists)."""
    with open_catalog() as cat:  # a missing catalog is "no catalog at PATH"
        results = cat.refresh_exports(names or None)
    exports_are_current()
    if as_json:
        emit_json([r.as_dict() for r in results])
        failed = sum(r.status in ("missing", "error") for r in results)
    else:
        failed = report_refresh(results)
        unchanged = sum(r.status == "unchanged" for r in results)
        typer.echo(f"{len(results) - unchanged - failed} written, {unchanged} unchanged, {failed} not written",
                   err=True)
    if failed:
        raise typer.Exit(1)


def register_export(fmt: str, selection: Any, ascii_: bool | None, output: Path | None, per_note: Path | None,
                    name: str | None, keep_updated: bool) -> None:
    """`refman export … --keep-updated` / `--per-note DIR`: register (or only write) a file or a per-note mirror."""
    from refman.errors import UsageError
    from refman.exports_registry import RegisteredExport

    if per_note is not None and output is not None:
        raise UsageError("give -o FILE or --per-note DIR, not both")
    if keep_updated and output is None and per_note is None:
        raise UsageError("--keep-updated needs a file to keep: -o FILE (or --per-note DIR)")
    if name is not None and not keep_updated:
        raise UsageError("--name names a registered export: add --keep-updated")
    export = RegisteredExport(
        name=name or "", path=str(per_note if per_note is not None else output), format=fmt,
        per_note=per_note is not None, refs=list(selection.refs), tags=list(selection.tags),
        cited_in=selection.cited_in, query=selection.query, all=selection.all, ascii=ascii_,
    )
    with open_catalog() as cat:  # a missing catalog is "no catalog at PATH"
        if keep_updated:
            stored, result = cat.register_export(export)
        else:
            stored, result = export, cat.write_export_once(export)
    exports_are_current()
    if result.status in ("missing", "error"):
        raise UsageError(f"{result.path}: {result.detail}")
    if stored.per_note:
        typer.echo(_describe(result) if result.status == "written" else f"{stored.path}: every file is current",
                   err=True)
    if keep_updated:
        typer.echo(f"registered export {stored.name!r}: kept up to date by every change (refman exports)",
                   err=True)
