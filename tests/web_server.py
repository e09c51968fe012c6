"""`refman serve` as a subprocess on a free port, for the web, schema and browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REFMAN = Path(sys.executable).with_name("refman")


@dataclass
class Served:
    proc: subprocess.Popen[str]
    base: str  # "http://127.0.0.1:PORT/"
    token: str
    lines: list[str]  # what followed the first stdout line, when it is read

    @property
    def origin(self) -> str:
        return self.base.rstrip("/")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def serve(db: Path | str, *args: str, token: str | None = "test-token-0123") -> Served:
    env = {k: v for k, v in os.environ.items() if k not in ("REFMAN_DB", "REFMAN_TOKEN")}
    cmd = [str(REFMAN), "--db", str(db), "serve", "--port", "0", *args]
    if token:
        cmd += ["--token", token]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    if not first.startswith("serving http://"):
        proc.kill()
        raise AssertionError(f"refman serve did not start: {first!r} {proc.stderr.read() if proc.stderr else ''}")
    return Served(proc=proc, base=first.split()[1], token=token or "", lines=[])
