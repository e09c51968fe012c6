"""Time is UTC in storage and ISO 8601 in output."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    """Now as ISO 8601 UTC with second precision, e.g. '2026-11-24T03:36:00Z'."""
    return utc_text(datetime.now(UTC))


def utc_text(moment: datetime) -> str:
    """An aware datetime as the catalog stores times: ISO 8601 UTC with second precision (see utc_now)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def valid_partial_date(text: str) -> bool:
    """An ISO 8601 calendar date, possibly partial: 2024, 2024-02, 2024-02-29 (not 2024-13, 2024-02-30, 0000)."""
    import datetime

    from refman.vocabulary import PARTIAL_DATE

    if not PARTIAL_DATE.fullmatch(text):
        return False
    parts = [int(p) for p in text.split("-")]
    try:
        datetime.date(parts[0], *([*parts[1:], 1, 1])[:2])
    except ValueError:
        return False
    return True
