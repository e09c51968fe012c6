"""`refman watch`: re-import notes as they are saved and keep the registered exports current
(library: refman.watch)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import typer

from refman.cli.common import app, counted, handle_errors, options


def _print_event(event: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    else:
        line = _describe(event)
        if line is None:
            return
        sys.stdout.write(f"{event['time']} {line}\n")
    sys.stdout.flush()


def _describe(e: dict[str, Any]) -> str | None:
    kind = e["event"]
    if kind == "watching":
        vaults = ", ".join(e["vaults"]) or "no vault (registered exports only)"
        mode = "polling" if e["polling"] else "file-system events"
        return f"watching {vaults} ({mode}); exports refreshed {e['delay']:g} s after a change"
    if kind == "import":
        changed = ", ".join(e["paths"][:3]) + (" …" if len(e["paths"]) > 3 else "")
        removed = f", {e['notes_removed']} removed" if e["notes_removed"] else ""
        return (f"imported {counted(e['notes_scanned'], 'changed note')}{removed} in {e['vault']}"
                + (f" ({changed})" if changed else "")
                + f" → {counted(e['sources_new'], 'new source')}, {counted(e['mentions'], 'mention')}")
    if kind == "export":
        if e["status"] in ("missing", "error"):
            return f"export {e['name']!r} not written: {e['detail']}"
        if e["entries"] is not None:
            return f"wrote {e['path']} ({e['entries']} entries)"
        removed = f", removed {e['files_removed']}" if e["files_removed"] else ""
        return f"wrote {e['files_written']} files in {e['path']}{removed}"
    if kind == "error":
        return f"error: {e['message']}"
    if kind == "stopped":
        return "stopped"
    return None


@app.command("watch")
@handle_errors
def watch_command(
    vaults: list[Path] | None = typer.Argument(
        None, help="Vault folders to watch (default: every vault imported so far, and those imported later)."),
    delay: float = typer.Option(1.0, "--delay", min=0.0, help="Seconds of quiet after a change before the "
                                "registered exports are refreshed."),
    once: bool = typer.Option(False, "--once", help="One pass: import the vaults, refresh the exports, exit."),
    poll: bool = typer.Option(False, "--poll", help="Poll the files instead of file-system events (network "
                              "drives, containers)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON event per line on stdout."),
) -> None:
    """Keep the catalog and the registered exports current: re-import notes as they are saved, and refresh the
    registered exports after any change to the catalog (by this or any other process). One line per change;
    Ctrl-C stops it."""
    from refman.cli.exports_cmds import exports_are_current
    from refman.watch import Watcher

    watcher = Watcher(options.location, vaults, delay=delay, poll=poll,
                      emit=lambda event: _print_event(event, as_json))
    try:
        if once:
            failed = watcher.run_once()
            exports_are_current()
            if failed:
                raise typer.Exit(1)
            return
        signal.signal(signal.SIGTERM, lambda *_: watcher.stop_event.set())
        # Ctrl-C stops it even when started in the background of a script (which starts it with SIGINT ignored)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            watcher.run()
        except KeyboardInterrupt:
            _print_event({"event": "stopped", "time": _now(), "reason": "interrupted"}, as_json)
            raise typer.Exit(130) from None
        _print_event({"event": "stopped", "time": _now(), "reason": "terminated"}, as_json)
        exports_are_current()
    finally:
        watcher.close()


def _now() -> str:
    from refman.timeutil import utc_now

    return utc_now()
