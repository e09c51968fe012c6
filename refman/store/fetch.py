"""Fetching: fetch jobs and claims, robots.txt, attempt records (snapshots, blobs, archived text, page evidence),
archive copies.

Backend-neutral: the Protocol and the plain row types its methods return. The SQLite implementation is
refman.store.sqlite.fetch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from refman.vocabulary import SnapshotOrigin

# The columns of a snapshot row (one fetch attempt); `add_snapshot` takes a mapping of some of them.
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "source_id", "fetched_at", "outcome", "http_status", "final_url", "redirects", "content_type", "charset",
    "size", "body_hash", "unchanged", "elapsed_ms", "error_class", "reason", "etag", "last_modified",
    "metadata_json", "origin", "memento_url", "memento_at", "fetched_by",
)

# Where a snapshot's body came from (migration 0005), and the outcomes whose body is the source's archived
# content: the words are refman.vocabulary's.
SNAPSHOT_ORIGINS: tuple[str, ...] = tuple(SnapshotOrigin)


@dataclass(frozen=True)
class PackedBlob:
    """A body ready to insert: its hash, codec, sizes and compressed bytes. Built in worker processes."""

    hash: str
    codec: str
    size: int
    data: bytes

    @property
    def stored_size(self) -> int:
        return len(self.data)


class PreviousFetch(NamedTuple):
    """A source to fetch, with what its previous good live snapshot says (for 304s and "unchanged")."""

    source_id: int
    url: str
    fail_count: int
    prev_hash: str | None
    prev_outcome: str | None
    prev_reason: str | None
    etag: str | None
    last_modified: str | None


class FetchClaim(NamedTuple):
    """A source a run holds (refman.fetch.claims): who holds it and how long ago it last said it was alive."""

    source_id: int
    machine: str
    pid: int
    heartbeat_age_s: float | None


@dataclass
class FetchAttempt:
    """Everything one fetch attempt writes. `evidence`: (field, origin, value as JSON) of the page; every other
    origin of the source's evidence but `kept_origins` is replaced by it when `content_changed`."""

    source_id: int
    fetched_at: str
    status: str  # the source status word
    reason: str | None
    failed: bool  # counts as a failed check
    reachable: bool  # the server answered: resets fail_count
    definitive: bool  # a failure saying the page is gone: starts (or continues) the source's failing streak
    snapshot: Mapping[str, Any]  # SNAPSHOT_COLUMNS but source_id and fetched_at
    blobs: Sequence[PackedBlob] = ()
    content_changed: bool = False
    unchanged: bool = False
    text: str | None = None
    markdown_hash: str | None = None
    evidence: Sequence[tuple[str, str, str]] = ()
    kept_origins: tuple[str, ...] = ()
    keep_status: bool = False  # a copy that is not the live URL's answer: text and evidence, not the status


@dataclass
class AttemptWritten:
    """What `record_fetch_attempt` did: the snapshot id, the bytes of new blobs, and whether the page evidence
    was replaced (the caller then recomputes the source's merged fields)."""

    snapshot_id: int
    new_blob_bytes: int = 0
    evidence_replaced: bool = False


class CheckFacts(NamedTuple):
    """What `refman check` judges a source by: its last status and its streak of failures."""

    source_id: int
    url: str
    status: str
    reason: str | None
    fail_count: int
    failing_since: str | None
    fetched_at: str | None
    failing_days: float | None  # fetched_at - failing_since


class LiveSnapshot(NamedTuple):
    """A live fetch of a source, as `refman check` compares them."""

    outcome: str
    final_url: str | None
    redirects: str | None
    body_hash: str | None
    unchanged: bool
    metadata_json: str | None


class CitedDayEvidence(NamedTuple):
    """What says when the notes cited a source: the label's `issued` evidence (JSON), the first citation, the
    oldest modification time of a citing note, and when the source was added."""

    source_id: int
    label_issued_json: str | None
    first_cited_at: str | None
    oldest_note_mtime_ns: int | None
    created_at: str | None


class TextOrigin(NamedTuple):
    """The snapshot the source's archived text comes from."""

    origin: str
    memento_url: str | None
    memento_at: str | None
    fetched_at: str


class RobotsRow(NamedTuple):
    """The robots.txt of one origin as a fetch last read it (table robots_txt, refman.fetch.robots)."""

    origin: str  # scheme://host[:port]
    fetched_at: str  # UTC, ISO 8601
    outcome: str  # a refman.vocabulary.RobotsOutcome
    http_status: int | None
    body: str | None  # the text parsed (outcome "parsed")


@dataclass
class FetchBacklog:
    """Why a default `refman fetch` has nothing to do."""

    sources: int
    never_fetched: int
    failed: int
    claimed: int
    oldest_fetch: str | None = field(default=None)


