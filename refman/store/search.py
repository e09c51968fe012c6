"""The search index and what reading the archive needs: index upkeep, queries with filters and facets, snapshots' text.

Backend-neutral: the Protocol, the parsed query and filter objects it takes (refman.search_query and
refman.search build them; each backend turns them into its own query: FTS5 MATCH for SQLite, tsquery for
PostgreSQL) and the plain row types its methods return. The SQLite implementation is refman.store.sqlite.search.

The index holds, per source, six texts (INDEX_COLUMNS) in their indexed form: a space on both sides of every
CJK character (refman.search_query.cjk_space) and each tag between TAG_OPEN and TAG_CLOSE tokens. The domain
(refman.search.compose_row) composes them; a store only stores and matches them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple, Protocol

# The index's columns, in order, and what --json and the table call each of them.
INDEX_COLUMNS = ("title", "authors", "site", "tags", "notes", "body")
FIELD_NAMES = {"title": "title", "authors": "authors", "site": "site", "tags": "tags", "notes": "notes",
               "body": "text"}
HL_OPEN, HL_CLOSE = "\x02", "\x03"  # highlight markers in snippets: control characters never in indexed text


# --- the parsed query (built by refman.search_query) -----------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One word or phrase of a query. `tokens` is what it matches, in the index's form (CJK characters
    spaced, tag tokens around a tag): the tokens must occur side by side, the last one as a prefix when
    `prefix`."""

    text: str  # as the user wrote it (private-use characters removed)
    column: str | None = None  # one of INDEX_COLUMNS for a field filter, else any column
    prefix: bool = False
    phrase: bool = False  # written in quotes
    tokens: str = ""


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or


@dataclass(frozen=True)
class ParsedQuery:
    """A user's query as a tree. `adjacent`: for 2–6 plain words, the words side by side (index form), which
    a backend may score as a bonus so that rows with the words together rank first; it never changes which
    rows match."""

    tree: Node | None = None
    terms: tuple[Term, ...] = ()
    adjacent: str | None = None

    @property
    def empty(self) -> bool:
        return self.tree is None


@dataclass(frozen=True)
class SourceFilter:
    """Conditions on sources, already checked and resolved (refman.search.SearchFilters.resolve)."""

    tags: tuple[str, ...] = ()  # every one of them, compared case-insensitively
    since: str | None = None  # a partial ISO date ("2024", "2024-06"), compared at the precision both have
    until: str | None = None
    domain: str | None = None  # lower-case host: the host itself or any subdomain
    status: str | None = None
    note_ids: tuple[int, ...] | None = None  # cited in one of these notes

    @property
    def any(self) -> bool:
        return bool(self.tags or self.since or self.until or self.domain or self.status
                    or self.note_ids is not None)


# --- what searching returns ------------------------------------------------------------------------------


@dataclass
class SearchHit:
    id: int
    url: str
    title: str | None
    issued: str | None
    site: str | None
    score: float | None  # higher is better; None when no text query ranked the rows
    snippet: str  # highlighted words between HL_OPEN and HL_CLOSE
    matched_fields: list[str] = field(default_factory=list)

    def to_json(self, open_mark: str = "**", close_mark: str = "**") -> dict[str, object]:
        data = asdict(self)
        data["snippet"] = self.snippet.replace(HL_OPEN, open_mark).replace(HL_CLOSE, close_mark)
        return data


class IndexSource(NamedTuple):
    """What one source's index row is composed from (refman.search.compose_row)."""

    id: int
    title: str | None
    author: str | None  # the CSL name list as JSON
    host: str | None
    container_title: str | None
    publisher: str | None
    user_note: str | None
    tags: list[str]  # sorted
    mentions: list[tuple[str, str | None, str | None]]  # (label, title, annotation) in mention order
    text: str | None  # the archived main text


# (id, title, authors, site, tags, notes, body): one index row in the index's form.
IndexRow = tuple[object, ...]
Composer = Callable[[IndexSource], IndexRow]


