"""`refman worker` (run fetch jobs of a team catalog) and `refman fetch --enqueue` (queue them): see
refman.fetch.queue. PostgreSQL catalogs only.

Only typer and the standard library at module level: procrastinate, httpx and the pipeline are imported inside
the commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from refman.cli.common import app, counted, emit_json, handle_errors, open_catalog, options


def _catalog_url() -> str:
    """The catalog's URL; a one-line UsageError (exit 2) for a SQLite catalog, before anything is opened."""
    from refman.fetch.queue import require_postgres

    return require_postgres(options.location)


def enqueue(targets: Sequence[str], *, stale_days: float | None, failed: bool, all_sources: bool,
            as_json: bool) -> None:
    """`refman fetch --enqueue`: queue the sources `refman fetch` would fetch, for `refman worker`."""
    _catalog_url()
    with open_catalog() as cat:
        result = cat.enqueue_fetch(targets, stale_days=stale_days, failed=failed, all_sources=all_sources)
    if as_json:
        emit_json(result)
        return
    line = f"queued {counted(result['queued'], 'source')} for `refman worker`"
    if result["already_queued"]:
        line += f"; {counted(result['already_queued'], 'source')} already queued or being fetched"
    typer.echo(line if result["selected"] else "nothing to queue: no source is due for a fetch")


@app.command("worker")
@handle_errors
def worker(
    concurrency: int = typer.Option(8, "--concurrency", help="Jobs (pages) under way at once in this worker.",
                                    min=1),
    per_host: int = typer.Option(2, "--per-host", min=1,
                                 help="Requests in flight at once to one host, over all workers of the catalog."),
    delay: float | None = typer.Option(
        None, "--delay", metavar="SECONDS",
        help="Minimum seconds between two requests to one host, over all workers (default 1; robots.txt may "
             "raise it)."),
    once: bool = typer.Option(False, "--once", help="Stop when no job is queued or running (scripts, tests)."),
    ignore_robots: bool = typer.Option(False, "--ignore-robots", help="Fetch pages robots.txt disallows."),
    timeout: float | None = typer.Option(None, "--timeout", metavar="SECONDS",
                                         help="Give up on one page after this long (default 60)."),
    max_size: str | None = typer.Option(None, "--max-size", metavar="SIZE",
                                        help="Largest body kept, e.g. 20MB (the default)."),
    processes: int | None = typer.Option(
        None, "--processes", min=0, metavar="N",
        help="Extraction processes (default: one per core; 0: extract in a thread of the worker)."),
    wayback: bool | None = typer.Option(None, "--wayback/--no-wayback",
                                        help="As `refman fetch`: dead or thin pages from the Internet Archive."),
    render: bool | None = typer.Option(None, "--render/--no-render",
                                       help="As `refman fetch`: render thin JavaScript pages in Chromium."),
    adapters: bool | None = typer.Option(None, "--adapters/--no-adapters",
                                         help="As `refman fetch`: site adapters (default: on)."),
    as_json: bool = typer.Option(False, "--json", help="Print the worker's summary as JSON when it stops."),
) -> None:
    """Fetch the jobs `refman fetch --enqueue` queued in a PostgreSQL catalog, on as many machines as you like,
    until stopped (Ctrl-C or SIGTERM: jobs under way finish, or go back to the queue after 10 s). Jobs of a
    worker that died are taken over once its heartbeat is a minute old."""
    from refman.api import fetch_policy
    from refman.fetch.fallback import FallbackOptions
    from refman.fetch.queue import WorkerOptions

    _catalog_url()
    policy = fetch_policy(concurrency=concurrency, per_host=per_host, delay=delay, ignore_robots=ignore_robots,
                          timeout=timeout, max_size=max_size)
    fallback = FallbackOptions.from_settings(wayback=wayback, render=render, adapters=adapters)
    opts = WorkerOptions(policy=policy, concurrency=concurrency, once=once, extract_processes=processes,
                         fallback=fallback)

    def started() -> None:
        if not as_json:
            typer.echo(f"worker started on {options.shown_location()} (Ctrl-C stops it)", err=True)

    with open_catalog() as cat:
        summary = cat.run_worker(opts, started=started)
    if as_json:
        emit_json(summary)
    else:
        typer.echo(_summary_line(summary))
    if summary.get("interrupted"):
        raise typer.Exit(130)


def _summary_line(summary: dict[str, Any]) -> str:
    line = (f"worker: fetched {counted(summary['fetched'], 'source')} in {summary['elapsed_s']:.1f} s "
            f"({summary['pages_per_s']:.1f}/s): {summary['ok']} archived, {summary['failed']} not")
    if summary["skipped"]:
        line += f"; {summary['skipped']} skipped (fetched meanwhile, or gone)"
    if summary["requeued"]:
        line += f"; {counted(summary['requeued'], 'job')} of silent workers put back in the queue"
    if summary.get("interrupted"):
        line += "; interrupted"
    return line
