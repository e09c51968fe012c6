"""`refman check`: which sources to re-check, and the report of what the checks found.

Dead: the page is gone (404/410) or its host no longer exists, on at least two checks in a row at least
`DEAD_AFTER_DAYS` apart. Any other failed check (429, 5xx, timeouts, refused connections, TLS, redirect loops)
is "failing", never dead. Redirected: the final URL normalises to another source identity. Changed: the latest
check found a text different from the previous good snapshot's."""

from __future__ import annotations

import collections
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from refman.errors import UsageError
from refman.fetch.records import DEFINITIVE, FAILURES, GOOD

if TYPE_CHECKING:
    from refman.store.fetch import FetchStore, LiveSnapshot
    from refman.store.protocol import Store

DEAD_AFTER_DAYS = 1.0


def sources_to_check(store: Store, targets: Sequence[str] = (), *, stale_days: float | None = None) -> list[int]:
    """The sources `refman check` re-fetches: the named ones (ids, keys, URLs), else those last checked more than
    `stale_days` ago (or never), else every source with a URL."""
    from refman.fetch.pipeline import select_source_ids

    if stale_days is not None and not targets:
        return select_source_ids(store, stale_days=stale_days)
    return select_source_ids(store, targets, all_sources=not targets)


def check_report(store: FetchStore, source_ids: Sequence[int],
                 dead_after_days: float = DEAD_AFTER_DAYS) -> dict[str, Any]:
    """Per note, the sources among `source_ids` that are dead, failing, redirected elsewhere or changed (see the
    module docstring); each source under one verdict. Sources no note cites are under "(no note)"."""
    from refman.urls import normalise_url

    problems: dict[int, list[dict[str, Any]]] = {}
    for f in store.check_facts(list(source_ids)):
        found: list[dict[str, Any]] = []
        base = {"id": f.source_id, "url": f.url, "status": f.status, "fail_count": f.fail_count}
        if f.status in FAILURES:
            gone = (f.status in DEFINITIVE and f.failing_since is not None and f.fail_count >= 2
                    and (f.failing_days or 0.0) >= dead_after_days)
            if gone:
                found.append(base | {"problem": "dead", "detail": f"{f.status}: {f.reason} (since {f.failing_since},"
                                                                 f" {f.fail_count} failed checks)"})
            elif f.status in DEFINITIVE:
                first = f.failing_since or f.fetched_at
                found.append(base | {"problem": "failing", "detail": f"{f.status}: {f.reason} (dead if still so on"
                                     f" a check {dead_after_days:g} days or more after {first})"})
            else:
                found.append(base | {"problem": "failing", "detail": f"{f.status}: {f.reason}"
                                     f" ({f.fail_count} failed checks; not a sign the page is gone)"})
        snaps = store.live_snapshots(f.source_id, 50)
        if not found and snaps and snaps[0].outcome in GOOD and snaps[0].redirects and snaps[0].final_url:
            try:
                target = normalise_url(snaps[0].final_url).url
            except UsageError:
                target = snaps[0].final_url
            if target != f.url:
                found.append(base | {"problem": "redirected", "final_url": snaps[0].final_url,
                                     "detail": f"now at {snaps[0].final_url}"})
        good = [s for s in snaps if s.outcome in GOOD and s.body_hash]
        if (snaps and len(good) >= 2 and snaps[0] is good[0] and not good[0].unchanged
                and _text_hash(good[1]) != _text_hash(good[0])):
            found.append(base | {"problem": "changed", "detail": "text differs from the previous snapshot"})
        if found:
            problems[f.source_id] = found
    by_note: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    if problems:
        cited = store.note_paths_citing(problems)
        for sid, found in problems.items():
            for path in cited.get(sid) or ["(no note)"]:
                by_note[path].extend(found)
    counts = collections.Counter(item["problem"] for found in problems.values() for item in found)
    return {
        "notes": [{"path": path, "sources": sorted(items, key=lambda i: (i["problem"], i["id"]))}
                  for path, items in sorted(by_note.items())],
        "counts": {word: counts.get(word, 0) for word in ("dead", "failing", "redirected", "changed")},
    }


def _text_hash(snap: LiveSnapshot) -> str | None:
    try:
        meta = json.loads(snap.metadata_json) if snap.metadata_json else {}
    except ValueError:
        meta = {}
    return meta.get("text_sha256") or snap.body_hash
