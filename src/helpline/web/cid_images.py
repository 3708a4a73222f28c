"""Pointing the ``cid:`` images of sanitised e-mail HTML at URLs a browser can load.

A message shows the images it carries as its own parts with ``<img src="cid:...">``
(RFC 2392); no browser resolves such a URL.  At display time each ``cid:`` source is
replaced by the URL the caller gives for that Content-ID.  An image whose Content-ID has
no URL, or whose source is neither such a URL nor an embedded ``data:image/``, is
dropped, so that nothing is ever loaded from elsewhere.

The input is the sanitiser's output, well-formed HTML serialised by html5ever, so a
tokenizer is enough: ``img`` start tags are rebuilt from their parsed attributes (and
escaped again), every other character is copied as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from html.parser import HTMLParser
from urllib.parse import unquote

__all__ = ["content_id_of", "rewrite_cid_images"]

Attrs = list[tuple[str, str | None]]


def content_id_of(src: str) -> str | None:
    """``'cid:part1%40example.net'`` -> ``'part1@example.net'``; None for other URLs."""
    compact = "".join(src.split())
    if compact[:4].lower() != "cid:":
        return None
    return unquote(compact[4:]).strip("<>")


class _ImageTags(HTMLParser):
    """Collects each ``img`` start tag: its position, its source text, its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.found: list[tuple[tuple[int, int], str, Attrs]] = []

    def handle_starttag(self, tag: str, attrs: Attrs) -> None:
        if tag == "img":
            self.found.append((self.getpos(), self.get_starttag_text() or "", attrs))


def _line_starts(text: str) -> list[int]:
    starts = [0]
    position = text.find("\n")
    while position != -1:
        starts.append(position + 1)
        position = text.find("\n", position + 1)
    return starts


def _image_tag(attrs: Attrs, sources: Mapping[str, str]) -> str:
    """The tag with its source replaced, or "" when it has nothing it may load."""
    src = next((value or "" for name, value in attrs if name == "src"), "")
    content_id = content_id_of(src)
    if content_id is not None:
        url = sources.get(content_id)
    elif "".join(src.split()).lower().startswith("data:image/"):
        url = src
    else:
        url = None
    if url is None:
        return ""
    kept = [(name, url if name == "src" else value or "") for name, value in attrs]
    return "<img" + "".join(f' {n}="{escape(v, quote=True)}"' for n, v in kept) + ">"


def rewrite_cid_images(markup: str, sources: Mapping[str, str]) -> str:
    """``markup`` with each image's ``cid:`` source replaced by ``sources[content_id]``.

    Images with an unknown Content-ID, or with any source but ``cid:`` and
    ``data:image/``, are removed.  ``markup`` must already be sanitised.
    """
    if "<img" not in markup.lower():
        return markup
    parser = _ImageTags()
    parser.feed(markup)
    parser.close()
    starts = _line_starts(markup)
    parts: list[str] = []
    cursor = 0
    for (line, column), text, attrs in parser.found:
        begin = starts[line - 1] + column
        if begin < cursor or markup[begin : begin + len(text)] != text:
            continue  # cannot happen with well-formed input; the tag is left as it was
        parts.append(markup[cursor:begin])
        parts.append(_image_tag(attrs, sources))
        cursor = begin + len(text)
    parts.append(markup[cursor:])
    return "".join(parts)
