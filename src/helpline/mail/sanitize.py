"""Sanitising e-mail HTML for display, with nh3 and an explicit allow-list.

No scripts, no event handlers, no javascript: URLs, no remote content: images keep
their src only for cid: (attached) and data:image/ (embedded) URLs, and styles may
not hold properties that load URLs. Links get rel="noopener noreferrer nofollow".
"""

from __future__ import annotations

import nh3

__all__ = ["sanitize_html"]

_TAGS = frozenset(
    {
        "a",
        "abbr",
        "address",
        "article",
        "aside",
        "b",
        "bdi",
        "bdo",
        "big",
        "blockquote",
        "br",
        "caption",
        "center",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "font",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "main",
        "mark",
        "nav",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "section",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "tt",
        "u",
        "ul",
        "var",
        "wbr",
    }
)
# Tags removed together with their content.
_DROP_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "title",
        "template",
        "noscript",
        "iframe",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "xml",
        "textarea",
        "select",
        "button",
    }
)
_TABLE_CELL = {"align", "valign", "width", "height", "bgcolor", "colspan", "rowspan"}
_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"title", "dir", "lang", "align", "style"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "border"},
    "table": {"width", "border", "cellpadding", "cellspacing", "bgcolor", "summary"},
    "td": _TABLE_CELL,
    "th": _TABLE_CELL | {"scope"},
    "tr": {"valign", "bgcolor"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "font": {"color", "face", "size"},
    "ol": {"start", "type", "reversed"},
    "ul": {"type"},
    "li": {"value"},
    "bdo": {"dir"},
}
# No property that takes a URL (background, background-image, list-style, content,
# cursor, border-image, behavior, ...): nothing may be fetched from the sender.
_STYLE_PROPERTIES = frozenset(
    {
        "color",
        "background-color",
        "font",
        "font-family",
        "font-size",
        "font-style",
        "font-weight",
        "font-variant",
        "text-align",
        "text-decoration",
        "text-indent",
        "text-transform",
        "letter-spacing",
        "word-spacing",
        "line-height",
        "white-space",
        "vertical-align",
        "direction",
        "width",
        "max-width",
        "min-width",
        "height",
        "margin",
        "margin-top",
        "margin-right",
        "margin-bottom",
        "margin-left",
        "padding",
        "padding-top",
        "padding-right",
        "padding-bottom",
        "padding-left",
        "border",
        "border-top",
        "border-right",
        "border-bottom",
        "border-left",
        "border-color",
        "border-style",
        "border-width",
        "border-collapse",
        "border-spacing",
        "border-radius",
        "display",
        "float",
        "clear",
        "table-layout",
    }
)
_LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:")


def _filter(tag: str, attribute: str, value: str) -> str | None:
    lowered = "".join(value.split()).lower()
    if attribute == "src":
        if tag == "img" and lowered.startswith(("cid:", "data:image/")):
            return value
        return None
    if attribute == "href":
        if lowered.startswith(_LINK_SCHEMES) or lowered.startswith("#"):
            return value
        return None
    if attribute == "style" and ("url(" in lowered or "expression(" in lowered):
        kept = [
            declaration
            for declaration in value.split(";")
            if "url(" not in "".join(declaration.split()).lower()
            and "expression(" not in "".join(declaration.split()).lower()
        ]
        return ";".join(kept) or None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(_TAGS),
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
    attribute_filter=_filter,
    strip_comments=True,
    link_rel="noopener noreferrer nofollow",
    url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
    filter_style_properties=set(_STYLE_PROPERTIES),
)


def sanitize_html(markup: str) -> str:
    """Safe HTML for display inside the agent interface."""
    if not markup:
        return ""
    return _CLEANER.clean(markup.replace("\x00", ""))
