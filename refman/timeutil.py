"""Time is UTC in storage and ISO 8601 in output."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    """Now as ISO 8601 UTC with second precision, e.g. '2026-11-24T03:36:00Z'."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
