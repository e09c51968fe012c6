"""docs/architecture.md names real files: every repository path it mentions exists (but the planned ones)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
PLANNED: set[str] = set()  # paths the document names before they exist


def test_the_paths_it_names_exist() -> None:
    paths = set(re.findall(r"`((?:refman|tests|migrations|docs)/[\w./<>-]*)`", DOC))
    assert "refman/store/sqlite/" in paths and "refman/models.py" in paths
    missing = sorted(p for p in paths - PLANNED if "<" not in p and not (REPO / p).exists())
    assert not missing, missing


def test_it_is_linked_from_the_readme() -> None:
    assert "(docs/architecture.md)" in (REPO / "README.md").read_text(encoding="utf-8")
