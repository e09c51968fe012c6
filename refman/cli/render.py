"""Terminal rendering through rich, with one rule: text that comes from a user or a page (titles, labels,
notes, tags, URLs, snippets, reasons, paths) is never read as rich markup or emoji codes. Everything shown
through rich is built here from `Text` pieces (`line`), whose strings are literal; styles are given apart.

Plain output (pipes) goes through typer.echo, which interprets nothing. tests/test_render.py prints arbitrary
text through every renderer and finds it literally in the output."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from refman.vocabulary import Origin

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

Piece = "str | tuple[str, str] | Text"


def line(*pieces: Any) -> Text:
    """One line from literal pieces: a str, a (str, style) pair, or a Text. No markup is parsed."""
    from rich.text import Text

    out = Text(no_wrap=False)
    for piece in pieces:
        if isinstance(piece, Text):
            out.append_text(piece)
        elif isinstance(piece, tuple):
            out.append(str(piece[0]), style=piece[1])
        else:
            out.append(str(piece))
    return out


def make_console(*, stderr: bool = False, width: int | None = None, file: Any = None) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=False, highlight=False, emoji=False, markup=False, width=width,
                   file=file)


def emit(console: Console, renderables: Iterable[Any]) -> None:
    for r in renderables:
        console.print(r)


def site_of(item: dict[str, Any]) -> str:
    return item.get("container_title") or item.get("publisher") or ""


def name_of(n: dict[str, str]) -> str:
    if "literal" in n:
        return n["literal"]
    return ", ".join(p for p in (n.get("family"), n.get("given")) if p)


# --- list -------------------------------------------------------------------------------------------------

def source_table(items: Sequence[dict[str, Any]]) -> Table:
    """`refman list` on a terminal: id, title, site, issued, status, cited, tags, URL."""
    from rich.table import Table

    table = Table(show_lines=False, header_style="bold")
    columns: tuple[tuple[str, dict[str, Any]], ...] = (
        ("id", {"justify": "right", "no_wrap": True}), ("title", {"ratio": 3}),
                    ("site", {"ratio": 1, "no_wrap": True}), ("issued", {"no_wrap": True}),
                    ("status", {"no_wrap": True}), ("cited", {"justify": "right", "no_wrap": True}),
                    ("tags", {"ratio": 1}), ("url", {"ratio": 2, "overflow": "fold"}))
    for col, kw in columns:
        kw.setdefault("overflow", "ellipsis")
        table.add_column(col, **kw)
    for it in items:
        table.add_row(line(str(it["id"])), line(it["title"] or ""), line(site_of(it)), line(it["issued"] or ""),
                      line(it["status"] or ""), line(str(len(it["mentions"]))), line(" ".join(it["tags"])),
                      line(it["url"]))
    return table


# --- show -------------------------------------------------------------------------------------------------

def show_fields(item: dict[str, Any]) -> list[tuple[str, str, str | None, str]]:
    """(label, value, origin, field) for every non-empty field `refman show` prints, in order."""
    prov = item["provenance"]
    rows: list[tuple[str, Any, str | None, str]] = [
        ("url", item["url"], None, "url"), ("as written", item["url_as_written"], None, "url_as_written"),
        ("citekey", item["citekey"], None, "citekey"), ("type", item["type"], prov.get("type"), "type"),
    ]
    for key, label in (("author", "author"), ("issued", "issued"), ("container_title", "site"),
                       ("publisher", "publisher"), ("DOI", "DOI"), ("language", "language")):
        value = item[key]
        if key == "author":
            value = "; ".join(name_of(n) for n in value)
        field = key.lower() if key == "DOI" else key
        rows.append((label, value, prov.get(field), field))
    rows += [("title", item["title"], prov.get("title"), "title"), ("tags", ", ".join(item["tags"]), None, "tags"),
             ("status", (item["status"] or "") + (f" ({item['reason']})" if item["reason"] else ""), None, "status"),
             ("accessed", item["accessed"], None, "accessed"), ("note", item["note"], None, "note")]
    return [(label, str(value), origin, field) for label, value, origin, field in rows if value]


def _day(at: str | None) -> str:
    return (at or "")[:10]


def _by(name: str | None, at: str | None) -> str:
    """'alice 2026-12-07': who and the day (UTC); 'unknown' for a write made before refman recorded who."""
    return " ".join(x for x in (name or "unknown", _day(at)) if x)


def set_by(item: dict[str, Any], field: str) -> str | None:
    """Who recorded the value a field shows, and when ('alice 2026-12-07'); None when `show` has no evidence."""
    who = item.get("set_by", {}).get(field)
    return None if who is None else _by(who["by"], who["at"])


def earlier(h: dict[str, Any]) -> str:
    """A replaced or removed user value: 'Y by bob 2026-12-06, replaced by alice 2026-12-07'."""
    value = "; ".join(name_of(n) for n in h["value"]) if h["field"] == "author" and isinstance(h["value"], list) \
        else str(h["value"])
    return f"{flat(value)} by {_by(h['by'], h['at'])}, replaced by {_by(h['replaced_by'], h['replaced_at'])}"


def _history_by_field(item: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for h in item.get("history", []):
        out.setdefault(h["field"], []).append(h)
    return out


def _copy_lines(item: dict[str, Any]) -> list[str]:
    """Where the text comes from when it is not the live page, why it is thin, the archive's copy."""
    from refman.fetch.fallback import copy_lines

    return copy_lines(item)


