"""PostgreSQL implementation of refman.store.sources.SourcesStore.

Statements are SQLAlchemy Core on refman.models' tables, built once (module constants, or builders cached by
the shape of what they select or set: column names, which filters are present). Lists bind as arrays
(`= ANY(...)`). Text that SQLite compares or sorts with `COLLATE NOCASE` is compared with `lower()` here, and
text is sorted with `COLLATE "C"` (code point order, what SQLite's BINARY and NOCASE orders give) whatever the
database's default collation is. `source.citekey` has the schema's case-insensitive `NOCASE` collation on
PostgreSQL too (migration 0001), so `citekey = …` compares case-insensitively as on SQLite.

INSERTs are built on lightweight `sqlalchemy.table()`s of only the columns they set where the model has
Python-side defaults (source): on `Source.__table__` Core would add those defaults (status, type, fail_count) as
parameters, which a statement compiled once binds as NULL; the database's server defaults fill them instead."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Table,
    and_,
    any_,
    bindparam,
    column,
    delete,
    distinct,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    table,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert

from refman.errors import NotFoundError, UsageError
from refman.models import (
    Blob,
    FieldHistory,
    FieldValue,
    Mention,
    Note,
    Snapshot,
    Source,
    SourceAlias,
    SourceTag,
    SourceText,
)
from refman.store.postgres.base import PostgresBase
from refman.store.search import SourceFilter
from refman.store.sources import (
    LIST_SORTS,
    Evidence,
    EvidenceRow,
    HistoryRow,
    LiveFetch,
    MergeRow,
    NewEvidence,
    SourcePeople,
    source_dict,
)

_source: Table = Source.__table__  # type: ignore[attr-defined]
_field_value: Table = FieldValue.__table__  # type: ignore[attr-defined]
_source_tag: Table = SourceTag.__table__  # type: ignore[attr-defined]
_source_alias: Table = SourceAlias.__table__  # type: ignore[attr-defined]
_mention: Table = Mention.__table__  # type: ignore[attr-defined]
_note: Table = Note.__table__  # type: ignore[attr-defined]
_snapshot: Table = Snapshot.__table__  # type: ignore[attr-defined]
_source_text: Table = SourceText.__table__  # type: ignore[attr-defined]
_blob: Table = Blob.__table__  # type: ignore[attr-defined]
_field_history: Table = FieldHistory.__table__  # type: ignore[attr-defined]

# Columns `insert_source` may set beside the identity, and `update_merged_source` may write (as on SQLite).
_INSERT_FIELDS = ("isbn", "doi", "title", "type", "issued")
_MERGED_COLUMNS = ("citekey", "user_note", "status", "reason", "fail_count", "fetched_at", "last_ok_at",
                   "created_at", "added_by", "first_cited_at", "label_note", "updated_at")

# pg_advisory_xact_lock key that serialises tag writers ("refman" + 1): adding a tag reads the catalog's first
# spelling, then inserts it; two writers adding "ML" and "ml" at once must not both insert their own spelling.
_TAG_LOCK = 0x7265666D616E0001


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _c(col: ColumnElement[Any]) -> ColumnElement[Any]:
    """Text in code point order (SQLite's BINARY), whatever the database's collation."""
    return col.collate("C")


def _ci(col: ColumnElement[Any]) -> ColumnElement[Any]:
    """SQLite's `COLLATE NOCASE` order: lower-cased, in code point order."""
    return func.lower(col).collate("C")


def _mention_count(s: Any) -> Any:
    return select(func.count()).select_from(_mention).where(_mention.c.source_id == s.c.id).scalar_subquery()


# An orphan: a source that notes cited once (first_cited_at is set on the first mention) and none cites now.
# Sources added by hand or from a bibliography and never cited are not orphans.
def _orphan(s: Any) -> ColumnElement[bool]:
    return and_(s.c.first_cited_at.is_not(None), ~exists().where(_mention.c.source_id == s.c.id))


# --- look-ups ----------------------------------------------------------------------------------------------------

_SOURCE_EXISTS = select(literal(1)).where(_source.c.id == bindparam("sid"))
_WITH_CITEKEY = select(_source.c.id).where(_source.c.citekey == bindparam("key"))  # NOCASE collation
_WITHOUT_CITEKEY = select(literal(1)).where(_source.c.citekey.is_(None)).limit(1)
_WITH_URL = select(_source.c.id).where(
    or_(_source.c.url == bindparam("url"), _source.c.url_as_written == bindparam("as_written"))).limit(1)
_SOURCE_FOR_URL = union_all(
    select(_source.c.id).where(_source.c.url == bindparam("url")),
    select(_source_alias.c.source_id).where(_source_alias.c.url == bindparam("url")),
).limit(1)
_SOURCE_URL = select(_source.c.url).where(_source.c.id == bindparam("sid"))
_other = _source.alias("o")
_OTHER_URLLESS_WITH_DOI = (
    select(_other.c.id)
    .select_from(_source.join(_other, and_(func.lower(_other.c.doi) == func.lower(bindparam("doi")),
                                           _other.c.id != _source.c.id, _other.c.url.is_(None))))
    .where(_source.c.id == bindparam("sid"), _source.c.url.is_(None))
    .limit(1)
)
_MATCH_DOI = (select(_source.c.id).where(func.lower(_source.c.doi) == func.lower(bindparam("doi")))
              .order_by(_source.c.url.is_not(None), _source.c.id).limit(1))
_MATCH_ISBN = select(_source.c.id).where(_source.c.isbn == bindparam("isbn")).order_by(_source.c.id).limit(1)
_MATCH_KEY = select(_source.c.id).where(_source.c.citekey == bindparam("key"), _source.c.url.is_(None),
                                        _source.c.doi.is_(None), _source.c.isbn.is_(None)).limit(1)
_MATCH_KEYLESS = (
    select(_source.c.id)
    .where(_source.c.url.is_(None), _source.c.doi.is_(None), _source.c.isbn.is_(None),
           _source.c.added_by == "bibliography",
           _source.c.title.is_not_distinct_from(bindparam("title", type_=_source.c.title.type)),
           _source.c.type == bindparam("type"),
           _source.c.issued.is_not_distinct_from(bindparam("issued", type_=_source.c.issued.type)))
    .order_by(_source.c.id).limit(1)
)

# --- adding and editing sources --------------------------------------------------------------------------------

_USER_NOTE = select(_source.c.user_note).where(_source.c.id == bindparam("sid"))
_CLEAR_USER_NOTE = update(_source).values(user_note=None).where(_source.c.id == bindparam("sid"),
                                                                _source.c.user_note.is_not(None))
_SET_USER_NOTE = update(_source).values(user_note=bindparam("note"), updated_at=bindparam("now"),
                                        updated_by=bindparam("by")).where(_source.c.id == bindparam("sid"))
_SET_URL = update(_source).values(url=bindparam("p_url"), url_as_written=bindparam("p_as_written"),
                                  host=bindparam("p_host"), updated_at=bindparam("now"),
                                  updated_by=bindparam("by")).where(_source.c.id == bindparam("sid"))
# The unique constraint on source.url is what keeps a concurrent writer from giving the same URL twice (it fails
# instead of racing past the NOT EXISTS).
_GIVE_URL = update(_source).values(url=bindparam("p_url"), url_as_written=bindparam("p_as_written"),
                                   host=bindparam("p_host")).where(
    _source.c.id == bindparam("sid"), _source.c.url.is_(None),
    ~exists().where(_other.c.url == bindparam("p_url")))
_GIVE_ISBN = update(_source).values(isbn=bindparam("p_isbn")).where(_source.c.id == bindparam("sid"),
                                                                    _source.c.isbn.is_(None))
_CITEKEY_OF = select(_source.c.citekey).where(_source.c.id == bindparam("sid"))
_STORE_CITEKEY = update(_source).values(citekey=bindparam("key")).where(_source.c.id == bindparam("sid"))
_TOUCH = update(_source).values(updated_at=bindparam("now"), updated_by=bindparam("by")).where(
    _source.c.id == bindparam("sid"))
_TAGGERS = select(_source_tag.c.tag, _source_tag.c.added_by).where(_source_tag.c.source_id == bindparam("sid"))
_PEOPLE = select(_source.c.created_by, _source.c.created_at, _source.c.updated_by, _source.c.updated_at).where(
    _source.c.id == bindparam("sid"))

# --- tags ------------------------------------------------------------------------------------------------------

_TAG_LOCK_SQL = f"SELECT pg_advisory_xact_lock({_TAG_LOCK})"
# Add one tag to a source unless it has it (case-insensitively), in the catalog's spelling of it: every row of a
# tag has the same spelling, as every writer goes through here (the lowest one is taken should two ever exist).
_ADD_TAG = (
    pg_insert(_source_tag)
    .from_select(
        ["source_id", "tag", "added_by"],
        select(
            bindparam("sid", type_=_source_tag.c.source_id.type),
            func.coalesce(
                select(_source_tag.c.tag)
                .where(func.lower(_source_tag.c.tag) == func.lower(bindparam("tag")))
                .order_by(_c(_source_tag.c.tag))
                .limit(1)
                .scalar_subquery(),
                bindparam("tag", type_=_source_tag.c.tag.type),
            ),
            bindparam("by", type_=_source_tag.c.added_by.type),
        ).where(
            ~exists().where(_source_tag.c.source_id == bindparam("sid"),
                            func.lower(_source_tag.c.tag) == func.lower(bindparam("tag")))
        ),
    )
    .on_conflict_do_nothing()
)
_REMOVE_TAG = delete(_source_tag).where(_source_tag.c.source_id == bindparam("sid"),
                                        func.lower(_source_tag.c.tag) == func.lower(bindparam("tag")))
# One row per tag (case-insensitively): its first spelling (the lowest, as _ADD_TAG picks) and its sources.
_TAG_COUNTS = (
    select(func.min(_c(_source_tag.c.tag)), func.count(distinct(_source_tag.c.source_id)))
    .group_by(func.lower(_source_tag.c.tag))
    .order_by(_ci(_source_tag.c.tag))
)
_TAGS_OF = (select(_source_tag.c.source_id, _source_tag.c.tag)
            .where(_source_tag.c.source_id == any_(bindparam("ids")))
            .order_by(_ci(_source_tag.c.tag), _c(_source_tag.c.tag)))
_EXACT_TAGS_OF = select(_source_tag.c.tag).where(_source_tag.c.source_id == bindparam("sid"))
_TAGS_OF_ANY = (select(_source_tag.c.tag, _source_tag.c.added_by)
                .where(_source_tag.c.source_id == any_(bindparam("ids"))).order_by(_source_tag.c.source_id))
_INSERT_TAG = pg_insert(_source_tag).values(source_id=bindparam("p_sid"), tag=bindparam("p_tag"),
                                            added_by=bindparam("p_by")).on_conflict_do_nothing()
_DELETE_TAGS = delete(_source_tag).where(_source_tag.c.source_id == any_(bindparam("ids")))

# --- evidence --------------------------------------------------------------------------------------------------

_PUT_EVIDENCE = (lambda stmt: stmt.on_conflict_do_update(
    index_elements=[_field_value.c.source_id, _field_value.c.field, _field_value.c.origin],
    set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at,
          "changed_by": stmt.excluded.changed_by},
))(pg_insert(_field_value).values(
    source_id=bindparam("p_source_id"), field=bindparam("p_field"), origin=bindparam("p_origin"),
    value=bindparam("p_value"), updated_at=bindparam("p_updated_at"), changed_by=bindparam("p_by")))
