"""Language tags normalised to BCP 47 ("en_US" → "en-US", "zh-cn" → "zh-CN", "eng" → "en")."""

from __future__ import annotations

import re

# ISO 639-2/B and /T codes pages use for the common languages; BCP 47 wants the two-letter code when one exists.
_THREE_TO_TWO = {
    "eng": "en", "deu": "de", "ger": "de", "fra": "fr", "fre": "fr", "spa": "es", "ita": "it", "por": "pt",
    "rus": "ru", "zho": "zh", "chi": "zh", "jpn": "ja", "kor": "ko", "nld": "nl", "dut": "nl", "pol": "pl",
    "ces": "cs", "cze": "cs", "swe": "sv", "fin": "fi", "hun": "hu", "ara": "ar", "tur": "tr", "ukr": "uk",
    "ben": "bn", "hin": "hi", "ell": "el", "gre": "el", "dan": "da", "nor": "no", "heb": "he", "lat": "la",
}
# Language names some pages (and DC metadata) write instead of codes.
_NAMES = {
    "english": "en", "german": "de", "deutsch": "de", "french": "fr", "français": "fr", "francais": "fr",
    "spanish": "es", "español": "es", "italian": "it", "portuguese": "pt", "russian": "ru", "chinese": "zh",
    "japanese": "ja", "korean": "ko", "dutch": "nl", "polish": "pl", "czech": "cs",
}
_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$")


def normalize_language(value: str | None) -> str | None:
    """A BCP 47 tag for `value`, or None when it is not a language tag (e.g. "x-default", empty, junk)."""
    if not value:
        return None
    text = value.strip().replace("_", "-").lower()
    text = text.split(",")[0].split(";")[0].strip()  # "en-US,en;q=0.9" in Content-Language
    if text in _NAMES:
        return _NAMES[text]
    if not _TAG.match(text) or text.startswith(("x-", "i-")):
        return None
    parts = text.split("-")
    primary = _THREE_TO_TWO.get(parts[0], parts[0])
    if primary in {"und", "mul", "zxx"}:
        return None
    out = [primary]
    for part in parts[1:]:
        if len(part) == 2 and part.isalpha():
            out.append(part.upper())  # region
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())  # script: zh-Hant
        else:
            out.append(part)
    return "-".join(out)
