"""refman.fetch.archive: compressed, content-addressed blobs and snapshot rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from refman.errors import CatalogError
from refman.fetch import archive
from refman.store import connect

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


def _source(conn, url: str = "https://example.org/") -> int:  # type: ignore[no-untyped-def]
    cur = conn.execute(
        "INSERT INTO source (url, url_as_written, host, created_at, updated_at) VALUES (?, ?, 'example.org', "
        "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')", (url, url))
    return int(cur.lastrowid)


def test_blobs_are_stored_once_and_verified(db_path: Path) -> None:
    conn = connect(db_path)
    blob = archive.pack(HTML)
    assert archive.put_blob(conn, blob) is True
    assert archive.put_blob(conn, archive.pack(HTML)) is False  # same content: no second copy
    assert conn.execute("SELECT COUNT(*) FROM blob").fetchone()[0] == 1
    assert archive.read_blob(conn, blob.hash) == HTML
    assert archive.store_bytes(conn, HTML) == blob.hash
    stats = archive.archive_stats(conn)
    assert stats == {"blobs": 1, "raw_bytes": len(HTML), "stored_bytes": blob.stored_size}
    conn.execute("UPDATE blob SET data = ?, codec = 'identity' WHERE hash = ?", (b"tampered", blob.hash))
    with pytest.raises(CatalogError, match="damaged"):
        archive.read_blob(conn, blob.hash)
    with pytest.raises(CatalogError, match="missing"):
        archive.read_blob(conn, "0" * 64)


def test_snapshots_and_latest_good(db_path: Path) -> None:
    conn = connect(db_path)
    sid = _source(conn)
    blob = archive.pack(HTML)
    archive.put_blob(conn, blob)
    first = archive.insert_snapshot(conn, {"source_id": sid, "fetched_at": "2026-01-01T00:00:00Z", "outcome": "ok",
                                           "http_status": 200, "body_hash": blob.hash, "size": blob.size})
    archive.insert_snapshot(conn, {"source_id": sid, "fetched_at": "2026-01-02T00:00:00Z", "outcome": "timeout",
                                   "error_class": "ReadTimeout", "reason": "read timed out"})
    good = archive.latest_good_snapshot(conn, sid)
    assert good is not None and good["id"] == first
    history = archive.snapshots(conn, sid)
    assert [s["outcome"] for s in history] == ["timeout", "ok"]
    with pytest.raises(ValueError):
        archive.insert_snapshot(conn, {"source_id": sid, "fetched_at": "x", "outcome": "ok", "bogus": 1})
