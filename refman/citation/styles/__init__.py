"""Formatted references through citeproc-py with the CSL styles shipped beside this file (package data).

Styles: `apa`, `chicago-author-date`, `ieee`, `mla` (modern-language-association), or a path to a .csl file.
Output formats: `text`, `html`, `markdown` (citeproc-py has no Markdown formatter: one is defined here).

Workarounds for citeproc-py 0.11, each general (measured against citeproc-js, the processor Zotero and Mendeley
use, on tests/data/citeproc: 120 items × 6 styles; see tests/test_citation_reference_outputs.py):
- names: `initialize="false"` on a name element (Chicago, MLA: full given names) was ignored, so every given
  name was cut to initials; it is honoured now (`_patch_names`);
- page ranges: `minimal-two` cut 1–23 to "1–3" (a negative index when the first page has fewer digits); a
  last page with more digits than the first is now written in full (`_patch_page_ranges`);
- punctuation (plain and Markdown text, `_punctuate`): a period after a title ending in `?` or `!` is dropped
  (APA "worth?." → "worth?"); in locales whose `punctuation-in-quote` is true (en-US) a period or comma after a
  closing quotation mark moves inside it (Chicago, MLA, IEEE); quotation marks inside a quoted title become
  single ones (“The ‘big’ picture”);
- speed: every macro call ran an XPath search over the whole style (`get_macro`), which made 1,000 APA references
  take ~9 s; macros are now looked up once per style and cached (`_patch_macro_lookup`);
- escaping: citeproc-py's HTML formatter escapes the style's own text but not the values of variables, so a title
  with `&` or `<` came out as raw HTML. Values are HTML-escaped before they reach citeproc for html output (and
  Markdown-escaped for markdown output); CSL-JSON itself stays plain text.
Literal-author rule for formatted references: an item without an author gets its publisher, else its site
(container-title), as a literal (organisation) author, and that field is then left out of the rest of the
reference — APA's own rule for group authors ("when the author and the site name are the same, omit the site
name"), and citeproc-py needs it: its CSL `substitute` does not suppress the title it moved into the author
position, so an authorless APA reference printed its title twice. An item with neither author nor publisher
nor site gets its title as the literal author (and no separate title) in styles whose author `substitute`
falls back to the title (APA, Chicago, MLA); other styles (IEEE) get the item as it is.
The bibliography comes out in the style's own order (APA/Chicago/MLA by author, IEEE in the order given)."""

from __future__ import annotations

import html
import re
import types
import warnings
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from refman.citation.item import CitationItem
from refman.errors import UsageError
from refman.vocabulary import CJK_LETTER

STYLES = {
    "apa": "apa.csl",
    "chicago-author-date": "chicago-author-date.csl",
    "chicago": "chicago-author-date.csl",
    "ieee": "ieee.csl",
    "mla": "modern-language-association.csl",
    "modern-language-association": "modern-language-association.csl",
    "gb-t-7714-numeric": "china-national-standard-gb-t-7714-2015-numeric.csl",
    "gb-t-7714-author-date": "china-national-standard-gb-t-7714-2015-author-date.csl",
    "gb7714": "china-national-standard-gb-t-7714-2015-numeric.csl",
}
FORMATS = ("text", "html", "markdown")
_TEXT_FIELDS = ("title", "container-title", "publisher", "genre", "note", "annote", "abstract", "keyword")
_NAME_PARTS = ("family", "given", "literal", "non-dropping-particle", "dropping-particle", "suffix")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
_patched = False


def style_path(style: str) -> Path:
    if style.lower() in STYLES:
        ref = resources.files("refman.citation.styles") / STYLES[style.lower()]
        return Path(str(ref))
    path = Path(style).expanduser()
    if path.suffix.lower() == ".csl" and path.is_file():
        return path
    known = ", ".join(sorted(k for k in STYLES if k != "chicago"))
    raise UsageError(f"unknown style {style!r}: use one of {known} or the path of a .csl file")


def _patch_macro_lookup() -> None:
    global _patched
    if _patched:
        return
    from citeproc.model import CitationStylesElement

    cache: dict[tuple[int, str], Any] = {}
    roots: list[Any] = []  # keeps the cached roots alive, so their id()s stay theirs

    def get_macro(self: Any, name: str) -> Any:
        root = self.get_root()
        key = (id(root), name)
        macro = cache.get(key)
        if macro is None:
            macro = root.xpath_search(f"cs:macro[@name='{name}'][1]")[0]
            cache[key] = macro
            roots.append(root)
        return macro

    CitationStylesElement.get_macro = get_macro
    _patch_names()
    _patch_page_ranges()
    _patched = True


def _patch_names() -> None:
    """Honour `initialize="false"` (CSL 1.0.1) on cs:name or an ancestor: given names stay whole."""
    from citeproc.model import Name

    original = Name.initialize

    def initialize(self: Any, given: str, mark: str, context: Any) -> str:
        node = self
        while node is not None:
            value = node.get("initialize") if hasattr(node, "get") else None
            if value is not None:
                if value.lower() == "false":
                    return given
                break
            node = node.getparent()
        return original(self, given, mark, context)  # type: ignore[no-any-return]

    Name.initialize = initialize


