"""Where things live: the catalog path from --db, REFMAN_DB or the user data directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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


# ---------------------------------------------------------------------------------------------- settings file

ENV_CONFIG = "REFMAN_CONFIG"


def config_path() -> Path:
    """$REFMAN_CONFIG, else `config.toml` in the user config directory (~/.config/refman on Linux)."""
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False) / "config.toml"


def load_settings(path: Path | None = None) -> dict[str, Any]:
    """The settings file as a dict of tables ({} when there is none). A file that is not TOML is a usage error,
    named with its path, so that a typo never silently turns a feature off."""
    import tomllib

    from refman.errors import UsageError

    path = path or config_path()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read the settings file {path}: {exc}") from None
    return data


def setting(settings: dict[str, Any], table: str, key: str, default: Any = None) -> Any:
    """`[table] key` of the settings, else `default`."""
    section = settings.get(table)
    if isinstance(section, dict) and key in section:
        return section[key]
    return default
