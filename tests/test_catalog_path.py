"""Catalog locations, for the CLI and `open_store` alike: a path, or a `sqlite:///` URL; another backend's URL is
refused without echoing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from refman.config import catalog_path
from refman.errors import UsageError
from refman.store import open_store


@pytest.mark.parametrize(("given", "path"), [
    ("cat.db", Path("cat.db")),
    ("sqlite:///cat.db", Path("cat.db")),
    ("SQLITE:///dir/cat.db", Path("dir/cat.db")),
])
def test_paths_and_sqlite_urls(given: str, path: Path) -> None:
    assert catalog_path(given) == path


@pytest.mark.parametrize("given", ["sqlite://cat.db", "sqlite://"])
def test_a_sqlite_url_without_its_path_is_refused(given: str) -> None:
    with pytest.raises(UsageError, match="sqlite:///PATH"):
        catalog_path(given)


def test_another_backend_is_refused_without_its_password() -> None:
    with pytest.raises(UsageError) as caught:
        open_store("postgresql://me:s3cret@db.example/refman")
    assert "postgresql" in str(caught.value) and "s3cret" not in str(caught.value)


def test_a_path_is_the_file_itself(tmp_path: Path) -> None:
    literal = tmp_path / "~notahome.db"  # a Path is never re-read: no `~` expansion, no URL parsing
    with open_store(literal) as store:
        assert store.path == literal
    assert literal.exists()
