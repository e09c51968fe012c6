"""Export and cite: selection → stable keys → items → text, and atomic writing of the result."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path

from refman.citation.item import CitationItem
from refman.citation.selection import Selection, keeps_order, resolve, sort_by_key
from refman.errors import UsageError

EXPORT_FORMATS = ("biblatex", "bibtex", "csljson", "ris", "markdown")


def selected_items(conn: sqlite3.Connection, sel: Selection, default_all: bool = True) -> list[CitationItem]:
    """The selected sources as items, each with its stored citation key (assigned now if it had none), in the
    order documented in refman.citation.selection."""
    from refman.citation.build import load_items
    from refman.citation.keys import ensure_citekeys

    ids = resolve(conn, sel, default_all=default_all)
    everything = sel.all or (sel.empty and default_all)
    # everything: one table scan instead of chunked IN lists
    loaded = dict(load_items(conn, None if everything else ids))
    keys = ensure_citekeys(conn, None if everything else ids, items=loaded)
    for sid, item in loaded.items():
        if item.id != keys.get(sid, item.id):
            object.__setattr__(item, "id", keys[sid])  # skip pydantic's per-assignment bookkeeping
    if not keeps_order(sel):
        ids = sort_by_key(ids, keys)
    return [loaded[sid] for sid in ids if sid in loaded]


def render_export(items: Sequence[CitationItem], fmt: str = "biblatex", ascii: bool | None = None) -> str:
    """`ascii` None means the format's default: LaTeX accents for classic BibTeX, UTF-8 for BibLaTeX."""
    if fmt == "biblatex":
        from refman.citation.bibtex import write_biblatex

        return write_biblatex(items, ascii=bool(ascii))
    if fmt == "bibtex":
        from refman.citation.bibtex import write_bibtex

        return write_bibtex(items, ascii=True if ascii is None else ascii)
    if fmt == "csljson":
        from refman.citation.csljson import write_csljson

        return write_csljson(items)
    if fmt == "ris":
        from refman.citation.ris import write_ris

        return write_ris(items)
    if fmt == "markdown":
        from refman.citation.markdown import write_markdown

        return write_markdown(items)
    raise UsageError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")


def atomic_write(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to a temporary file beside `path`, then rename it over `path`: a reader (an
    editor, pandoc --watch) sees the old file or the new one, never half of one."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            with contextlib.suppress(OSError):
                os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
