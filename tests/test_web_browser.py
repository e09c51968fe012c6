"""The web app in a real browser (Playwright driving Debian's chromium): what a person does with it, at desktop
and phone width, and a hostile archived page that must achieve nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: browser tests skipped")
pytest.importorskip("fastapi", reason="the web extra is not installed (pip install -e '.[web]')")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
import httpx  # noqa: E402
from web_demo import HOSTILE, Demo  # noqa: E402
from web_server import Served  # noqa: E402

expect = sync_api.expect


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Any]:  # after the demo build: its fetch runs an asyncio loop
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    context = browser.new_context(base_url=served.base, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.origin)
    p = context.new_page()
    p.set_default_timeout(10_000)
    yield p
    context.close()


def api(served: Served, path: str) -> Any:
    return httpx.get(served.base + path.lstrip("/"), timeout=10).json()


def test_type_a_query_open_a_source_and_read_it(page: Any, demo: Demo) -> None:
    page.goto("/")
    box = page.locator("input[name=q]")
    box.press_sequentially("rdma", delay=40)
    results = page.locator("#results .hit")
    expect(results.first).to_contain_text("The GPU market in 2024")
    expect(results).to_have_count(2)
    expect(page).to_have_url("/?q=rdma")  # the results page can be bookmarked
    box.fill("")
    box.press_sequentially("推理优化", delay=40)
    expect(page.locator("#results .hit .title").first).to_have_text("数据中心的网络设计")
    expect(page).to_have_url("/?q=" + quote("推理优化"))  # the last keystroke's results are in
    page.locator("#results .hit .title").first.click()
    expect(page).to_have_url(f"/sources/{demo.ids['/datacenter']}")
    page.get_by_role("link", name="Read", exact=True).click()
    expect(page.locator(".reader .text")).to_contain_text("RDMA 网络可以减少处理器的开销")


def test_search_works_without_javascript(browser: Any, served: Served) -> None:
    context = browser.new_context(base_url=served.base, java_script_enabled=False)
    p = context.new_page()
    p.goto("/")
    p.locator("input[name=q]").fill("inference")
    p.get_by_role("button", name="Search").click()
    expect(p.locator("#results .hit .title").first).to_have_text("Inference optimisation in practice")
    context.close()


def test_edit_a_pinned_field_and_tags(page: Any, served: Served, demo: Demo) -> None:
    sid = demo.ids["/inference"]
    page.goto(f"/sources/{sid}")
    row = page.locator("tr.field-title")
    row.locator("input[name=value]").fill("Inference, pinned by hand")
    row.get_by_role("button", name="pin").click()
    expect(page.locator("tr.field-title td.origin")).to_contain_text("user")
    assert api(served, f"/api/sources/{sid}")["title"] == "Inference, pinned by hand"
    issued = page.locator("tr.field-issued")
    issued.locator("input[name=value]").fill("next week")
    issued.get_by_role("button", name="pin").click()
    expect(page.get_by_role("alert")).to_contain_text("issued must be an ISO 8601 date")
    assert api(served, f"/api/sources/{sid}")["issued"] == "2024-06-24"
    page.locator("tr.field-title").get_by_role("button", name="unpin").click()
    expect(page.locator("tr.field-title td.origin")).to_contain_text("page:citation")
    tags = page.locator("form.tags")
    tags.locator("input[name=add]").fill("from-browser")
    tags.get_by_role("button", name="add").click()
    expect(page.locator("form.tags button.tag", has_text="from-browser")).to_be_visible()
    page.locator("form.tags button.tag", has_text="hardware").click()
    expect(page.locator("form.tags button.tag", has_text="hardware")).to_have_count(0)
    assert api(served, f"/api/sources/{sid}")["tags"] == ["from-browser", "ml"]


def test_copy_a_citation(page: Any, demo: Demo) -> None:
    page.goto(f"/sources/{demo.ids['/gpu-market']}")
    apa = page.locator("#cite-apa")
    expect(apa).to_contain_text("Lovelace, A. (2024, June 24).")
    page.locator(".citation", has=apa).get_by_role("button", name="Copy").click()
    expect(page.locator(".citation", has=apa).get_by_role("button")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == apa.inner_text().strip()
    key = page.locator("#cite-key").inner_text().strip()
    page.locator(".citation", has=page.locator("#cite-key")).get_by_role("button", name="Copy").click()
    expect(page.locator(".citation", has=page.locator("#cite-key")).get_by_role("button")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key and key.startswith("lovelace2024")


def test_upload_a_capture(page: Any, tmp_path: Path) -> None:
    saved = tmp_path / "saved.html"
    saved.write_text("<!DOCTYPE html><html><!--\n Page saved with SingleFile \n url: https://members.example/"
                     "report \n saved date: Fri Nov 14 2025 18:00:00 GMT+0100 (CET)\n--><head><title>Members-only"
                     " report</title></head><body><article><h1>Members-only report</h1>"
                     + "<p>Only a logged-in browser can see this report about interconnects.</p>" * 8
                     + "</article></body></html>", encoding="utf-8")
    page.goto("/capture")
    page.locator("input[type=file]").set_input_files(str(saved))
    page.get_by_role("button", name="Capture").click()
    expect(page.locator("h1")).to_have_text("Members-only report")
    expect(page.locator("table.snapshots")).to_contain_text("capture of 2025-11-14T17:00:00Z")
    page.get_by_role("link", name="Read", exact=True).click()
    expect(page.locator(".reader .text")).to_contain_text("Only a logged-in browser can see this report")


def test_follow_a_note_bibliography_and_download_it(page: Any, demo: Demo) -> None:
    page.goto("/")
    page.get_by_role("link", name="Notes").click()
    page.get_by_role("link", name="AI/GPU Market.md").click()
    titles = page.locator("ol.bibliography li .title")
    expect(titles).to_have_count(3)
    assert titles.all_inner_texts()[:2] == ["The GPU market in 2024", "Inference optimisation in practice"]
    expect(page.locator("ol.bibliography li").nth(2)).to_contain_text("dead")
    with page.expect_download() as info:
        page.get_by_role("link", name="csljson").click()
    download = info.value
    assert download.suggested_filename == "GPU Market.json"
    items = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert [i["URL"] for i in items] == [demo.base + p for p in ("/gpu-market", "/inference", "/gone")]
    titles.first.click()
    expect(page).to_have_url(f"/sources/{demo.ids['/gpu-market']}")


def test_phone_viewport(browser: Any, served: Served, demo: Demo) -> None:
    context = browser.new_context(base_url=served.base, viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    p = context.new_page()
    wide = "document.documentElement.scrollWidth <= window.innerWidth"
    for path in ("/?q=rdma", f"/sources/{demo.ids['/gpu-market']}", f"/sources/{demo.ids['/gpu-market']}/read",
                 "/notes/AI/GPU Market.md", "/health"):
        p.goto(path)
        p.wait_for_load_state("networkidle")
        assert p.evaluate(wide), f"{path} scrolls sideways on a phone"
    p.goto(f"/sources/{demo.ids['/gpu-market']}/read")
    size = p.evaluate("parseFloat(getComputedStyle(document.querySelector('.reader .text p')).fontSize)")
    assert size >= 16
    p.goto("/")
    p.locator("input[name=q]").press_sequentially("gpu", delay=30)
    expect(p.locator("#results .hit").first).to_be_visible()
    box = p.locator("#results .hit").first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    context.close()


def test_a_hostile_snapshot_achieves_nothing(browser: Any, served: Served) -> None:
    made = httpx.post(served.base + "api/capture", headers={"Authorization": f"Bearer {served.token}"},
                      files={"file": ("h.html", HOSTILE.replace("APP_ORIGIN", served.origin), "text/html")},
                      timeout=20).json()
    before = httpx.get(served.base + "api/sources", params={"limit": 1000}, timeout=10).json()
    context = browser.new_context(base_url=served.base)
    context.add_cookies([{"name": "session", "value": "secret-cookie", "url": served.origin}])
    app = context.new_page()
    app.goto("/")
    app.evaluate("localStorage.setItem('secret', 'app-storage')")
    app.goto(f"/sources/{made['id']}")
    # without scripts (the default link) nothing runs at all
    with context.expect_page() as opened:
        app.locator("table.snapshots a", has_text="page").first.click()
    quiet = opened.value
    quiet.wait_for_load_state()
    quiet.wait_for_timeout(300)
    assert quiet.frames[1].title() == "Hostile page"
    quiet.close()
    # with scripts, as a user may ask: the scripts run in an opaque origin and every attack fails
    with context.expect_page() as opened:
        app.locator("table.snapshots a.with-scripts").first.click()
    hostile = opened.value
    hostile.wait_for_load_state()
    frame = hostile.frames[1]  # the archived page, in the sandboxed iframe of the wrapper
    for _ in range(100):
        if frame.title() == "attack finished":
            break
        hostile.wait_for_timeout(100)
    assert frame.title() == "attack finished"  # its scripts did run
    hostile.wait_for_timeout(1500)  # let a form submission or navigation happen, if it could
    assert hostile.url.startswith("http://snapshots.localhost:") and frame.url.endswith("/raw")
    stolen = frame.evaluate("window.__stolen")
    assert stolen["cookie"].startswith("blocked") and "secret-cookie" not in json.dumps(stolen)
    assert stolen["storage"].startswith("blocked") and "app-storage" not in json.dumps(stolen)
    assert stolen["read"].startswith("blocked")
    assert [p.url for p in context.pages] == [app.url, hostile.url]  # no popup, no form opened a page
    assert app.url.endswith(f"/sources/{made['id']}")  # the app's tab was not navigated
    after = httpx.get(served.base + "api/sources", params={"limit": 1000}, timeout=10).json()
    assert [s["id"] for s in after] == [s["id"] for s in before]  # the API added nothing
    assert {s["id"]: s["tags"] for s in after} == {s["id"]: s["tags"] for s in before}
    assert app.evaluate("localStorage.getItem('secret')") == "app-storage"
    context.close()
