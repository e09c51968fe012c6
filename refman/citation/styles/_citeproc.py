"""citeproc-py 0.11 patched towards CSL 1.0.2 as citeproc-js (the processor Zotero and Mendeley use) reads it.

Each patch replaces or wraps one method of citeproc-py's model, is general (no style, item or string is special-
cased) and is measured on tests/data/citeproc (120 items × the shipped styles, against citeproc-js's output):

- groups (`_patch_groups`): citeproc-js's rule for suppressing a cs:group, and macro calls as groups of their own.
  A group is printed when a variable the item has was called in it (even if it printed nothing, like a month of a
  date that has only a year), or when a term or value was printed and no variable was called in vain; a printed
  group counts as content for its parent. citeproc-py decided "called" from the style's text (any variable anywhere
  below, even in a cs:choose branch not taken), so GB/T's `[J]`, `[M]`, `[C]`… vanished, APA printed
  "(Publication)" for a thesis without a number and Chicago lost "Preprint" and "released"; it also re-walked every
  macro for every group (a third of its time).
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
- name suffixes (`_patch_static_names`): normalised as citeproc-js does with the style's initialize-with ("Jr."
  with initialize-with=" " is "Jr").
- names with `initialize="false"` keep whole given names; page ranges whose last page has more digits than the first
  are written in full (1–23, not 1–3).
- speed (`_patch_lookups`, `sort`): macros, terms, locale options, each element's layout and name options, and the
  tests of cs:if are looked up once per parsed style instead of by XPath on every use; an item's reference is
  looked up once; elements without font attributes skip the formatter; sort keys are rendered only when a
  comparison needs them. 1,000 APA references: 15 s → 6 s CPU.
"""

from __future__ import annotations

import contextlib
import re
import threading
from functools import cmp_to_key
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
    """Drop what was cached for a parsed style (and its locale files) that is no longer kept."""
    for locale in getattr(root, "locales", None) or ():
        _caches.pop(id(locale.get_root()), None)
    _caches.pop(id(root), None)
    for element in [e for e in _if_specs if e.getroottree().getroot() is root]:
        del _if_specs[element]


# cs:if elements (held: each stays the same Python object) → their tests, read once
_if_specs: dict[Any, Any] = {}


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

    # Locale terms and dates, a cs:names element's cs:substitute, whether a cs:date is a locale's: XPath searches
    # repeated for every reference.
    absent, missing = object(), object()

    def _memo(cls: Any, method: str) -> None:
        """Memoise `cls.method` per style (its root element): the value, or that there is none (IndexError)."""
        original = getattr(cls, method)

        def memo(self: Any, *args: Any, **kwargs: Any) -> Any:
            cache = cache_for(self.get_root())
            key = (method, self, args, tuple(kwargs.items())) if kwargs else (method, self, args)
            value = cache.get(key, absent)
            if value is absent:
                try:
                    value = original(self, *args, **kwargs)
                except IndexError:
                    value = missing
                cache[key] = value
            if value is missing:
                raise IndexError(args[0] if args else method)
            return value

        setattr(cls, method, memo)

    _memo(model.Locale, "get_term")
    _memo(model.Locale, "get_option")
    _memo(model.Names, "substitute")
    _memo(model.Date, "is_locale_date")

    # Formatting: five formatter lookups per rendered piece, though most elements set no font attribute.
    original_format = model.Formatted.format
    fonts = ("font-style", "font-variant", "font-weight", "text-decoration", "vertical-align")

    def format(self: Any, string: Any) -> Any:
        attrib = self.attrib
        if any(name in attrib for name in fonts):
            return original_format(self, string)
        return str(string) if isinstance(string, (int, float)) else string

    model.Formatted.format = format

    # cs:if / cs:else-if: the type and variable tests read from the element once, not on every evaluation.
    original_if = model.If.render
    own_tests = frozenset({"type", "variable", "match"})

    def if_render(self: Any, item: Any, context: Any = None, delimiter: str = "", **kwargs: Any) -> Any:
        spec: Any = _if_specs.get(self)
        if spec is None:
            attrib = self.attrib
            if any(name not in own_tests for name in attrib):  # is-numeric, position …: citeproc-py's own
                spec = False
            else:
                spec = (
                    tuple(t.lower() for t in attrib.get("type", "").split()),
                    tuple(v.replace("-", "_") for v in attrib.get("variable", "").split()),
                    attrib.get("match", "all"))
            _if_specs[self] = spec
        if spec is False:
            return original_if(self, item, context=context, delimiter=delimiter, **kwargs)
        types, variables, match = spec
        reference = item.reference
        item_type = dict.get(reference, "type")
        results = [typ == item_type for typ in types]
        for variable in variables:
            results.append("locator" in item if variable == "locator" else variable in reference)
        if match == "any":
            passed = any(results)
        elif match == "none":
            passed = not any(results)
        else:
            passed = all(results)
        if not passed:
            raise model.ConditionFailed
        return self.render_children(item, context=context, delimiter=delimiter, **kwargs)

    model.If.render = if_render
    model.Else_If.render = if_render

    # cs:sort: citeproc-py rendered every key of every item before sorting (APA and Chicago have ten keys, most
    # of them macros), though the first key or two decide nearly every comparison. Keys are now rendered when a
    # comparison needs them, and compared as citeproc-py compares them.
    def sort(self: Any, items: list[Any], context: Any) -> list[Any]:
        keys = self.findall("cs:key", self.nsmap)
        descending = [key.get("sort", "ascending").lower() == "descending" for key in keys]
        memo: dict[tuple[int, int], Any] = {}

        def key_of(i: int, k: int) -> Any:
            value = memo.get((i, k), absent)
            if value is absent:
                value = memo[(i, k)] = keys[k].sort_keys([items[i]], context)[0]
            return value

        def compare(i: int, j: int) -> int:
            for k, desc in enumerate(descending):
                left, right = key_of(i, k), key_of(j, k)
                if left is not None and right is not None:
                    with contextlib.suppress(AttributeError):
                        left, right = str(left.lower()), str(right.lower())
                    with contextlib.suppress(ValueError):
                        left, right = int(str(left)), int(str(right))
                    result: int = (left > right) - (left < right)
                    if result:
                        return -result if desc else result
                elif left is not None:
                    return -1
                elif right is not None:
                    return 1
            return 0

        order = sorted(range(len(items)), key=cmp_to_key(compare))
        return [items[i] for i in order]

    model.Sort.sort = sort

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
        return original(self, first, last) or last

    cls._format_last_page = format_last_page


