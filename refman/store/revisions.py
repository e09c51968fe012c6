"""The schema revisions of refman's catalogs, whatever the backend: the newest one this refman writes, and every
one it knows (a catalog at a revision it does not know was written by a newer refman)."""

from __future__ import annotations

from importlib import resources

# The newest alembic revision in migrations/versions. tests/test_db.py fails when it drifts from alembic's head.
HEAD_REVISION = "0010"


def known_revisions() -> set[str]:
    """The schema revisions this refman knows (its migrations' ids: `0004_source_alias.py` → "0004")."""
    folder = resources.files("refman.migrations").joinpath("versions")
    return {entry.name.split("_", 1)[0] for entry in folder.iterdir() if entry.name[:1].isdigit()}
