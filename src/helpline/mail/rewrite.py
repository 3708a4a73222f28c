"""A stored message rewritten without some of its content (redaction).

The message is read as the intake reads it (``mimetree.read_tree``, the body chosen by
``parse.body_leaves``) and written back with the same header lines, boundaries and
untouched parts byte for byte; only what is removed changes:

- ``body``: every leaf the body was made from becomes a short note (text/plain, or
  text/html where the leaf was HTML);
- ``contents``: every leaf whose decoded bytes contain one of these (an attachment, a
  winmail.dat holding it) becomes the note, as an attachment named
  ``removed-by-redaction.txt``: the part's own headers (file name, description) go
  with it;
- ``texts``: every header of the message whose decoded value contains one of these
  texts gets the note instead (the Subject, an Outlook Thread-Topic); its Content-*
  headers are its structure and are left alone;

``replace_text`` replaces words wherever a message shows them, in its header and in
its text parts (a notification that quoted the removed words).

The result is parsed again and checked: a rewrite that would leave what it was asked
to remove raises ``NotRewritable`` instead of returning (the caller's transaction is
rolled back; removing the raw message as a whole always works).  Pure functions, no
Django.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from email.message import Message
from email.policy import EmailPolicy

from helpline.errors import HelplineError
from helpline.mail.headers import HeaderDecoder, one_line
from helpline.mail.mimetree import Leaf, charset, read_tree
from helpline.mail.parse import body_leaves, parse_message
from helpline.mail.tnef import looks_like_tnef

REMOVED_NAME = "removed-by-redaction.txt"
# The headers that show a message's subject: the subject, or part of it.
TOPIC_HEADERS = ("subject", "thread-topic")
MIN_PART = 4
# A removed text found inside any other header value is replaced from this length.
MIN_QUOTED = 12
# The headers of a leaf that describe its content; all of them go when it is replaced.
_PART_HEADERS = (
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "content-description",
    "content-id",
    "content-location",
    "content-md5",
)


class NotRewritable(HelplineError):
    """The message could not be rewritten without what was to be removed."""

    code = "not_rewritable"
    http_status = 409

    def __init__(self, why: str) -> None:
        super().__init__(
            f"The stored mail cannot be rewritten without it ({why}); nothing was "
            "removed; remove the raw mail as a whole too."
        )


def rewrite(
    raw: bytes,
    *,
    note: str,
    body: bool = False,
    contents: Sequence[bytes] = (),
    texts: Sequence[str] = (),
) -> bytes:
    """``raw`` without its body (``body``), the parts holding ``contents`` and the
    headers holding ``texts``, each replaced by ``note``; checked (``NotRewritable``)."""
    crlf = b"\r\n" in raw
    try:
        message, tree = read_tree(raw.replace(b"\r\n", b"\n"))
    except Exception as exc:  # the parser's own limits (RecursionError ...)
        raise NotRewritable(f"it cannot be read ({type(exc).__name__})") from exc
    if body:
        for leaf in body_leaves(tree):
            _replace(leaf, note, html=leaf.ctype == "text/html")
    wanted = [c for c in contents if c]
    for leaf in tree.leaves:
        if any(_holds(leaf, c) for c in wanted):
            _replace(leaf, note, filename=REMOVED_NAME)
    if texts:
        _replace_headers(message, tree.decoder, texts, note)
    result = _serialise(message, crlf)
    _check(result, note=note, body=body, contents=wanted, texts=texts)
    return result


def replace_text(
    raw: bytes, *, texts: Sequence[str], note: str, where: str = ""
) -> bytes:
    """``raw`` with each of ``texts`` replaced by ``note`` wherever the message shows
    it: in its header and in its text parts (a notification quoting an article).
    The very same bytes when it shows none of them, or does not show ``where``."""
    shown = _shown(raw)
    # A shorter text would be found inside other words.
    wanted = [t for t in texts if len(t.strip()) >= MIN_PART and t in shown]
    if not wanted or (where and where not in shown):
        return raw
    crlf = b"\r\n" in raw
    try:
        message, tree = read_tree(raw.replace(b"\r\n", b"\n"))
    except Exception as exc:  # the parser's own limits
        raise NotRewritable(f"it cannot be read ({type(exc).__name__})") from exc
    _replace_headers(message, tree.decoder, wanted, note, whole=False)
    for leaf in tree.leaves:
        if not leaf.ctype.startswith("text/") or leaf.disposition == "attachment":
            continue
        text = leaf.content.decode(charset(leaf.part) or "utf-8", "replace")
        text = text.replace("\r\n", "\n")
        changed = text
        for old in wanted:
            changed = changed.replace(old, note)
        if changed != text:
            _set_text(leaf.part, changed, leaf.ctype)
    result = _serialise(message, crlf)
    if any(t in _shown(result) for t in wanted):
        raise NotRewritable("the text is still in it")
    return result


def _shown(raw: bytes) -> str:
    """What a reader sees of a message: its decoded header and text."""
    found = parse_message(raw)
    return "\n".join([*(value for _, value in found.headers), found.body_text])


# -- changing parts ------------------------------------------------------------------
def _holds(leaf: Leaf, content: bytes) -> bool:
    """The leaf is the file, or a winmail.dat with the file inside."""
    if leaf.content == content:
        return True
    return looks_like_tnef(leaf.content) and content in leaf.content


def _strip_part_headers(part: Message) -> None:
    for name in _PART_HEADERS:
        del part[name]


def _replace(leaf: Leaf, note: str, *, html: bool = False, filename: str = "") -> None:
    part = leaf.part
    _strip_part_headers(part)
    if html:
        part["Content-Type"] = 'text/html; charset="us-ascii"'
        text = f"<p>{note}</p>\n"
    else:
        part["Content-Type"] = 'text/plain; charset="us-ascii"'
        text = f"{note}\n"
    part["Content-Transfer-Encoding"] = "7bit"
    if filename:
        part["Content-Disposition"] = f'attachment; filename="{filename}"'
    part.set_payload(text)
    leaf.content = text.encode("ascii")


def _set_text(part: Message, text: str, ctype: str) -> None:
    """The part's text replaced, in UTF-8 and base64 (whatever it was before)."""
    disposition = part.get("content-disposition")
    _strip_part_headers(part)
    part["Content-Type"] = f'{ctype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "base64"
    if disposition:
        part["Content-Disposition"] = str(disposition)
    part.set_payload(base64.encodebytes(text.encode("utf-8")).decode("ascii"))


