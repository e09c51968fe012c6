"""refman.vocabulary: the shared words are plain strings wherever they go, say what the modules that use them
say, and agree with the places that still keep a copy (until those switch to it)."""

from __future__ import annotations

import importlib
import json
import re
import sqlite3
import subprocess
import sys

from refman.vocabulary import (
    CJK_INDEXED,
    CJK_LETTER,
    GOOD_OUTCOMES,
    ORIGIN_RANK,
    PARTIAL_DATE,
    FetchOutcome,
    Origin,
    SnapshotOrigin,
    adapter_origin,
    origin_rank,
)


def test_members_are_the_words_themselves() -> None:
    assert FetchOutcome.TOO_LARGE == "too_large" and f"{FetchOutcome.TOO_LARGE}" == "too_large"
    assert str(Origin.PAGE_JSON_LD) == "page:json-ld"
    assert json.dumps({"outcome": FetchOutcome.THIN, "origin": Origin.USER}) == '{"outcome": "thin", "origin": "user"}'
    conn = sqlite3.connect(":memory:")
    assert conn.execute("SELECT ?, typeof(?)", (SnapshotOrigin.WAYBACK, SnapshotOrigin.WAYBACK)).fetchone() == (
        "wayback", "text")
    assert FetchOutcome("dead") is FetchOutcome.DEAD


def test_fetch_outcomes_are_the_words_the_client_and_extractor_document() -> None:
    from refman.fetch import client, extract

    documented = client.__doc__.split("Outcomes:", 1)[1]
    words = set(re.findall(r'"([a-z_]+)"', documented))
    words |= set(re.findall(r"^    ([a-z_]+)  +\S", extract.__doc__ or "", re.M))
    assert words == {o.value for o in FetchOutcome} - {"saved"}  # saved: Save Page Now (refman.fetch.wayback)


def test_good_outcomes_and_snapshot_origins_are_the_ones_the_store_uses() -> None:
    from refman.fetch.records import GOOD
    from refman.store.fetch import SNAPSHOT_ORIGINS

    assert GOOD is GOOD_OUTCOMES and GOOD_OUTCOMES == ("ok", "thin")
    assert SNAPSHOT_ORIGINS == tuple(SnapshotOrigin) == ("live", "wayback", "render", "adapter", "capture")


def test_origin_rank_is_the_precedence_evidence_merging_applies() -> None:
    from refman import evidence

    assert list(ORIGIN_RANK) == sorted(ORIGIN_RANK, key=ORIGIN_RANK.__getitem__, reverse=True)
    assert [str(o) for o in ORIGIN_RANK][:4] == ["user", "import", "pdf", "page:citation"]
    for origin in [*Origin, *(o.value for o in Origin), adapter_origin("infoq"), "page:unheard-of", "other"]:
        assert origin_rank(origin) == evidence.origin_rank(origin), origin  # members and plain strings alike
    assert origin_rank(Origin.PAGE_TEXT) == 40
    assert origin_rank("adapter:infoq") == origin_rank(Origin.PAGE_CITATION)
    assert origin_rank(Origin.LABEL) > origin_rank(Origin.LINK_TEXT) > origin_rank(Origin.PAGE_HOST) > 0


def test_cjk_ranges() -> None:
    search_index = importlib.import_module("refman.migrations.versions.0002_search_index")
    assert f"[{CJK_INDEXED}]" == search_index._CJK_CLASS  # what the FTS5 triggers space out, frozen there
    for text in ("中文", "かな", "カナ", "한국어", "㐀"):
        assert CJK_LETTER.search(text), text
    for text in ("latin", "Ελληνικά", "，", "🔗"):
        assert not CJK_LETTER.search(text), text
    assert re.fullmatch(f"[{CJK_INDEXED}]", "\U00020000") and re.fullmatch(f"[{CJK_INDEXED}]", "\uf900")


def test_partial_iso_date() -> None:
    for text in ("2024", "2024-06", "2024-06-24", "0001"):
        assert PARTIAL_DATE.fullmatch(text), text
    for text in ("24", "2024-6", "2024-06-24T10:00", "June 2024", "2024/06", "-0043"):
        assert not PARTIAL_DATE.fullmatch(text), text


def test_importing_it_is_light() -> None:
    code = ("import sys; import refman.vocabulary; "
            "print(sorted(m for m in sys.modules if m.startswith('refman')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['refman', 'refman.vocabulary']"
