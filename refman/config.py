"""Where things live: the catalog path from --db, REFMAN_DB or the user data directory."""

from __future__ import annotations

import os
from pathlib import Path

ENV_DB = "REFMAN_DB"
APP_NAME = "refman"


def default_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False) / "catalog.db"


def resolve_db_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """--db wins over REFMAN_DB, which wins over the platform's user data directory."""
    if cli_value:
        return Path(cli_value).expanduser()
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env).expanduser()
    return default_db_path()
