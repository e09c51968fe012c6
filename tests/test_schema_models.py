"""refman.models is the one definition of the schema: a freshly migrated catalog and a database built from the
models (`SQLModel.metadata.create_all`) hold the same tables, columns (type affinity, nullability, default,
collation, primary key), WITHOUT ROWID tables, foreign keys, unique constraints and indexes (partial and
expression indexes compared by their SQL) — in both directions. The SQLite-only objects that the models do not
declare (the FTS5 index, its shadow tables, the triggers that keep it current) are listed here by name."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from pprint import pformat
from typing import Any

import pytest

from refman.store import connect

# Migration 0002: the FTS5 search index (a virtual table), the shadow tables FTS5 creates for it, and the
# triggers that keep it current. PostgreSQL builds its index its own way (tsvector, GIN).
SQLITE_ONLY_TABLES = {"search_fts", "search_fts_config", "search_fts_content", "search_fts_data",
                      "search_fts_docsize", "search_fts_idx"}
SQLITE_ONLY_TRIGGERS = {"search_source_ai", "search_source_au", "search_source_ad", "search_tag_ai",
                        "search_tag_ad", "search_tag_au", "search_mention_ai", "search_mention_ad",
                        "search_mention_au", "search_text_ai", "search_text_au", "search_text_ad"}
ALEMBIC_TABLES = {"alembic_version"}  # alembic's bookkeeping, in every backend, not a refman table


def affinity(declared: str) -> str:
    """SQLite's type affinity of a declared column type (https://sqlite.org/datatype3.html, 3.1)."""
    t = declared.upper()
    if "INT" in t:
        return "INTEGER"
    if any(word in t for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in t or not t:
        return "BLOB"
    if any(word in t for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def _sql(text: str | None) -> str:
    """SQL compared without its quoting, case and layout."""
    text = re.sub(r"[\"'`\[\]]", "", text or "").lower()
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"\s*([(),])\s*", r"\1", text).strip()


def _collation(table_sql: str, column: str) -> str | None:
    match = re.search(rf"(?:^|[(,])\s*\"?{column}\"?\s+[^,]*?\bCOLLATE\s+\"?(\w+)", table_sql, re.I | re.M)
    return match.group(1).upper() if match else None


def describe(conn: sqlite3.Connection) -> dict[str, Any]:
    """Everything the schema says, as plain values keyed so that two databases compare with ==."""
    master = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    tables = {name: sql for kind, name, _, sql in master if kind == "table" and not name.startswith("sqlite_")}
    out: dict[str, Any] = {
        "triggers": sorted(name for kind, name, _, _ in master if kind == "trigger"),
        "views": sorted(name for kind, name, _, _ in master if kind == "view"),
        "tables": sorted(tables),
    }
    index_sql = {name: sql for kind, name, _, sql in master if kind == "index"}
    for table, table_sql in tables.items():
        if table in SQLITE_ONLY_TABLES:
            continue
        for _cid, name, declared, notnull, default, pk in conn.execute(f"PRAGMA table_info('{table}')"):
            out[f"{table}.{name}"] = {"affinity": affinity(declared), "not null": bool(notnull or pk),
                                      "default": _sql(default) or None, "primary key position": pk,
                                      "collation": _collation(table_sql, name)}
        out[f"{table} WITHOUT ROWID"] = "without rowid" in _sql(table_sql)
        out[f"{table} foreign keys"] = sorted(
            (r[2], r[3], r[4], r[5], r[6]) for r in conn.execute(f"PRAGMA foreign_key_list('{table}')"))
        for _, name, unique, origin, partial in conn.execute(f"PRAGMA index_list('{table}')"):
            keys = tuple((column if cid != -2 else "<expression>", bool(desc), collation)
                         for _, cid, column, desc, collation, key in conn.execute(f"PRAGMA index_xinfo('{name}')")
                         if key)
            if origin == "c":  # CREATE INDEX: by name, with its SQL (expressions, WHERE of a partial index)
                out[f"index {name}"] = {"table": table, "unique": bool(unique), "keys": keys,
                                        "partial": bool(partial), "sql": _sql(index_sql.get(name))}
            else:  # UNIQUE or PRIMARY KEY constraint: its automatic index's name means nothing
                out[f"{table} {'unique' if origin == 'u' else 'primary key'} {keys}"] = {"unique": bool(unique)}
    return out


def _difference(db: Any, models: Any) -> dict[str, Any]:
    if isinstance(db, dict) and isinstance(models, dict):
        return {attribute: {"migrated": db.get(attribute), "models": models.get(attribute)}
                for attribute in db.keys() | models.keys() if db.get(attribute) != models.get(attribute)}
    return {"migrated": db, "models": models}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    conn = connect(tmp_path_factory.mktemp("migrated") / "catalog.db")
    try:
        return describe(conn)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def modelled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from sqlalchemy import create_engine

    from refman.models import SQLModel

    path = tmp_path_factory.mktemp("models") / "models.db"
    engine = create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    conn = sqlite3.connect(path)
    try:
        return describe(conn)
    finally:
        conn.close()


def test_sqlite_only_objects_are_the_listed_ones(migrated: dict[str, Any], modelled: dict[str, Any]) -> None:
    assert set(migrated["triggers"]) == SQLITE_ONLY_TRIGGERS
    assert set(migrated["tables"]) - set(modelled["tables"]) == SQLITE_ONLY_TABLES | ALEMBIC_TABLES
    assert migrated["views"] == modelled["views"] == []


def test_models_declare_every_table_of_a_migrated_catalog(migrated: dict[str, Any],
                                                          modelled: dict[str, Any]) -> None:
    assert set(modelled["tables"]) == set(migrated["tables"]) - SQLITE_ONLY_TABLES - ALEMBIC_TABLES


def test_the_models_and_a_migrated_catalog_agree(migrated: dict[str, Any], modelled: dict[str, Any]) -> None:
    def ours(description: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in description.items()
                if key not in ("tables", "triggers", "views") and not key.startswith("alembic_version")}

    db, models = ours(migrated), ours(modelled)
    only_db = {key: db[key] for key in db.keys() - models.keys()}
    only_models = {key: models[key] for key in models.keys() - db.keys()}
    differ = {key: _difference(db[key], models[key]) for key in db.keys() & models.keys() if db[key] != models[key]}
    problems = {"in the migrated catalog only": only_db, "in the models only": only_models, "different": differ}
    assert not any(problems.values()), pformat(problems, width=118)


def test_describe_sees_partial_and_expression_indexes(migrated: dict[str, Any]) -> None:
    """The comparison is not vacuous: what the models must match includes the indexes of migration 0006."""
    assert migrated["index ux_source_urlless_doi"]["sql"].endswith("(lower(doi))where url is null and doi is not null")
    assert migrated["index ix_source_doi_ci"]["keys"] == (("<expression>", False, "BINARY"),)
    assert migrated["source.citekey"]["collation"] == "NOCASE"
    assert migrated["field_value WITHOUT ROWID"] is True


def test_alembic_autogenerate_finds_nothing_to_do(tmp_path: Path) -> None:
    """migrations/env.py gives alembic the models as its target: `alembic check` on a migrated catalog finds no
    difference (SQLAlchemy cannot reflect SQLite's expression indexes; the tests above compare those)."""
    import warnings

    from alembic import command

    from refman.store.sqlite.schema import alembic_config

    path = tmp_path / "catalog.db"
    connect(path).close()
    cfg = alembic_config()
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*expression-based index")
        command.check(cfg)  # raises AutogenerateDiffsDetected with the differences
