"""The one canonical citation item: a pydantic model shaped like CSL-JSON.

Python attribute names use `_` where CSL uses `-` (container_title ↔ container-title); `to_csl()` gives the
CSL-JSON dict with CSL's own names. Every export format and formatted reference is derived from this model."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from refman.vocabulary import PARTIAL_DATE_PATTERN

# Every type of CSL 1.0.2 (csl-data.json). A type outside it is imported as `document`, the original kept
# verbatim for CSL-JSON (see `verbatim`).
CSLType = Literal[
    "webpage", "post-weblog", "article-newspaper", "article-magazine", "article-journal", "paper-conference",
    "article", "report", "document", "software", "book", "chapter", "thesis", "dataset", "motion_picture",
    "bill", "broadcast", "classic", "collection", "entry", "entry-dictionary", "entry-encyclopedia", "event",
    "figure", "graphic", "hearing", "interview", "legal_case", "legislation", "manuscript", "map",
    "musical_score", "pamphlet", "patent", "performance", "periodical", "personal_communication", "post",
    "regulation", "review", "review-book", "song", "speech", "standard", "treaty",
]

# ISO 8601 / EDTF level 0 dates as refman stores them: a possibly partial date, a year may be negative (BCE,
# astronomical numbering: -0043 is 44 BC), and an interval is two such dates joined by "/".
_ONE_DATE = rf"-?{PARTIAL_DATE_PATTERN}"
_ISO_PARTIAL = re.compile(rf"^{_ONE_DATE}(?:/{_ONE_DATE})?$")


class CSLName(BaseModel):
    """A person (family/given, particles, suffix) or an organisation (literal)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    family: str | None = None
    given: str | None = None
    literal: str | None = None
    non_dropping_particle: str | None = Field(default=None, alias="non-dropping-particle")
    dropping_particle: str | None = Field(default=None, alias="dropping-particle")
    suffix: str | None = None

    def display(self) -> str:
        if self.literal:
            return self.literal
        parts = [self.given, self.dropping_particle, self.non_dropping_particle, self.family]
        text = " ".join(p for p in parts if p)
        return f"{text}, {self.suffix}" if self.suffix else text

    def to_csl(self) -> dict[str, str]:
        v = self.__dict__  # plain reads: exports call this for every name of 100,000 items
        out = {}
        for key, csl_key in _CSL_NAME_PARTS:
            value = v[key]
            if value is not None:
                out[csl_key] = value
        return out

    @classmethod
    def trusted(
        cls, family: str | None = None, given: str | None = None, literal: str | None = None,
        non_dropping_particle: str | None = None, dropping_particle: str | None = None, suffix: str | None = None,
    ) -> CSLName:
        """A name from already-clean strings, without validation (see _trusted)."""
        name: CSLName = _trusted(cls, {
            "family": family, "given": given, "literal": literal, "non_dropping_particle": non_dropping_particle,
            "dropping_particle": dropping_particle, "suffix": suffix,
        })
        return name


_CSL_NAME_PARTS = (
    ("family", "family"), ("given", "given"), ("literal", "literal"),
    ("non_dropping_particle", "non-dropping-particle"), ("dropping_particle", "dropping-particle"),
    ("suffix", "suffix"),
)
_setattr = object.__setattr__
_FIELDS_SETS: dict[type, set[str]] = {}


def _trusted(cls: type[BaseModel], values: dict[str, Any]) -> Any:
    """Build a model from values that are already clean and complete (every field present), skipping
    validation and model_construct's per-field default handling: exports build 100,000 items and this is
    ~5x faster. Only for plain models (no private attributes, no post-init, extra ignored)."""
    obj = cls.__new__(cls)
    _setattr(obj, "__dict__", values)
    # every field is set; one shared set per class (pydantic only ever adds names that are in it already)
    fields_set = _FIELDS_SETS.get(cls)
    if fields_set is None:
        fields_set = _FIELDS_SETS[cls] = set(cls.model_fields)
    _setattr(obj, "__pydantic_fields_set__", fields_set)
    _setattr(obj, "__pydantic_extra__", None)
    _setattr(obj, "__pydantic_private__", None)
    return obj


def iso_to_date_parts(value: str) -> list[int]:
    """'2024-06-24' → [2024, 6, 24]; '2024-06' → [2024, 6]; '2024' → [2024]; '-0043' → [-43]. For an
    interval, the start (see csl_date for both ends)."""
    return list(_date_parts(value.partition("/")[0]))


@lru_cache(maxsize=65536)  # dates repeat across a catalog
def _date_parts(value: str) -> tuple[int, ...]:
    if value.startswith("-"):
        parts = value[1:].split("-")
        return (-int(parts[0]), *(int(p) for p in parts[1:3] if p))
    return tuple(int(p) for p in value[:10].split("-") if p)


def csl_date(value: str) -> dict[str, Any]:
    """An ISO/EDTF date as stored → a CSL date object ({"date-parts": [[start], [end]]} for an interval)."""
    start, _, end = value.partition("/")
    parts = [list(_date_parts(start))]
    if end:
        parts.append(list(_date_parts(end)))
    return {"date-parts": parts}


def year_of(value: str | None) -> str | None:
    """The (first) year of a stored date as written in BibTeX: '2024-06' → '2024', '-0043' → '-43'."""
    if not value:
        return None
    year = _date_parts(value.partition("/")[0])[0]
    return str(year) if year < 1000 else f"{year:04d}"


def month_of(value: str | None) -> int | None:
    if not value or "/" in value:
        return None
    parts = _date_parts(value)
    return parts[1] if len(parts) > 1 else None


