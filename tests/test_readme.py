"""Every `refman` command in README.md's code blocks runs as written on the bundled sample vault: exit 0 and
some output (on stdout, or in the file it writes with -o). Commands that need the network or keep running are
skipped by name (SKIPPED, documented in README.md); everything else must work offline on the sample vault."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
VAULT = REPO / "data" / "sample-vault"
REFMAN = str(Path(sys.executable).parent / "refman")
# Network-bound or long-running: `fetch`, `check` and `add --fetch` go to the web; `serve`, `watch`, `worker`
# keep running; `open` starts a browser; `read`, `capture` and `wayback` need pages or the Wayback Machine.
SKIPPED = {"fetch", "check", "serve", "watch", "worker", "open", "read", "capture", "wayback"}


def readme_commands() -> list[str]:
    """`refman …` lines of the README's code blocks (the quick start's venv lines are test_docs.py's)."""
    commands = []
    for block in re.findall(r"```(?:sh|bash|console)?\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("refman "):
                commands.append(line)
    return commands


def _skipped(argv: list[str]) -> str | None:
    words = [a for a in argv[1:] if not a.startswith("-")]
    if words and words[0] in SKIPPED:
        return words[0]
    if "--fetch" in argv:
        return "add --fetch"
    return None


COMMANDS = readme_commands()


def test_readme_has_commands_to_run() -> None:
    runnable = [c for c in COMMANDS if _skipped(shlex.split(c, comments=True)) is None]
    assert len(runnable) >= 8, COMMANDS


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A home folder with a copy of the sample vault as `~/vault` (commands may write into it) and `~/paper`."""
    import shutil

    work = tmp_path_factory.mktemp("readme")
    home = work / "home"
    shutil.copytree(VAULT, home / "vault")
    (home / "paper").mkdir()
    (home / "vault" / "bib").mkdir()  # --per-note DIR wants an existing folder (README's example names ~/vault/bib)
    env = dict(os.environ, REFMAN_DB=str(work / "catalog.db"), HOME=str(home))
    env.pop("COLUMNS", None)
    subprocess.run([REFMAN, "import", str(home / "vault")], env=env, check=True, capture_output=True)
    return work, env


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs_on_the_sample_vault(command: str, sample: tuple[Path, dict[str, str]]) -> None:
    work, env = sample
    argv = shlex.split(command, comments=True)
    skipped = _skipped(argv)
    if skipped:
        pytest.skip(f"`{skipped}` needs the network or keeps running (README.md says so)")
    home = env["HOME"]
    argv = [home + a[1:] if a.startswith("~/") else a for a in argv]  # as a shell expands it
    argv = [str(Path(home) / "vault") if a == "data/sample-vault" else a for a in argv]
    proc = subprocess.run([REFMAN, *argv[1:]], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{command}: {proc.stderr}"
    output = proc.stdout
    if "-o" in argv:
        output = (work / argv[argv.index("-o") + 1]).read_text(encoding="utf-8")
    if "--per-note" in argv:  # the files it wrote
        output = " ".join(str(p) for p in Path(argv[argv.index("--per-note") + 1]).rglob("*") if p.is_file())
    assert output.strip(), f"{command} printed nothing"
