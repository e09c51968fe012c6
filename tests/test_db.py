"""Schema: alembic owns it, the package ships it, the models mirror it, opening upgrades it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from refman.db import catalog_status, upgrade_catalog
from refman.store import HEAD_REVISION, connect

REPO = Path(__file__).resolve().parents[1]


def test_head_revision_constant_matches_alembic() -> None:
    from alembic.script import ScriptDirectory

    from refman.db import _alembic_config

    heads = ScriptDirectory.from_config(_alembic_config()).get_heads()
    assert heads == [HEAD_REVISION]


def test_open_creates_schema_with_pragmas(db_path: Path) -> None:
    conn = connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert catalog_status(db_path)["up_to_date"]


def test_upgrade_is_idempotent_and_keeps_data(db_path: Path) -> None:
    conn = connect(db_path)
    conn.execute("INSERT INTO source (url, url_as_written, host, created_at, updated_at)"
                 " VALUES ('https://a.org/', 'https://a.org', 'a.org', 'now', 'now')")
    conn.close()
    upgrade_catalog(db_path)
    assert connect(db_path).execute("SELECT count(*) FROM source").fetchone()[0] == 1


def test_downgrade_to_base_and_back(db_path: Path) -> None:
    upgrade_catalog(db_path)
    upgrade_catalog(db_path)  # no-op
    from alembic import command

    from refman.db import _alembic_config, make_engine

    engine = make_engine(db_path)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "base")
    engine.dispose()
    names = {r[0] for r in sqlite3.connect(db_path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "source" not in names
    upgrade_catalog(db_path)
    assert catalog_status(db_path)["up_to_date"]


def test_models_mirror_the_migrated_schema(db_path: Path) -> None:
    from refman.models import SQLModel

    conn = connect(db_path)
    for table in SQLModel.metadata.sorted_tables:
        columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table.name})")}
        assert {c.name for c in table.columns} <= columns, table.name


def test_corrupt_catalog_is_a_clear_error(tmp_path: Path) -> None:
    from refman.errors import CatalogError

    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogError):
        connect(bad)


@pytest.mark.slow
def test_wheel_ships_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
         str(REPO)],
        check=True, capture_output=True, timeout=300,
    )
    wheel = next(tmp_path.glob("refman-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "refman/migrations/env.py" in names
    assert "refman/migrations/script.py.mako" in names
    assert any(n.startswith("refman/migrations/versions/0001") for n in names)