class CitationItem(BaseModel):
    """A source as a citation. Dates are ISO 8601 strings, possibly partial ('2017', '2024-06')."""

    model_config = ConfigDict(extra="ignore")

    id: str  # the citation key when one is assigned, else "source-<id>"
    type: CSLType = "webpage"
    title: str | None = None
    author: list[CSLName] = Field(default_factory=list)
    editor: list[CSLName] = Field(default_factory=list)
    container_title: str | None = None  # site, blog, journal or proceedings
    publisher: str | None = None
    issued: str | None = None
    accessed: str | None = None
    URL: str | None = None
    DOI: str | None = None
    language: str | None = None  # BCP 47
    abstract: str | None = None
    volume: str | None = None
    issue: str | None = None
    page: str | None = None
    genre: str | None = None
    note: str | None = None  # the user's own note on the source (CSL "annote": kept, not printed by styles)
    archive_id: str | None = None  # arXiv id, for preprints (CSL: "number" + "archive")
    keyword: list[str] = Field(default_factory=list)  # the source's tags (CSL: comma-separated "keyword")
    # Every other CSL variable, by its CSL name, as CSL-JSON holds it: strings and numbers (ISBN, ISSN,
    # edition, number, publisher-place, event-title, note, title-short, …), lists of CSL names (translator,
    # container-author, …) and CSL date objects (original-date, event-date, …). See refman.citation.fields.
    more: dict[str, Any] = Field(default_factory=dict)
    # What an imported file said that refman cannot map, kept to write it back in the same format:
    # {"bib": {"type": [original, as-mapped], "fields": [[name, raw value], …]},
    #  "csl": {variable: [original, as-mapped]}, "ris": {"type": TY, "fields": [[tag, value], …]},
    #  "keywords": [the file's keywords, the tags made of them]}; "as-mapped" is what refman would
    # write at import time: the original is written instead only while that is still so (an edit wins).
    verbatim: dict[str, Any] = Field(default_factory=dict)

    def keywords(self) -> list[str]:
        """The tags as keywords: an imported file's own keywords (with spaces) while the tags are still theirs."""
        pair = self.verbatim.get("keywords") if self.verbatim else None
        # tags are case-insensitive: a tag spelled as the catalog first saw it (`Sea-ice`) is still this file's
        if pair and {k.casefold() for k in self.keyword} == {k.casefold() for k in pair[1]}:
            return list(pair[0])
        return self.keyword
    # The Internet Archive's copy (refman.fetch.wayback.archived_copy): its replay URL and capture day.
    archive_url: str | None = None
    archive_date: str | None = None

    @field_validator("issued", "accessed")
    @classmethod
    def _iso_partial(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "T" in value:
            value = value[:10]
        if not _ISO_PARTIAL.match(value):
            raise ValueError(f"not an ISO 8601 (partial) date: {value!r}")
        return value

    @classmethod
    def trusted(cls, **values: Any) -> CitationItem:
        """An item from already-clean values, without validation (see _trusted); missing fields get defaults."""
        full = dict(_ITEM_DEFAULTS)
        full.update(values)
        full["author"] = list(full["author"])
        full["editor"] = list(full["editor"])
        full["keyword"] = list(full["keyword"])
        full["more"] = dict(full["more"])
        full["verbatim"] = dict(full["verbatim"])
        item: CitationItem = _trusted(cls, full)
        return item

    def to_csl(self) -> dict[str, Any]:
        """CSL-JSON, valid against the official csl-data.json schema. Keys in a fixed order: id, type, the
        text fields (empty ones left out), number/archive for preprints, keyword, author, editor, dates."""
        v = self.__dict__  # plain reads: exports call this 100,000 times
        out: dict[str, Any] = {"id": v["id"], "type": v["type"]}
        for key, csl_key in _CSL_TEXT:
            value = v[key]
            if value:
                out[csl_key] = value
        if v["archive_id"]:
            out["number"] = v["archive_id"]
            out["archive"] = "arXiv"
        elif v["archive_url"]:
            # CSL has no archive URL or date (csl-data.json: archive, archive_location, archive_collection,
            # archive-place): the archive's name and the memento URL, which names its capture time.
            out["archive"] = "Internet Archive"
            out["archive_location"] = v["archive_url"]
        if v["keyword"]:
            out["keyword"] = ", ".join(self.keywords() if v["verbatim"] else v["keyword"])
        if v["author"]:
            out["author"] = [n.to_csl() for n in v["author"]]
        if v["editor"]:
            out["editor"] = [n.to_csl() for n in v["editor"]]
        if v["issued"]:
            out["issued"] = csl_date(v["issued"])
        if v["accessed"]:
            out["accessed"] = csl_date(v["accessed"])
        more = v["more"]
        if more:
            for key, value in more.items():
                if key not in out and value not in (None, "", [], {}):
                    out[key] = value
        verbatim = v["verbatim"].get("csl") if v["verbatim"] else None
        if verbatim:
            for key, pair in verbatim.items():
                original, as_mapped = pair
                if out.get(key) == as_mapped:  # unchanged since the import: the file's own form
                    if original is None:
                        out.pop(key, None)
                    else:
                        out[key] = original
        return out


_CSL_TEXT = (
    ("title", "title"), ("container_title", "container-title"), ("publisher", "publisher"), ("URL", "URL"),
    ("DOI", "DOI"), ("language", "language"), ("abstract", "abstract"), ("volume", "volume"), ("issue", "issue"),
    ("page", "page"), ("genre", "genre"), ("note", "annote"),
)
_ITEM_DEFAULTS: dict[str, Any] = {
    name: ([] if field.default_factory is list else {} if field.default_factory is dict else field.default)
    for name, field in CitationItem.model_fields.items()
}
