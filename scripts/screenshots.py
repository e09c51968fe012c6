"""Screenshots of every page of `refman serve`, for review: search, source, reader, diff, note, link health,
capture, and the search and reader pages at phone width.

    .venv/bin/python scripts/screenshots.py [--db CATALOG] [--out DIR]

Without --db it builds the test suite's demo catalog (tests/web_demo.py: a small Obsidian vault, its pages
fetched twice from a local server). Needs Debian's chromium (/usr/bin/chromium) and the dev extra."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFMAN = Path(sys.executable).with_name("refman")


def start(db: Path) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen([str(REFMAN), "--db", str(db), "serve", "--port", "0", "--token", "screenshot-token"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    if not first.startswith("serving "):
        proc.kill()
        raise SystemExit(f"refman serve did not start: {first!r}")
    return proc, first.split()[1], "screenshot-token"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, help="an existing catalog (default: build the demo catalog)")
    parser.add_argument("--out", type=Path, default=Path("screenshots"), help="where to write the PNGs")
    parser.add_argument("--query", default="RDMA", help="the search to show")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        note = None
        if db is None:
            sys.path.insert(0, str(ROOT / "tests"))
            from web_demo import build_demo

            demo = build_demo(Path(tmp))
            db, note = demo.db, demo.note
        proc, base, token = start(db)
        try:
            import httpx

            page = (ROOT / "tests" / "pages" / "blog_og.html").read_bytes()
            httpx.post(base + "api/capture", headers={"Authorization": f"Bearer {token}"},
                       files={"file": ("page.html", page, "text/html")},
                       data={"url": "https://blog.example/posts/captured"}).raise_for_status()
            args.out.mkdir(parents=True, exist_ok=True)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium)
                desktop = browser.new_page(viewport={"width": 1280, "height": 860})
                phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                         is_mobile=True, has_touch=True)
                shots = [
                    (desktop, f"?q={args.query}", "search"),
                    (desktop, "sources/1", "source"),
                    (desktop, "sources/1/read", "reader"),
                    (desktop, "sources/1/diff?a=2&b=1", "diff"),
                    (desktop, "health", "health"),
                    (desktop, "capture", "capture"),
                    (phone, f"?q={args.query}", "phone-search"),
                    (phone, "sources/1/read", "phone-reader"),
                    (phone, "sources/1", "phone-source"),
                ]
                if note:
                    shots.append((desktop, f"notes/{note}", "note"))
                for page, path, name in shots:
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    target = args.out / f"{name}.png"
                    page.screenshot(path=str(target), full_page=name != "source")
                    print(target)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
