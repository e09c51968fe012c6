"""Export and cite: selection → stable keys → items → text, and atomic writing of the result.

Exports stream: the selected ids are resolved and their keys assigned first (ids and keys are all that is held
for the whole selection), then the items are built and written CHUNK at a time, inside one read transaction
so that the whole export sees one state of the catalog. `render_export(selected_items(…))` gives the same
bytes in one string."""

from __future__ import annotations

import contextlib
import gc
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from refman.citation.item import CitationItem
from refman.citation.selection import Selection, keeps_order, resolve, sort_by_key
from refman.errors import UsageError

if TYPE_CHECKING:
    from refman.store.citation import CitationStore
    from refman.store.protocol import Store

EXPORT_FORMATS = ("biblatex", "bibtex", "csljson", "ris", "markdown")
CHUNK = 2000  # items built and written at a time


def selected_ids(store: Store, sel: Selection, default_all: bool = True) -> list[int]:
    """The selected source ids, in the order documented in refman.citation.selection, each with a stored
    citation key (assigned now if it had none)."""
    from refman.citation.keys import assign_citekeys, ensure_citekeys

    if (sel.empty and default_all) or (sel.all and not (sel.refs or sel.tags or sel.cited_in or sel.query)):
        # The whole catalog: keys assigned page by page, the order read from the citekey index. Only the
        # ids are held (not a key per source, nor a sort key each).
        assign_citekeys(store, None)
        return ids_by_key(store)
    ids = resolve(store, sel, default_all=default_all)
    keys = ensure_citekeys(store, ids)
    ids = [sid for sid in ids if sid in keys]  # sources deleted meanwhile
    if not keeps_order(sel):
        ids = sort_by_key(ids, keys)
    return ids


def ids_by_key(store: CitationStore) -> list[int]:
    """Every source that has a key, in sort_by_key's order (case-insensitive key, then key, then id). The store
    orders keys with ASCII case folding, which is str.lower() on the ASCII keys that refman writes and accepts;
    should a stored key not be ASCII, the ids are sorted in Python instead."""
    ids: list[int] = []
    for sid, key in store.citekey_order():
        if not key.isascii():
            keys = store.citekeys_of(None)
            return sort_by_key(list(keys), keys)
        ids.append(sid)
    return ids


def item_chunks(store: CitationStore, ids: Sequence[int], size: int | None = None) -> Iterator[list[CitationItem]]:
    """The items of `ids`, in that order, `size` (default CHUNK) at a time."""
    from refman.citation.build import load_items

    size = size or CHUNK
    for start in range(0, len(ids), size):
        yield [item for _sid, item in load_items(store, ids[start : start + size])]


def selected_items(store: Store, sel: Selection, default_all: bool = True) -> list[CitationItem]:
    """The selected sources as items, each with its stored citation key (assigned now if it had none), in the
    order documented in refman.citation.selection."""
    ids = selected_ids(store, sel, default_all)
    with store.read_snapshot():
        return [item for chunk in item_chunks(store, ids) for item in chunk]


def iter_export(chunks: Iterable[Iterable[CitationItem]], fmt: str = "biblatex",
                ascii: bool | None = None) -> Iterator[str]:
    """The export of items given in chunks, as text pieces. `ascii` None means the format's default: LaTeX
    accents for classic BibTeX, UTF-8 for BibLaTeX."""
    if fmt == "biblatex":
        from refman.citation.bibtex import iter_biblatex

        return iter_biblatex(chunks, ascii=bool(ascii))
    if fmt == "bibtex":
        from refman.citation.bibtex import iter_bibtex

        return iter_bibtex(chunks, ascii=True if ascii is None else ascii)
    if fmt == "csljson":
        from refman.citation.csljson import iter_csljson

        return iter_csljson(chunks)
    if fmt == "ris":
        from refman.citation.ris import iter_ris

        return iter_ris(chunks)
    if fmt == "markdown":
        from refman.citation.markdown import iter_markdown

        return iter_markdown(chunks)
    raise UsageError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")


def render_export(items: Sequence[CitationItem], fmt: str = "biblatex", ascii: bool | None = None) -> str:
    """`ascii` None means the format's default: LaTeX accents for classic BibTeX, UTF-8 for BibLaTeX."""
    return "".join(iter_export([items], fmt, ascii))


def export_pieces(store: Store, sel: Selection, fmt: str = "biblatex", ascii: bool | None = None,
                  default_all: bool = True, chunk: int | None = None) -> Iterator[str]:
    """The export of a selection as text pieces, built `chunk` (default CHUNK) items at a time: what
    `render_export(selected_items(store, sel, default_all), fmt, ascii)` returns, without ever holding all the
    items. Keys are assigned (and the format checked) before the first piece is yielded, and the pieces are
    read in one read transaction."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    ids = selected_ids(store, sel, default_all)
    with store.read_snapshot():
        yield from iter_export(item_chunks(store, ids, chunk or CHUNK), fmt, ascii)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector around an export. An export allocates millions of small objects
    (rows, items, names, strings) and none of them form reference cycles, so reference counting frees them
    all; the collector, triggered by the allocation count alone, would only traverse the live ones again and
    again (0.7 s of the 4.5 s that the first export of 100,000 sources took)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def write_pieces(pieces: Iterable[str], handle: IO[str]) -> None:
    for piece in pieces:
        if piece:
            handle.write(piece)


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[IO[str]]:
    """A text handle (UTF-8) on a temporary file beside `path`, renamed over `path` when the block ends without
    error (and removed when it does not): a reader (an editor, pandoc --watch) sees the old file or the new
    one, never half of one."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
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


def atomic_write(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically (see atomic_writer)."""
    with atomic_writer(path) as handle:
        handle.write(text)
