"""Running a command with one of its streams on a pseudo-terminal, as a person at a terminal would."""

from __future__ import annotations

import os
import pty
import subprocess
from typing import Any


def run_on_a_terminal(cmd: list[str], stream: str = "stdout", **kwargs: Any
                      ) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    """Run `cmd` with `stream` ("stdout" or "stderr") on a pty; the other one is piped. Returns the process and
    everything drawn on the terminal."""
    leader, follower = pty.openpty()
    other = "stderr" if stream == "stdout" else "stdout"
    proc = subprocess.run(cmd, **{stream: follower, other: subprocess.PIPE}, timeout=60, **kwargs)
    os.close(follower)
    drawn = b""
    try:
        while chunk := os.read(leader, 65536):
            drawn += chunk
    except OSError:  # the terminal is closed once everything is read
        pass
    os.close(leader)
    return proc, drawn
