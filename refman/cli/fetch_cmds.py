"""`refman fetch` (archive the sources) and `refman check` (re-check them, report per note).

Only typer, rich and the standard library at module level: the fetch pipeline (httpx, trafilatura, lxml) is
imported inside the commands so other commands start fast."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from refman.cli.common import app, counted, emit_json, handle_errors, open_catalog, progress_bar
from refman.vocabulary import GOOD_OUTCOMES


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Any]:
    """The fetch bar (ok, failed, rate, the request waited on longest) on a terminal's stderr; None (no output
    at all) otherwise."""
    with progress_bar(label, "[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} failed[/]",
                      "{task.fields[rate]:.1f}/s", "[dim]{task.fields[waiting]}[/]", quiet=quiet, ok=0, failed=0,
                      rate=0.0, waiting="") as bar:
        if bar is None:
            yield None
            return
        from rich.markup import escape

        started = time.monotonic()

        def update(done: int, total: int, counts: dict[str, Any]) -> None:
            elapsed = time.monotonic() - started
            waiting = counts.get("waiting") or ""
            bar(done, total, ok=counts["ok"], failed=counts["failed"], rate=done / elapsed if elapsed > 0 else 0.0,
                waiting=escape(f"waiting on {waiting}" if waiting else ""))  # a URL is text, not markup

        yield update


def _summary_line(summary: dict[str, Any]) -> str:
    if summary.get("network_unreachable"):
        return (f"network unreachable: no server answered ({counted(summary['done'], 'request')} failed before"
                " reaching one: DNS, refused, no route); nothing was recorded, run again when online")
    failures = {k: v for k, v in summary["outcomes"].items() if k not in GOOD_OUTCOMES}
    detail = ", ".join(f"{word} {n}" for word, n in sorted(failures.items(), key=lambda kv: -kv[1]))
    line = (f"fetched {summary['done']} of {counted(summary['total'], 'source')} in {summary['elapsed_s']:.1f} s "
            f"({summary['pages_per_s']:.1f}/s): {summary['ok']} archived")
    if summary.get("unchanged"):
        line += f" ({summary['unchanged']} unchanged)"
    if failures:
        line += f", {summary['failed']} not ({detail})"
    if summary.get("claimed_elsewhere"):
        line += f"; {counted(summary['claimed_elsewhere'], 'source')} left to another refman fetching them"
    for way, counts in (summary.get("fallbacks") or {}).items():
        if counts:
            line += f"; {way}: " + ", ".join(f"{word} {n}" for word, n in sorted(counts.items()))
    if summary.get("interrupted"):
        line += "; interrupted — run again to fetch the rest"
    return line


def _nothing_due(summary: dict[str, Any]) -> str:
    """Why a fetch found nothing to do, and what would."""
    with open_catalog() as cat:
        backlog = cat.fetch_backlog()
    if summary.get("claimed_elsewhere"):
        return (f"nothing to fetch here: {counted(summary['claimed_elsewhere'], 'source')} being fetched by"
                " another refman")
    if not backlog["sources"]:
        return "nothing to fetch: the catalog has no sources yet (refman import NOTES, or refman add URL)"
    hints = []
    if backlog["failed"]:
        hints.append(f"--failed retries the {counted(backlog['failed'], 'source')} whose last fetch failed")
    hints.append(f"--stale DAYS re-fetches those fetched more than DAYS ago (oldest: {backlog['oldest_fetch']})")
    return (f"nothing to fetch: all {counted(backlog['sources'], 'source')} have been fetched; "
            + "; ".join(hints))


_TARGETS = typer.Argument(None, help="Source ids, citation keys or URLs (default: see the options).")
_CONCURRENCY = typer.Option(16, "--concurrency", help="Requests in flight at once, overall.", min=1)
_PER_HOST = typer.Option(2, "--per-host", help="Requests in flight at once to one host.", min=1)
_DELAY = typer.Option(None, "--delay", metavar="SECONDS",
                      help="Minimum seconds between requests to one host (default 1; robots.txt may raise it).")
_IGNORE_ROBOTS = typer.Option(False, "--ignore-robots", help="Fetch pages robots.txt disallows.")
_TIMEOUT = typer.Option(None, "--timeout", metavar="SECONDS", help="Give up on one page after this long (default 60).")
_MAX_SIZE = typer.Option(None, "--max-size", metavar="SIZE", help="Largest body kept, e.g. 20MB (the default).")
_JSON = typer.Option(False, "--json", help="Print the run summary as JSON.")


_FETCH_HELP = "\n\n".join((
    "Archive sources: every source never fetched (plus --stale / --failed ones), or the ones named.",
    "When a plain fetch is not enough, each fallback writes a snapshot of its own and `refman show` names it. "
    "Site adapters (on by default) ask a site's article API when its page is a JavaScript shell (InfoQ China) or "
    "a bot wall (Stack Exchange). --render renders thin pages built by JavaScript in headless Chromium. "
    "--wayback takes dead or thin pages from the Internet Archive: the capture closest to the day your note "
    "cited the page (a dead source stays `dead`; its text and metadata come from the capture).",
    "`refman wayback save` asks the archive to capture live pages. `refman show` tells why a page is thin and "
    "the way out: --render, --wayback, or a capture from your own browser through `refman serve`.",
    "Defaults live in the settings file (~/.config/refman/config.toml or $REFMAN_CONFIG): \\[fetch] wayback, "
    "render, adapters; \\[wayback] endpoints and Save Page Now keys; \\[render] chromium. README: \"When a "
    "plain fetch is not enough\".",
))


@app.command("fetch", help=_FETCH_HELP)
@handle_errors
def fetch(
    targets: list[str] | None = _TARGETS,
    stale: float | None = typer.Option(None, "--stale", metavar="DAYS",
                                       help="Also re-fetch sources last fetched more than DAYS ago."),
    failed: bool = typer.Option(False, "--failed", help="Also retry sources whose last fetch failed."),
    all_sources: bool = typer.Option(False, "--all", help="Fetch every source."),
    concurrency: int = _CONCURRENCY,
    per_host: int = _PER_HOST,
    delay: float | None = _DELAY,
    ignore_robots: bool = _IGNORE_ROBOTS,
    timeout: float | None = _TIMEOUT,
    max_size: str | None = _MAX_SIZE,
    wayback: bool | None = typer.Option(
        None, "--wayback/--no-wayback",
        help="Dead or thin pages: archive the Internet Archive's capture closest to the day the note cited them "
             "(default: \\[fetch] wayback in the settings file, else off)."),
    render: bool | None = typer.Option(
        None, "--render/--no-render",
        help="Thin pages built by JavaScript: render them in headless Chromium and archive the rendered page "
             "(needs the render extra and a chromium; default: \\[fetch] render, else off)."),
    adapters: bool | None = typer.Option(
        None, "--adapters/--no-adapters",
        help="Ask a site's article API when its page is a JavaScript shell (InfoQ China; Stack Exchange behind a "
             "bot wall). Default: \\[fetch] adapters, else on."),
    enqueue: bool = typer.Option(False, "--enqueue",
                                 help="Queue the sources for `refman worker` instead (PostgreSQL catalogs)."),
    as_json: bool = _JSON,
) -> None:
    """Archive sources: every source never fetched (plus --stale / --failed ones), or the ones named."""
    if enqueue:
        from refman.cli.worker_cmds import enqueue as enqueue_sources

        enqueue_sources(targets or (), stale_days=stale, failed=failed, all_sources=all_sources, as_json=as_json)
        return
    from refman.api import fetch_policy
    from refman.fetch.fallback import FallbackOptions

    policy = fetch_policy(concurrency=concurrency, per_host=per_host, delay=delay, ignore_robots=ignore_robots,
                          timeout=timeout, max_size=max_size)
    fallback = FallbackOptions.from_settings(wayback=wayback, render=render, adapters=adapters)
    # open_catalog(): a missing catalog is "no catalog at PATH", not a new empty one
    with open_catalog() as cat, _progress("fetch", quiet=as_json) as progress:
        summary = cat.fetch(targets or (), stale_days=stale, failed=failed, all_sources=all_sources,
                            policy=policy, progress=progress, fallback=fallback).to_dict()
    if as_json:
        emit_json(summary)
    else:
        typer.echo(_summary_line(summary) if summary["total"] else
                   _nothing_due(summary) if not targets else "nothing to fetch")
    if summary.get("interrupted"):
        raise typer.Exit(130)
    if summary.get("network_unreachable"):
        raise typer.Exit(1)


@app.command("check")
@handle_errors
def check(
    targets: list[str] | None = _TARGETS,
    stale: float | None = typer.Option(None, "--stale", metavar="DAYS",
                                       help="Only re-check sources last checked more than DAYS ago."),
    offline: bool = typer.Option(False, "--offline", help="Report from the last checks; fetch nothing."),
    dead_after: float = typer.Option(1.0, "--dead-after", metavar="DAYS", min=0,
                                     help="Dead: gone (404/410, no such host) on checks at least DAYS apart."),
    concurrency: int = _CONCURRENCY,
    per_host: int = _PER_HOST,
    delay: float | None = _DELAY,
    ignore_robots: bool = _IGNORE_ROBOTS,
    timeout: float | None = _TIMEOUT,
    max_size: str | None = _MAX_SIZE,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Re-check sources and report, per note, those that are dead (gone: 404/410 or a host that no longer
    exists, on two checks in a row at least --dead-after days apart), failing (any other failure: 429, 5xx,
    timeouts, never dead by themselves), redirected elsewhere, or changed since the previous good snapshot.
    A run in which no server could be reached (offline) records nothing and says so."""
    from refman.api import fetch_policy

    policy = None if offline else fetch_policy(concurrency=concurrency, per_host=per_host, delay=delay,
                                               ignore_robots=ignore_robots, timeout=timeout, max_size=max_size)
    with open_catalog() as cat, _progress("check", quiet=as_json) as progress:
        found = cat.check(targets or (), stale_days=stale, offline=offline, dead_after_days=dead_after,
                          policy=policy, progress=progress)
    summary = found["summary"]
    report = {k: v for k, v in found.items() if k not in ("checked", "summary")}
    if as_json:
        emit_json(found)
    else:
        _print_report(report, summary)
    if summary is not None and summary.get("interrupted"):
        raise typer.Exit(130)
    if summary is not None and summary.get("network_unreachable"):
        raise typer.Exit(1)


_LABELS = {"dead": "dead", "redirected": "moved", "changed": "changed", "failing": "failing"}


def _print_report(report: dict[str, Any], summary: dict[str, Any] | None) -> None:
    if summary is not None:
        typer.echo(_summary_line(summary))
    notes = report["notes"]
    if not notes:
        typer.echo("no dead, failing, redirected or changed sources")
        return
    width = max(len(_LABELS.get(i["problem"], i["problem"])) for note in notes for i in note["sources"])
    for note in notes:
        typer.echo(note["path"])
        for item in note["sources"]:
            label = _LABELS.get(item["problem"], item["problem"])
            detail = item.get("detail") or ""
            typer.echo(f"  {label:<{width}} [{item['id']}] {item['url']}" + (f"  — {detail}" if detail else ""))
    counts = report["counts"]
    typer.echo(", ".join(f"{n} {word}" for word, n in counts.items() if n) or "nothing to report")
