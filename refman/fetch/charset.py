"""Bytes → text for fetched pages: BOM, HTTP charset, `<meta charset>`, then detection; never raises.

Order, and the decisions taken where browsers and correctness part ways:

1. A byte-order mark (UTF-8, UTF-16 LE/BE) wins over everything, as in browsers.
2. The HTTP `charset` wins *if the bytes fit it*, as the HTML spec says. They do not fit when:
   * it says UTF-8 and the bytes are not UTF-8. A page that is mostly valid UTF-8 with a few stray bytes (a
     cp1252 fragment pasted into a UTF-8 template) stays UTF-8 with U+FFFD for the strays; otherwise the
     declaration is ignored and we go on (typically "declared UTF-8, really cp1252", or GBK behind a wrong
     header);
   * it names a single-byte legacy charset (ISO-8859-1 is the usual server default) but the body is valid
     UTF-8 containing non-ASCII characters: real cp1252 text is practically never valid UTF-8, while UTF-8
     pages behind a Latin-1 server default are common, so we trust the bytes (browsers would show mojibake);
   * it names a multi-byte charset (GBK, Shift_JIS, …) and more than 1 % of the decoded text is U+FFFD, or
     the body is valid UTF-8 with at least 8 non-ASCII characters (same reasoning as above).
3. `<meta charset>` / `<meta http-equiv=Content-Type content="…; charset=…">` in the first 4 KB (HTML only),
   checked the same way; an XML declaration's encoding likewise when there is no meta.
4. Undeclared (or nothing fits): valid UTF-8 → UTF-8; else charset-normalizer's guess; else cp1252 when the
   bytes are not mostly UTF-8. A declared-UTF-8 page whose guess is not a CJK multi-byte charset becomes cp1252.
   When the detector's candidates nearly tie (short text), gb18030 and then cp1252 are preferred: the notes
   this archives are mostly Chinese and English, and those are also what browsers in those locales assume.

Labels are read as the WHATWG Encoding Standard does: gb2312/gbk → gb18030, iso-8859-1/latin1/ascii →
windows-1252, shift_jis → windows-31j (cp932), euc-kr → cp949, big5 → big5-hkscs, a meta "utf-16" → UTF-8.
Single-byte decoding maps undefined bytes (0x81, 0x8D, … in cp1252) to the same-numbered control characters,
as browsers do, instead of failing. The returned charset is Python's codec name ("utf-8", "cp1252",
"gb18030", "cp932", …).
"""

from __future__ import annotations

import codecs
import functools
import re

__all__ = ["decode_html", "decode_text", "normalize_charset"]

_WHATWG = {
    "utf-8": "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8",
    "cp1252": (
        "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 iso88591 "
        "iso_8859-1 iso_8859-1:1987 l1 latin1 latin-1 us-ascii windows-1252 x-cp1252"
    ),
    "gb18030": "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk gb18030 "
    "cp936 ms936 euc-cn",
    "big5hkscs": "big5 big5-hkscs cn-big5 csbig5 x-x-big5",
    "cp932": "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis",
    "euc_jp": "cseucpkdfmtjapanese euc-jp x-euc-jp",
    "iso2022_jp": "csiso2022jp iso-2022-jp",
    "cp949": "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 ksc_5601 "
    "windows-949",
    "cp1254": "iso-8859-9 latin5 l5 iso8859-9 iso88599 iso_8859-9 iso_8859-9:1989 windows-1254 cp1254 "
    "csisolatin5 iso-ir-148 x-cp1254",
    "cp874": "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874",
    "utf-16-le": "utf-16 utf-16le csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff",
    "utf-16-be": "utf-16be unicodefffe",
}
_LABELS = {label: codec for codec, labels in _WHATWG.items() for label in labels.split()}
_REFUSED = {"utf-7", "utf_7", "u7", "unicode-1-1-utf-7", "csunicode11utf7"}  # not a web encoding

_CJK = {"gb18030", "big5hkscs", "cp932", "euc_jp", "iso2022_jp", "cp949", "johab", "euc_kr", "big5", "hz"}

_META = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:+-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_PRESCAN = 4096
_DETECT_BYTES = 256 * 1024  # enough for a confident guess; detection cost grows with size


def _control_fallback(err: UnicodeError) -> tuple[str, int]:
    """Undefined single-byte codes → the control character with the same number (WHATWG's windows-1252)."""
    assert isinstance(err, UnicodeDecodeError)
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("refman-c1", _control_fallback)


def normalize_charset(label: str | None) -> str | None:
    """A declared charset label → Python codec name following WHATWG label rules; None if unknown/unusable."""
    if not label:
        return None
    key = label.strip().strip("\"'").strip().lower()
    if not key or key in _REFUSED:
        return None
    codec = _LABELS.get(key)
    if codec is None:
        try:
            info = codecs.lookup(key)
        except (LookupError, ValueError):
            return None
        if not getattr(info, "_is_text_encoding", True):  # base64, zlib, rot13 … are not charsets
            return None
        codec = info.name
        if codec in ("utf-7",):
            return None
        codec = _LABELS.get(codec.replace("_", "-"), codec)
    return codecs.lookup(codec).name


@functools.cache
def _single_byte(codec: str) -> bool:
    return len(bytes(range(256)).decode(codec, "refman-c1")) == 256


def decode_html(body: bytes, header_charset: str | None) -> tuple[str, str]:
    """Decode an HTML body; returns (text, charset used). Never raises."""
    try:
        return _decode(body, header_charset, html=True)
    except Exception:  # a codec bug or odd input must not lose the page
        return body.decode("utf-8", errors="replace"), "utf-8"


