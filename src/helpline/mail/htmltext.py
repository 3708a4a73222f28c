"""HTML -> readable plain text, with the standard library's html.parser only."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

_SKIP = frozenset({"script", "style", "title", "template", "xml"})
_LINE_BLOCKS = frozenset(
    {
        "div",
        "tr",
        "table",
        "dt",
        "dd",
        "caption",
        "center",
        "form",
        "fieldset",
        "legend",
        "address",
        "article",
        "aside",
        "footer",
        "header",
        "main",
        "nav",
        "section",
        "figure",
        "figcaption",
        "details",
        "summary",
        "tbody",
        "thead",
        "tfoot",
    }
)
_PARAGRAPH_BLOCKS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "dl"}
)
_NO_URL_SCHEMES = ("javascript:", "data:", "cid:", "#", "vbscript:")
_TAG = re.compile(r"<[^>]*>")
_BLANKS = re.compile(r"\n{3,}")


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.prefix = ""
        self.space = False
        self.breaks = 0
        self.skip = 0
        self.pre = 0
        self.quote = 0
        self.lists: list[list[int]] = []  # [ordered (0/1), counter]
        self.bullet = ""
        self.indent = ""
        self.links: list[tuple[str, list[str]]] = []
        self.cell_sep = False

    # -- output -------------------------------------------------------------
    def _push_line(self) -> None:
        self.lines.append(self.prefix + "".join(self.line))
        self.line = []
        self.prefix = ""
        self.space = False
        self.cell_sep = False

    def _blank(self) -> None:
        if self.lines and self.lines[-1].strip(" >"):
            self.lines.append(("> " * self.quote).rstrip())

    def _flush_breaks(self) -> None:
        if self.breaks:
            if self.line:
                self._push_line()
            if self.breaks >= 2:
                self._blank()
            self.breaks = 0

    def _start_line(self) -> None:
        self.prefix = "> " * self.quote
        if self.bullet:
            self.prefix += self.bullet
            self.bullet = ""
        else:
            self.prefix += self.indent

    def _add(self, text: str) -> None:
        self._flush_breaks()
        if not self.line:
            self._start_line()
        elif self.cell_sep:
            self.line.append(" | ")
        elif self.space:
            self.line.append(" ")
        self.line.append(text)
        self.cell_sep = False
        self.space = False
        for _href, words in self.links:
            words.append(text)

    def _block(self, breaks: int) -> None:
        if self.line or self.lines:
            self.breaks = max(self.breaks, breaks)

    # -- parser callbacks ---------------------------------------------------
    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            self._pre_data(data)
            return
        words = data.split()
        if not words:
            if data:
                self.space = True
            return
        if data[:1].isspace():
            self.space = True
        self._add(" ".join(words))
        self.space = data[-1:].isspace()

    def _pre_data(self, data: str) -> None:
        chunks = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for number, chunk in enumerate(chunks):
            if number:
                if not self.line:
                    self._start_line()
                self._push_line()
            if chunk:
                self._flush_breaks()
                if not self.line:
                    self._start_line()
                self.line.append(chunk)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif self.skip:
            return
        elif tag == "br":
            self._flush_breaks()
            if self.line:
                self._push_line()
            else:
                self._blank()
        elif tag in _PARAGRAPH_BLOCKS:
            self._block(2)
            if tag == "blockquote":
                self._flush_breaks()
                self.quote += 1
            elif tag == "pre":
                self.pre += 1
        elif tag in ("ul", "ol"):
            self._block(1 if self.lists else 2)
            start = dict(attrs).get("start") or "1"
            first = int(start) - 1 if start.strip().isdigit() else 0
            self.lists.append([1 if tag == "ol" else 0, first])
        elif tag == "li":
            self._block(1)
            if not self.lists:
                self.lists.append([0, 0])
            self.lists[-1][1] += 1
            ordered, number = self.lists[-1]
            marker = f"{number}. " if ordered else "- "
            self.bullet = "  " * (len(self.lists) - 1) + marker
            self.indent = " " * len(self.bullet)
        elif tag in ("td", "th"):
            if self.line:
                self.cell_sep = True
        elif tag == "hr":
            self._block(2)
            self._add("---")
            self._block(2)
        elif tag in _LINE_BLOCKS:
            self._block(1)
        elif tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            self.links.append((href, []))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif self.skip:
            return
        elif tag in _PARAGRAPH_BLOCKS:
            if tag == "blockquote" and self.quote:
                if self.line:
                    self._push_line()
                self.quote -= 1
            elif tag == "pre" and self.pre:
                self.pre -= 1
            self._block(2)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self.indent = "  " * len(self.lists) if self.lists else ""
            self._block(1 if self.lists else 2)
        elif tag == "li" or tag in _LINE_BLOCKS:
            self._block(1)
        elif tag == "a" and self.links:
            href, words = self.links.pop()
            self._link_target(href, " ".join(words))

    def _link_target(self, href: str, text: str) -> None:
        if not href or not text or href.lower().startswith(_NO_URL_SCHEMES):
            return
        shown = (
            href[7:].split("?", 1)[0] if href.lower().startswith("mailto:") else href
        )
        plain = text.strip().lower().rstrip("/")
        target = shown.lower().rstrip("/")
        if plain in (target, target.split("://", 1)[-1]):
            return
        self.space = True
        self._add(f"<{href}>")

    def result(self) -> str:
        if self.line:
            self._push_line()
        text = "\n".join(line.rstrip() for line in self.lines)
        return _BLANKS.sub("\n\n", text).strip("\n")


def _fallback(markup: str) -> str:
    text = html.unescape(_TAG.sub(" ", markup))
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()


def html_to_text(markup: str) -> str:
    """Readable text of an HTML document or fragment.

    Block elements start new lines, paragraphs are separated by a blank line, lists
    become "- item" / "1. item", links "text <url>" when the URL is not the text,
    table cells are joined with " | ", blockquotes are prefixed with "> ".
    Scripts, styles and the title are dropped; entities are decoded.
    """
    builder = _Builder()
    try:
        builder.feed(markup)
        builder.close()
    except Exception:  # html.parser raises AssertionError on some markup
        return _fallback(markup)
    return builder.result()