# ---- groups and substitution --------------------------------------------------------------------------------------

def _suppressed(element: Any, context: Any) -> set[str] | None:
    layout = (element if context is None else context).get_layout()
    return layout.repressed.get("*")  # type: ignore[no-any-return]


# A frame per cs:group or macro call being rendered, as citeproc-js keeps them: [a term or value was rendered, a
# variable was called that the item does not have, a variable the item has was called (or a nested group rendered)]
TERM, ATTEMPT, SUCCESS = 0, 1, 2


def _note(flag: int) -> None:
    frames = _frames()
    if frames:
        frames[-1][flag] = True


def _has(item: Any, variable: str) -> bool:
    """Does the item have this variable (citeproc-js: a non-empty string or number, a date with a part)?"""
    if variable == "locator":
        return bool(item.has_locator)
    if variable == "citation-number":
        return True
    if variable == "page-first":
        variable = "page"
    value = dict.get(item.reference, variable.replace("-", "_"))
    if value is None:
        return False
    if isinstance(value, dict):  # a date (or range): any of its parts, or a literal date's text
        return any(dict.get(value, k) for k in ("year", "month", "day", "season", "text", "begin"))
    return str(value) != ""


def _open() -> list[bool]:
    frame = [False, False, False]
    _frames().append(frame)
    return frame


def _close(frame: list[bool]) -> bool:
    """Pop a group's frame: is the group rendered (citeproc-js: a variable the item has was called, or a term was
    rendered and no variable was called in vain)? The parent learns of it."""
    frames = _frames()
    frames.pop()
    parent = frames[-1] if frames else None
    rendered = frame[SUCCESS] or (frame[TERM] and not frame[ATTEMPT])
    if parent is not None:
        if rendered:
            parent[SUCCESS] = True
        else:
            parent[ATTEMPT] = frame[ATTEMPT]  # sic: citeproc-js overwrites it
    return rendered


