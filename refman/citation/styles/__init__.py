"""Formatted references through citeproc-py with the CSL styles shipped beside this file (package data).

Styles: `apa`, `chicago-author-date`, `ieee`, `mla` (modern-language-association), or a path to a .csl file.
Output formats: `text`, `html`, `markdown` (citeproc-py has no Markdown formatter: one is defined here).

citeproc-py 0.11 is patched towards what citeproc-js (the processor Zotero and Mendeley use) prints: see
`_citeproc` for each patch (group suppression, substitution, labels, text case, ordinals, punctuation at seams,
names, page ranges, speed); measured on tests/data/citeproc (120 items × 6 styles) by
tests/test_citation_reference_outputs.py. Around citeproc-py, this module:
- punctuation (plain and Markdown text, `_punctuate`): a period after a title ending in `?` or `!` is dropped
  (APA "worth?." → "worth?"); in locales whose `punctuation-in-quote` is true (en-US) a period or comma after a
  closing quotation mark moves inside it (Chicago, MLA, IEEE); quotation marks inside a quoted title become
  single ones (“The ‘big’ picture”);
- CJK names (张三) are handed to citeproc-py as literals, family name first without a space;
- escaping: citeproc-py's HTML formatter escapes the style's own text but not the values of variables, so a title
  with `&` or `<` came out as raw HTML. Values are HTML-escaped before they reach citeproc for html output (and
  Markdown-escaped for markdown output); CSL-JSON itself stays plain text;
- GB/T 7714 styles: a reference to a work not in Chinese gets English terms (et al., not 等);
- parsed styles are kept (a few, per file and locale), so that `refman cite` and the reader do not parse the
  style and its locale files on every call.
Literal-author rule for formatted references: an item without an author or editor gets its publisher, else its
site (container-title), as a literal (organisation) author, and that field is then left out of the rest of the
reference — APA's own rule for group authors ("when the author and the site name are the same, omit the site
name"). This is refman's choice, not the styles': citeproc-js puts the title in the author's place instead (and so
does refman when there is neither publisher nor site).
The bibliography comes out in the style's own order (APA/Chicago/MLA by author, IEEE in the order given)."""

from __future__ import annotations

import html
import re
import threading
import types
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from refman.citation.item import CitationItem
from refman.citation.styles import _citeproc
from refman.errors import UsageError

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


def style_path(style: str) -> Path:
    if style.lower() in STYLES:
        ref = resources.files("refman.citation.styles") / STYLES[style.lower()]
        return Path(str(ref))
    path = Path(style).expanduser()
    if path.suffix.lower() == ".csl" and path.is_file():
        return path
    known = ", ".join(sorted(k for k in STYLES if k != "chicago"))
    raise UsageError(f"unknown style {style!r}: use one of {known} or the path of a .csl file")


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


_CJK_NAME = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _cjk_names_literal(data: dict[str, Any]) -> dict[str, Any]:
    """CSL writes CJK names family-first without a space or initials (张三); citeproc-py does not, and
    initialises 三 into '三 .'. Such names are handed to it as literals in the right order."""
    for role in ("author", "editor"):
        names = data.get(role)
        if not names:
            continue
        fixed = []
        for n in names:
            if n.get("family") and _CJK_NAME.search(n["family"] + n.get("given", "")):
                fixed.append({"literal": n["family"] + n.get("given", "")})
            else:
                fixed.append(n)
        data[role] = fixed
    return data


