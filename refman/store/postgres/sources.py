"""PostgreSQL implementation of refman.store.sources.SourcesStore.

Statements are SQLAlchemy Core on refman.models' tables, built once (module constants, or builders cached by
the column names they set). Text that SQLite compares or sorts with `COLLATE NOCASE` is compared with `lower()`
here, and sorted with `COLLATE "C"` (code point order, what SQLite's BINARY/NOCASE orders give) whatever the
database's default collation is. `source.citekey` has the schema's case-insensitive `NOCASE` collation on
PostgreSQL too (migration 0001), so `citekey = …` compares case-insensitively as on SQLite."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, any_, bindparam, column, func, insert, literal, select, table, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from refman.models import FieldValue, Source, SourceAlias, SourceTag
from refman.store.postgres.base import PostgresBase
from refman.store.sources import Evidence, NewEvidence

_source: Table = Source.__table__  # type: ignore[attr-defined]
_field_value: Table = FieldValue.__table__  # type: ignore[attr-defined]
_source_tag: Table = SourceTag.__table__  # type: ignore[attr-defined]
_source_alias: Table = SourceAlias.__table__  # type: ignore[attr-defined]

# Columns `insert_source` may set beside the identity (as on SQLite).
_INSERT_FIELDS = ("isbn", "doi", "title", "type", "issued")

# pg_advisory_xact_lock key that serialises tag writers ("refman" + 1): adding a tag reads the catalog's first
# spelling, then inserts it; two writers adding "ML" and "ml" at once must not both insert their own spelling.
_TAG_LOCK = 0x7265666D616E0001


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# --- statements ------------------------------------------------------------------------------------------------

_SOURCE_FOR_URL = union_all(
    select(_source.c.id).where(_source.c.url == bindparam("url")),
    select(_source_alias.c.source_id).where(_source_alias.c.url == bindparam("url")),
).limit(1)

_USER_NOTE = select(_source.c.user_note).where(_source.c.id == bindparam("sid"))
_TOUCH = update(_source).values(updated_at=bindparam("now")).where(_source.c.id == bindparam("sid"))

_TAG_LOCK_SQL = f"SELECT pg_advisory_xact_lock({_TAG_LOCK})"
# Add one tag to a source unless it has it (case-insensitively), in the catalog's spelling of it: every row of a
# tag has the same spelling, as every writer goes through here (the lowest one is taken should two ever exist).
_ADD_TAG = (
    pg_insert(_source_tag)
    .from_select(
        ["source_id", "tag"],
        select(
            bindparam("sid", type_=_source_tag.c.source_id.type),
            func.coalesce(
                select(_source_tag.c.tag)
                .where(func.lower(_source_tag.c.tag) == func.lower(bindparam("tag")))
                .order_by(_source_tag.c.tag.collate("C"))
                .limit(1)
                .scalar_subquery(),
                bindparam("tag", type_=_source_tag.c.tag.type),
            ),
        ).where(
            ~select(literal(1))
            .where(_source_tag.c.source_id == bindparam("sid"),
                   func.lower(_source_tag.c.tag) == func.lower(bindparam("tag")))
            .exists()
        ),
    )
    .on_conflict_do_nothing()
)

_PUT_EVIDENCE = (lambda stmt: stmt.on_conflict_do_update(
    index_elements=[_field_value.c.source_id, _field_value.c.field, _field_value.c.origin],
    set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
))(pg_insert(_field_value).values(
    source_id=bindparam("p_source_id"), field=bindparam("p_field"), origin=bindparam("p_origin"),
    value=bindparam("p_value"), updated_at=bindparam("p_updated_at")))

_EVIDENCE_FOR = (
    select(_field_value.c.source_id, _field_value.c.field, _field_value.c.origin, _field_value.c.value)
    .where(_field_value.c.source_id == any_(bindparam("ids")))
    .order_by(_field_value.c.source_id, _field_value.c.field.collate("C"), _field_value.c.origin.collate("C"))
)


@cache
def _insert_source(extra: tuple[str, ...]) -> Any:
    # On a lightweight table of just the columns set: on `Source.__table__` Core would add the model's Python-side
    # defaults (status, type, fail_count) as parameters, which a statement compiled once binds as NULL; the
    # database's server defaults fill them instead.
    names = ("url", "url_as_written", "host", "created_at", "updated_at", "user_note", "added_by", *extra)
    target = table("source", column("id"), *(column(name) for name in names))
    return insert(target).values({name: bindparam(f"p_{name}") for name in names}).returning(target.c.id)


@cache
def _write_cached(names: tuple[str, ...]) -> Any:
    return update(_source).values({name: bindparam(f"p_{name}") for name in names}).where(
        _source.c.id == bindparam("sid"))


class PostgresSources(PostgresBase):
    """refman.store.sources.SourcesStore on PostgreSQL."""

    # --- look-ups ------------------------------------------------------------------------------------------

    def source_for_url(self, url: str) -> int | None:
        row = self.execute(_SOURCE_FOR_URL, {"url": url}).fetchone()
        return None if row is None else int(row[0])

    # --- adding and editing sources ------------------------------------------------------------------------

    def insert_source(self, url: str | None, url_as_written: str | None, host: str | None, now: str, *,
                      added_by: str, user_note: str | None = None,
                      fields: Mapping[str, Any] | None = None) -> int:
        extra = dict(fields or {})
        unknown = set(extra) - set(_INSERT_FIELDS)
        if unknown:
            raise ValueError(f"insert_source cannot set {sorted(unknown)}")
        values = {"url": url, "url_as_written": url_as_written, "host": host, "created_at": now, "updated_at": now,
                  "user_note": user_note, "added_by": added_by, **extra}
        row = self.execute(_insert_source(tuple(extra)), {f"p_{k}": v for k, v in values.items()}).fetchone()
        assert row is not None  # INSERT … RETURNING returns the row
        return int(row[0])

    def user_note(self, source_id: int) -> str | None:
        row = self.execute(_USER_NOTE, {"sid": source_id}).fetchone()
        return None if row is None else row[0]

    def touch_source(self, source_id: int, now: str) -> None:
        self.execute(_TOUCH, {"sid": source_id, "now": now})

    # --- tags ----------------------------------------------------------------------------------------------

    def add_source_tags(self, source_id: int, tags: Sequence[str]) -> None:
        if not tags:
            return
        self.execute(_TAG_LOCK_SQL)  # serialise tag writers until this transaction ends (see _TAG_LOCK)
        self.executemany(_ADD_TAG, [{"sid": source_id, "tag": tag} for tag in tags])

    # --- evidence and merged fields ------------------------------------------------------------------------

    def put_field_evidence(self, rows: Sequence[NewEvidence]) -> None:
        self.executemany(_PUT_EVIDENCE, [
            {"p_source_id": r.source_id, "p_field": r.field, "p_origin": r.origin, "p_value": _json(r.value),
             "p_updated_at": r.updated_at} for r in rows])

    def field_evidence_for(self, source_ids: Sequence[int]) -> dict[int, list[Evidence]]:
        ids = list(source_ids)
        evidence: dict[int, list[Evidence]] = {sid: [] for sid in ids}
        if not ids:
            return evidence
        for sid, field, origin, value in self.execute(_EVIDENCE_FOR, {"ids": ids}):
            evidence[sid].append(Evidence(field, origin, json.loads(value)))
        return evidence

    def write_cached_fields(self, rows: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        if not rows:
            return
        names = tuple(rows[0][1])
        self.executemany(_write_cached(names), [
            {"sid": sid, **{f"p_{n}": cols[n] for n in names}} for sid, cols in rows])
