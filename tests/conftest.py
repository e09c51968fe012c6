"""Shared fixtures: every test gets its own catalog file and never touches the user's data directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# The suite gives the same answer on every run (a submission lands or not on it): hypothesis derives its examples
# from each test instead of drawing new ones. REFMAN_HYPOTHESIS=explore draws new ones, to hunt for bugs.
settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("REFMAN_HYPOTHESIS", "reproducible"))

@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("REFMAN_DB", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))  # no settings file of the user's
    for name in ("REFMAN_CONFIG", "REFMAN_WAYBACK_URL", "REFMAN_IA_ACCESS_KEY", "REFMAN_IA_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh catalog file path (created on first open)."""
    return tmp_path / "catalog.db"


@pytest.fixture
def cli_env(db_path: Path) -> dict[str, str]:
    """Environment for running the installed `refman` command in a subprocess against `db_path`."""
    env = dict(os.environ)
    env["REFMAN_DB"] = str(db_path)
    env.pop("COLUMNS", None)
    return env


@pytest.fixture
def vault(tmp_path: Path, cli_env: dict[str, str]) -> Path:
    """A copy of the sample vault, imported into `db_path` by the `refman` command."""
    import shutil
    import subprocess
    import sys

    target = tmp_path / "vault"
    shutil.copytree(Path(__file__).resolve().parents[1] / "data" / "sample-vault", target)
    subprocess.run([str(Path(sys.executable).parent / "refman"), "import", str(target), "-q"], env=cli_env,
                   check=True, capture_output=True, timeout=120)
    return target


@pytest.fixture(scope="module")
def pool() -> Iterator[Any]:
    from refman.fetch.pool import make_pool

    executor = make_pool(2)
    yield executor
    executor.shutdown()


@pytest.fixture
def site() -> Iterator[Any]:
    """A local web site on 127.0.0.1 (pytest_httpserver)."""
    from pytest_httpserver import HTTPServer

    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    if srv.is_running():
        srv.stop()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """tests/web_demo.py's catalog (an Obsidian vault's pages fetched twice from a local server), per module."""
    from web_demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def served(demo):  # type: ignore[no-untyped-def]
    """`refman serve` on the demo catalog, as a subprocess on a free port (tests/web_server.py)."""
    from web_server import serve

    srv = serve(demo.db)
    yield srv
    srv.stop()

