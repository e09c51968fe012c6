"""`refman export`, `refman cite` and `refman rekey`: the citation commands (library: refman.citation)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import typer

from refman.cli.common import app, catalog_store, counted, emit_json, handle_errors

_REFS = typer.Argument(None, help="Source ids, citation keys (any case) or URLs.", show_default=False)
_TAG = typer.Option(None, "--tag", "-t", help="Sources with this tag (repeatable).", show_default=False)
_CITED_IN = typer.Option(
    None, "--cited-in", metavar="NOTE",
    help="The sources a note cites, in order of first appearance (path relative to the vault root, a unique "
    "suffix of one, or a folder).",
)
_QUERY = typer.Option(None, "--query", "-q", help="Sources matching a search query.")
_OUTPUT = typer.Option(None, "--output", "-o", help="Write to FILE atomically instead of stdout.", metavar="FILE")


def _selection(refs: list[str] | None, tag: list[str] | None, cited_in: str | None, query: str | None,
               all_: bool = False):  # type: ignore[no-untyped-def]
    from refman.citation.selection import Selection

    return Selection(refs=refs or [], tags=tag or [], cited_in=cited_in, query=query, all=all_)


# Names users type for the export formats (sqlite-utils, pandoc and Zotero spell CSL-JSON these ways).
FORMAT_ALIASES = {"csl-json": "csljson", "csl_json": "csljson", "json": "csljson", "bib": "biblatex",
                  "md": "markdown"}


def _check_output(output: Path | None) -> None:
    """Refuse an output path whose folder does not exist before anything is opened or written."""
    from refman.errors import UsageError

    if output is None:
        return
    folder = output.expanduser().parent
    if not folder.is_dir():
        raise UsageError(f"no such folder: {folder} (for {output})")
    if output.expanduser().is_dir():
        raise UsageError(f"{output} is a folder: give a file name")


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from refman.citation.export import atomic_write

    atomic_write(output, text)


@app.command("export")
@handle_errors
def export_command(
    refs: list[str] | None = _REFS,
    fmt: str = typer.Option("biblatex", "--format", "-f", help="biblatex | bibtex | csljson | ris | markdown."),
    tag: list[str] | None = _TAG,
    cited_in: str | None = _CITED_IN,
    query: str | None = _QUERY,
    all_: bool = typer.Option(False, "--all", help="Every source (the default when nothing is selected)."),
    ascii_: bool | None = typer.Option(
        None, "--ascii/--utf8", help="LaTeX-escaped accents (default for bibtex) or UTF-8 (default for biblatex)."
    ),
    output: Path | None = _OUTPUT,
    allow_empty: bool = typer.Option(False, "--allow-empty",
                                     help="Write an empty export when nothing matches (else: exit 3, no file)."),
    keep_updated: bool = typer.Option(
        False, "--keep-updated", help="Register the export: every later change to the catalog re-writes the file "
        "when its content changes (refman exports lists them)."),
    name: str | None = typer.Option(None, "--name", help="Name of the registered export (default: the file's name)."),
    per_note: Path | None = typer.Option(
        None, "--per-note", metavar="DIR", help="One file per note (biblatex, bibtex: .bib; csljson: .json) in DIR, "
        "at the note's path in its vault: the notes under --cited-in FOLDER, else every note."),
) -> None:
    """Export citations. Entries are sorted by citation key, except with --cited-in alone (the note's order)
    or explicit ids/keys alone (the order given). Same catalog, same bytes. An empty selection writes
    nothing, leaves an existing file as it is, and exits 3 (unless --allow-empty)."""
    from refman.citation.export import EXPORT_FORMATS, gc_paused, item_chunks, iter_export, selected_ids
    from refman.errors import UsageError

    fmt = FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}"
                         " (csl-json and json mean csljson)")
    if keep_updated or per_note is not None or name is not None:
        from refman.cli.exports_cmds import register_export

        register_export(fmt, _selection(refs, tag, cited_in, query, all_), ascii_, output, per_note, name,
                        keep_updated)
        return
    _check_output(output)
    sel = _selection(refs, tag, cited_in, query, all_)
    store = catalog_store()
    try:
        # Streamed: items are built and written a chunk at a time (peak memory does not grow with the catalog).
        with gc_paused():
            ids = selected_ids(store, sel)
            if not ids and not allow_empty:
                from refman.errors import NotFoundError

                raise NotFoundError("no source matches the selection: nothing written (--allow-empty writes an"
                                    " empty file)")
            with store.read_snapshot(), \
                    contextlib.closing(iter_export(item_chunks(store, ids), fmt, ascii_)) as pieces:
                _write_pieces(pieces, output)
    finally:
        store.close()


def _write_pieces(pieces: Iterator[str], output: Path | None) -> None:
    """Write text pieces to stdout, or atomically to `output`."""
    from refman.citation.export import atomic_writer, write_pieces

    if output is None:
        write_pieces(pieces, sys.stdout)
        sys.stdout.flush()
        return
    with atomic_writer(output.expanduser()) as handle:
        write_pieces(pieces, handle)


@app.command("cite")
@handle_errors
def cite_command(
    refs: list[str] | None = _REFS,
    style: str = typer.Option(
        "apa", "--style", "-s", help="apa | chicago-author-date | ieee | mla | gb-t-7714-numeric |"
        " gb-t-7714-author-date, or the path of a .csl file."
    ),
    fmt: str = typer.Option("text", "--format", "-f", help="text | html | markdown."),
    locale: str | None = typer.Option(None, "--locale", "-l", help="Language of terms and dates (en-US, zh-CN,"
                                      " de-DE …); default: the style's."),
    tag: list[str] | None = _TAG,
    cited_in: str | None = _CITED_IN,
    query: str | None = _QUERY,
    output: Path | None = _OUTPUT,
    as_json: bool = typer.Option(False, "--json", help="Print [{id, text}] (id = citation key) as JSON."),
) -> None:
    """Formatted references (citeproc-py with the shipped CSL styles)."""
    from refman.citation.export import selected_items
    from refman.citation.styles import format_entries, render
    from refman.errors import NotFoundError, UsageError

    sel = _selection(refs, tag, cited_in, query)
    if sel.empty:
        raise UsageError("say what to cite: ids, citation keys or URLs, --tag, --cited-in or --query")
    if style.lower().endswith(".csl") and not Path(style).expanduser().is_file():
        raise NotFoundError(f"no such file: {style}")
    _check_output(output)
    store = catalog_store()
    try:
        items = selected_items(store, sel, default_all=False)
    finally:
        store.close()
    if not items:
        raise NotFoundError("no source matches the selection: nothing to cite")
    if as_json:
        import json

        entries = [{"id": key, "text": text} for key, text in format_entries(items, style, fmt, locale)]
        _write(json.dumps(entries, ensure_ascii=False, indent=2) + "\n", output)
        return
    _write(render(items, style, fmt, locale), output)


@app.command("rekey")
@handle_errors
def rekey_command(
    refs: list[str] | None = _REFS,
    tag: list[str] | None = _TAG,
    cited_in: str | None = _CITED_IN,
    query: str | None = _QUERY,
    all_: bool = typer.Option(False, "--all", help="Recompute every source's key."),
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Show what would change; change nothing."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Recompute citation keys on request (keys never change by themselves). Prints `old → new`."""
    from refman.citation.keys import rekey
    from refman.citation.selection import resolve
    from refman.errors import UsageError

    sel = _selection(refs, tag, cited_in, query, all_)
    if sel.empty:
        raise UsageError("say which keys to recompute: ids, keys or URLs, --tag, --cited-in, --query or --all")
    store = catalog_store()
    try:
        ids = None if all_ else resolve(store, sel, default_all=False)
        results = rekey(store, ids, dry_run=dry_run)
    finally:
        store.close()
    if json_out:
        emit_json({
            "dry_run": dry_run,
            "changes": [{"id": r.source_id, "old": r.old, "new": r.new, "changed": r.changed} for r in results],
        })
        return
    changed = [r for r in results if r.changed]
    for r in changed:
        typer.echo(f"{r.source_id}\t{r.old or '-'} → {r.new}")
    verb = "would change" if dry_run else "changed"
    typer.echo(f"{len(changed)} of {counted(len(results), 'key')} {verb}", err=True)
