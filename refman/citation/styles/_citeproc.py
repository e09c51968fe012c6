"""citeproc-py 0.11 patched towards CSL 1.0.2 as citeproc-js (the processor Zotero and Mendeley use) reads it.

Each patch replaces or wraps one method of citeproc-py's model, is general (no style, item or string is special-
cased) and is measured on tests/data/citeproc (120 items × the shipped styles, against citeproc-js's output):

- groups (`_patch_groups`): CSL suppresses a cs:group when it called at least one variable and every variable it
  called was empty. citeproc-py decided "called" from the style's text (any variable anywhere below, even in a
  cs:choose branch not taken), so GB/T's `[J]`, `[M]`, `[C]`… (a group of a type code and a medium code that tests
  for URL/DOI in a branch not taken) vanished; APA printed "(Publication)" for a thesis without a number. Now the
  variables actually rendered while the group renders are counted, as citeproc-js does; this also drops
  citeproc-py's re-walk of every macro for every group (a third of its time).
- substitution (`_patch_substitute`): a variable that cs:substitute moved into the author's place is suppressed in
  the rest of the reference, whatever element renders it (citeproc-py only suppressed a cs:text variable named
  directly in cs:substitute, not one rendered through a macro or a cs:choose: the title came out twice).
- labels (`_patch_labels`): a cs:label of an empty variable prints nothing (Chicago printed "Edition").
- text case (`_patch_text_case`): a word's first letter is capitalised after an opening quotation mark or bracket
  (“big” → “Big”); stop words stay lower case except first, last, or after a colon; title case applies to terms and
  labels in an English style too ("(Ed.)"), not only to variables.
- ordinals (`_patch_ordinals`): the ordinal terms of the first locale that defines any are used as a set (CSL
  1.0.2), so zh-CN's empty `ordinal` gives "2 版", not en-US's "2nd 版".
- punctuation at seams (`_patch_seams`): where two pieces join, a period or colon after `?`/`!`, and a period after
  `:`/`;`, is dropped, as citeproc-js's punctuation merging does ("Stop!: TR-52" → "Stop! TR-52").
- names in Chinese and Japanese items (`_patch_static_names`): citeproc-js writes a Latin-script name in an item
  whose language is zh or ja family first, without a comma and without its suffix ("Leinaas J. M."), in every style.
- names with `initialize="false"` keep whole given names; page ranges whose last page has more digits than the first
  are written in full (1–23, not 1–3); macros and the lookups of each element's layout/bibliography are cached
  per style; an item's reference is looked up once.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_state = threading.local()
_done = False


def _frames() -> list[list[bool]]:
    try:
        return _state.frames  # type: ignore[no-any-return]
    except AttributeError:
        _state.frames = []
        _state.recorders = []
        return _state.frames  # type: ignore[no-any-return]


def _recorders() -> list[set[str]]:
    _frames()
    return _state.recorders  # type: ignore[no-any-return]


# Per parsed style (its root element), lookups that citeproc-py repeats for every item: kept while the style is
# kept (refman.citation.styles caches a few parsed styles) and dropped with it.
_caches: dict[int, dict[Any, Any]] = {}


def cache_for(root: Any) -> dict[Any, Any]:
    cache = _caches.get(id(root))
    if cache is None:
        cache = _caches[id(root)] = {"root": root}  # the root held: its id() stays its own while cached
    return cache


def forget(root: Any) -> None:
    _caches.pop(id(root), None)


def apply() -> None:
    """Install every patch once (idempotent)."""
    global _done
    if _done:
        return
    _patch_lookups()
    _patch_names()
    _patch_page_ranges()
    _patch_groups()
    _patch_substitute()
    _patch_labels()
    _patch_text_case()
    _patch_ordinals()
    _patch_seams()
    _patch_static_names()
    _done = True


# ---- lookups ----------------------------------------------------------------------------------------------------

def _patch_lookups() -> None:
    from citeproc import model
    from citeproc.source import CitationItem

    def get_macro(self: Any, name: str) -> Any:
        root = self.get_root()
        cache = cache_for(root)
        key = ("macro", name)
        macro = cache.get(key)
        if macro is None:
            macro = cache[key] = root.xpath_search(f"cs:macro[@name='{name}'][1]")[0]
        return macro

    original_layout = model.CitationStylesElement.get_layout

    def get_layout(self: Any) -> Any:
        cache = cache_for(self.get_root())
        layout = cache.get(self)  # the element itself is the key: held, its proxy stays the same object
        if layout is None:
            layout = cache[self] = original_layout(self)
        return layout

    model.CitationStylesElement.get_macro = get_macro
    model.CitationStylesElement.get_layout = get_layout

    # Name.get_option looked up the enclosing cs:citation/cs:bibliography with an XPath search for every option
    # of every name (a dozen per name list).
    original_get_option = model.Name.get_option
    ancestor = "./ancestor::*[self::cs:citation or self::cs:bibliography][1]"

    def name_get_option(self: Any, name: str, context: Any = None, sort_options: Any = None) -> Any:
        if sort_options and name in sort_options:
            return original_get_option(self, name, context, sort_options)
        ctx = self if context is None else context
        cache = cache_for(ctx.get_root())
        key = ("name-option", self, ctx, name)
        if key in cache:
            return cache[key]
        parent = cache.get(("parent", ctx))
        if parent is None:
            parent = cache[("parent", ctx)] = ctx.xpath_search(ancestor)[0]
        if name in ("form", "delimiter"):
            value = self.get(name, parent.get_option("name-" + name))
        else:
            value = self.get(name, parent.get_option(name))
        if name in ("initialize-with-hyphen", "et-al-use-last"):
            value = value.lower() == "true"
        elif name.startswith("et-al"):
            value = int(value)
        cache[key] = value
        return value

    model.Name.get_option = name_get_option

    def reference(self: Any) -> Any:
        ref = dict.get(self, "_refman_reference")
        if ref is None:
            ref = self.citation.bibliography.source[self.key]
            dict.__setitem__(self, "_refman_reference", ref)
        return ref

    CitationItem.reference = property(reference)


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
        return original(self, first, last) or last  # type: ignore[no-any-return]

    cls._format_last_page = format_last_page


# ---- groups and substitution --------------------------------------------------------------------------------------

def _suppressed(element: Any, context: Any) -> set[str] | None:
    layout = (element if context is None else context).get_layout()
    return layout.repressed.get("*")  # type: ignore[no-any-return]


def _record(called: bool, rendered: list[str] | None) -> None:
    """A variable was called (rendered: the variables that came out non-empty)."""
    frames = _frames()
    if frames:
        frame = frames[-1]
        frame[0] = True
        if rendered:
            frame[1] = True
    if rendered:
        for seen in _recorders():
            seen.update(rendered)


def _leaf(cls: Any) -> None:
    """Wrap the rendering of a variable-calling element (cs:text variable, cs:date, cs:number) to record it."""
    from citeproc.source import VariableError

    original = cls.render
    generated = frozenset(getattr(cls, "generated_variables", ()))  # year-suffix: not a variable the item has

    def render(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        variable = self.get("variable")
        if variable is None or variable in generated:
            return original(self, item, *args, **kwargs)
        suppressed = _suppressed(self, kwargs.get("context"))
        if suppressed and variable in suppressed:
            _record(True, None)
            return None
        try:
            text = original(self, item, *args, **kwargs)
        except VariableError:
            _record(True, None)
            raise
        _record(True, [variable] if text else None)
        return text

    cls.render = render


def _patch_groups() -> None:
    from citeproc import model
    from citeproc.source import VariableError

    for cls in (model.Text, model.Date, model.Number):
        _leaf(cls)

    names_render = model.Names.render

    def render_names(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        variables = self.get("variable", "").split()
        suppressed = _suppressed(self, kwargs.get("context"))
        left = [v for v in variables if v not in suppressed] if suppressed else variables
        if not left:
            _record(True, None)
            return None
        if len(left) != len(variables):
            self.set("variable", " ".join(left))
        try:
            text = names_render(self, item, *args, **kwargs)
        except VariableError:
            _record(True, None)
            raise
        finally:
            if len(left) != len(variables):
                self.set("variable", " ".join(variables))
        present = [v for v in left if dict.get(item.reference, v.replace("-", "_"))]
        _record(True, present if text else None)
        return text

    model.Names.render = render_names

    def process(self: Any, item: Any, context: Any = None, **kwargs: Any) -> Any:
        frames = _frames()
        frame = [False, False]  # a variable was called, one came out non-empty
        frames.append(frame)
        output = []
        delimiter = self.get("delimiter", "")
        try:
            for child in self.iterchildren():
                try:
                    if isinstance(child, model.Choose):
                        text = child.render(item, context=context, delimiter=delimiter, **kwargs)
                    else:
                        text = child.render(item, context=context, **kwargs)
                except VariableError:
                    continue
                if text is not None:
                    output.append(text)
        finally:
            frames.pop()
        called, rendered = frame
        parent = frames[-1] if frames else None
        if parent is not None and called:
            parent[0] = True
        if output and (rendered or not called):
            if parent is not None and rendered:
                parent[1] = True
            return self.join(output)
        raise VariableError

    model.Group.process = process


def _patch_substitute() -> None:
    from citeproc import model
    from citeproc.source import VariableError

    def render(self: Any, item: Any, context: Any = None, **kwargs: Any) -> Any:
        recorders = _recorders()
        for child in self.iterchildren():
            seen: set[str] = set()
            recorders.append(seen)
            try:
                if isinstance(child, model.Names) and child.name is None:
                    text = child.render(item, names_context=self.getparent(), context=context, **kwargs)
                else:
                    text = child.render(item, context=context, **kwargs)
            except VariableError:
                continue
            finally:
                recorders.pop()
            if text:
                layout = (self if context is None else context).get_layout()
                layout.repressed.setdefault("*", set()).update(seen)
                return text
        return None

    model.Substitute.render = render


def _patch_labels() -> None:
    from citeproc import model

    original = model.Label.process

    def process(self: Any, item: Any, variable: Any = None, plural: Any = None, context: Any = None,
                **kwargs: Any) -> Any:
        if variable is None:  # a cs:label of its own (a cs:names label is given its role)
            name = self.get("variable")
            if name == "locator":
                if not item.has_locator:
                    return None
            elif name and not dict.get(item.reference, name.replace("-", "_")):
                return None
        return original(self, item, variable, plural, context, **kwargs)

    model.Label.process = process


# ---- text case ----------------------------------------------------------------------------------------------------

def _patch_text_case() -> None:
    from citeproc import model
    from citeproc.string import String

    def capitalize_first(self: Any) -> Any:
        text = str(self)
        for i, ch in enumerate(text):
            if ch.isalpha():
                return self.__class__(text[:i] + ch.upper() + text[i + 1:])
            if ch.isdigit():
                break
        return self

    String.capitalize_first = capitalize_first
    stop_words = frozenset(model.TextCased._stop_words)
    edge = "\"'“”‘’«»()[]{}¿¡"

    def case(self: Any, text: Any, language: str | None = None) -> Any:
        text_case = self.get("text-case")
        if text_case is None:
            return text
        if language is None:  # a term, label, date or number: the style's own language
            language = _style_language(self)
        if language != "en" and text_case == "title":
            return text
        if text_case == "lowercase":
            return text.lower()
        if text_case == "uppercase":
            return text.upper()
        if text_case == "capitalize-first":
            return text.capitalize_first()
        if text_case == "capitalize-all":
            return " ".join(word.capitalize_first() for word in text.words())
        if text_case == "title":
            words = list(text.words())
            output = []
            prev = ":"  # the first word is capitalised
            for i, word in enumerate(words):
                core = str(word).strip(edge)
                if word.islower() and (core not in stop_words or prev in (":", ".") or i == len(words) - 1):
                    word = word.capitalize_first()
                elif word.islower():
                    word = word.soft_lower()
                prev = str(word).rstrip(edge)[-1:] or prev
                output.append(word)
            return " ".join(output)
        if text_case == "sentence":
            output = []
            for i, word in enumerate(text.words()):
                if not text.isupper() and not word.isupper():
                    word = word.soft_lower()
                if i == 0:
                    word = word.capitalize_first()
                output.append(word)
            return " ".join(output)
        return text

    model.TextCased.case = case


def _style_language(element: Any) -> str:
    root = element.get_root()
    cache = cache_for(root)
    language = cache.get("language")
    if language is None:
        locales = getattr(root, "locales", None)
        if locales:  # the output locale: the first locale with a language
            tag = next((loc.get("{http://www.w3.org/XML/1998/namespace}lang") for loc in locales
                        if loc.get("{http://www.w3.org/XML/1998/namespace}lang")), None)
        else:
            tag = root.get("default-locale")
        language = cache["language"] = (tag or "en")[:2].lower()
    return language  # type: ignore[no-any-return]


# ---- ordinals -----------------------------------------------------------------------------------------------------

def _patch_ordinals() -> None:
    from citeproc import model

    def to_ordinal(number: int, context: Any) -> str:
        root = context.get_root()
        locales = root.locales if getattr(root, "locales", None) else [root]
        number = int(number)
        for locale in locales:
            terms = _ordinal_terms(locale)
            if terms:
                return str(number) + _ordinal_suffix(terms, number)
        return str(number)

    model.to_ordinal = to_ordinal


def _ordinal_terms(locale: Any) -> dict[str, tuple[str, str | None]]:
    cache = cache_for(locale.get_root())
    key = ("ordinals", locale)
    terms = cache.get(key)
    if terms is None:
        terms = {}
        holder = locale.find("cs:terms", locale.nsmap)
        if holder is not None:
            for term in holder.iterchildren():
                name = term.get("name") or ""
                if name == "ordinal" or re.fullmatch(r"ordinal-\d\d", name):
                    terms[name] = (str(term.single), term.get("match"))
        cache[key] = terms
    return terms  # type: ignore[no-any-return]


def _ordinal_suffix(terms: dict[str, tuple[str, str | None]], number: int) -> str:
    two, one = number % 100, number % 10
    found = terms.get(f"ordinal-{two:02d}") if two >= 10 else None
    if found and (found[1] in (None, "last-two-digits") or number == two):
        return found[0]
    found = terms.get(f"ordinal-{one:02d}")
    if found:
        match = found[1] or "last-digit"
        if match == "last-digit" or (match == "last-two-digits" and two == one) or number == one:
            return found[0]
    return terms.get("ordinal", ("", None))[0]


# ---- punctuation --------------------------------------------------------------------------------------------------

# citeproc-js's merging of two punctuation marks meeting at a seam, where the first one wins
_ABSORBED = frozenset({("!", "."), ("!", ":"), ("?", "."), ("?", ":"), (":", "."), (";", "."), (";", ":")})


def _patch_seams() -> None:
    from citeproc import model
    from citeproc import string as cs

    original = cs.normalize_seam

    def normalize_seam(left: Any, other: Any) -> Any:
        left_text, other_text = str(left), str(other)
        if left_text and other_text and (left_text[-1], other_text[0]) in _ABSORBED:
            return cs._strip_first_char(other)
        return original(left, other)

    cs.normalize_seam = normalize_seam
    model.normalize_seam = normalize_seam


# ---- names --------------------------------------------------------------------------------------------------------

_STATIC = {"name-as-sort-order": "all", "sort-separator": " ", "demote-non-dropping-particle": "never"}


def _patch_static_names() -> None:
    from citeproc import model

    original = model.Name.process

    def process(self: Any, item: Any, variable: Any, context: Any = None, sort_options: Any = None,
                **kwargs: Any) -> Any:
        language = dict.get(item.reference, "language")
        if language and str(language)[:2].lower() in ("zh", "ja"):
            sort_options = {**(sort_options or {}), **_STATIC}
        return original(self, item, variable, context=context, sort_options=sort_options, **kwargs)

    model.Name.process = process


def static_order_names(data: dict[str, Any]) -> dict[str, Any]:
    """In an item in Chinese or Japanese, a Latin-script name loses its suffix, as in citeproc-js (see
    `_patch_static_names`)."""
    language = str(data.get("language") or "")[:2].lower()
    if language not in ("zh", "ja"):
        return data
    for role, names in data.items():
        if isinstance(names, list) and names and isinstance(names[0], dict) and any("suffix" in n for n in names):
            data[role] = [{k: v for k, v in n.items() if k != "suffix"} for n in names]
    return data
