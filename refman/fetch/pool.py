"""The process pool of refman's CPU-bound work: page extraction (refman fetch) and note parsing (refman import).

Its workers die with the parent, even one killed with SIGKILL, and start from a forkserver that imported the
heavy modules once (their pages are shared), not from a parent with threads and sockets."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def _worker_init(parent_alive: Any = None, warm: bool = True) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what to do; workers just keep going.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent_alive is not None:
        # Workers block on the pool's queue, whose write end they hold too: a parent killed with SIGKILL would
        # leave them (and the forkserver) running forever. The parent holds the only write end of this pipe.
        threading.Thread(target=_exit_with_parent, args=(parent_alive,), daemon=True).start()
    if not warm:
        return
    # Import the heavy modules now, not in the first task (no-op when the forkserver preloaded them).
    import refman.fetch.extract
    with contextlib.suppress(ImportError):
        import trafilatura  # noqa: F401

        import refman.metadata.html  # noqa: F401


def _exit_with_parent(conn: Any) -> None:
    with contextlib.suppress(BaseException):
        conn.recv()  # never sent to: returns only by EOF, when the parent is gone
    os._exit(0)


# Imported once in the forkserver, so workers share these pages instead of each loading ~90 MB of modules
# (dateparser, which trafilatura's date search pulls in lazily, is the biggest).
_PRELOAD = [
    "refman.fetch.extract", "refman.fetch.archive", "refman.fetch.charset", "refman.metadata", "refman.evidence",
    "lxml.html", "trafilatura", "trafilatura.core", "htmldate", "dateparser", "refman.metadata.html", "pypdf",
]


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def make_pool(workers: int | None = None, *, preload: Sequence[str] = tuple(_PRELOAD),
              warm: bool = True) -> ProcessPoolExecutor:
    """A process pool whose workers die with the parent, even one killed with SIGKILL: forkserver on Linux
    (workers start from a clean process that imported `preload` once, not from a parent with threads and
    sockets), spawn elsewhere. The extraction pool by default; `refman import` uses it with the parser's
    modules (`warm=False`: no trafilatura)."""
    import multiprocessing

    workers = workers or default_workers()
    ctx: multiprocessing.context.BaseContext
    try:
        forkserver = multiprocessing.get_context("forkserver")
        forkserver.set_forkserver_preload(list(preload))
        ctx = forkserver
    except ValueError:
        ctx = multiprocessing.get_context("spawn")
    alive_r, alive_w = ctx.Pipe(duplex=False)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                               initargs=(alive_r, warm))
    pool._refman_alive = (alive_r, alive_w)  # type: ignore[attr-defined]  # lives exactly as long as the pool
    return pool
