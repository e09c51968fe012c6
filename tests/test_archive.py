"""refman.fetch.archive: compressed, content-addressed blobs and snapshot rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from refman.errors import CatalogError
from refman.fetch import archive
from refman.store import open_store
from refman.store.fetch import PackedBlob
from refman.store.sqlite import SqliteStore

HTML = ("<html><body>" + "<p>Some repeated paragraph of archived text.</p>" * 200 + "</body></html>").encode()


@pytest.mark.parametrize("codec", ["zlib", "zstd", "identity"])
def test_round_trip(codec: str) -> None:
    used, stored = archive.compress(HTML, codec)
    assert used == codec
    assert archive.decompress(used, stored) == HTML
    if codec != "identity":
        assert len(stored) < len(HTML) // 5


def test_tiny_and_incompressible_bodies_are_stored_as_is() -> None:
    assert archive.compress(b"tiny")[0] == "identity"
    noise = os.urandom(5000)
    codec, stored = archive.compress(noise)
    assert codec == "identity" and stored == noise


def test_pack_hashes_raw_bytes() -> None:
    blob = archive.pack(HTML)
    assert blob.hash == archive.content_hash(HTML)
    assert blob.size == len(HTML) and blob.stored_size == len(blob.data) < len(HTML)


def _source(store: SqliteStore, url: str = "https://example.org/") -> int:
    from refman.catalog import add_source

    return add_source(store, url)[0]


def test_blobs_are_stored_once_and_verified(db_path: Path) -> None:
    store = open_store(db_path)
    blob = archive.pack(HTML)
    assert store.put_blob(blob) is True
    assert store.put_blob(archive.pack(HTML)) is False  # same content: no second copy
    assert store.archive_stats()["blobs"] == 1
    assert archive.read_blob(store, blob.hash) == HTML
    assert archive.store_bytes(store, HTML) == blob.hash
    stats = store.archive_stats()
    assert stats == {"blobs": 1, "raw_bytes": len(HTML), "stored_bytes": blob.stored_size}
    # a stored blob whose bytes are not the ones its hash names is reported as damaged
    other = archive.pack(HTML + b"<!-- another page -->")
    assert store.put_blob(PackedBlob(other.hash, "identity", other.size, b"tampered")) is True
    with pytest.raises(CatalogError, match="damaged"):
        archive.read_blob(store, other.hash)
    with pytest.raises(CatalogError, match="missing"):
        archive.read_blob(store, "0" * 64)


def test_snapshots_and_latest_good(db_path: Path) -> None:
    store = open_store(db_path)
    sid = _source(store)
    blob = archive.pack(HTML)
    store.put_blob(blob)
    first = store.add_snapshot({"source_id": sid, "fetched_at": "2026-01-01T00:00:00Z", "outcome": "ok",
                                "http_status": 200, "body_hash": blob.hash, "size": blob.size})
    store.add_snapshot({"source_id": sid, "fetched_at": "2026-01-02T00:00:00Z", "outcome": "timeout",
                        "error_class": "ReadTimeout", "reason": "read timed out"})
    good = store.latest_good_snapshot(sid)
    assert good is not None and good["id"] == first
    history = store.snapshot_history(sid)
    assert [s["outcome"] for s in history] == ["timeout", "ok"]
    with pytest.raises(ValueError):
        store.add_snapshot({"source_id": sid, "fetched_at": "x", "outcome": "ok", "bogus": 1})