def _replace_headers(
    message: Message,
    decoder: HeaderDecoder,
    texts: Sequence[str],
    note: str,
    *,
    whole: bool = True,
) -> None:
    """Headers whose decoded value holds one of ``texts``: the whole value becomes
    ``note`` (``whole``) or each occurrence does.  The header keeps its place."""
    wanted = [one_line(t) for t in texts if t.strip()]
    if not wanted:
        return
    # Message keeps its header lines in a list; a changed one keeps its place in it.
    lines: list[tuple[str, object]] = message._headers  # type: ignore[attr-defined]
    for index, (name, value) in enumerate(list(lines)):
        decoded = one_line(decoder.value(str(value)))
        if not any(shows(name, decoded, t) for t in wanted):
            continue
        new = note
        if not whole:
            new = decoded
            for old in wanted:
                new = new.replace(old, note)
        # The policy's header object: written RFC 2047-encoded where needed.
        lines[index] = message.policy.header_store_parse(name, new)


def shows(name: str, value: str, text: str) -> bool:
    """Does header ``name: value`` (decoded, on one line) show ``text``?  The whole
    value; in a Subject or Thread-Topic (Outlook's subject without "Re:") a part of
    it, or it a part of the text; elsewhere only a text long enough not to be found
    by chance (a short subject such as "Hi" is in many a Received line)."""
    lowered = name.lower()
    if lowered.startswith("content-"):
        return False  # the structure of the message, not its words
    if value == text:
        return True
    if lowered in TOPIC_HEADERS:
        return text in value or (len(value) >= MIN_PART and value in text)
    return len(text) >= MIN_QUOTED and text in value


def _serialise(message: Message, crlf: bool) -> bytes:
    # The policy the message was read with, writing the header lines it read as they
    # were (no refolding); new headers are folded as the policy folds them.
    read_with = message.policy
    assert isinstance(read_with, EmailPolicy)  # mimetree's parser reads with one
    policy = read_with.clone(linesep="\n", refold_source="none")
    data = message.as_bytes(unixfrom=bool(message.get_unixfrom()), policy=policy)
    return data.replace(b"\n", b"\r\n") if crlf else data


def _check(
    raw: bytes,
    *,
    note: str,
    body: bool,
    contents: Sequence[bytes],
    texts: Sequence[str],
) -> None:
    found = parse_message(raw)
    if any(d.startswith("message could not be parsed") for d in found.defects):
        raise NotRewritable("the result cannot be read")
    if body:
        lines = {line.strip() for line in found.body_text.splitlines()} - {""}
        if not lines <= {note}:
            raise NotRewritable("its text would still be in it")
    for attachment in found.attachments:
        if any(c == attachment.content for c in contents):
            raise NotRewritable("the file would still be in it")
    wanted = [one_line(t) for t in texts if t.strip()]
    if any(shows(n, one_line(v), t) for n, v in found.headers for t in wanted):
        raise NotRewritable("the words would still be in its header")
