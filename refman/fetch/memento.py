"""Memento URLs of web archives (`…/web/20240624120000/https://…`, the Wayback Machine's form): their replay
form and their timestamp. Plain string work, imported by the archive's readers and by citations (a citation of
an archived copy names its replay URL)."""

from __future__ import annotations

import re

# A memento URL: prefix up to `/web/`, the 1–14 digit timestamp, an optional modifier (`id_`), the original URL.
MEMENTO = re.compile(r"^(?P<prefix>.*?/web/)(?P<ts>\d{1,14})(?:[a-z]{2}_)?/(?P<original>.+)$", re.S)


def plain_memento(url: str) -> str:
    """The replay form of a memento URL (what a reader opens): modifiers such as `id_` removed."""
    m = MEMENTO.match(url)
    return f"{m['prefix']}{m['ts']}/{m['original']}" if m else url


def memento_timestamp(url: str) -> str | None:
    m = MEMENTO.match(url)
    return m["ts"] if m else None
