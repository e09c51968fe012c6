"""The catalog's schema: one SQLModel (SQLAlchemy) table per catalog table, with its columns, keys, indexes and
server defaults. This is the one definition of the schema: alembic's target metadata (migrations/env.py), the
reference tests/test_schema_models.py compares every migrated catalog against (both ways), and what a second
backend builds its SQLAlchemy Core statements from. The SQLite store does not use these classes at run time (it
speaks sqlite3 directly, refman.store.sqlite); the FTS5 search index and its triggers are SQLite's own (migration
0002) and are not declared here.

Every schema change is a new migration in migrations/versions (never an edit of one that has shipped) plus the
same change here; the schema test fails until both agree."""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary, String, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel


class Note(SQLModel, table=True):
    """A Markdown file that was imported, with what is needed to skip it when unchanged."""

    __tablename__ = "note"
    # A note is (owner, vault root, path): two people's vaults at the same absolute path are apart (0013).
    __table_args__ = (UniqueConstraint("owner", "root", "path"),)

    id: int | None = Field(default=None, primary_key=True)
    root: str  # absolute path of the folder (or file's parent) given to `refman import`
    path: str  # POSIX path relative to root
    size: int
    mtime_ns: int
    sha256: str
    encoding: str | None = None
    status: str = Field(default="ok", sa_column_kwargs={"server_default": "ok"})  # ok | skipped
    reason: str | None = None  # why a note was skipped or decoded with a fallback
    imported_at: str
    owner: str | None = None  # who imported it (refman.config.user_name); NULL: before 0013, claimed on import