def _stand_in_author(data: dict[str, Any]) -> dict[str, Any]:
    """The literal-author rule (module docstring)."""
    if data.get("author") or data.get("editor"):
        return data
    for key in ("publisher", "container-title"):
        if data.get(key):
            data["author"] = [{"literal": data.pop(key)}]
            break
    return data


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
    _citeproc.apply()
    data = [_stand_in_author(_cjk_names_literal(_citeproc.static_order_names(item.to_csl()))) for item in items]
    if fmt == "html":
        data = [_escape_values(d, lambda s: html.escape(s, quote=False)) for d in data]
    elif fmt == "markdown":
        data = [_escape_values(d, _md_escape) for d in data]
    for d in data:
        d.pop("keyword", None)  # citeproc-py does not know it and warns
        d.pop("annote", None)
        d.pop("abstract", None)
    with _LOCK:
        csl_style = _load_style(path, locale)
        keys, rendered = _render(csl_style, data, fmt)
        if locale is None and _multilingual(csl_style):
            rendered = _in_item_languages(items, data, keys, rendered, path, fmt)
    if fmt != "html":
        in_quote = _punctuation_in_quote(csl_style)
        rendered = [_punctuate(r, in_quote) for r in rendered]
    if _has_second_field(csl_style):
        # citeproc-py glues the label ("[1]") to the text when a style aligns them in two columns
        rendered = [re.sub(r"^(\[\d+\]|\d+\.)(?=\S)", r"\1 ", r) for r in rendered]
    return list(zip(keys, rendered, strict=True))


# Parsed styles, per (file, its mtime and size, locale): parsing a style and its locale files costs more than
# formatting a few references. Rendering holds _LOCK: citeproc-py keeps per-render state on the parsed style.
_STYLES: OrderedDict[tuple[str, int, int, str | None], Any] = OrderedDict()
_STYLES_KEPT = 8
_LOCK = threading.RLock()


def _load_style(path: Path, locale: str | None) -> Any:
    from citeproc import CitationStylesStyle

    try:
        stat = path.stat()
    except OSError as exc:
        raise UsageError(f"cannot load style {path}: {exc}") from exc
    key = (str(path), stat.st_mtime_ns, stat.st_size, locale)
    csl_style = _STYLES.get(key)
    if csl_style is not None:
        _STYLES.move_to_end(key)
        return csl_style
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            csl_style = CitationStylesStyle(str(path), locale=locale, validate=False)
        except Exception as exc:  # lxml or citeproc errors on a user's style file
            raise UsageError(f"cannot load style {path}: {exc}") from exc
    _STYLES[key] = csl_style
    while len(_STYLES) > _STYLES_KEPT:
        _, old = _STYLES.popitem(last=False)
        _citeproc.forget(old.root)
    return csl_style


def _render(csl_style: Any, data: list[dict[str, Any]], fmt: str) -> tuple[list[str], list[str]]:
    """Citation keys and references, in the style's bibliography order."""
    from citeproc import Citation, CitationStylesBibliography, formatter
    from citeproc import CitationItem as CiteprocItem
    from citeproc.source.json import CiteProcJSON

    out_format: Any = (formatter.html if fmt == "html" else _markdown_formatter() if fmt == "markdown"
                       else formatter.plain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
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
    return keys, rendered


_LABEL = re.compile(r"^(\[\d+\]|\d+\.)\s*")


def _multilingual(csl_style: Any) -> bool:
    """A Chinese style (GB/T 7714) whose terms follow each item's language, as CSL-M styles do: a reference to
    an English work says "et al.", "ed." where a Chinese one says 等, 编."""
    return str(csl_style.root.get("default-locale") or "").lower().startswith("zh")


def _in_item_languages(items: Sequence[CitationItem], data: list[dict[str, Any]], keys: list[str],
                       rendered: list[str], path: Path, fmt: str) -> list[str]:
    """Each reference to a work that is not in Chinese (by its language, else its title's script) rendered
    again with English terms (all of them in one more pass); the label ([n]) and the order stay the list's."""
    foreign = set()
    for item in items:
        language = (item.language or "").lower()
        chinese = language.startswith(("zh", "ja", "ko")) or (not language and any(
            _CJK_NAME.search(v) for v in (item.title or "", item.container_title or "")))
        if not chinese:
            foreign.add(item.id.lower())  # citeproc-py's keys are lower case
    if not foreign:
        return rendered
    english = _load_style(path, "en-US")
    again = dict(zip(*_render(english, [d for d in data if str(d["id"]).lower() in foreign], fmt), strict=True))
    out = []
    for key, text in zip(keys, rendered, strict=True):
        other = again.get(key)
        label = _LABEL.match(text)
        out.append((label.group(0) if label else "") + _LABEL.sub("", other) if other else text)
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