def _leaf(cls: Any) -> None:
    """Wrap the rendering of a variable-calling element (cs:text variable, cs:date, cs:number) to record it."""

    original = cls.render
    generated = frozenset(getattr(cls, "generated_variables", ()))  # year-suffix: not a variable the item has

    def render(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        variable = self.get("variable")
        if variable is None or variable in generated:
            return original(self, item, *args, **kwargs)
        suppressed = _suppressed(self, kwargs.get("context"))
        if suppressed and variable in suppressed:
            _note(ATTEMPT)
            return None
        has = _has(item, variable)
        _note(SUCCESS if has else ATTEMPT)
        text = original(self, item, *args, **kwargs)
        if text and _recorders():
            for seen in _recorders():
                seen.add(variable)
        return text

    cls.render = render


def _patch_groups() -> None:
    from citeproc import model
    from citeproc.source import VariableError

    for cls in (model.Date, model.Number, model.Text):
        _leaf(cls)
    text_variable_render = model.Text.render

    def render_text(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        attrib = self.attrib
        if "macro" in attrib:  # a macro call is a group of its own (citeproc-js)
            frame = _open()
            try:
                text = text_variable_render(self, item, *args, **kwargs)
            except BaseException:
                _close(frame)
                raise
            return text if _close(frame) else None
        text = text_variable_render(self, item, *args, **kwargs)
        if text and ("term" in attrib or "value" in attrib):
            _note(TERM)
        return text

    model.Text.render = render_text

    label_render = model.Label.render

    def render_label(self: Any, *args: Any, **kwargs: Any) -> Any:
        text = label_render(self, *args, **kwargs)
        if text:
            _note(TERM)
        return text

    model.Label.render = render_label

    names_render = model.Names.render

    def render_names(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        variables = self.get("variable", "").split()
        suppressed = _suppressed(self, kwargs.get("context"))
        left = [v for v in variables if v not in suppressed] if suppressed else variables
        _note(ATTEMPT)
        if not left:
            return None
        if len(left) != len(variables):
            self.set("variable", " ".join(left))
        try:
            text = names_render(self, item, *args, **kwargs)
        finally:
            if len(left) != len(variables):
                self.set("variable", " ".join(variables))
        if text:
            _note(SUCCESS)
            present = [v for v in left if dict.get(item.reference, v.replace("-", "_"))]
            for seen in _recorders():
                seen.update(present)
        return text

    model.Names.render = render_names

    def process(self: Any, item: Any, context: Any = None, **kwargs: Any) -> Any:
        frame = _open()
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
        except BaseException:
            _close(frame)
            raise
        if _close(frame) and output:
            return self.join(output)
        return None

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
    return language


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
    return terms


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
    """Names in Chinese/Japanese items (module docstring), and suffixes as citeproc-js writes them."""
    from citeproc import model
    from citeproc.source import Name as SourceName

    original = model.Name.process

    def process(self: Any, item: Any, variable: Any, context: Any = None, sort_options: Any = None,
                **kwargs: Any) -> Any:
        reference = item.reference
        language = dict.get(reference, "language")
        if language and str(language)[:2].lower() in ("zh", "ja"):
            sort_options = {**(sort_options or {}), **_STATIC}
        names = dict.get(reference, variable)
        terminator = self.get_option("initialize-with", context, sort_options)
        if terminator is None or not names or not any(dict.get(n, "suffix") for n in names):
            return original(self, item, variable, context=context, sort_options=sort_options, **kwargs)
        # citeproc-js normalises a suffix as it initialises given names: "Jr." with initialize-with=" " is "Jr"
        normalised = [SourceName(**{**n, "suffix": normalize_suffix(n["suffix"], terminator)})
                      if dict.get(n, "suffix") else n for n in names]
        dict.__setitem__(reference, variable, normalised)
        try:
            return original(self, item, variable, context=context, sort_options=sort_options, **kwargs)
        finally:
            dict.__setitem__(reference, variable, names)

    model.Name.process = process


def normalize_suffix(suffix: str, terminator: str) -> str:
    """A name suffix as citeproc-js's doNormalize leaves it: an abbreviation (a word ending in a period, or one
    capital) ends with the style's initialize-with string instead of its period."""
    words = suffix.split()
    abbreviations = []
    for i, word in enumerate(words):
        if len(word) > 1 and word.endswith("."):
            head, _, tail = word.rpartition(".")
            words[i] = head + tail
            abbreviations.append(True)
        else:
            abbreviations.append(len(word) == 1 and word.isupper())
    out = []
    for i, word in enumerate(words):
        if not abbreviations[i]:
            out.append(word + (" " if i < len(words) - 1 else ""))
        elif i < len(words) - 1:
            out.append(word + terminator + ("" if abbreviations[i + 1] else " "))
        else:
            out.append(word + terminator)
    return re.sub(r"\s+", " ", "".join(out)).rstrip()


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