_ADD_EVIDENCE = insert(_field_value).values(
    source_id=bindparam("p_source_id"), field=bindparam("p_field"), origin=bindparam("p_origin"),
    value=bindparam("p_value"), updated_at=bindparam("p_updated_at"), changed_by=bindparam("p_by"))
# Writers of a source's user values take its row lock first (FOR NO KEY UPDATE: it does not wait for nor block
# the key-share locks of evidence and mention inserts), so that each reads, under the lock, the value it replaces:
# two `refman set` of one field at once both keep their value, the earlier one in the history. SQLite's BEGIN
# IMMEDIATE serialises them there.
_LOCK_SOURCES = (select(_source.c.id).where(_source.c.id == any_(bindparam("ids"))).order_by(_source.c.id)
                 .with_for_update(key_share=True))
_HISTORY_INSERT_COLUMNS = ["source_id", "field", "origin", "value", "changed_by", "changed_at", "replaced_by",
                           "replaced_at"]
_pin = and_(_field_value.c.source_id == bindparam("sid"), _field_value.c.field == bindparam("p_field"),
            _field_value.c.origin == "user")
_pin_history = select(_field_value.c.source_id, _field_value.c.field, _field_value.c.origin, _field_value.c.value,
                      _field_value.c.changed_by, _field_value.c.updated_at,
                      bindparam("by", type_=String), bindparam("at", type_=String))
