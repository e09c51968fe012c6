"""Where things live: the catalog path from --db, REFMAN_DB or the user data directory."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from refman.errors import UsageError

ENV_DB = "REFMAN_DB"
APP_NAME = "refman"


def default_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False) / "catalog.db"


CatalogLocation = Path | str  # a SQLite catalog file, or a PostgreSQL catalog's URL


def resolve_catalog(cli_value: str | os.PathLike[str] | None = None) -> CatalogLocation:
    """--db wins over REFMAN_DB, which wins over the platform's user data directory."""
    if cli_value:
        return catalog_location(str(cli_value))
    env = os.environ.get(ENV_DB)
    if env:
        return catalog_location(env)
    return default_db_path()


_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def catalog_location(value: str) -> CatalogLocation:
    """A catalog location as given: a file path, `sqlite:///relative/path`, `sqlite:////absolute/path`, or a
    PostgreSQL URL (`postgresql://USER@HOST/DB`, returned as given). A URL of another backend is refused by its
    scheme alone, so that nothing of it (a password) is ever printed back."""
    match = _URL_SCHEME.match(value)
    if not match:
        return Path(value).expanduser()
    from refman.store.postgres.url import is_postgres_url

    if is_postgres_url(value):
        return value
    scheme = match.group(1).lower()
    if scheme == "sqlite":
        rest = value[match.end():]
        if rest.startswith("/") and len(rest) > 1:  # sqlite:///relative or sqlite:////absolute
            return Path(rest[1:]).expanduser()
        raise UsageError("a sqlite catalog URL is sqlite:///PATH")
    raise UsageError(f"catalog URLs of scheme {scheme!r} are not supported: give the path of a SQLite catalog"
                     " file or a postgresql:// URL")


def describe_catalog(location: CatalogLocation | None) -> str:
    """The catalog's location for a message: its path, or its URL without the password."""
    if location is None:
        return "(no catalog)"
    if isinstance(location, Path):
        return str(location)
    from refman.store.postgres.url import without_password

    return without_password(location)


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


# ---------------------------------------------------------------------------------------------- who writes

ENV_USER = "REFMAN_USER"


def user_name(settings: dict[str, Any] | None = None) -> str:
    """Who is writing, as the catalog records it (`created_by`, `changed_by`, a note's owner…): $REFMAN_USER,
    else `[user] name` in the settings file, else the OS login, else "unknown". The settings file is read only
    when the environment does not say (`settings`: already loaded)."""
    name = os.environ.get(ENV_USER, "").strip()
    if name:
        return name
    configured = setting(load_settings() if settings is None else settings, "user", "name")
    if isinstance(configured, str) and configured.strip():
        return configured.strip()
    import getpass

    try:
        login = getpass.getuser().strip()
    except (OSError, KeyError, ImportError):  # no login name: no USER/LOGNAME and no passwd entry (containers)
        login = ""
    return login or "unknown"
