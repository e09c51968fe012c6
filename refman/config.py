"""Where things live: the catalog path from --db, REFMAN_DB or the user data directory."""

from __future__ import annotations

import os
import re
from pathlib import Path

from refman.errors import UsageError

ENV_DB = "REFMAN_DB"
APP_NAME = "refman"


def default_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False) / "catalog.db"


def resolve_db_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """--db wins over REFMAN_DB, which wins over the platform's user data directory."""
    if cli_value:
        return catalog_path(str(cli_value))
    env = os.environ.get(ENV_DB)
    if env:
        return catalog_path(env)
    return default_db_path()


_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def catalog_path(value: str) -> Path:
    """A catalog location as given: a file path, or `sqlite:///path`. A URL of another backend is refused by
    its scheme alone, so that nothing of it (a password) is ever printed back."""
    match = _URL_SCHEME.match(value)
    if match:
        scheme = match.group(1).lower()
        if scheme == "sqlite":
            rest = value[match.end():]
            if rest.startswith("/") and not rest.startswith("//"):  # sqlite:///relative or sqlite:////absolute
                return Path(rest[1:]).expanduser()
            raise UsageError("a sqlite catalog URL is sqlite:///PATH")
        raise UsageError(f"catalog URLs of scheme {scheme!r} are not supported by this installation: give the path"
                         " of a SQLite catalog file")
    return Path(value).expanduser()