class Source(SQLModel, table=True):
    """One work: a web page identified by its normalised URL, or a work without a URL identified by its DOI
    (case-insensitive), else its ISBN-13, else its citation key (migration 0006). The merged citation fields
    are a cache of `field_value` rows, recomputed by refman.evidence whenever evidence changes."""

    __tablename__ = "source"
    __table_args__ = (
        Index("ix_source_isbn", "isbn", sqlite_where=text("isbn IS NOT NULL")),
        Index("ix_source_doi_ci", text("lower(doi)")),
        Index("ux_source_urlless_doi", text("lower(doi)"), unique=True,
              sqlite_where=text("url IS NULL AND doi IS NOT NULL")),
        Index("ux_source_urlless_isbn", "isbn", unique=True,
              sqlite_where=text("url IS NULL AND doi IS NULL AND isbn IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    url: str | None = Field(default=None, sa_column=Column(String, unique=True, nullable=True))  # None: no URL
    url_as_written: str | None = None
    host: str | None = Field(default=None, index=True)
    created_at: str
    updated_at: str
    user_note: str | None = None  # the --note text of `refman add`
    # how it entered the catalog: note | add | bibliography
    added_by: str = Field(default="note", sa_column_kwargs={"server_default": "note"})
    label_note: int | None = None  # the note whose label gives the label evidence (no FK: the note may go)
    first_cited_at: str | None = None  # when a note first cited it; NULL: never (an orphan needs one)
    citekey: str | None = Field(
        default=None, sa_column=Column(String(collation="NOCASE"), unique=True, nullable=True)
    )
    # fetch state
    # new (never fetched) or the last refman.vocabulary.FetchOutcome: ok | dead | timeout | too_large | …
    status: str = Field(default="new", index=True, sa_column_kwargs={"server_default": "new"})
    reason: str | None = None
    fetched_at: str | None = None  # last attempt
    last_ok_at: str | None = None
    fail_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # consecutive failed checks
    failing_since: str | None = None  # when the current run of failed checks began (NULL: not failing)
    # merged citation fields (CSL names with _ for -)
    type: str = Field(default="webpage", sa_column_kwargs={"server_default": "webpage"})
    title: str | None = None
    issued: str | None = None  # ISO 8601, possibly partial
    container_title: str | None = None
    publisher: str | None = None
    author: str | None = None  # JSON list of CSL names
    doi: str | None = Field(default=None, index=True)
    language: str | None = None
    abstract: str | None = None
    isbn: str | None = None  # ISBN-13 digits: identity of a work without URL or DOI
    created_by: str | None = None  # user names (refman.config.user_name); NULL: written before 0013
    updated_by: str | None = None


class FieldValue(SQLModel, table=True):
    """One piece of evidence for one citation field of a source, with where it came from: `origin` is a
    refman.vocabulary.Origin (label, page:citation, page:json-ld, …, pdf, import, user) or `adapter:<name>`.
    A `user` value is pinned: fetches never overwrite it."""

    __tablename__ = "field_value"
    __table_args__ = {"sqlite_with_rowid": False}

    source_id: int = Field(foreign_key="source.id", primary_key=True, ondelete="CASCADE")
    field: str = Field(primary_key=True)
    origin: str = Field(primary_key=True)
    value: str  # JSON
    updated_at: str
    changed_by: str | None = None  # who recorded it: the editor of a user value, who ran the fetch or import


class FieldHistory(SQLModel, table=True):
    """A user value that was replaced or removed (`refman set`/`unset`, a merge): concurrent edits are
    last-writer-wins, and the value that lost is kept here with who set it and who replaced it."""

    __tablename__ = "field_history"
    __table_args__ = (Index("ix_field_history_source", "source_id", "field"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", ondelete="CASCADE")
    field: str
    origin: str
    value: str  # JSON
    changed_by: str | None = None  # who set it
    changed_at: str  # when it was set
    replaced_by: str | None = None  # who replaced or removed it
    replaced_at: str


class Mention(SQLModel, table=True):
    """A place where a note cites a source: a reference definition (or a bare reference line)."""

    __tablename__ = "mention"
    __table_args__ = (Index("ix_mention_note", "note_id", "ordinal"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True, ondelete="CASCADE")
    note_id: int = Field(foreign_key="note.id", ondelete="CASCADE")
    ordinal: int  # order of appearance within the note
    line: int  # 1-based
    label: str  # the label as written (unescaped)
    title: str | None = None  # the definition's optional link title
    annotation: str | None = None  # the user's text under the definition
    flag: str | None = None  # leading emoji flag of the label (👍, 🤔, ⭐ …) or marker of a bare line (🔗 …)
    # definition | bare (a bare reference line, see refman.notes.scan)
    kind: str = Field(default="definition", sa_column_kwargs={"server_default": "definition"})
    link_text: str | None = None  # the text the note shows for it (`[text][label]`), when it differs from the label


class SourceTag(SQLModel, table=True):
    __tablename__ = "source_tag"

    source_id: int = Field(foreign_key="source.id", primary_key=True, ondelete="CASCADE")
    tag: str = Field(primary_key=True, index=True)
    added_by: str | None = None  # who tagged it (an import: who imported)


class SourceAlias(SQLModel, table=True):
    """A URL merged into another source (refman.duplicates.merge_sources): it resolves to that source."""

    __tablename__ = "source_alias"
    __table_args__ = {"sqlite_with_rowid": False}

    url: str = Field(primary_key=True)  # normalised, like source.url
    source_id: int = Field(foreign_key="source.id", index=True, ondelete="CASCADE")
    created_at: str


class Blob(SQLModel, table=True):
    """A content-addressed, compressed body: identical bodies are stored once."""

    __tablename__ = "blob"

    hash: str = Field(primary_key=True)  # sha256 of the uncompressed bytes
    codec: str  # zlib | zstd | identity
    size: int  # uncompressed
    stored_size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Snapshot(SQLModel, table=True):
    """One fetch attempt of a source, successful or not."""

    __tablename__ = "snapshot"
    __table_args__ = (Index("ix_snapshot_source", "source_id", "fetched_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", ondelete="CASCADE")
    fetched_at: str
    outcome: str  # a refman.vocabulary.FetchOutcome: ok | thin | dead | timeout | too_large | …
    http_status: int | None = None
    final_url: str | None = None
    redirects: str | None = None  # JSON list of {url, status}
    content_type: str | None = None
    charset: str | None = None
    size: int | None = None
    body_hash: str | None = Field(default=None, foreign_key="blob.hash")
    # same content as the previous good snapshot
    unchanged: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    elapsed_ms: int | None = None
    error_class: str | None = None
    reason: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    metadata_json: str | None = None  # everything the extractors found, with origins
    origin: str = Field(default="live", sa_column_kwargs={"server_default": "live"})  # vocabulary.SnapshotOrigin
    memento_url: str | None = None  # the archive capture a `wayback` snapshot was taken from
    memento_at: str | None = None  # that capture's time (UTC, ISO 8601)
    fetched_by: str | None = None  # who ran the fetch (or the worker's user)


class SourceText(SQLModel, table=True):
    """The archived main text of a source: that of its latest good snapshot."""

    __tablename__ = "source_text"

    source_id: int = Field(foreign_key="source.id", primary_key=True, ondelete="CASCADE")
    snapshot_id: int = Field(foreign_key="snapshot.id")
    text: str
    markdown_hash: str | None = Field(default=None, foreign_key="blob.hash")


class FetchClaim(SQLModel, table=True):
    """A source being fetched by a live run (refman.fetch.claims): other runs leave it alone until the claim
    is released, its process is gone, or its heartbeat is stale."""

    __tablename__ = "fetch_claim"

    source_id: int = Field(foreign_key="source.id", primary_key=True, ondelete="CASCADE")
    machine: str  # hostname of the claiming process
    pid: int
    claimed_at: str
    heartbeat_at: str


class RobotsTxt(SQLModel, table=True):
    """The robots.txt of one origin as a fetch last read it (refman.fetch.robots): every run and worker on the
    catalog uses it while it is fresh instead of fetching it again."""

    __tablename__ = "robots_txt"

    origin: str = Field(primary_key=True)  # scheme://host[:port], as refman.fetch.client names an origin
    fetched_at: str  # UTC, ISO 8601
    outcome: str  # a refman.vocabulary.RobotsOutcome: parsed | missing | unavailable
    http_status: int | None = None  # of the last answer (after redirects); None when none came
    body: str | None = None  # the text parsed (outcome parsed): at most ROBOTS_MAX_BYTES of the file


class RegisteredExport(SQLModel, table=True):
    """An export that refman keeps current (refman.exports_registry): re-written whenever its bytes change."""

    __tablename__ = "registered_export"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String, unique=True, nullable=False))
    path: str = Field(sa_column=Column(String, unique=True, nullable=False))  # absolute; a folder when per_note
    format: str  # refman.citation.export.EXPORT_FORMATS
    # one file per note under `path`, mirroring the vault's folders
    per_note: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    options: str  # JSON: the selection (refs, tags, cited_in, query, all) and ascii
    files: str | None = None  # JSON {relative path: sha256} of the files a per-note mirror wrote
    written_hash: str | None = None  # sha256 of the bytes last written (per note: of the files map)
    written_at: str | None = None  # UTC, ISO 8601
    created_at: str
