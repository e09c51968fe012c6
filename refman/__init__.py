"""refman: reference definitions in Markdown notes → an archived, searchable, citable catalog.

The public API is `refman.Catalog` (refman.api) and its result types; `refman.errors` holds the errors it
raises. Names are loaded on first use, so `import refman` stays cheap for the CLI's fast commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from refman.api import AddResult, Catalog, FetchSummary, ImportResult, Source
    from refman.errors import CatalogError, NotFoundError, RefmanError, UsageError
    from refman.search import SearchFilters, SearchHit

_EXPORTS = {
    "AddResult": "refman.api",
    "Catalog": "refman.api",
    "FetchSummary": "refman.api",
    "ImportResult": "refman.api",
    "Source": "refman.api",
    "SearchFilters": "refman.search",
    "SearchHit": "refman.search",
    "RefmanError": "refman.errors",
    "CatalogError": "refman.errors",
    "NotFoundError": "refman.errors",
    "UsageError": "refman.errors",
}

__all__ = [
    "AddResult",
    "Catalog",
    "CatalogError",
    "FetchSummary",
    "ImportResult",
    "NotFoundError",
    "RefmanError",
    "SearchFilters",
    "SearchHit",
    "Source",
    "UsageError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'refman' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