class BulkIndex(set[int]):
    """What a bulk writer tells `search_index_batch` to index on exit: the set itself holds the ids of sources
    whose rows are recomputed from the catalog (add to it as to any set); `new_rows` may hold rows (id, title,
    authors, site, tags, notes, body) the writer composed for sources it created in this transaction (the same
    strings refman.search.compose_row gives), or the writer may hand them to `insert_new` sooner."""

    new_rows: Iterable[IndexRow] = ()
    # set by the store: how it indexes created sources' rows at once (None: they wait for the exit)
    insert_now: Callable[[Iterable[IndexRow]], None] | None = None

    def insert_new(self, rows: Iterable[IndexRow]) -> None:
        """Index these rows of sources created in this transaction now rather than on exit, so that a writer
        overlaps the work with its own (the notes import judges labels in its pool meanwhile)."""
        if self.insert_now is None:
            self.new_rows = [*self.new_rows, *rows]
        else:
            self.insert_now(rows)


# --- what reading the archive returns --------------------------------------------------------------------


class ArchivedCopy(NamedTuple):
    """A snapshot with an archived body (outcome ok or thin)."""

    id: int
    source_id: int
    fetched_at: str
    origin: str
    memento_at: str | None
    body_hash: str
    content_type: str | None
    charset: str | None
    final_url: str | None


class CurrentText(NamedTuple):
    """A source's stored main text and the body it was extracted from."""

    markdown_hash: str | None
    text: str | None
    body_hash: str | None


class SourceHeading(NamedTuple):
    id: int
    title: str | None
    url: str


class CitingMention(NamedTuple):
    path: str
    root: str
    line: int
    label: str | None
    annotation: str | None
    kind: str


class Facets(NamedTuple):
    """(value, count) pairs, most frequent first; `notes`: (note path, sources it cites) for every note."""

    tags: list[tuple[str, int]]
    sites: list[tuple[str, int]]
    statuses: list[tuple[str, int]]
    notes: list[tuple[str, int]]


class SearchStore(Protocol):
    """Full-text search over the catalog, index upkeep, and the read-only views of the archive."""

    def search_sources(self, query: ParsedQuery, where: SourceFilter, limit: int, offset: int) -> list[SearchHit]:
        """Sources matching query and filter, best first (or newest first when nothing in the query ranks);
        snippets and previews are in the index's form (refman.search.unspace makes them readable)."""
        ...

    def count_search_matches(self, query: ParsedQuery, where: SourceFilter) -> int:
        """How many sources search_sources would return without a limit."""
        ...

    def sources_to_index(self, ids: Sequence[int] | None = None) -> Iterator[IndexSource]:
        """What the index rows of these sources (all, by id, when None) are composed from."""
        ...

    def rebuild_search_index(self, rows: Iterable[IndexRow], optimize: bool = True) -> None:
        """Replace the whole index with these rows (in the caller's transaction)."""
        ...

    def search_index_batch(self, compose: Composer) -> AbstractContextManager[BulkIndex]:
        """For a writer touching thousands of sources in the caller's transaction: per-row index upkeep is
        suspended, and on exit the yielded BulkIndex's new rows are added and its ids re-indexed."""
        ...

    def archived_copies(self, source_id: int) -> list[ArchivedCopy]:
        """A source's snapshots with an archived body, newest first."""
        ...

    def archived_copy(self, snapshot_id: int) -> ArchivedCopy | None:
        """One snapshot with an archived body, by its id."""
        ...

    def current_text(self, source_id: int) -> CurrentText | None:
        """The source's stored main text and the body hash of the copy it came from."""
        ...

    def source_heading(self, source_id: int) -> SourceHeading | None:
        """A source's id, title and URL (None: no such source)."""
        ...

    def fetch_attempts(self, source_id: int, limit: int) -> list[dict[str, Any]]:
        """Every snapshot of a source, newest first: id, fetched_at, outcome, http_status, size, unchanged,
        reason, origin, memento_at."""
        ...

    def notes_overview(self) -> list[tuple[str, str, int, int]]:
        """(path, root, sources cited, mentions) of every note, by path."""
        ...

    def note_paths(self, note_ids: Sequence[int]) -> list[str]:
        """The paths of these notes, sorted."""
        ...

    def citing_mentions(self, source_id: int) -> list[CitingMention]:
        """Where a source is cited, by note path and line."""
        ...

    def checked_source_ids(self) -> list[int]:
        """Sources fetched at least once."""
        ...

    def check_dates(self, ids: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
        """{id: (title, fetched_at)} of these sources."""
        ...

    def facet_counts(self, top: int) -> Facets:
        """The top tags, hosts and every status with their source counts, and sources per note."""
        ...

    def catalog_counts(self) -> dict[str, int]:
        """{sources, archived, notes}: how many sources, sources with archived text, and notes."""
        ...