def decode_text(body: bytes, header_charset: str | None) -> tuple[str, str]:
    """Decode a text/plain (or other non-HTML text) body: BOM, header, then detection. Never raises."""
    try:
        return _decode(body, header_charset, html=False)
    except Exception:
        return body.decode("utf-8", errors="replace"), "utf-8"


def _decode(body: bytes, header_charset: str | None, *, html: bool) -> tuple[str, str]:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, errors="replace"), codec
    declared = normalize_charset(header_charset)
    if not body:
        return "", declared or "utf-8"
    tried: set[str] = set()
    if declared:
        tried.add(declared)
        fit = _fit(body, declared)
        if fit is not None:
            return fit
    if html:
        meta = _meta_charset(body)
        if meta and meta not in tried:
            tried.add(meta)
            fit = _fit(body, meta)
            if fit is not None:
                return fit
    return _undeclared(body, utf8_declared="utf-8" in tried)


def _meta_charset(body: bytes) -> str | None:
    head = body[:_PRESCAN]
    m = _META.search(head)
    if m:
        codec = normalize_charset(m.group(1).decode("ascii", "replace"))
        # The prescan found ASCII bytes, so a UTF-16 declaration cannot be right: WHATWG reads it as UTF-8.
        return "utf-8" if codec and codec.startswith("utf-16") else codec
    m = _XML_DECL.search(head)
    if m:
        codec = normalize_charset(m.group(1).decode("ascii", "replace"))
        return "utf-8" if codec and codec.startswith("utf-16") else codec
    return None


def _utf8_profile(body: bytes) -> tuple[bool, int, int]:
    """(strictly valid UTF-8, non-ASCII characters decoded, invalid sequences)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", errors="replace")
        literal = body.count(b"\xef\xbf\xbd")  # U+FFFD that were really in the page
        bad = text.count("\ufffd") - literal
        good = sum(1 for c in text if c > "\x7f") - bad
        return False, good, bad
    return True, sum(1 for c in text if c > "\x7f"), 0


def _mostly_utf8(good: int, bad: int) -> bool:
    return good > 0 and good >= 4 * bad


def _fit(body: bytes, codec: str) -> tuple[str, str] | None:
    """Decode under a declared charset if the bytes fit it (see module docstring), else None."""
    if codec == "utf-8":
        valid, good, bad = _utf8_profile(body)
        if valid or _mostly_utf8(good, bad):
            return body.decode("utf-8", errors="replace"), "utf-8"
        return None
    if codec.startswith("utf-16"):
        return body.decode(codec, errors="replace"), codec
    if _single_byte(codec):
        valid, good, _ = _utf8_profile(body)
        if valid and good:
            return body.decode("utf-8"), "utf-8"
        return body.decode(codec, errors="refman-c1"), codec
    valid, good, _ = _utf8_profile(body)
    if valid and good >= 8:  # real GBK/Shift_JIS text is essentially never valid UTF-8 at this length
        return body.decode("utf-8"), "utf-8"
    try:
        return body.decode(codec), codec
    except UnicodeDecodeError:
        text = body.decode(codec, errors="replace")
        if text.count("\ufffd") - body.count(b"\xef\xbf\xbd") <= len(text) // 100:
            return text, codec
        return None


def _undeclared(body: bytes, *, utf8_declared: bool) -> tuple[str, str]:
    valid, good, bad = _utf8_profile(body)
    if valid:
        return body.decode("utf-8"), "utf-8"
    guess = _detect(body)
    if guess and (guess in _CJK or not utf8_declared):
        return body.decode(guess, errors="refman-c1" if _single_byte(guess) else "replace"), guess
    if _mostly_utf8(good, bad) and not utf8_declared:
        return body.decode("utf-8", errors="replace"), "utf-8"
    return body.decode("cp1252", errors="refman-c1"), "cp1252"


def _detect(body: bytes) -> str | None:
    from charset_normalizer import from_bytes  # imported only when a page needs it

    sample = body[:_DETECT_BYTES]
    blind_cut = len(body) > _DETECT_BYTES
    if blind_cut:
        # A sample cut inside a multi-byte character fails every CJK decoder; "<", "\n" and " " are never
        # part of a multi-byte sequence in GBK/GB18030, Big5, Shift_JIS or EUC-*, so cut just before one.
        for delim in (b"<", b"\n", b" "):
            cut = sample.rfind(delim, _DETECT_BYTES // 2)
            if cut > 0:
                sample, blind_cut = sample[:cut], False
                break
    matches = list(from_bytes(sample))
    if not matches and blind_cut:  # no safe cut point: drop a partial character from the end
        for trim in (1, 2, 3):
            matches = list(from_bytes(sample[:-trim]))
            if matches:
                break
    if not matches:
        return None
    best = matches[0]
    # Near-ties are common on short text (a few CJK characters decode as GBK, EUC-KR and EUC-JP alike;
    # Latin text as cp1252, cp1257, cp1250): prefer what this archive's readers mostly meet.
    for preferred, tolerance in _PREFERRED:
        for m in matches:
            if (
                normalize_charset(m.encoding) == preferred
                and m.chaos <= best.chaos + tolerance
                and m.coherence >= best.coherence - _TIE_COHERENCE
            ):
                return preferred
    codec = normalize_charset(best.encoding)
    if codec is None or codec == "utf-8":  # UTF-8 was ruled out by the caller
        return None
    return codec


# (codec, how much more "chaos" it may show than the best guess and still win). CJK candidates must tie
# exactly (EUC-JP text decodes as GB18030 with a little more chaos); Latin ones differ in a few letters only.
_PREFERRED = (("gb18030", 0.005), ("cp1252", 0.1))
_TIE_COHERENCE = 0.1
