"""Plain helpers that test modules import by name.

Never `from conftest import …`: tests/ and tests/store_contract/ each have a conftest.py, both imported as the
module `conftest`, so which one a test module would get depends on collection order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared"


def fetch_policy(**kw: Any) -> Any:
    """A FetchPolicy for tests against the local server: no delay, short timeouts, no retries, no robots."""
    from refman.fetch.client import FetchPolicy

    base: dict[str, Any] = dict(delay=0.0, connect_timeout=2.0, read_timeout=2.0, deadline=3.0, retries=0,
                                backoff_base=0.01, respect_robots=False)
    return FetchPolicy(**(base | kw))