class FetchStore(Protocol):
    # -- choosing what to fetch
    def sources_due_for_fetch(self, *, stale_days: float | None = None, failed: bool = False,
                              all_sources: bool = False) -> list[int]:
        """Ids with a URL, by id: never fetched, or fetched more than `stale_days` ago, or failed last; or all."""
        ...

    def fetchable_among(self, source_ids: Sequence[int]) -> list[int]:
        """The ids among `source_ids` (in their order) of sources that have a URL."""
        ...

    def previous_fetches(self, source_ids: Sequence[int]) -> list[PreviousFetch]:
        """What each source's previous good live snapshot says, in the given order (unknown ids skipped)."""
        ...

    def fetch_backlog(self) -> FetchBacklog:
        """Counts of sources, never fetched, failed last, claimed, and the oldest fetch date."""
        ...

    # -- claims (refman.fetch.claims)
    def fetch_claims(self) -> list[FetchClaim]:
        """Every claim held, with the age of its last heartbeat."""
        ...

    def drop_fetch_claims(self, source_ids: Sequence[int]) -> None:
        """Remove the claims on `source_ids`, whoever holds them."""
        ...

    def take_fetch_claims(self, source_ids: Sequence[int], machine: str, pid: int, now: str) -> set[int]:
        """Claim the existing sources among `source_ids` nobody holds; the ids among them (machine, pid) holds."""
        ...

    def beat_fetch_claims(self, machine: str, pid: int, now: str) -> None:
        """Refresh the heartbeat of (machine, pid)'s claims."""
        ...

    def release_fetch_claims(self, machine: str, pid: int, source_ids: Sequence[int] | None = None) -> None:
        """Release (machine, pid)'s claims: all of them, or those on `source_ids`."""
        ...

    # -- robots.txt shared by runs and workers (refman.fetch.robots)
    def robots_row(self, origin: str) -> RobotsRow | None:
        """The stored robots.txt of `origin`, however old, or None."""
        ...

    def put_robots_row(self, row: RobotsRow) -> None:
        """Store `row` in its own short write, unless the stored row of its origin was read later."""
        ...

    # -- attempt records
    def record_fetch_attempt(self, attempt: FetchAttempt) -> AttemptWritten:
        """Write one attempt in one savepoint (blobs, snapshot, text, evidence, status; its claim ends); raises
        NotFoundError if the source is gone."""
        ...

    def put_blob(self, blob: PackedBlob) -> bool:
        """Store `blob` unless its hash is stored already; True when a new copy was written."""
        ...

    def has_blob(self, digest: str) -> bool:
        """Whether a blob with this hash is stored."""
        ...

    def blob_data(self, digest: str) -> tuple[str, bytes] | None:
        """(codec, stored bytes) of a blob, or None."""
        ...

    def add_snapshot(self, row: Mapping[str, Any]) -> int:
        """Insert one snapshot (keys from SNAPSHOT_COLUMNS, missing ones empty); its id."""
        ...

    def latest_good_snapshot(self, source_id: int) -> dict[str, Any] | None:
        """The newest snapshot of a source with an archived body (column → value, with `id`), or None."""
        ...

    def snapshot_history(self, source_id: int) -> list[dict[str, Any]]:
        """Every snapshot of a source, newest first (column → value, with `id`)."""
        ...

    def archive_stats(self) -> dict[str, int]:
        """Blob count, raw and stored bytes: {blobs, raw_bytes, stored_bytes}."""
        ...

    # -- checking (refman.fetch.check)
    def check_facts(self, source_ids: Sequence[int]) -> list[CheckFacts]:
        """Status and failure streak of each source among `source_ids` (unknown ids skipped)."""
        ...

    def live_snapshots(self, source_id: int, limit: int = 50) -> list[LiveSnapshot]:
        """The newest `limit` live fetches of a source, newest first."""
        ...

    def note_paths_citing(self, source_ids: Iterable[int]) -> dict[int, list[str]]:
        """{source id: paths of the notes that cite it} for the cited ones among `source_ids`."""
        ...

    # -- archive copies (refman.fetch.wayback, refman.fetch.fallback, refman.capture)
    def cited_day_evidence(self, source_ids: Sequence[int]) -> list[CitedDayEvidence]:
        """What says when each source was cited (unknown ids skipped)."""
        ...

    def newest_archive_copy(self, source_id: int) -> tuple[str, str | None] | None:
        """(memento URL, capture time) of the source's newest Internet Archive copy, or None."""
        ...

    def sources_last_fetched_ok(self) -> list[int]:
        """Ids of the sources whose last fetch succeeded, by id."""
        ...

    def fetch_urls(self, source_ids: Sequence[int]) -> dict[int, str]:
        """{id: URL} of the sources among `source_ids` that have one."""
        ...

    def text_origin(self, source_id: int) -> TextOrigin | None:
        """Where the source's archived text comes from, or None when it has none."""
        ...

    def thin_judgement(self, source_id: int) -> str | None:
        """For a source whose status is thin, the metadata JSON of its newest thin live snapshot; else None."""
        ...

    def title_after_fetch(self, source_id: int) -> str | None:
        """The source's merged title (after a capture or fetch recomputed it)."""
        ...
