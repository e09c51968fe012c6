"""Opening a contract test's catalog by its location, whatever the backend."""

from __future__ import annotations

from pathlib import Path

from refman.store.protocol import Store


def open_same(location: Path | str) -> Store:
    """A store on the catalog at `location` (what another refman process would hold)."""
    if isinstance(location, Path):
        from refman.store import open_store

        return open_store(location)
    from refman.store.postgres import open_postgres_store

    return open_postgres_store(location)
