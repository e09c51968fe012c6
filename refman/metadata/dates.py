"""Dates as written on pages → ISO 8601, partial when the page is partial ("2024", "2024-06", "2024-06-24").

The local calendar day is kept: a timestamp "2019-03-05T00:30+09:00" is 5 March, the day the page says."""

from __future__ import annotations

import re
from datetime import date

_MONTHS = {
    # en
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
    # de
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "mai": 5, "juni": 6, "juli": 7,
    "oktober": 10, "dezember": 12, "okt": 10, "dez": 12,
    # fr
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "juin": 6, "juillet": 7, "août": 8,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12, "decembre": 12,
    # es / pt / it
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "janeiro": 1, "fevereiro": 2, "março": 3, "maio": 5, "junho": 6, "julho": 7, "setembro": 9,
    "outubro": 10, "novembro": 11, "dezembro": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "settembre": 9,
    "ottobre": 10, "dicembre": 12,
}
MONTH_WORDS = frozenset(_MONTHS)

_ISO = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T\s]\d{1,2}:\d{2}|[T\s]?$|Z|[+-]\d)", re.ASCII)
_ISO_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})(?:T?\d{4,6})?(?:Z|[+-]\d{2}:?\d{2})?\s*$")
_YMD = re.compile(r"\b(\d{4})[/.\-年](\d{1,2})[/.\-月](\d{1,2})日?")
_DMY = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")
_YM_CJK = re.compile(r"(\d{4})年(\d{1,2})月")
_WORD = r"([^\W\d_]{3,10})\.?"
_D_MONTH_Y = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th|er|\.|º)?\s+(?:de\s+)?" + _WORD + r",?\s+(?:de\s+)?(\d{4})\b")
_MONTH_D_Y = re.compile(r"\b" + _WORD + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_MONTH_Y = re.compile(r"\b" + _WORD + r",?\s+(\d{4})\b")
_YEAR = re.compile(r"^\s*(\d{4})\s*$")
_YM = re.compile(r"^\s*(\d{4})[/.\-](\d{1,2})\s*$")
_EPOCH = re.compile(r"^\s*(\d{10})(\d{3})?\s*$")


def _valid(y: int, m: int | None = None, d: int | None = None) -> bool:
    if not 1800 <= y <= 2100:
        return False
    if m is None:
        return True
    if not 1 <= m <= 12:
        return False
    if d is None:
        return True
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


def _iso(y: int, m: int | None = None, d: int | None = None) -> str | None:
    if not _valid(y, m, d):
        return None
    if m is None:
        return f"{y:04d}"
    if d is None:
        return f"{y:04d}-{m:02d}"
    return f"{y:04d}-{m:02d}-{d:02d}"


def parse_date(value: object) -> str | None:
    """An ISO 8601 (possibly partial) date from a date string as pages write it; None when there is none.
    Never raises."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or len(text) > 200:
        return None
    try:
        return _parse(text)
    except (ValueError, OverflowError):
        return None


def _parse(text: str) -> str | None:
    match = _ISO.match(text)
    if match:
        y, m, d = match.groups()
        return _iso(int(y), int(m) if m else None, int(d) if d else None)
    match = _YM.match(text)
    if match:
        return _iso(int(match.group(1)), int(match.group(2)))
    match = _ISO_COMPACT.match(text)
    if match:
        return _iso(*(int(g) for g in match.groups()))
    match = _EPOCH.match(text)
    if match:
        from datetime import UTC, datetime

        return datetime.fromtimestamp(int(match.group(1)), tz=UTC).date().isoformat()
    match = _YMD.search(text)
    if match:
        return _iso(*(int(g) for g in match.groups()))
    low = text.lower()
    match = _D_MONTH_Y.search(low)
    if match and match.group(2) in _MONTHS:
        return _iso(int(match.group(3)), _MONTHS[match.group(2)], int(match.group(1)))
    match = _MONTH_D_Y.search(low)
    if match and match.group(1) in _MONTHS:
        return _iso(int(match.group(3)), _MONTHS[match.group(1)], int(match.group(2)))
    match = _DMY.search(text)
    if match:
        d, m, y = (int(g) for g in match.groups())
        if m > 12 and d <= 12:  # US order "06/24/2024"
            d, m = m, d
        return _iso(y, m, d)
    match = _YM_CJK.search(text)
    if match:
        return _iso(int(match.group(1)), int(match.group(2)))
    match = _MONTH_Y.search(low)
    if match and match.group(1) in _MONTHS:
        return _iso(int(match.group(2)), _MONTHS[match.group(1)])
    match = _YEAR.match(text)
    if match:
        return _iso(int(match.group(1)))
    return None


_MONTH_NAMES: dict[int, list[str]] = {}
for _name, _number in _MONTHS.items():
    _MONTH_NAMES.setdefault(_number, []).append(_name)


def supported_precision(day: str | None, text: str) -> str | None:
    """`day` cut to the precision `text` (the page's own words) supports: the full day when the text writes it
    (`2021-06-15`, `15 June 2021`, `June 15, 2021`, `6/15/2021`, `2021年6月15日`, …), else the month when the
    text writes the year and month, else the year. Guessing libraries fill a missing day or month (from a
    placeholder or the clock); this keeps a page that says "June 2021" at `2021-06` whatever the fetch day."""
    if not day or len(day) < 7:
        return day
    y, m = int(day[:4]), int(day[5:7])
    low = text.lower()
    months = "|".join(re.escape(n) for n in sorted(_MONTH_NAMES.get(m, []), key=len, reverse=True))
    if len(day) == 10:
        d = int(day[8:10])
        sep = r"\s*[-/.|]\s*"  # 2021-06-15, 15.06.2021, 6/15/2021, "26 | 01 | 2022"
        numeric = (rf"{y}\s*[-/.|年]\s*0?{m}\s*[-/.|月]\s*0?{d}(?!\d)", rf"(?<!\d)0?{m}{sep}0?{d}{sep}{y}",
                   rf"(?<!\d)0?{d}{sep}0?{m}{sep}{y}", rf"{y}{m:02d}{d:02d}(?!\d)")
        named = (rf"(?<!\d)0?{d}(?:st|nd|rd|th|er|\.|º)?\s+(?:de\s+)?(?:{months})\.?,?\s+(?:de\s+)?{y}",
                 rf"\b(?:{months})\.?\s+0?{d}(?:st|nd|rd|th)?,?\s+{y}")
        if any(re.search(p, low) for p in numeric) or (months and any(re.search(p, low) for p in named)):
            return day
    if re.search(rf"{y}\s*[-/.年]\s*0?{m}(?!\d)|(?<!\d)0?{m}[/.\-]{y}", low) or (
            months and re.search(rf"\b(?:{months})\.?,?\s+{y}", low)):
        return day[:7]
    return day[:4]
