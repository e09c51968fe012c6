"""`refman wayback save`: ask the Internet Archive's Save Page Now to capture live sources (opt-in, throttled)."""

from __future__ import annotations

from typing import Any

import typer

from refman.cli.common import app, emit_json, error, handle_errors, options

wayback_app = typer.Typer(help="The Internet Archive: capture live sources with Save Page Now.",
                          no_args_is_help=True)
app.add_typer(wayback_app, name="wayback")


@wayback_app.command("save")
@handle_errors
def save(
    refs: list[str] | None = typer.Argument(None, help="Sources to capture (ids, citation keys or URLs)."),
    all_ok: bool = typer.Option(False, "--all-ok", help="Every source whose last fetch succeeded."),
    per_minute: float | None = typer.Option(
        None, "--per-minute", min=0.01,
        help="Capture requests a minute (default: \\[wayback] saves_per_minute, else 4, the service's limit)."),
    as_json: bool = typer.Option(False, "--json", help="Print one object per source as JSON."),
) -> None:
    """Ask Save Page Now to capture the sources, poll each capture job and record the new memento (a `wayback`
    snapshot: `refman show` names it, exports carry it). Runs only when asked; at most 4 requests a minute by
    default; uses the keys in \\[wayback] access_key/secret_key or $REFMAN_IA_ACCESS_KEY/$REFMAN_IA_SECRET_KEY."""
    from refman.fetch.wayback import WaybackSettings, save_sources
    from refman.store import open_store

    settings = WaybackSettings.load()
    if per_minute is not None:
        settings.saves_per_minute = per_minute
    results: list[dict[str, Any]] = []

    def report(result: Any) -> None:
        item = {"id": result.source_id, "url": result.url, "status": result.status, "reason": result.reason,
                "memento_url": result.memento_url, "memento_at": result.memento_at}
        results.append(item)
        if not as_json:
            if result.status == "saved":
                typer.echo(f"saved [{result.source_id}] {result.url} → {result.memento_url}")
            else:
                error(f"[{result.source_id}] {result.url}: {result.reason}")

    with open_store(options.db_path, create=False) as store:  # nothing to save in a catalog that does not exist
        save_sources(store, refs or (), all_ok=all_ok, settings=settings, on_result=report)
    if as_json:
        emit_json(results)
    elif not results:
        typer.echo("nothing to save")
    if any(r["status"] != "saved" for r in results):
        raise typer.Exit(1)