def mention_text(m: dict[str, Any]) -> str:
    if m["kind"] == "bare":  # a bare reference line: its marker and title or caption, if any
        return " ".join(x for x in (m["flag"], m["label"]) if x) or "(a URL on its own line)"
    return f"[{m['label']}]"


def snapshot_copy(s: dict[str, Any]) -> str:
    """'  (wayback copy of 2019-01-02T…)' for a snapshot that is not the live page; '' for a live one."""
    if s.get("origin", "live") == "live":
        return ""
    when = f" of {s['memento_at']}" if s.get("memento_at") else ""
    return f"  ({s['origin']} copy{when})"


def show_lines(item: dict[str, Any]) -> list[Text]:
    """`refman show` on a terminal."""
    out = [line((f"#{item['id']} ", "bold"), (item["title"] or item["url"], "bold"))]
    history = _history_by_field(item)
    for label, value, origin, field in show_fields(item):
        pieces: list[Any] = [f"  {label:>11}: ", value]
        if origin:
            who = set_by(item, field)
            pieces.append((f"  from {origin}" + (" 📌" if origin == Origin.USER else "")
                           + (f" ({who})" if who else ""), "dim"))
        out.append(line(*pieces))
        out += [line(("               earlier: ", "dim"), earlier(h)) for h in history.pop(field, [])]
    for field, entries in history.items():  # fields shown no more (a released pin with nothing else)
        out += [line(("  earlier ", "dim"), f"{field}: ", earlier(h)) for h in entries]
    if item.get("created_by") or item.get("updated_by"):
        out.append(line(("  created by: ", "dim"), _by(item.get("created_by"), item.get("created_at")),
                        ("; changed by: ", "dim"), _by(item.get("updated_by"), item.get("updated_at"))))
    out += [line("  " + text) for text in _copy_lines(item)]
    if item["mentions"]:
        out.append(line(("  cited in", "bold")))
        for m in item["mentions"]:
            role = f"  (link id: {m['label_id']})" if m.get("label_id") else ""
            out.append(line(f"    {m['path']}:{m['line']}  ", mention_text(m), (role, "dim")))
            if m["annotation"]:
                out.append(line(("      " + flat(m["annotation"])[:200], "dim")))
    for field, values in item.get("label_conflicts", {}).items():
        out.append(line((f"  labels disagree on {field}", "yellow"), ": ", str(values[0]), " (kept) vs ",
                        ", ".join(str(v) for v in values[1:])))
    if item["snapshots"]:
        out.append(line(("  snapshots", "bold")))
        for s in item["snapshots"]:
            out.append(line(f"    {s['fetched_at']}  {s['outcome']:<12} {s['http_status'] or '':<4}"
                            f" {s['size'] or 0:>9} B  ", s["reason"] or "", snapshot_copy(s)))
    return out


