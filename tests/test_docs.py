"""README stays honest: its quick start is what CI runs, and every command is documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_quick_start_has_exactly_two_commands() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    assert "import data/sample-vault" in commands[0] and "export" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert quick_start_commands()[1] in ci.splitlines()


def test_every_command_is_documented() -> None:
    from typer.main import get_command

    from refman.cli import app

    group = get_command(app)
    names = set(group.commands)  # type: ignore[attr-defined]
    for name in names:
        assert f"`refman {name}" in README or f"`{name}" in README or f"/ `{name}" in README, name


def test_list_does_not_import_heavy_modules(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from refman.cli import app\n"
        f"try:\n    app(['--db', {str(tmp_path / 'c.db')!r}, 'list', '--json'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = {'trafilatura', 'httpx', 'lxml', 'sqlalchemy', 'sqlmodel', 'alembic', 'citeproc', 'pypdf',"
        " 'fastapi', 'starlette', 'uvicorn', 'jinja2', 'nh3', 'markdown_it'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    # the catalog exists already, so no migration (and no SQLAlchemy) is needed on this run
    from refman.store import connect

    connect(tmp_path / "c.db").close()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