def _patch_page_ranges() -> None:
    """A last page with more digits than the first (1–23, 98–102) is written in full in every range format."""
    from citeproc import model

    cls: Any = next(c for c in vars(model).values() if isinstance(c, type) and "_format_last_page" in vars(c))
    original = cls._format_last_page

    def format_last_page(self: Any, first: str, last: str) -> str:
        if len(first) != len(last):
            return last
        return original(self, first, last) or last

    cls._format_last_page = format_last_page


_QUOTES = re.compile(r"[“”]")
_AFTER_QUOTE = re.compile(r"([”’])([.,])")
_DOUBLE_STOP = re.compile(r"([?!])([”’]?)\.")


def _nest_quotes(text: str) -> str:
    """Quotation marks inside a quotation become single ones: “The “big” picture” → “The ‘big’ picture”."""
    if text.count("“") < 2:
        return text
    out, depth = _QUOTES.split(text), 0
    marks = _QUOTES.findall(text)
    result = [out[0]]
    for mark, rest in zip(marks, out[1:], strict=True):
        if mark == "“":
            result.append("“" if depth == 0 else "‘")
            depth += 1
        else:
            depth = max(0, depth - 1)
            result.append("”" if depth == 0 else "’")
        result.append(rest)
    return "".join(result)


def _punctuate(text: str, in_quote: bool) -> str:
    text = _nest_quotes(text)
    if in_quote:
        text = _AFTER_QUOTE.sub(r"\2\1", text)
    return _DOUBLE_STOP.sub(r"\1\2", text)


def _punctuation_in_quote(csl_style: Any) -> bool:
    """The style's locale puts a period or comma inside closing quotation marks (American English)."""
    try:
        return str(csl_style.root.get_locale_option("punctuation-in-quote")).lower() == "true"
    except Exception:  # a locale without the option: false, as CSL says
        return False


def _markdown_formatter() -> types.ModuleType:
    """A citeproc-py formatter module for Markdown (same shape as citeproc.formatter.plain)."""
    mod = types.ModuleType("refman_citeproc_markdown")

    def wrap(mark: str) -> type:
        class Wrapped(str):
            def __new__(cls, text: Any) -> Wrapped:
                value = str(text)
                return super().__new__(cls, f"{mark}{value}{mark}" if value.strip() else value)

        return Wrapped

    mod.preformat = lambda text: str(text)  # type: ignore[attr-defined]
    mod.Italic = wrap("*")  # type: ignore[attr-defined]
    mod.Oblique = mod.Italic  # type: ignore[attr-defined]
    mod.Bold = wrap("**")  # type: ignore[attr-defined]
    mod.Light = str  # type: ignore[attr-defined]
    mod.Underline = str  # type: ignore[attr-defined]
    mod.Superscript = lambda text: str(f"<sup>{text}</sup>")  # type: ignore[attr-defined]
    mod.Subscript = lambda text: str(f"<sub>{text}</sub>")  # type: ignore[attr-defined]
    mod.SmallCaps = str  # type: ignore[attr-defined]
    return mod


def _escape_values(data: dict[str, Any], escape: Any) -> dict[str, Any]:
    out = dict(data)
    for key in _TEXT_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = escape(out[key])
    for role in ("author", "editor"):
        if role in out:
            out[role] = [{k: escape(v) if k in _NAME_PARTS else v for k, v in n.items()} for n in out[role]]
    return out


def _cjk_names_literal(data: dict[str, Any]) -> dict[str, Any]:
    """CSL writes CJK names family-first without a space or initials (张三); citeproc-py does not, and
    initialises 三 into '三 .'. Such names are handed to it as literals in the right order."""
    for role in ("author", "editor"):
        names = data.get(role)
        if not names:
            continue
        fixed = []
        for n in names:
            if n.get("family") and CJK_LETTER.search(n["family"] + n.get("given", "")):
                fixed.append({"literal": n["family"] + n.get("given", "")})
            else:
                fixed.append(n)
        data[role] = fixed
    return data


def _stand_in_author(data: dict[str, Any], title_substitutes: bool) -> dict[str, Any]:
    """The literal-author rule (module docstring)."""
    if data.get("author") or data.get("editor"):
        return data
    keys = ("publisher", "container-title", "title") if title_substitutes else ("publisher", "container-title")
    for key in keys:
        if data.get(key):
            data["author"] = [{"literal": data.pop(key)}]
            break
    return data


_SUBSTITUTE = re.compile(r"<substitute>(.*?)</substitute>", re.S)


def _substitutes_title(path: Path) -> bool:
    """Does the style put the title in the author's place when there is no author?"""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return any("title" in block for block in _SUBSTITUTE.findall(text))


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def format_bibliography(items: Sequence[CitationItem], style: str = "apa", fmt: str = "text",
                        locale: str | None = None) -> list[str]:
    """One formatted reference per item, in the style's bibliography order."""
    return [text for _, text in format_entries(items, style, fmt, locale)]