def flat(value: Any) -> str:
    """One line: line breaks and tabs become spaces (other characters, non-breaking spaces too, are kept)."""
    return _BREAKS.sub(" ", str(value)).strip()


_BREAKS = re.compile(r"[\t\n\r\f\v\x1c-\x1f\x85\u2028\u2029]+")


def show_plain(item: dict[str, Any]) -> list[str]:
    """`refman show` into a pipe: one `field<TAB>value` line each, never wrapped, whole URLs; a mention is
    `cited<TAB>path:line<TAB>label`, a snapshot `snapshot<TAB>fetched_at<TAB>outcome<TAB>http<TAB>size`."""
    out = [f"id\t{item['id']}"]
    history = _history_by_field(item)
    for label, value, origin, field in show_fields(item):
        who = set_by(item, field) if origin else None
        out.append(f"{label.replace(' ', '_')}\t{flat(value)}" + (f"\tfrom {origin}" if origin else "")
                   + (f"\tby {who}" if who else ""))
        out += [f"earlier\t{field}\t{earlier(h)}" for h in history.pop(field, [])]
    out += [f"earlier\t{field}\t{earlier(h)}" for field, entries in history.items() for h in entries]
    if item.get("created_by") or item.get("updated_by"):
        out.append(f"created_by\t{_by(item.get('created_by'), item.get('created_at'))}")
        out.append(f"updated_by\t{_by(item.get('updated_by'), item.get('updated_at'))}")
    for text in _copy_lines(item):  # "  text from: …" → "text_from<TAB>…"
        label, _, value = text.strip().partition(": ")
        out.append(f"{label.replace(' ', '_')}\t{flat(value)}")
    for field, values in item.get("label_conflicts", {}).items():
        out.append(f"labels_disagree\t{field}\t{flat(values[0])} (kept) vs {', '.join(flat(v) for v in values[1:])}")
    for m in item["mentions"]:
        out.append(f"cited\t{m['path']}:{m['line']}\t{flat(mention_text(m))}"
                   + (f"\tlink id: {m['label_id']}" if m.get("label_id") else ""))
        if m["annotation"]:
            out.append(f"annotation\t{flat(m['annotation'])}")
    for s in item["snapshots"]:
        out.append(f"snapshot\t{s['fetched_at']}\t{s['outcome']}\t{s['http_status'] or ''}\t{s['size'] or 0}"
                   f"\t{flat(s['reason'] or '')}\t{snapshot_copy(s).strip()}".rstrip("\t"))
    return out


# --- search -----------------------------------------------------------------------------------------------

def search_table(hits: Sequence[Any], open_mark: str, close_mark: str) -> Table:
    """`refman search` on a terminal; matched words in the snippet (between the marks) are highlighted."""
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False, expand=True)
    table.add_column("id", justify="right", style="dim", no_wrap=True)
    table.add_column("title", ratio=3)
    table.add_column("site", ratio=1, overflow="ellipsis")
    table.add_column("year", no_wrap=True)
    table.add_column("snippet", ratio=4)
    for hit in hits:
        snippet = Text()
        for i, part in enumerate(hit.snippet.replace(close_mark, open_mark).split(open_mark)):
            snippet.append(part, style="bold yellow" if i % 2 else None)  # odd parts sit between the markers
        table.add_row(str(hit.id), line(hit.title or hit.url), line(hit.site or ""), (hit.issued or "")[:4], snippet)
    return table