_KEEP_REPLACED_PIN = insert(_field_history).from_select(
    _HISTORY_INSERT_COLUMNS, _pin_history.where(_pin, _field_value.c.value != bindparam("p_value", type_=String)))
_KEEP_REMOVED_PIN = insert(_field_history).from_select(_HISTORY_INSERT_COLUMNS, _pin_history.where(_pin))
_ADD_HISTORY = insert(_field_history).values({name: bindparam(f"p_{name}") for name in _HISTORY_INSERT_COLUMNS})
_FIELD_HISTORY = (
    select(_field_history.c.field, _field_history.c.origin, _field_history.c.value, _field_history.c.changed_by,
           _field_history.c.changed_at, _field_history.c.replaced_by, _field_history.c.replaced_at)
    .where(_field_history.c.source_id == bindparam("sid"))
    .order_by(_c(_field_history.c.replaced_at).desc(), _field_history.c.id.desc())
)
_MOVE_HISTORY = update(_field_history).values(source_id=bindparam("keep")).where(
    _field_history.c.source_id == any_(bindparam("ids")))
_DELETE_USER_PIN = delete(_field_value).where(_pin)
_EVIDENCE_FOR = (
    select(_field_value.c.source_id, _field_value.c.field, _field_value.c.origin, _field_value.c.value)
    .where(_field_value.c.source_id == any_(bindparam("ids")))
    .order_by(_field_value.c.source_id, _c(_field_value.c.field), _c(_field_value.c.origin))
)
_EVIDENCE_ROWS = (
    select(_field_value.c.field, _field_value.c.origin, _field_value.c.value, _field_value.c.updated_at,
           _field_value.c.changed_by)
    .where(_field_value.c.source_id == bindparam("sid"))
    .order_by(_c(_field_value.c.field), _c(_field_value.c.origin))
)

# --- listings --------------------------------------------------------------------------------------------------

_s = _source.alias("s")
_LIST_COLUMNS = tuple(_s.c[name] for name in (
    "id", "url", "url_as_written", "citekey", "type", "title", "issued", "container_title", "publisher", "author",
    "doi", "language", "abstract", "status", "reason", "host", "fetched_at", "last_ok_at", "user_note", "added_by",
    "first_cited_at"))
_ORDER_BY: dict[str, tuple[Any, ...]] = {
    "added": (_s.c.id,),
    "issued": (_s.c.issued.is_(None), _c(_s.c.issued).desc(), _s.c.id),
    "title": (_s.c.title.is_(None), _ci(_s.c.title), _s.c.id),
    "cited": (_mention_count(_s).desc(), _s.c.id),
}
assert set(_ORDER_BY) == set(LIST_SORTS)

_MENTIONS_FOR = (
    select(_mention.c.source_id, _note.c.path, _mention.c.line, _mention.c.label, _mention.c.kind)
    .select_from(_mention.join(_note, _note.c.id == _mention.c.note_id))
    .where(_mention.c.source_id == any_(bindparam("ids")))
    .order_by(_c(_note.c.path), _mention.c.line, _mention.c.id)
)
_MENTIONS_OF = (
    select(_note.c.path, _mention.c.line, _mention.c.label, _mention.c.annotation, _mention.c.flag,
           _mention.c.kind)
    .select_from(_mention.join(_note, _note.c.id == _mention.c.note_id))
    .where(_mention.c.source_id == bindparam("sid"))
    .order_by(_c(_note.c.path), _mention.c.line, _mention.c.id)
)
_RECENT_SNAPSHOTS = (
    select(*(_snapshot.c[n] for n in ("id", "fetched_at", "outcome", "http_status", "final_url", "content_type",
                                      "size", "unchanged", "elapsed_ms", "reason", "origin", "memento_url",
                                      "memento_at", "fetched_by")))
    .where(_snapshot.c.source_id == bindparam("sid"))
    .order_by(_c(_snapshot.c.fetched_at).desc(), _snapshot.c.id.desc())
    .limit(bindparam("lim", type_=Integer))
)
_ARCHIVED_CHARS = select(func.length(_source_text.c.text)).where(_source_text.c.source_id == bindparam("sid"))


def _count(from_: Any, *where: Any) -> Any:
    return select(func.count()).select_from(from_).where(*where)


_STATISTICS = select(
    _count(_note).scalar_subquery().label("notes"),
    _count(_note, _note.c.status != "ok").scalar_subquery().label("notes_skipped"),
    _count(_source).scalar_subquery().label("sources"),
    _count(_mention).scalar_subquery().label("mentions"),
    _count(_s, _orphan(_s)).scalar_subquery().label("orphans"),
    select(func.count(distinct(_source_tag.c.tag))).scalar_subquery().label("tags"),
    _count(_snapshot).scalar_subquery().label("snapshots"),
    _count(_source_text).scalar_subquery().label("archived_sources"),
    select(func.coalesce(func.sum(_blob.c.stored_size), 0)).scalar_subquery().label("stored_bytes"),
)
_BY_STATUS = (select(_source.c.status, func.count()).group_by(_source.c.status)
              .order_by(func.count().desc()))
