"""Which value wins: one precedence with generic-value guards, partial dates that stay partial, true origins,
name particles, and the label's site and title against what a page says (end to end over a real site)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from pytest_httpserver import HTTPServer

from refman.evidence import pick, trim_title
from refman.metadata.authors import to_csl_name
from refman.metadata.dates import supported_precision
from refman.metadata.html import extract_html
from refman.metadata.sites import is_generic_site

BODY = "<p>" + "Plenty of words about the subject of this page, enough to be its main text. " * 30 + "</p>"


def html(head: str = "", body: str = "", title: str = "A report on things") -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
            f"<body><article><h1>{title}</h1>{body}{BODY}</article></body></html>")


@pytest.mark.parametrize("body", ["<time datetime='2021-06'>June 2021</time>", "<div class='date'>2021-06</div>"])
def test_a_month_stays_a_month_whatever_the_fetch_day(body: str) -> None:
    page = html(body=body)
    got = []
    for day in (dt.datetime(2026, 3, 9, 12, tzinfo=dt.UTC), dt.datetime(2026, 3, 23, 12, tzinfo=dt.UTC)):
        with time_machine.travel(day, tick=False):
            got.append(extract_html(page, "https://example.com/report").fields["issued"][0])
    assert got == ["2021-06", "2021-06"]


def test_supported_precision() -> None:
    assert supported_precision("2021-06-23", "Published June 2021") == "2021-06"
    assert supported_precision("2022-01-01", "© 2022 Example") == "2022"
    assert supported_precision("2021-06-15", "<time datetime='2021-06-15'>") == "2021-06-15"
    assert supported_precision("2021-06-15", "15. Juni 2021") == "2021-06-15"
    assert supported_precision("2021-06-15", "2021年6月15日") == "2021-06-15"
    assert supported_precision("2021", "anything") == "2021" and supported_precision(None, "") is None


def test_a_citation_year_beats_trafilaturas_guess() -> None:
    page = html(head="<meta name='citation_title' content='A report on things'>"
                     "<meta name='citation_publication_date' content='2022'>", body="<footer>© 2022</footer>")
    m = extract_html(page, "https://example.com/paper")
    assert m.fields["issued"] == ("2022", "page:citation")


def test_twitter_title_is_named_as_such() -> None:
    page = ("<html><head><meta name='twitter:title' content='Cities that work'></head><body>"
            "<p>short</p></body></html>")
    m = extract_html(page, "https://example.com/city", trafilatura_metadata={})
    assert m.fields["title"] == ("Cities that work", "page:twitter")


def test_sites_that_are_not_site_names() -> None:
    wiki = html(head="<script type='application/ld+json'>{\"@context\": \"https://schema.org\", \"@type\": "
                     "\"Article\", \"name\": \"Hermitian matrix\", \"publisher\": {\"@type\": \"Organization\", "
                     "\"name\": \"Wikimedia Foundation, Inc.\"}}</script>", title="Hermitian matrix - Wikipedia")
    m = extract_html(wiki, "https://en.wikipedia.org/wiki/Hermitian_matrix")
    assert m.fields.get("publisher", (None,))[0] == "Wikimedia Foundation, Inc."
    site, origin = m.fields["container_title"]
    assert is_generic_site(site)  # the page names no site but its publisher: a label's site beats it
    assert pick([("container_title", origin, site), ("container_title", "label", "Wikipedia")]
                )["container_title"] == ("Wikipedia", "label")
    reuters = html(head="<meta property='og:site_name' content='U.S.'>")
    assert extract_html(reuters, "https://www.reuters.com/x").fields["container_title"] == ("Reuters", "page:host")
    for generic in ("127.0.0.1:18731", "www.example.com", "Wikimedia Foundation, Inc.", "U.S.", "World"):
        assert is_generic_site(generic)
    for name in ("Reuters", "光明网", "Stack Overflow", "InfoQ"):
        assert not is_generic_site(name)


def test_precedence_and_guards_in_the_merge() -> None:
    label = [("title", "label", "宇航员在太空中喝酒会怎么样？后果很严重"), ("container_title", "label", "光明网")]
    # a host name from trafilatura is a fallback
    merged = pick([*label, ("container_title", "page:trafilatura", "127.0.0.1:18731")])
    assert merged["container_title"] == ("光明网", "label")
    merged = pick([*label, ("container_title", "page:host", "Example")])
    assert merged["container_title"] == ("光明网", "label")
    # a legal entity and a section name from page metadata do not beat the label's site
    wiki = [("container_title", "label", "Wikipedia"),
            ("container_title", "page:json-ld", "Wikimedia Foundation, Inc.")]
    assert pick(wiki)["container_title"] == ("Wikipedia", "label")
    assert pick([("container_title", "label", "Reuters"), ("container_title", "page:og", "U.S.")]
                )["container_title"] == ("Reuters", "label")
    # a real site name from the page beats the label's
    assert pick([("container_title", "label", "gmw"), ("container_title", "page:og", "光明网")]
                )["container_title"] == ("光明网", "page:og")
    # without a label, a generic value is still better than nothing
    assert pick([("container_title", "page:og", "U.S.")])["container_title"] == ("U.S.", "page:og")
    # the page title is trimmed of its section and site segments when the label's site agrees
    merged = pick([*label, ("title", "page:meta", "宇航员在太空中喝酒会怎么样？后果很严重_教育频道_光明网")])
    assert merged["title"] == ("宇航员在太空中喝酒会怎么样？后果很严重", "page:meta")
    # …and kept whole when it does not
    kept = pick([("title", "label", "Hermitian matrix"), ("title", "page:og", "Hermitian matrix: a primer")])
    assert kept["title"][0] == "Hermitian matrix: a primer"
    assert trim_title("Hermitian matrix - Wikipedia", "Hermitian matrix", "Wikipedia", None) == "Hermitian matrix"
    assert trim_title("Hermitian matrix - Wikipedia", "Hermitian matrix", None, None) is None
    # user pins beat everything; citation metadata beats trafilatura
    assert pick([("issued", "page:trafilatura", "2022-01-01"), ("issued", "page:citation", "2022"),
                 ("issued", "label", "2021")])["issued"] == ("2022", "page:citation")
    assert pick([("title", "page:citation", "x"), ("title", "user", "mine")])["title"] == ("mine", "user")


@pytest.mark.parametrize(("name", "expected"), [
    ("Teven Le Scao", {"family": "Le Scao", "given": "Teven"}),
    ("Ludwig van Beethoven", {"family": "van Beethoven", "given": "Ludwig"}),
    ("Maria De La Cruz", {"family": "De La Cruz", "given": "Maria"}),
    ("Osama bin Laden", {"family": "bin Laden", "given": "Osama"}),
    ("Van Morrison", {"family": "Morrison", "given": "Van"}),
    ("Scao, Teven Le", {"family": "Scao", "given": "Teven Le"}),  # the page gave the split: keep it
])
def test_name_particles_belong_to_the_family_name(name: str, expected: dict[str, str]) -> None:
    assert to_csl_name(name) == expected


def test_label_site_and_title_win_over_fallbacks_end_to_end(tmp_path: Path, site: HTTPServer,
                                                            cli_env: dict[str, str]) -> None:
    zh_title = "宇航员在太空中喝酒会怎么样？后果很严重"
    site.expect_request("/gmw").respond_with_data(
        html(title=f"{zh_title}_教育频道_光明网"), content_type="text/html; charset=utf-8")
    site.expect_request("/paper").respond_with_data(
        html(head="<meta name='citation_title' content='Bloom'><meta name='citation_author' content='Teven Le Scao'>"
                  "<meta name='citation_publication_date' content='2022'>", title="Bloom"),
        content_type="text/html; charset=utf-8")
    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "a.md").write_text(f"[{zh_title} | 光明网]: {site.url_for('/gmw')}\n"
                                f"[Bloom paper]: {site.url_for('/paper')}\n", encoding="utf-8")
    refman = [sys.executable, "-m", "refman"]
    subprocess.run([*refman, "import", "-q", str(vault)], env=cli_env, check=True, capture_output=True)
    subprocess.run([*refman, "fetch", "--delay", "0", "--ignore-robots", "--json"], env=cli_env, check=True,
                   capture_output=True)
    gmw = json.loads(subprocess.run([*refman, "show", site.url_for("/gmw"), "--json"], env=cli_env, check=True,
                                    capture_output=True, text=True).stdout)
    assert gmw["status"] == "ok"
    assert (gmw["container_title"], gmw["provenance"]["container_title"]) == ("光明网", "label")
    assert gmw["title"] == zh_title
    paper = json.loads(subprocess.run([*refman, "show", site.url_for("/paper"), "--json"], env=cli_env,
                                      check=True, capture_output=True, text=True).stdout)
    assert (paper["issued"], paper["provenance"]["issued"]) == ("2022", "page:citation")
    assert paper["author"] == [{"family": "Le Scao", "given": "Teven"}]
    out = subprocess.run([*refman, "export", "--format", "biblatex"], env=cli_env, check=True, capture_output=True,
                         text=True).stdout
    assert "127.0.0.1" not in out.replace(site.url_for("/gmw"), "").replace(site.url_for("/paper"), "")
    assert "光明网" in out
