"""CSL-JSON writer (valid against the official csl-data.json schema) and reader.

Ids are the citation keys. Dates are `{"date-parts": [[Y, M, D]]}`, names family/given or literal, the user's
note is `annote` and tags are the comma-separated `keyword`. Text stays plain (no TeX, no HTML escaping).
Output is deterministic: items in the order given, keys in a fixed order, one item per line, UTF-8."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from refman.citation.item import CitationItem


def to_data(items: Iterable[CitationItem]) -> list[dict[str, Any]]:
    return [item.to_csl() for item in items]


def write_csljson(items: Iterable[CitationItem]) -> str:
    """A JSON array with one item per line: json's C encoder only runs without `indent`, and an indented
    dump of 100,000 items took seconds longer."""
    lines = [json.dumps(item.to_csl(), ensure_ascii=False) for item in items]
    if not lines:
        return "[]\n"
    return "[\n" + ",\n".join(lines) + "\n]\n"
