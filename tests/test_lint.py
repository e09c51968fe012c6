"""Lint and types, as CI runs them: `ruff check refman tests` and `mypy refman` (configured in pyproject.toml:
strict for refman.store and refman.citation, default elsewhere) are clean; library code logs to the `refman`
logger, never to the root logger."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "refman"

def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def test_ruff_is_clean() -> None:
    proc = subprocess.run([_tool("ruff"), "check", "refman", "tests"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    proc = subprocess.run([_tool("mypy"), "refman"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, "mypy refman:\n" + proc.stdout + proc.stderr


ROOT_LOGGER_CALLS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "basicConfig"}


def _root_logger_uses(source: str, where: str) -> list[str]:
    """`logging.info(…)` and friends (they log to the root logger), and `logging.getLogger()` with no name or a
    name outside refman, in the module `where` (relative to refman/). The CLI (refman/cli/) is the application:
    it may configure logging (basicConfig)."""
    tree = ast.parse(source, filename=where)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "logging"):
            continue
        name = node.func.attr
        if name == "basicConfig" and where.startswith("cli/"):
            continue
        if name in ROOT_LOGGER_CALLS:
            found.append(f"refman/{where}:{node.lineno}: logging.{name}(…) logs to the root logger")
        elif name == "getLogger":
            arg = node.args[0] if node.args else None
            named = isinstance(arg, ast.Name) and arg.id == "__name__"
            literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str) and (
                arg.value == "refman" or arg.value.startswith("refman."))
            if not (named or literal):
                found.append(f"refman/{where}:{node.lineno}: a logger outside `refman` (use __name__)")
    return found


def test_library_logs_to_the_refman_logger() -> None:
    found = [line for path in sorted(PACKAGE.rglob("*.py"))
             for line in _root_logger_uses(path.read_text(encoding="utf-8"), path.relative_to(PACKAGE).as_posix())]
    assert not found, "\n".join(found)


def test_the_logger_check_sees_root_logger_calls() -> None:
    source = ("import logging\nlogging.warning('x')\nlog = logging.getLogger()\nok = logging.getLogger(__name__)\n"
              "also = logging.getLogger('refman.fetch')\nother = logging.getLogger('httpx')\nlogging.basicConfig()\n")
    assert [line.split(": ", 1)[0] for line in _root_logger_uses(source, "metadata/sample.py")] == [
        f"refman/metadata/sample.py:{n}" for n in (2, 3, 6, 7)]
    assert len(_root_logger_uses(source, "cli/sample.py")) == 3  # the application may configure logging


def _conftest_imports(source: str) -> list[int]:
    return [node.lineno for node in ast.walk(ast.parse(source))
            if (isinstance(node, ast.ImportFrom) and node.module == "conftest")
            or (isinstance(node, ast.Import) and any(alias.name == "conftest" for alias in node.names))]


def test_no_test_module_imports_conftest() -> None:
    """tests/ and tests/store_contract/ both have a conftest.py, each imported as `conftest`: which one an import
    gets depends on collection order, so shared helpers live in tests/support.py."""
    found = [f"{path.relative_to(REPO)}:{line}" for path in sorted((REPO / "tests").rglob("*.py"))
             for line in _conftest_imports(path.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)
    assert _conftest_imports("import conftest\nfrom conftest import SHARED\nfrom support import x\n") == [1, 2]