_TOP_HOSTS = (select(_source.c.host, func.count()).group_by(_source.c.host)
              .order_by(func.count().desc(), _c(_source.c.host).nulls_first()).limit(10))

# --- duplicates ------------------------------------------------------------------------------------------------

_SOURCE_URLS = select(_source.c.id, _source.c.url)
_g = _snapshot.alias("g")
_latest_live = (select(_snapshot.c.id)
                .where(_snapshot.c.source_id == _s.c.id, _snapshot.c.outcome == any_(bindparam("outcomes")),
                       _snapshot.c.origin == "live")
                .order_by(_c(_snapshot.c.fetched_at).desc(), _snapshot.c.id.desc()).limit(1).scalar_subquery())
_LATEST_LIVE_FETCHES = (
    select(_s.c.id, _g.c.final_url, _g.c.redirects, _g.c.body_hash, _g.c.outcome)
    .select_from(_s.join(_g, _g.c.id == _latest_live))
    .order_by(_s.c.id)
)
# The latest snapshot with metadata of each source; whether the metadata is valid JSON is checked in Python
# (PostgreSQL 15 has no `IS JSON`), falling back to that source's earlier snapshots (_METADATA_OF) when not.
_LATEST_METADATA = (
    select(_snapshot.c.source_id, _snapshot.c.metadata_json)
    .ext(distinct_on(_snapshot.c.source_id))
    .where(_snapshot.c.outcome == any_(bindparam("outcomes")), _snapshot.c.metadata_json.is_not(None))
    .order_by(_snapshot.c.source_id, _c(_snapshot.c.fetched_at).desc(), _snapshot.c.id.desc())
)
_METADATA_OF = (
    select(_snapshot.c.source_id, _snapshot.c.metadata_json)
    .where(_snapshot.c.source_id == any_(bindparam("ids")), _snapshot.c.outcome == any_(bindparam("outcomes")),
           _snapshot.c.metadata_json.is_not(None))
    .order_by(_snapshot.c.source_id, _c(_snapshot.c.fetched_at).desc(), _snapshot.c.id.desc())
)
_WITH_DOI = (select(_source.c.id, func.lower(func.trim(_source.c.doi)))
             .where(_source.c.doi.is_not(None), func.trim(_source.c.doi) != "").order_by(_source.c.id))
_SUMMARIES = select(_s.c.id, _s.c.url, _s.c.title, _s.c.citekey, _s.c.status, _mention_count(_s)).where(
    _s.c.id == any_(bindparam("ids")))

# --- merging ---------------------------------------------------------------------------------------------------

# Merging reads the sources' columns, then writes what it combined from them: FOR UPDATE locks those rows until the
# merge's transaction ends (SQLite's BEGIN IMMEDIATE serialises the whole merge), so that a concurrent merge or
# fetch of the same sources waits instead of writing between the read and the write.
_MERGE_ROWS = select(*(_source.c[n] for n in (
    "id", "url", "citekey", "user_note", "status", "reason", "fail_count", "fetched_at", "last_ok_at", "created_at",
    "added_by", "first_cited_at", "label_note"))).where(_source.c.id == any_(bindparam("ids"))).with_for_update()
_MOVE_MENTIONS = update(_mention).values(source_id=bindparam("keep")).where(
    _mention.c.source_id == any_(bindparam("ids")))
_ARCHIVED_TEXT_TIMES = (
    select(_source_text.c.source_id, _snapshot.c.fetched_at, _source_text.c.snapshot_id)
    .select_from(_source_text.join(_snapshot, _snapshot.c.id == _source_text.c.snapshot_id))
    .where(_source_text.c.source_id == any_(bindparam("ids")))
)
_MOVE_SNAPSHOTS = update(_snapshot).values(source_id=bindparam("keep")).where(
    _snapshot.c.source_id == any_(bindparam("ids")))
_DELETE_TEXT = delete(_source_text).where(_source_text.c.source_id == bindparam("sid"))
_MOVE_TEXT = update(_source_text).values(source_id=bindparam("keep")).where(
    _source_text.c.source_id == bindparam("sid"))
_DELETE_TEXTS = delete(_source_text).where(_source_text.c.source_id == any_(bindparam("ids")))
_CLEAR_CITEKEYS = update(_source).values(citekey=None).where(_source.c.id == any_(bindparam("ids")))
_URLS_OF = (select(_source.c.url).where(_source.c.id == any_(bindparam("ids")), _source.c.url.is_not(None))
            .order_by(_source.c.id))
_DELETE_EVIDENCE = delete(_field_value).where(_field_value.c.source_id == any_(bindparam("ids")))
_MOVE_ALIASES = update(_source_alias).values(source_id=bindparam("keep")).where(
    _source_alias.c.source_id == any_(bindparam("ids")))
_PUT_ALIAS = (lambda stmt: stmt.on_conflict_do_update(
    index_elements=[_source_alias.c.url],
    set_={"source_id": stmt.excluded.source_id, "created_at": stmt.excluded.created_at},
))(pg_insert(_source_alias).values(url=bindparam("p_url"), source_id=bindparam("p_sid"),
                                   created_at=bindparam("p_now")))
_DELETE_SOURCES = delete(_source).where(_source.c.id == any_(bindparam("ids")))
_DELETE_ALIAS = delete(_source_alias).where(_source_alias.c.url == bindparam("p_url"))
_MOVE_URL = update(_source).values(url=bindparam("p_url"), url_as_written=bindparam("p_url"),
                                   host=bindparam("p_host")).where(_source.c.id == bindparam("sid"))


