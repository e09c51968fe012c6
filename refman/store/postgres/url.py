"""Connection strings of PostgreSQL catalogs: recognising one, and showing one without its password.

Imports only the standard library, so that an error message can name a catalog without loading a driver."""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["SCHEMES", "is_postgres_url", "libpq_url", "without_password"]

SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
# key=value connection strings (libpq's other form): the password's value, quoted or not.
_KV_PASSWORD = re.compile(r"""(?:^|(?<=\s))password\s*=\s*(?:'(?:[^'\\]|\\.)*'|[^\s']\S*|(?=\s|$))\s*""")


def is_postgres_url(text: str) -> bool:
    """Whether `text` names a PostgreSQL catalog (`postgresql://…`, `postgres://…`, `postgresql+psycopg://…`)."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


def libpq_url(url: str) -> str:
    """The URL as libpq (psycopg) takes it: SQLAlchemy's `+psycopg` driver suffix removed."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.lower() == "postgresql+psycopg" else url


def without_password(conninfo: str) -> str:
    """`conninfo` as it may appear in a message or a log: the password gone from the user part of a URL, from
    `password=` query parameters and from `password=…` pairs of a key=value string. Nothing else changes.

    The user part ends at the last `@` before the first `/` (libpq stops at the first `@`; taking the last one
    also hides a password with an unencoded `@`)."""
    scheme, sep, rest = conninfo.partition("://")
    if not sep:
        return _KV_PASSWORD.sub("", conninfo).strip()
    slash = rest.find("/")
    authority = rest if slash < 0 else rest[:slash]
    userinfo, at, hosts = authority.rpartition("@")
    tail = hosts + rest[len(authority):]
    head = f"{scheme}://{userinfo.partition(':')[0]}@" if at else f"{scheme}://"
    before, question, query = tail.partition("?")
    if not question:
        return head + tail
    query, hash_, fragment = query.partition("#")
    kept = "&".join(p for p in query.split("&") if unquote(p.partition("=")[0]).strip().lower() != "password")
    return f"{head}{before}{'?' if kept else ''}{kept}{hash_}{fragment}"
