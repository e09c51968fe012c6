"""CSL-JSON writer (valid against the official csl-data.json schema) and reader.

Ids are the citation keys. Dates are `{"date-parts": [[Y, M, D]]}`, names family/given or literal, the user's
note is `annote` and tags are the comma-separated `keyword`. Text stays plain (no TeX, no HTML escaping).
Output is deterministic: items in the order given, keys in a fixed order, one item per line, UTF-8."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from refman.citation.item import CitationItem
from refman.citation.stream import Chunks, joined


def to_data(items: Iterable[CitationItem]) -> list[dict[str, Any]]:
    return [item.to_csl() for item in items]


def _make_dumps() -> Callable[[Any], str]:
    """`json.dumps(value, ensure_ascii=False)`, minus the encoder that json.dumps builds on every call: the
    C encoder is made once (it keeps no state between calls when circular checks are off, and CSL items are
    trees). Falls back to a reused JSONEncoder where the C accelerator is missing."""
    encoder = json.JSONEncoder(ensure_ascii=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    c_encode = make(None, encoder.default, json.encoder.encode_basestring, None, encoder.key_separator,
                    encoder.item_separator, False, False, True)
    return lambda value: "".join(c_encode(value, 0))


_dumps = _make_dumps()


def csl_line(item: CitationItem) -> str:
    return _dumps(item.to_csl())


def iter_csljson(chunks: Chunks) -> Iterator[str]:
    """A JSON array with one item per line, from items given in chunks, as text pieces
    (refman.citation.stream). One line per item: json's C encoder only runs without `indent`, and an
    indented dump of 100,000 items took seconds longer."""
    return joined(chunks, csl_line, ",\n", head="[\n", tail="\n]\n", empty="[]\n")


def write_csljson(items: Iterable[CitationItem]) -> str:
    return "".join(iter_csljson([items]))