@cache
def _insert_source(extra: tuple[str, ...]) -> Any:
    names = ("url", "url_as_written", "host", "created_at", "updated_at", "user_note", "added_by", "created_by",
             "updated_by", *extra)
    target = table("source", column("id"), *(column(name) for name in names))  # see the module's docstring
    return insert(target).values({name: bindparam(f"p_{name}") for name in names}).returning(target.c.id)


@cache
def _update_source(names: tuple[str, ...]) -> Any:
    """UPDATE source SET <names> WHERE id = :sid (parameters `p_<name>`)."""
    return update(_source).values({name: bindparam(f"p_{name}") for name in names}).where(
        _source.c.id == bindparam("sid"))


# --- filters (refman.store.search.SourceFilter) ----------------------------------------------------------------

def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


FilterShape = tuple[int, bool, bool, bool, bool, bool]


def _has_tag(s: Any, name: str) -> ColumnElement[bool]:
    """Source `s` has the tag in parameter `name` (case-insensitively)."""
    return exists().where(_source_tag.c.source_id == s.c.id,
                          func.lower(_source_tag.c.tag) == func.lower(bindparam(name, type_=String)))


def _issued_prefix(s: Any, length: str) -> ColumnElement[Any]:
    return _c(func.substr(s.c.issued, 1, bindparam(length, type_=Integer)))


def _date_prefix(s: Any, date: str) -> ColumnElement[Any]:
    return func.substr(bindparam(date, type_=String), 1, func.length(s.c.issued))


def source_filter_shape(where: SourceFilter) -> FilterShape:
    """What a SourceFilter's conditions look like (not their values): the key of the statements built for it."""
    return (len(where.tags), bool(where.since), bool(where.until), bool(where.domain), bool(where.status),
            where.note_ids is not None)


def source_filter_params(where: SourceFilter) -> dict[str, Any]:
    params: dict[str, Any] = {f"f_tag{i}": tag for i, tag in enumerate(where.tags)}
    if where.since:
        params |= {"f_since": where.since, "f_since_len": len(where.since)}
    if where.until:
        params |= {"f_until": where.until, "f_until_len": len(where.until)}
    if where.domain:
        params |= {"f_domain": where.domain, "f_domain_like": "%." + _like_escape(where.domain)}
    if where.status:
        params["f_status"] = where.status
    if where.note_ids is not None:
        params["f_note_ids"] = list(where.note_ids)
    return params


def source_filter_conditions(s: Any, shape: FilterShape) -> list[ColumnElement[bool]]:
    """The conditions of a SourceFilter of this shape on the source table `s` (parameters `f_…`, from
    source_filter_params), as refman.store.sqlite.search.source_filter_sql writes them for SQLite."""
    tags, since, until, domain, status, note_ids = shape
    conditions: list[ColumnElement[bool]] = [_has_tag(s, f"f_tag{i}") for i in range(tags)]
    # Dates compare at the precision both have: --since 2024 keeps 2024-01-05, --until 2024 keeps 2024-12, and a
    # bare "2024" counts as overlapping --since 2024-06.
    if since:
        conditions.append(and_(s.c.issued.is_not(None), _issued_prefix(s, "f_since_len") >= _date_prefix(s, "f_since")))
    if until:
        conditions.append(and_(s.c.issued.is_not(None), _issued_prefix(s, "f_until_len") <= _date_prefix(s, "f_until")))
    if domain:
        conditions.append(or_(func.lower(s.c.host) == bindparam("f_domain", type_=s.c.host.type),
                              func.lower(s.c.host).like(bindparam("f_domain_like", type_=s.c.host.type), escape="\\")))
    if status:
        conditions.append(s.c.status == bindparam("f_status"))
    if note_ids:
        conditions.append(exists().where(_mention.c.source_id == s.c.id,
                                         _mention.c.note_id == any_(bindparam("f_note_ids"))))
    return conditions




@lru_cache(maxsize=256)
def _list_statement(sort: str, tag: bool, orphans: bool, status: bool, ids: bool, shape: FilterShape | None) -> Any:
    where: list[ColumnElement[bool]] = []
    if tag:
        where.append(_has_tag(_s, "tag"))
    if orphans:
        where.append(_orphan(_s))
    if status:
        where.append(_s.c.status == bindparam("status"))
    if shape is not None:
        where += source_filter_conditions(_s, shape)
    if ids:
        where.append(_s.c.id == any_(bindparam("ids")))
    return (select(*_LIST_COLUMNS).where(*where).order_by(*_ORDER_BY[sort])
            .limit(bindparam("lim", type_=Integer)).offset(bindparam("off", type_=Integer)))


@lru_cache(maxsize=256)
def _count_statement(orphans: bool, shape: FilterShape | None) -> Any:
    where = [_orphan(_s)] if orphans else []
    if shape is not None:
        where += source_filter_conditions(_s, shape)
    return select(func.count()).select_from(_s).where(*where)


def _limit(limit: int | None) -> int | None:
    """list_sources' limit as the SQLite store reads it: none for 0 or less (PostgreSQL refuses a negative
    LIMIT; NULL is no limit)."""
    return int(limit) if limit and int(limit) > 0 else None


def _canonical_url(metadata: str) -> tuple[bool, Any]:
    """(valid JSON?, the value at `$.canonical_url` as SQLite's json_extract gives it)."""
    try:
        doc = json.loads(metadata)
    except ValueError:
        return False, None
    value = doc.get("canonical_url") if isinstance(doc, dict) else None
    if isinstance(value, bool):
        return True, int(value)
    if isinstance(value, dict | list):
        return True, json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return True, value


