"""Words of scripts written without spaces: Chinese, Japanese, Korean, Thai, Lao.

A Chinese or Japanese sentence has no spaces, so splitting at what is not a letter
leaves one "word" per sentence, and no search for a word inside it can match.  Such
text is indexed as overlapping pairs of characters (bigrams), the usual choice of
search engines without a dictionary (Lucene's CJK bigrams): a run of characters of
these scripts ``c1 c2 … cn`` becomes the n tokens

    c1c2  c2c3  …  c(n-1)cn  cn

one starting at each character, at consecutive positions.  A word searched for is
cut the same way, without the last lone character: ``東京都`` is the phrase
``東京 京都``, which every text containing 東京都 has, inside a longer run or not.
A single character is searched as a prefix (``京`` is ``京*``): every character of
a text begins a token.  Korean has spaces between words but particles stick to them
(``서울에서``, in Seoul), and is cut the same way; so are Thai and Lao, which have
no spaces and whose vowel and tone marks are left out first (SQLite's FTS5 drops them anyway,
as Latin diacritics are dropped).  A dictionary segmenter (pythainlp for Thai, jieba
or MeCab for the others) would give real words, but must cut a query exactly as it
cut the text around it, which a word out of context does not promise; bigrams do.

Text without such characters (all Latin, Cyrillic, Greek, …) is not touched, and
costs one scan for a character of these scripts when it is not plain ASCII.
"""

from __future__ import annotations

import re
import unicodedata

# Blocks whose letters are cut into pairs (the letters of each: see _RUN).
_CJK_BLOCKS = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3031, 0x3035),  # kana repeat marks
    (0x303B, 0x303C),
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0xFFA0, 0xFFDC),  # half-width Hangul
    (0x1B000, 0x1B16F),  # Kana supplement and extensions
    (0x20000, 0x323AF),  # CJK extensions B to H
)
# Thai, and Lao beside it, written the same way: no spaces, vowel and tone marks
# above and below the letters.
_THAI = (0x0E01, 0x0EDF)


def _class(blocks: tuple[tuple[int, int], ...]) -> str:
    return "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in blocks)


_LETTERS = _class((*_CJK_BLOCKS, _THAI))
# Thai's and Lao's vowel and tone marks (combining, so not letters for ``\w``):
# inside a run they are dropped, not taken as a word break.
_THAI_MARKS = "".join(
    chr(c)
    for c in range(_THAI[0], _THAI[1] + 1)
    if unicodedata.category(chr(c)) == "Mn"
)
_DROP_MARKS = str.maketrans("", "", _THAI_MARKS)
# Any character of these blocks: text without one is left as it is.
ANY = re.compile(f"[{_LETTERS}]")
# A word of other letters and digits (group 1), or a run of these scripts' letters
# (group 2; punctuation inside the blocks, such as ・, is not a letter).
_RUN_PATTERN = f"(?:(?=[^\\W_])[{_LETTERS}]|[{_THAI_MARKS}])+"
_TOKEN = re.compile(f"([^\\W_{_LETTERS}]+)|({_RUN_PATTERN})")
_RUN = re.compile(_RUN_PATTERN)


# From the first character of these blocks on, less two stretches that hold none of
# them but turn up in Latin text: typographic punctuation, symbols and arrows
# (U+2000-2FFF: quotes, dashes, the euro sign) and the private use area (SQLite's
# separator between articles).  A cheaper test than ANY's seventeen ranges, which
# text in Latin letters passes in a few microseconds.
_FROM_THAI = re.compile("[\u0e01-\u1fff\u3000-\udfff\uf900-\U0010ffff]")


def has_unspaced(text: str) -> bool:
    """Whether ``text`` has a character of a script cut into pairs."""
    if text.isascii():
        return False
    high = _FROM_THAI.search(text)
    return high is not None and ANY.search(text, high.start()) is not None


def _pairs(run: str) -> list[str]:
    """The tokens of a run in a text: a pair starting at each character, the last
    character alone."""
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def _runs(folded: str) -> list[tuple[str, bool]]:
    """The words of ``folded`` (already ``query.fold``-ed), each with whether it is
    a run to be cut into pairs."""
    found: list[tuple[str, bool]] = []
    for word, run in _TOKEN.findall(folded):
        if word:
            found.append((word, False))
        else:
            run = run.translate(_DROP_MARKS)
            if run:
                found.append((run, True))
    return found


def text_tokens(folded: str) -> list[str]:
    """The tokens of a text as it is indexed (see the module docstring)."""
    tokens: list[str] = []
    for word, run in _runs(folded):
        if run:
            tokens += _pairs(word)
        else:
            tokens.append(word)
    return tokens


def query_tokens(folded: str) -> tuple[list[str], bool]:
    """The tokens of a searched word or phrase, and whether the last one must be
    taken as a prefix (a lone character of these scripts at the end).

    The last run leaves out its lone last character, so that it matches inside a
    longer run too; a run followed by more of the phrase keeps it, as the text has
    it there."""
    runs = _runs(folded)
    tokens: list[str] = []
    for i, (word, run) in enumerate(runs):
        if not run:
            tokens.append(word)
        elif i < len(runs) - 1:
            tokens += _pairs(word)
        elif len(word) == 1:
            tokens.append(word)
            return tokens, True
        else:
            tokens += _pairs(word)[:-1]
    return tokens, False


def index_text(text: str) -> str:
    """``text`` for an index whose tokenizer splits at spaces and punctuation
    (SQLite's FTS5 ``unicode61``): each run of these scripts replaced by its tokens
    separated by spaces; anything else as it was."""
    if not has_unspaced(text):
        return text
    text = unicodedata.normalize("NFC", text)

    def cut(match: re.Match[str]) -> str:
        run = match.group(0).translate(_DROP_MARKS)
        return " " + " ".join(_pairs(run)) + " " if run else " "

    return _RUN.sub(cut, text)
