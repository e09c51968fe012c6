"""Catalog locations, for the CLI and `open_store` alike: a path, a `sqlite:///` URL or a `postgresql://` URL;
another backend's URL is refused without echoing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from refman.config import catalog_location, describe_catalog
from refman.errors import UsageError
from refman.store import open_store


@pytest.mark.parametrize(("given", "path"), [
    ("cat.db", Path("cat.db")),
    ("sqlite:///cat.db", Path("cat.db")),
    ("SQLITE:///dir/cat.db", Path("dir/cat.db")),
    ("sqlite:////abs/cat.db", Path("/abs/cat.db")),
    ("postgresql://me@db.example/refman", "postgresql://me@db.example/refman"),
    ("postgres://db.example/refman", "postgres://db.example/refman"),
])
def test_paths_and_urls(given: str, path: Path | str) -> None:
    assert catalog_location(given) == path


@pytest.mark.parametrize("given", ["sqlite://cat.db", "sqlite://", "sqlite:///"])
def test_a_sqlite_url_without_its_path_is_refused(given: str) -> None:
    with pytest.raises(UsageError, match="sqlite:///PATH"):
        catalog_location(given)


def test_another_backend_is_refused_without_its_password() -> None:
    with pytest.raises(UsageError) as caught:
        open_store("mysql://me:s3cret@db.example/refman")
    assert "mysql" in str(caught.value) and "s3cret" not in str(caught.value)


def test_an_unreachable_postgresql_catalog_is_named_without_its_password() -> None:
    from refman.errors import CatalogError

    with pytest.raises(CatalogError) as caught:  # nothing listens on port 1
        open_store("postgresql://me:s3cret@127.0.0.1:1/refman")
    assert "127.0.0.1:1/refman" in str(caught.value) and "s3cret" not in str(caught.value)


def test_messages_name_a_catalog_without_its_password() -> None:
    assert describe_catalog("postgresql://me:s3cret@db.example/refman") == "postgresql://me@db.example/refman"
    assert describe_catalog(Path("cat.db")) == "cat.db"


def test_a_path_is_the_file_itself(tmp_path: Path) -> None:
    literal = tmp_path / "~notahome.db"  # a Path is never re-read: no `~` expansion, no URL parsing
    with open_store(literal) as store:
        assert store.path == literal
    assert literal.exists()
