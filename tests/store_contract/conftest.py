"""The backends every contract test runs on: SQLite always, PostgreSQL when a server answers (else each
PostgreSQL case is skipped with one line; CI on the project's machines sets REFMAN_TEST_PG_REQUIRED=1 so that a
missing server fails instead). A test takes `store`; a test that needs a second store on the same catalog (another
process, say) opens one with `contract_backends.open_same(store_location)`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/pg.py

from contract_backends import open_same
from pg import fresh_catalog_database

from refman.store.protocol import Store

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Where a fresh catalog is: a SQLite file, or a PostgreSQL database's URL."""
    if request.param == "sqlite":
        yield tmp_path / "catalog.db"
        return
    with fresh_catalog_database() as url:
        yield url


@pytest.fixture
def store(store_location: Path | str) -> Iterator[Store]:
    with open_same(store_location) as opened:
        yield opened
