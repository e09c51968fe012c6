"""What a user's reference names: a source (by id, citation key, URL as written or normalised, or an alias of a
merged source) or the imported notes a note path means. The low module every command that takes references
shares (catalog operations, exports and cites, fetch and Wayback selections, search's --cited-in), so that none
of them imports another for it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from refman.errors import CatalogReadOnlyError, NotFoundError, UsageError

if TYPE_CHECKING:
    from refman.store.citation import CitationStore
    from refman.store.protocol import Store


def resolve_source(store: Store, ref: str) -> int:
    """A source id from an id, a citation key or a URL (as written or normalised)."""
    ref = ref.strip()
    if ref.isascii() and ref.isdigit() and store.source_exists(int(ref)):  # "²" is a digit to str.isdigit
        return int(ref)
    found = store.source_with_citekey(ref)
    if found is not None:
        return found
    if "://" not in ref and _KEY_LIKE.match(ref):
        found = _with_all_keys(store, ref)
        if found is not None:
            return found
    if "://" in ref:
        from refman.urls import normalise_url

        try:
            url = normalise_url(ref).url
        except UsageError:
            url = ref
        found = store.source_with_url(url, ref)
        if found is None:
            found = store.source_for_url(url)
        if found is not None:
            return found
    raise NotFoundError(f"no source matches {ref!r} (give an id, a citation key or a URL)")


_KEY_LIKE = re.compile(r"^[A-Za-z][\w:.+-]*$")


class _NoSuchKey(Exception):
    """No source has the key even once every source has one: undo the keys just assigned."""


def _with_all_keys(store: Store, key: str) -> int | None:
    """The source that has citation key `key` once every source has its key. Keys are stored the first time
    they are needed, so a key read in the docs may name a source whose key this catalog has not written down
    yet: the keys are assigned and kept when one matches, rolled back when none does (a failed look-up changes
    nothing). None on a read-only catalog, and inside a transaction of the caller's."""
    if store.in_transaction or not store.has_sources_without_citekey():
        return None
    from refman.citation.keys import assign_citekeys
    from refman.store import translate_error

    try:
        with store.transaction():
            assign_citekeys(store, None)
            found = store.source_with_citekey(key)
            if found is None:
                raise _NoSuchKey(key)
    except _NoSuchKey:
        return None
    except CatalogReadOnlyError:
        return None
    except Exception as exc:
        if isinstance(translate_error(exc, None), CatalogReadOnlyError):
            return None
        raise
    return found


def resolve_sources(store: Store, refs: Iterable[str]) -> list[int]:
    return [resolve_source(store, ref) for ref in refs]


def notes_for(store: CitationStore, note: str) -> list[int]:
    """Note ids for NOTE (see the module docstring), in path order. Raises NotFoundError or UsageError."""
    wanted = note.strip().replace("\\", "/")
    while wanted.startswith("./"):
        wanted = wanted[2:]
    rows = store.notes_by_path()
    absolute = os.path.abspath(os.path.expanduser(note)).replace("\\", "/")

    def full(root: str, path: str) -> str:
        return root.rstrip("/") + "/" + path

    exact = [r[0] for r in rows if r[2] == wanted or full(r[1], r[2]) == absolute]
    if exact:
        return exact
    folder = wanted.rstrip("/")
    under = [
        r[0] for r in rows
        if folder and (r[2].startswith(folder + "/") or full(r[1], r[2]).startswith(absolute.rstrip("/") + "/"))
    ]
    if under:
        return under
    suffix = [r for r in rows if r[2].endswith("/" + wanted)]
    if len(suffix) == 1:
        return [suffix[0][0]]
    if len(suffix) > 1:
        shown = ", ".join(r[2] for r in suffix[:5])
        raise UsageError(f"--cited-in {note!r} matches {len(suffix)} notes ({shown}…): give more of the path")
    raise NotFoundError(f"no imported note matches {note!r}")