class PostgresSources(PostgresBase):
    """refman.store.sources.SourcesStore on PostgreSQL."""

    # --- look-ups ------------------------------------------------------------------------------------------

    def _one(self, statement: Any, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None when there is no row."""
        row = self.execute(statement, params).fetchone()
        return None if row is None else row[0]

    def _id(self, statement: Any, params: Mapping[str, Any] | None = None) -> int | None:
        value = self._one(statement, params)
        return None if value is None else int(value)

    def source_exists(self, source_id: int) -> bool:
        return self._one(_SOURCE_EXISTS, {"sid": source_id}) is not None

    def source_with_citekey(self, key: str) -> int | None:
        return self._id(_WITH_CITEKEY, {"key": key})

    def has_sources_without_citekey(self) -> bool:
        return self._one(_WITHOUT_CITEKEY) is not None

    def source_with_url(self, url: str, as_written: str | None = None) -> int | None:
        return self._id(_WITH_URL, {"url": url, "as_written": as_written})

    def source_for_url(self, url: str) -> int | None:
        return self._id(_SOURCE_FOR_URL, {"url": url})

    def source_url(self, source_id: int) -> str | None:
        row = self.execute(_SOURCE_URL, {"sid": source_id}).fetchone()
        if row is None:
            raise NotFoundError(f"no source with id {source_id}")
        return None if row[0] is None else str(row[0])

    def other_urlless_source_with_doi(self, source_id: int, doi: str) -> int | None:
        return self._id(_OTHER_URLLESS_WITH_DOI, {"sid": source_id, "doi": doi})

    def match_work(self, url: str | None, doi: str | None, isbn: str | None, key: str | None) -> int | None:
        if url:
            found = self.source_for_url(url)
            if found is not None:
                return found
        found = None
        if doi:
            found = self._id(_MATCH_DOI, {"doi": doi})
        if found is None and isbn:
            found = self._id(_MATCH_ISBN, {"isbn": isbn})
        if found is None and key and not (url or doi or isbn):
            found = self._id(_MATCH_KEY, {"key": key})
        return found

    def match_keyless_bibliography_work(self, title: str | None, type_: str, issued: str | None) -> int | None:
        return self._id(_MATCH_KEYLESS, {"title": title, "type": type_, "issued": issued})

    # --- adding and editing sources ------------------------------------------------------------------------

    def insert_source(self, url: str | None, url_as_written: str | None, host: str | None, now: str, *,
                      added_by: str, user_note: str | None = None,
                      fields: Mapping[str, Any] | None = None) -> int:
        extra = dict(fields or {})
        unknown = set(extra) - set(_INSERT_FIELDS)
        if unknown:
            raise ValueError(f"insert_source cannot set {sorted(unknown)}")
        values = {"url": url, "url_as_written": url_as_written, "host": host, "created_at": now, "updated_at": now,
                  "user_note": user_note, "added_by": added_by, "created_by": self.user, "updated_by": self.user,
                  **extra}
        row = self.execute(_insert_source(tuple(extra)), {f"p_{k}": v for k, v in values.items()}).fetchone()
        assert row is not None  # INSERT … RETURNING returns the row
        return int(row[0])

    def user_note(self, source_id: int) -> str | None:
        return self._one(_USER_NOTE, {"sid": source_id})  # type: ignore[no-any-return]

    def set_user_note(self, source_id: int, note: str | None, now: str) -> bool:
        if note is None:  # as on SQLite, clearing a note leaves updated_at alone
            return bool(self.execute(_CLEAR_USER_NOTE, {"sid": source_id}).rowcount)
        return bool(self.execute(_SET_USER_NOTE, {"sid": source_id, "note": note, "now": now,
                                                  "by": self.user}).rowcount)

    def set_source_url(self, source_id: int, url: str, url_as_written: str, host: str | None, now: str) -> None:
        self.execute(_SET_URL, {"sid": source_id, "p_url": url, "p_as_written": url_as_written, "p_host": host,
                                "now": now, "by": self.user})

    def give_url_if_none(self, source_id: int, url: str, url_as_written: str, host: str | None) -> None:
        self.execute(_GIVE_URL, {"sid": source_id, "p_url": url, "p_as_written": url_as_written, "p_host": host})

    def give_isbn_if_none(self, source_id: int, isbn: str) -> None:
        self.execute(_GIVE_ISBN, {"sid": source_id, "p_isbn": isbn})

    def citekey_of(self, source_id: int) -> str | None:
        return self._one(_CITEKEY_OF, {"sid": source_id})  # type: ignore[no-any-return]

    def store_citekey(self, source_id: int, key: str) -> None:
        self.execute(_STORE_CITEKEY, {"sid": source_id, "key": key})

    def touch_source(self, source_id: int, now: str) -> None:
        self.execute(_TOUCH, {"sid": source_id, "now": now, "by": self.user})

    # --- tags ----------------------------------------------------------------------------------------------

    def add_source_tags(self, source_id: int, tags: Sequence[str]) -> None:
        if not tags:
            return
        self.execute(_TAG_LOCK_SQL)  # serialise tag writers until this transaction ends (see _TAG_LOCK)
        self.executemany(_ADD_TAG, [{"sid": source_id, "tag": tag, "by": self.user} for tag in tags])

    def remove_source_tag(self, source_id: int, tag: str) -> bool:
        return bool(self.execute(_REMOVE_TAG, {"sid": source_id, "tag": tag}).rowcount)

    def tag_counts(self) -> list[tuple[str, int]]:
        return [(str(tag), int(n)) for tag, n in self.execute(_TAG_COUNTS)]

    # --- evidence and merged fields ------------------------------------------------------------------------

    def put_field_evidence(self, rows: Sequence[NewEvidence]) -> None:
        user = self.user
        pins = [r for r in rows if r.origin == "user"]
        if pins:  # see _LOCK_SOURCES: the value replaced is read under the source's lock
            self.execute(_LOCK_SOURCES, {"ids": sorted({r.source_id for r in pins})})
            self.executemany(_KEEP_REPLACED_PIN, [
                {"sid": r.source_id, "p_field": r.field, "p_value": _json(r.value), "by": user, "at": r.updated_at}
                for r in pins])
        self.executemany(_PUT_EVIDENCE, [
            {"p_source_id": r.source_id, "p_field": r.field, "p_origin": r.origin, "p_value": _json(r.value),
             "p_updated_at": r.updated_at, "p_by": user} for r in rows])

    def delete_user_pin(self, source_id: int, field: str, now: str | None = None) -> bool:
        from refman.timeutil import utc_now

        self.execute(_LOCK_SOURCES, {"ids": [source_id]})
        self.execute(_KEEP_REMOVED_PIN, {"sid": source_id, "p_field": field, "by": self.user,
                                         "at": now or utc_now()})
        return bool(self.execute(_DELETE_USER_PIN, {"sid": source_id, "p_field": field}).rowcount)

    def keep_field_history(self, source_id: int, rows: Sequence[EvidenceRow], now: str) -> None:
        self.executemany(_ADD_HISTORY, [
            {"p_source_id": source_id, "p_field": r.field, "p_origin": r.origin, "p_value": _json(r.value),
             "p_changed_by": r.changed_by, "p_changed_at": r.updated_at, "p_replaced_by": self.user,
             "p_replaced_at": now} for r in rows])

    def field_history(self, source_id: int) -> list[HistoryRow]:
        return [HistoryRow(f, o, json.loads(v), cb, ca, rb, ra)
                for f, o, v, cb, ca, rb, ra in self.execute(_FIELD_HISTORY, {"sid": source_id})]

    def source_people(self, source_id: int) -> SourcePeople | None:
        row = self.execute(_PEOPLE, {"sid": source_id}).fetchone()
        if row is None:
            return None
        tags = {tag: by for tag, by in self.execute(_TAGGERS, {"sid": source_id})}
        return SourcePeople(row[0], row[1], row[2], row[3], tags)

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
        self.executemany(_update_source(names), [
            {"sid": sid, **{f"p_{n}": cols[n] for n in names}} for sid, cols in rows])

    # --- listings ------------------------------------------------------------------------------------------

    def _resolved_filter(self, filters: Any) -> SourceFilter | None:
        """`filters` (refman.search.SearchFilters) resolved against this store; None: no condition."""
        if filters is None or not filters.any:
            return None
        where: SourceFilter = filters.resolve(self)
        return where

    def list_sources(self, *, tag: str | None = None, orphans: bool = False, status: str | None = None,
                     ids: Sequence[int] | None = None, limit: int | None = None, offset: int = 0,
                     filters: Any = None, sort: str = "added") -> list[dict[str, Any]]:
        if sort not in _ORDER_BY:
            raise UsageError(f"unknown sort {sort!r}: one of {', '.join(LIST_SORTS)}")
        where = self._resolved_filter(filters)
        statement = _list_statement(sort, bool(tag), orphans, bool(status), ids is not None,
                                    None if where is None else source_filter_shape(where))
        params: dict[str, Any] = {"tag": tag, "status": status, "ids": None if ids is None else list(ids),
                                  "lim": _limit(limit), "off": max(int(offset), 0)}
        if where is not None:
            params |= source_filter_params(where)
        cur = self.execute(statement, params)
        names = [d.name for d in cur.description or ()]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if not rows:
            return []
        wanted = [r["id"] for r in rows]
        tags: dict[int, list[str]] = {}
        for sid, t in self.execute(_TAGS_OF, {"ids": wanted}):
            tags.setdefault(sid, []).append(t)
        mentions: dict[int, list[dict[str, Any]]] = {}
        for sid, path, line, label, kind in self.execute(_MENTIONS_FOR, {"ids": wanted}):
            mentions.setdefault(sid, []).append({"path": path, "line": line, "label": label, "kind": kind})
        return [source_dict(r, tags.get(r["id"], []), mentions.get(r["id"], [])) for r in rows]

    def count_sources(self, *, orphans: bool = False, filters: Any = None) -> int:
        where = self._resolved_filter(filters)
        statement = _count_statement(orphans, None if where is None else source_filter_shape(where))
        return int(self._one(statement, None if where is None else source_filter_params(where)))

    def mentions_of(self, source_id: int) -> list[dict[str, Any]]:
        return [{"path": r[0], "line": r[1], "label": r[2], "kind": r[5], "annotation": r[3], "flag": r[4]}
                for r in self.execute(_MENTIONS_OF, {"sid": source_id})]

    def recent_snapshots(self, source_id: int, limit: int) -> list[dict[str, Any]]:
        cur = self.execute(_RECENT_SNAPSHOTS, {"sid": source_id,
                                                   "lim": None if limit < 0 else limit})  # SQLite: -1 is no limit
        names = [d.name for d in cur.description or ()]
        snapshots = [dict(zip(names, r, strict=True)) for r in cur]
        for snapshot in snapshots:  # 0/1 as SQLite gives it (`refman show --json` prints the same)
            snapshot["unchanged"] = int(snapshot["unchanged"])
        return snapshots

    def archived_chars(self, source_id: int) -> int:
        return int(self._one(_ARCHIVED_CHARS, {"sid": source_id}) or 0)

    def catalog_statistics(self) -> dict[str, Any]:
        cur = self.execute(_STATISTICS)
        names = [d.name for d in cur.description or ()]
        row = cur.fetchone()
        assert row is not None  # an aggregate without GROUP BY returns one row
        stats: dict[str, Any] = {name: int(value) for name, value in zip(names, row, strict=True)}
        stats["by_status"] = {status: int(n) for status, n in self.execute(_BY_STATUS)}
        stats["top_hosts"] = {host: int(n) for host, n in self.execute(_TOP_HOSTS)}
        return stats

    # --- duplicates ----------------------------------------------------------------------------------------

    def source_urls(self) -> dict[int, str | None]:
        return {int(sid): url for sid, url in self.execute(_SOURCE_URLS)}

    def latest_live_fetches(self, outcomes: Sequence[str]) -> Iterator[LiveFetch]:
        for sid, final_url, hops, body_hash, outcome in self.execute(_LATEST_LIVE_FETCHES,
                                                                     {"outcomes": list(outcomes)}).fetchall():
            urls: list[str] = []
            if hops:
                try:
                    urls = [h["url"] for h in json.loads(hops) if isinstance(h, dict) and isinstance(h.get("url"), str)]
                except (ValueError, TypeError):
                    urls = []
            yield LiveFetch(int(sid), final_url, urls, body_hash, outcome)

    def latest_canonical_urls(self, outcomes: Sequence[str]) -> Iterator[tuple[int, Any]]:
        found: dict[int, Any] = {}
        invalid: list[int] = []
        for sid, metadata in self.execute(_LATEST_METADATA, {"outcomes": list(outcomes)}).fetchall():
            valid, value = _canonical_url(metadata)
            if valid:
                found[int(sid)] = value
            else:
                invalid.append(int(sid))
        if invalid:  # an earlier snapshot's valid metadata, as SQLite's `json_valid(metadata_json)` picks
            for sid, metadata in self.execute(_METADATA_OF, {"ids": invalid, "outcomes": list(outcomes)}).fetchall():
                if int(sid) not in found:
                    valid, value = _canonical_url(metadata)
                    if valid:
                        found[int(sid)] = value
        for sid in sorted(found):
            yield sid, found[sid]

    def sources_with_doi(self) -> list[tuple[int, str]]:
        return [(int(sid), str(doi)) for sid, doi in self.execute(_WITH_DOI)]

    def source_summaries(self, source_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        return {int(r[0]): {"id": r[0], "url": r[1], "title": r[2], "citekey": r[3], "status": r[4],
                            "mentions": int(r[5])}
                for r in self.execute(_SUMMARIES, {"ids": list(source_ids)})}

    # --- merging sources -----------------------------------------------------------------------------------

    def merge_rows(self, source_ids: Sequence[int]) -> dict[int, MergeRow]:
        return {int(r[0]): MergeRow(*r) for r in self.execute(_MERGE_ROWS, {"ids": list(source_ids)})}

    def move_mentions(self, keep_id: int, drop_ids: Sequence[int]) -> int:
        return int(self.execute(_MOVE_MENTIONS, {"keep": keep_id, "ids": list(drop_ids)}).rowcount)

    def unite_tags(self, keep_id: int, drop_ids: Sequence[int]) -> list[str]:
        have = {t.lower() for (t,) in self.execute(_EXACT_TAGS_OF, {"sid": keep_id})}
        taggers: dict[str, str | None] = {}  # a tag moves with who added it (the first dropped source's)
        for t, by in self.execute(_TAGS_OF_ANY, {"ids": list(drop_ids)}):
            taggers.setdefault(t, by)
        new_tags = sorted(t for t in taggers if t.lower() not in have)
        self.executemany(_INSERT_TAG, [{"p_sid": keep_id, "p_tag": t, "p_by": taggers[t]} for t in new_tags])
        self.execute(_DELETE_TAGS, {"ids": list(drop_ids)})
        return new_tags

    def field_evidence_rows(self, source_id: int) -> list[EvidenceRow]:
        return [EvidenceRow(f, o, json.loads(v), u, by)
                for f, o, v, u, by in self.execute(_EVIDENCE_ROWS, {"sid": source_id})]

    def add_field_evidence_rows(self, source_id: int, rows: Sequence[EvidenceRow]) -> None:
        self.executemany(_ADD_EVIDENCE, [
            {"p_source_id": source_id, "p_field": r.field, "p_origin": r.origin, "p_value": _json(r.value),
             "p_updated_at": r.updated_at, "p_by": r.changed_by} for r in rows])

    def archived_text_times(self, source_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
        return {int(r[0]): (r[1] or "", int(r[2]))
                for r in self.execute(_ARCHIVED_TEXT_TIMES, {"ids": list(source_ids)})}

    def move_snapshots(self, keep_id: int, drop_ids: Sequence[int]) -> int:
        return int(self.execute(_MOVE_SNAPSHOTS, {"keep": keep_id, "ids": list(drop_ids)}).rowcount)

    def keep_archived_text(self, keep_id: int, text_from: int | None, drop_ids: Sequence[int]) -> None:
        if text_from is not None and text_from != keep_id:
            self.execute(_DELETE_TEXT, {"sid": keep_id})
            self.execute(_MOVE_TEXT, {"keep": keep_id, "sid": text_from})
        self.execute(_DELETE_TEXTS, {"ids": list(drop_ids)})

    def clear_citekeys(self, source_ids: Sequence[int]) -> None:
        self.execute(_CLEAR_CITEKEYS, {"ids": list(source_ids)})

    def update_merged_source(self, source_id: int, values: Mapping[str, Any]) -> None:
        unknown = set(values) - set(_MERGED_COLUMNS)
        if unknown:
            raise ValueError(f"update_merged_source cannot set {sorted(unknown)}")
        if not values:
            return
        if "updated_at" in values:  # who merged it
            values = {**values, "updated_by": self.user}
        self.execute(_update_source(tuple(values)), {"sid": source_id, **{f"p_{k}": v for k, v in values.items()}})

    def delete_merged_sources(self, keep_id: int, drop_ids: Sequence[int], now: str) -> None:
        drops = list(drop_ids)
        urls = [url for (url,) in self.execute(_URLS_OF, {"ids": drops})]  # works without URL: none
        self.execute(_DELETE_EVIDENCE, {"ids": drops})
        # the values the dropped sources' users overwrote stay in the history, of the kept source
        self.execute(_MOVE_HISTORY, {"keep": keep_id, "ids": drops})
        self.execute(_MOVE_ALIASES, {"keep": keep_id, "ids": drops})
        self.executemany(_PUT_ALIAS, [{"p_url": url, "p_sid": keep_id, "p_now": now} for url in urls])
        self.execute(_DELETE_SOURCES, {"ids": drops})

    def move_source_url(self, source_id: int, old: str | None, new: str, host: str | None, now: str) -> None:
        self.execute(_DELETE_ALIAS, {"p_url": new})
        self.execute(_MOVE_URL, {"sid": source_id, "p_url": new, "p_host": host})
        if old is not None:
            self.execute(_PUT_ALIAS, {"p_url": old, "p_sid": source_id, "p_now": now})
