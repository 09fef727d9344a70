"""Slugs: Hexo's ``slugize`` in Python, and safe URL and file path segments.

Hexo (hexo-util ``slugize``) folds Latin diacritics to ASCII, drops C0 controls, turns
every run of white space and ASCII punctuation into ``-``, collapses and trims dashes, and
keeps everything else, CJK included, in its case. ``Aljazeera 半岛网`` -> ``Aljazeera-半岛网``.

A slug made here is always a safe single path segment: never empty, never ``.`` or ``..``,
never containing ``/``, ``\\`` or NUL, and slugging a slug gives it back (idempotent).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import quote

#: Characters Hexo replaces (with white space) by the separator.
_SPECIAL = re.compile(r"""[\s~`!@#$%^&*()\-_+=\[\]{}|\\;:"'<>,.?/]+""")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Letters without a decomposition that Hexo's escapeDiacritic still folds.
_FOLD = {
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "ø": "o",
    "Ø": "O",
    "œ": "oe",
    "Œ": "OE",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "TH",
    "ł": "l",
    "Ł": "L",
}
#: Longest slug segment kept whole, in UTF-8 bytes (file systems allow 255 per name).
MAX_SEGMENT_BYTES = 120


def _fold_diacritics(text: str) -> str:
    out = []
    for ch in text:
        if ch in _FOLD:
            out.append(_FOLD[ch])
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        if (
            len(decomposed) > 1
            and decomposed[0].isascii()
            and all(unicodedata.combining(c) for c in decomposed[1:])
        ):
            out.append(decomposed[0])
        else:
            out.append(ch)
    return "".join(out)


def _fallback(name: str) -> str:
    return "c-" + hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _hexo(text: str) -> str:
    """One pass of Hexo's slugize (made safe); "" when nothing is left."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", _fold_diacritics(text))
    # Characters that are unsafe in any path or URL segment beyond Hexo's set.
    text = "".join(
        " " if unicodedata.category(c) in ("Zl", "Zp", "Cs", "Co", "Cn") else c for c in text
    )
    slug = _SPECIAL.sub("-", text).strip("-")
    return re.sub("-{2,}", "-", slug)


def _stable(text: str) -> str:
    """Hexo's slug, repeated until slugging it again changes nothing.

    One pass is not always enough: folding ``é`` to ``e`` or dropping a control character
    can leave a combining mark after a new base letter (``é\\u0301`` -> ``e\\u0301``), which
    the next pass composes and folds again. Feed paths must not change when slugged again.
    """
    slug = _hexo(text)
    for _ in range(8):
        again = _hexo(slug)
        if again == slug:
            break
        slug = again
    return slug


def has_slug(name: str) -> bool:
    """False when ``name`` keeps nothing in a slug (``"..."``, ``"?!"``), so that
    :func:`slugize` falls back to a hash of it."""
    return bool(_stable(name))


def slugize(name: str) -> str:
    """Hexo's slug of ``name``, made safe: see the module doc.

    A name that slugs to nothing (``"..."``, ``"  "``) gets ``c-`` plus a short hash of
    the name, so it still has a stable, distinct feed. A very long slug is cut and given
    a hash suffix so it stays a legal file name.
    """
    slug = _stable(name)
    if not slug:
        return _fallback(name)
    if len(slug.encode("utf-8")) > MAX_SEGMENT_BYTES:
        cut = slug.encode("utf-8")[: MAX_SEGMENT_BYTES - 10].decode("utf-8", "ignore")
        digest = hashlib.sha1(slug.encode("utf-8")).hexdigest()[:8]
        slug = (_stable(cut.rstrip("-")) or "c") + "-" + digest
    return slug


def url_path(segments: tuple[str, ...] | list[str]) -> str:
    """Percent-encode slug segments into a URL path (UTF-8, as browsers and Hexo do)."""
    return "/".join(quote(s, safe="") for s in segments)