def locales() -> list[str]:
    """The locales every style can be rendered in (`--locale`): the CSL locale files citeproc-py ships."""
    from importlib.resources import files

    folder = files("citeproc") / "data" / "locales"
    return sorted(p.name[len("locales-"):-len(".xml")] for p in folder.iterdir() if p.name.startswith("locales-"))


def format_entries(items: Sequence[CitationItem], style: str = "apa", fmt: str = "text",
                   locale: str | None = None) -> list[tuple[str, str]]:
    """(citation key, formatted reference) per item, in the style's bibliography order; `locale` (zh-CN,
    en-GB …) overrides the style's default locale (terms, dates, punctuation)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if locale is not None and locale not in locales():
        raise UsageError(f"unknown locale {locale!r}: use one of {', '.join(locales())}")
    path = style_path(style)
    _patch_macro_lookup()
    from citeproc import Citation, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc import CitationItem as CiteprocItem
    from citeproc.source.json import CiteProcJSON

    substitutes = _substitutes_title(path)
    data = [_stand_in_author(_cjk_names_literal(item.to_csl()), substitutes) for item in items]
    if fmt == "html":
        data = [_escape_values(d, lambda s: html.escape(s, quote=False)) for d in data]
        out_format: Any = formatter.html
    elif fmt == "markdown":
        data = [_escape_values(d, _md_escape) for d in data]
        out_format = _markdown_formatter()
    else:
        out_format = formatter.plain
    for d in data:
        d.pop("keyword", None)  # citeproc-py does not know it and warns
        d.pop("annote", None)
        d.pop("abstract", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            csl_style = CitationStylesStyle(str(path), locale=locale, validate=False)
        except Exception as exc:  # lxml or citeproc errors on a user's style file
            raise UsageError(f"cannot load style {path}: {exc}") from exc
        bib = CitationStylesBibliography(csl_style, CiteProcJSON(data), out_format)
        for d in data:
            bib.register(Citation([CiteprocItem(str(d["id"]))]))
        bib.sort()  # the style's <sort> (APA: by author, then date); citeproc-py leaves that to its caller
        # bibliography() renders bib.items one by one in that order, leaving out an item that renders as
        # nothing: then pair them one at a time.
        rendered = [str(entry) for entry in bib.bibliography()]
        keys = [str(item.key) for item in bib.items]
        if len(keys) != len(rendered):
            pairs = [(str(item.key), csl_style.render_bibliography([item])) for item in bib.items]
            keys = [key for key, out in pairs if out]
            rendered = [str(out[0]) for _, out in pairs if out]
    if locale is None and _multilingual(csl_style):
        rendered = _in_item_languages(items, keys, rendered, style, fmt)
    if fmt != "html":
        in_quote = _punctuation_in_quote(csl_style)
        rendered = [_punctuate(r, in_quote) for r in rendered]
    if _has_second_field(csl_style):
        # citeproc-py glues the label ("[1]") to the text when a style aligns them in two columns
        rendered = [re.sub(r"^(\[\d+\]|\d+\.)(?=\S)", r"\1 ", r) for r in rendered]
    return list(zip(keys, rendered, strict=True))


_LABEL = re.compile(r"^(\[\d+\]|\d+\.)\s*")


def _multilingual(csl_style: Any) -> bool:
    """A Chinese style (GB/T 7714) whose terms follow each item's language, as CSL-M styles do: a reference to
    an English work says "et al.", "ed." where a Chinese one says 等, 编."""
    return str(csl_style.root.get("default-locale") or "").lower().startswith("zh")


def _in_item_languages(items: Sequence[CitationItem], keys: list[str], rendered: list[str], style: str,
                       fmt: str) -> list[str]:
    """Each reference to a work that is not in Chinese (by its language, else its title's script) rendered
    again with English terms; the label ([n]) and the order stay the list's."""
    by_key = {item.id: item for item in items}
    out = []
    for key, text in zip(keys, rendered, strict=True):
        item = by_key.get(key)
        language = (item.language or "") if item else "zh"
        chinese = language.lower().startswith(("zh", "ja", "ko")) or (not language and item is not None and any(
            CJK_LETTER.search(v) for v in (item.title or "", item.container_title or "")))
        if item is None or chinese:
            out.append(text)
            continue
        alone = format_entries([item], style, fmt, locale="en-US")
        again = _LABEL.sub("", alone[0][1]) if alone else None
        label = _LABEL.match(text)
        out.append((label.group(0) if label else "") + again if again else text)
    return out


def _has_second_field(csl_style: Any) -> bool:
    bib = csl_style.root.bibliography
    return bib is not None and bib.get("second-field-align") is not None


def render(items: Sequence[CitationItem], style: str = "apa", fmt: str = "text", locale: str | None = None) -> str:
    """The whole reference list as one document: lines (text), <ol>/<div> (html) or a Markdown list."""
    refs = format_bibliography(items, style, fmt, locale)
    if fmt == "html":
        body = "\n".join(f'  <div class="csl-entry">{r}</div>' for r in refs)
        return f'<div class="csl-bib-body">\n{body}\n</div>\n' if refs else ""
    if fmt == "markdown":
        return "".join(f"- {r}\n" for r in refs)
    return "".join(f"{r}\n" for r in refs)
