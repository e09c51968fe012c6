"""What every backend's catalogs share: the schema revisions (the newest one this refman writes, and every one it
knows: a catalog at a revision it does not know was written by a newer refman) and how long a writer waits for
another's lock."""

from __future__ import annotations

import os
from importlib import resources

# The newest alembic revision in migrations/versions. tests/test_db.py fails when it drifts from alembic's head.
HEAD_REVISION = "0015"


def known_revisions() -> set[str]:
    """The schema revisions this refman knows (its migrations' ids: `0004_source_alias.py` → "0004")."""
    folder = resources.files("refman.migrations").joinpath("versions")
    return {entry.name.split("_", 1)[0] for entry in folder.iterdir() if entry.name[:1].isdigit()}


def busy_timeout_ms() -> int:
    """How long a writer waits for another one's lock before "catalog busy" (REFMAN_BUSY_TIMEOUT seconds,
    default 10): SQLite's busy timeout, PostgreSQL's lock_timeout."""
    try:
        return max(0, int(float(os.environ.get("REFMAN_BUSY_TIMEOUT", "10")) * 1000))
    except ValueError:
        return 10_000


def schema_state(current: str | None) -> str:
    """What `refman db status` says of a catalog at revision `current` (None: no refman schema): up to date,
    empty, too new (written by a newer refman) or needs upgrade."""
    if current == HEAD_REVISION:
        return "up to date"
    if current is None:
        return "empty"
    if current not in known_revisions():
        return "too new"
    return "needs upgrade"
