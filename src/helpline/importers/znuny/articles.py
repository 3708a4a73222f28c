"""Articles of a batch of tickets: headers and bodies from ``article_data_mime``, the
raw mail (``article_data_mime_plain`` or ``plain.txt``) and every attachment
byte-identical, from the database or from Znuny's article directory
(``ArticleStorageFS``: ``<article_dir>/<content_path>/<article_id>/`` holding each
file beside its ``.content_type``/``.content_id``/``.disposition`` side files).

Every attachment row becomes an ``Attachment`` (the HTML body too, which Znuny keeps
as an attachment ``file-1``/``file-2``): what Znuny held comes across whole, and
``--verify`` compares the same sets.  The HTML body is also decoded and sanitised into
``Article.body_html``, as the mail pipeline does with a received message.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from django.conf import settings

from helpline.blobstore import store_blob
from helpline.importers.znuny.source import Source, clean_text
from helpline.importers.znuny.tickets_history import NO_TIME
from helpline.mail.headers import normalize_message_id, parse_message_ids
from helpline.mail.sanitize import sanitize_html
from helpline.models import ArticleChannel, Blob, SenderType

CHANNELS = {
    "Email": ArticleChannel.EMAIL,
    "Phone": ArticleChannel.PHONE,
    "Internal": ArticleChannel.INTERNAL,
    # Helpline has no chat channel: a chat transcript is kept as an internal note.
    "Chat": ArticleChannel.INTERNAL,
}
SENDERS = {
    "agent": SenderType.AGENT,
    "customer": SenderType.CUSTOMER,
    "system": SenderType.SYSTEM,
}
# Znuny's rule for the attachment that is an article's HTML body
# (MIMEBase::Base::ArticleAttachmentIndex, ExcludeHTMLBody).
HTML_BODY_NAME = re.compile(r"^(file-[12]|file-1\.html)$")
SIDE_FILES = (".content_type", ".content_id", ".content_alternative", ".disposition")
IN_QUERY = 500  # ids per IN (...) list
MAX_KEY = 200  # ImportedObject.source_id


@dataclass
class SourceAttachment:
    key: str  # the "attachment" mapping key: row id (db) or "<article>/<file>" (fs)
    filename: str
    content_type: str
    content_id: str
    disposition: str
    content: bytes
    # Its SHA-256 (hex), computed once, on the reading thread (``hashlib`` lets go
    # of the GIL for large inputs: the writing thread goes on meanwhile).
    sha256: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.sha256 = sha256(self.content)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class SourceArticle:
    id: int
    ticket_id: int
    channel: str
    sender: str
    visible: bool
    created_by: int
    create_time: Any
    # ``article.change_time``: Znuny sets it when it changes the article in place
    # (ArticleUpdate, a merge moving it to another ticket).
    change_time: Any = None
    mime: dict[str, Any] = field(default_factory=dict)
    raw: bytes | None = None
    raw_sha256: str | None = None  # of ``raw`` (set with it: ``read_articles``)
    attachments: list[SourceAttachment] = field(default_factory=list)
    # An imported article whose raw mail and attachments were read again (``Stale``):
    # what they are now replaces what Helpline has.
    reread: bool = False
    # The highest ``article_data_mime_plain`` and ``article_data_mime_attachment``
    # ids and the count of the latter (the article mapping's cursor: Znuny never
    # updates those rows, it deletes and writes them anew).
    files: dict[str, int] = field(default_factory=dict)
    # What could not be read from the article directory: (kind, key, reason), put in
    # the report by the batch that writes the article (read on the reading thread).
    problems: list[tuple[str, str, str]] = field(default_factory=list)


def newest(*values: Any) -> Any:
    """The latest of these source times (None left out)."""
    found = [v for v in values if v is not None]
    return max(found) if found else None


def changed(article: SourceArticle) -> Any:
    """The article's latest change in place: of its ``article`` row (visibility,
    sender type, a move) or of its ``article_data_mime`` row (a header or the body:
    ``ArticleUpdate``, the decryption of a PGP or S/MIME mail)."""
    return newest(article.change_time, article.mime.get("mime_changed"))


def stamp(article: SourceArticle) -> str:
    """The article mapping's stamp: when its ``article_data_mime`` row last changed."""
    value = article.mime.get("mime_changed")
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def fs_key(article_id: int, name: str) -> str:
    """The "attachment" mapping key of a file in the article directory; a name too
    long for the key column is named by its hash."""
    key = f"{article_id}/{name}"
    if len(key) <= MAX_KEY:
        return key
    return f"{article_id}/sha256:{hashlib.sha256(name.encode()).hexdigest()}"


def chunks(ids: Sequence[Any], size: int = IN_QUERY) -> Iterable[Sequence[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def placeholders(ids: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(ids))


ARTICLE_SQL = """
SELECT a.id, a.ticket_id, a.is_visible_for_customer, a.create_time, a.create_by,
       a.change_time, cc.name AS channel, st.name AS sender,
       m.a_from, m.a_reply_to, m.a_to, m.a_cc, m.a_bcc, m.a_subject, m.a_message_id,
       m.a_in_reply_to, m.a_references, m.a_body, m.content_path,
       m.create_time AS mime_created, m.change_time AS mime_changed
FROM article a
JOIN communication_channel cc ON cc.id = a.communication_channel_id
JOIN article_sender_type st ON st.id = a.article_sender_type_id
LEFT JOIN article_data_mime m ON m.article_id = a.id
WHERE a.ticket_id IN ({})
ORDER BY a.id
"""


@dataclass
class TicketArticles:
    """The articles of a batch of tickets as the source has them now."""

    # Not imported yet: with their raw mail and attachments.
    new: list[SourceArticle]
    # Imported by an earlier run: their ``article`` and ``article_data_mime`` rows
    # (what may have changed in place: the ticket, the visibility, the headers), and
    # the raw mail and attachments of those that ``Stale`` says changed.
    imported: list[SourceArticle]


@dataclass
class Recorded:
    """What the article mapping says of an imported article."""

    stamp: str = ""
    cursor: dict[str, Any] = field(default_factory=dict)


@dataclass
class Stale:
    """Which imported articles have their raw mail and attachments read again.

    Znuny changes them only by deleting the rows (or files) and writing them anew
    (``ArticleDeleteAttachment`` and ``ArticleWriteAttachment``, ``ArticleDeletePlain``
    and ``ArticleWritePlain``: the decryption of a PGP or S/MIME mail does it, with
    an ``ArticleUpdate`` of the body), so an article is read again when

    - its ``article_data_mime.change_time`` is not the one imported (the mapping's
      stamp), or
    - the highest id or the count of its attachment rows, or the highest id of its
      raw-mail row, is not the one imported (the mapping's cursor).

    An article imported before the stamp was kept (stamp and cursor empty) is read
    again when its ``article_data_mime`` row changed after it was written, or when
    it has an attachment or raw-mail row newer than the last run's highest
    (``marks``)."""

    recorded: dict[int, Recorded]  # imported article id -> its mapping
    marks: dict[str, Any] = field(default_factory=dict)

    def __call__(self, article: SourceArticle) -> bool:
        entry = self.recorded.get(article.id)
        if entry is None:
            return False
        if entry.stamp or entry.cursor:
            return entry.stamp != stamp(article) or any(
                int(entry.cursor.get(k, 0)) != v for k, v in article.files.items()
            )
        mime = article.mime
        if mime.get("mime_changed") != mime.get("mime_created"):
            return True
        for key, mark in (("files_max", "attachment_id"), ("plain", "plain_id")):
            if self.marks.get(mark) is not None and article.files.get(key, 0) > int(
                self.marks[mark]
            ):
                return True
        return False


def read_articles(
    source: Source,
    ticket_ids: Sequence[int],
    known: Callable[[Sequence[int]], Collection[int]],
    stale: Callable[[SourceArticle], bool] = lambda _article: False,
) -> TicketArticles:
    """The articles of these tickets (``known``: which of a list of article ids were
    imported already), those not imported yet with their raw mail and attachments,
    and of the imported ones those ``stale`` names (``Stale``): one query per
    table."""
    new: list[SourceArticle] = []
    imported: list[SourceArticle] = []
    for part in chunks(ticket_ids):
        sql = ARTICLE_SQL.format(placeholders(part))
        found = source.all(sql, part)
        done = known([int(row["id"]) for row in found])
        for row in found:
            article = SourceArticle(
                id=int(row["id"]),
                ticket_id=int(row["ticket_id"]),
                channel=str(row["channel"]),
                sender=str(row["sender"]),
                visible=bool(row["is_visible_for_customer"]),
                created_by=int(row["create_by"]),
                create_time=row["create_time"],
                change_time=row["change_time"],
                mime=row,
            )
            (imported if article.id in done else new).append(article)
    _files(source, imported)
    for article in imported:
        article.reread = stale(article)
    wanted = [*new, *(a for a in imported if a.reread)]
    ids = [a.id for a in wanted]
    raws = _raw_from_db(source, ids)
    attachments = _attachments_from_db(source, ids)
    for article in wanted:
        plain_id, article.raw = raws.get(article.id, (0, None))
        article.attachments = attachments.get(article.id, [])
        rows = [int(x.key) for x in article.attachments if x.key.isdigit()]
        article.files = {
            "plain": plain_id,
            "files_max": max(rows, default=0),
            "files": len(rows),
        }
        if source.article_dir is not None:
            _add_from_fs(source, article)
        article.raw_sha256 = None if article.raw is None else sha256(article.raw)
    return TicketArticles(new=new, imported=imported)


def _files(source: Source, articles: Sequence[SourceArticle]) -> None:
    """Each article's ``files``: the highest raw-mail and attachment row ids and the
    count of the latter, without their contents (one query per table and 500)."""
    by_id = {a.id: a for a in articles}
    for article in articles:
        article.files = {"plain": 0, "files_max": 0, "files": 0}
    ids = list(by_id)
    for part in chunks(ids):
        marks = placeholders(part)
        for row in source.rows(
            "SELECT article_id, MAX(id) AS top FROM article_data_mime_plain "  # noqa: S608
            f"WHERE article_id IN ({marks}) GROUP BY article_id",
            part,
        ):
            by_id[int(row["article_id"])].files["plain"] = int(row["top"])
        for row in source.rows(
            "SELECT article_id, MAX(id) AS top, COUNT(*) AS n "  # noqa: S608
            "FROM article_data_mime_attachment "
            f"WHERE article_id IN ({marks}) GROUP BY article_id",
            part,
        ):
            files = by_id[int(row["article_id"])].files
            files["files_max"], files["files"] = int(row["top"]), int(row["n"])


def _raw_from_db(source: Source, ids: Sequence[int]) -> dict[int, tuple[int, bytes]]:
    """Each article's raw mail (the last row, as Znuny reads it), with its row id."""
    raws: dict[int, tuple[int, bytes]] = {}
    for part in chunks(ids):
        sql = (
            "SELECT id, article_id, body FROM article_data_mime_plain "  # noqa: S608
            f"WHERE article_id IN ({placeholders(part)}) ORDER BY id"
        )
        for row in source.rows(sql, part):
            raws[int(row["article_id"])] = (int(row["id"]), source.blob(row["body"]))
    return raws


def _attachments_from_db(
    source: Source, ids: Sequence[int]
) -> dict[int, list[SourceAttachment]]:
    found: dict[int, list[SourceAttachment]] = defaultdict(list)
    for part in chunks(ids):
        sql = (
            "SELECT id, article_id, filename, content_type, content_id, disposition, "  # noqa: S608
            "content FROM article_data_mime_attachment "
            f"WHERE article_id IN ({placeholders(part)}) ORDER BY id"
        )
        for row in source.rows(sql, part):
            found[int(row["article_id"])].append(
                SourceAttachment(
                    key=str(row["id"]),
                    filename=source.text(row["filename"]),
                    content_type=source.text(row["content_type"]),
                    content_id=source.text(row["content_id"]),
                    disposition=source.text(row["disposition"]),
                    content=source.blob(row["content"]),
                )
            )
    return found


def _add_from_fs(source: Source, article: SourceArticle) -> None:
    """The raw mail and attachments Znuny wrote to its article directory.  A file that
    cannot be read (or is not a plain file: a directory, a symbolic link, which could
    point anywhere on this machine) is left out and reported; the rest come across."""
    content_path = article.mime.get("content_path")
    if not content_path:
        return
    directory = source.article_path(str(content_path), str(article.id))
    if directory is None:
        article.problems.append(
            (
                "article",
                str(article.id),
                "its content_path leaves the article directory",
            )
        )
        return
    # No directory is normal: Znuny makes one only when it writes a file (a note
    # without attachments has none; 13 of the 115 articles of the tests' fs database).
    if not directory.is_dir():
        return
    plain = directory / "plain.txt"
    if article.raw is None and plain.exists():
        try:
            article.raw = _read_file(plain)
        except OSError as exc:
            article.problems.append(
                ("raw_mail", str(article.id), f"plain.txt cannot be read: {_why(exc)}")
            )
    try:
        entries = sorted(directory.iterdir())
    except OSError as exc:
        article.problems.append(
            ("article", str(article.id), f"its directory cannot be read: {_why(exc)}")
        )
        return
    for path in entries:
        name = path.name
        if name == "plain.txt" or name.endswith(SIDE_FILES):
            continue
        key = fs_key(article.id, name)
        try:
            content = _read_file(path)
            content_type = _side(path, ".content_type")
            content_id = _side(path, ".content_id")
            disposition = _side(path, ".disposition")
        except OSError as exc:
            article.problems.append(("attachment", key, f"cannot be read: {_why(exc)}"))
            continue
        if not disposition:  # Znuny's defaults for files without the side file
            if (
                content_id
                and "image" in content_type.lower()
                or re.search(r"file-[12]", name)
            ):
                disposition = "inline"
            else:
                disposition = "attachment"
        article.attachments.append(
            SourceAttachment(
                key=key,
                filename=clean_text(name),
                content_type=clean_text(content_type) or "application/octet-stream",
                content_id=clean_text(content_id),
                disposition=clean_text(disposition),
                content=content,
            )
        )


class NotAFileError(OSError):
    """An entry of the article directory that is no plain file of its own."""


def _read_file(path: Path) -> bytes:
    """A plain file's bytes; a symbolic link is never followed (a planted one could
    bring any file of this machine in as an attachment)."""
    if path.is_symlink():
        raise NotAFileError("a symbolic link")
    return path.read_bytes()


def _side(path: Path, suffix: str) -> str:
    extra = path.with_name(path.name + suffix)
    if not extra.exists() and not extra.is_symlink():
        return ""
    return _read_file(extra).decode("utf-8", "replace")


def _why(exc: OSError) -> str:
    if isinstance(exc, NotAFileError):
        return str(exc)
    if isinstance(exc, IsADirectoryError):
        return "a directory"
    return exc.strerror or type(exc).__name__


# --- what Helpline keeps ----------------------------------------------------------
def html_body(article: SourceArticle) -> str:
    """The article's HTML body (Znuny's rule for which attachment it is), sanitised."""
    for item in article.attachments:
        if (
            HTML_BODY_NAME.match(item.filename)
            and "text/html" in item.content_type.lower()
            and item.disposition == "inline"
        ):
            return sanitize_html(_decode(item.content, item.content_type))
    return ""


def _decode(data: bytes, content_type: str) -> str:
    message = Message()
    message["Content-Type"] = content_type
    charset = message.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def fields(
    source: Source,
    article: SourceArticle,
    *,
    agent_of: Callable[[int], int | None],
    problem: Callable[[str, object, str], None],
) -> dict[str, Any]:
    """The ``Article`` fields that the source's ``article`` and ``article_data_mime``
    rows give: all but the ticket, the HTML body and the raw mail."""
    channel = CHANNELS.get(article.channel)
    if channel is None:
        problem("article", article.id, f"channel {article.channel}")
        channel = CHANNELS["Internal"]
    sender = SENDERS.get(article.sender, SenderType.SYSTEM)
    try:
        created = source.when(article.create_time)
    except ValueError:
        problem("article", article.id, "unreadable time: left out")
        created = None
    return {
        "channel": channel,
        "sender_type": sender,
        "visible_to_customer": article.visible,
        "incoming": sender == SenderType.CUSTOMER,
        "created_by_id": agent_of(article.created_by)
        if sender == SenderType.AGENT
        else None,
        "created": created or NO_TIME,
        **headers(source, article),
    }


def headers(source: Source, article: SourceArticle) -> dict[str, str]:
    """The Article fields read from ``article_data_mime``."""
    mime = article.mime
    text = source.text
    return {
        "from_addr": text(mime.get("a_from")),
        "to_addr": text(mime.get("a_to")),
        "cc_addr": text(mime.get("a_cc")),
        "bcc_addr": text(mime.get("a_bcc")),
        "reply_to": text(mime.get("a_reply_to")),
        "subject": text(mime.get("a_subject"))[:998],
        "body_text": text(mime.get("a_body")),
        "message_id": normalize_message_id(text(mime.get("a_message_id")))[:998],
        "in_reply_to": " ".join(parse_message_ids(text(mime.get("a_in_reply_to")))),
        "references": " ".join(parse_message_ids(text(mime.get("a_references")))),
    }


def article_files(articles: Iterable[SourceArticle]) -> list[tuple[str, bytes]]:
    """The raw mails and attachments of these articles, (SHA-256, bytes) each."""
    found: list[tuple[str, bytes]] = []
    for article in articles:
        if article.raw is not None and article.raw_sha256 is not None:
            found.append((article.raw_sha256, article.raw))
        found.extend((item.sha256, item.content) for item in article.attachments)
    return found


def store_blobs(contents: Iterable[tuple[str, bytes]]) -> dict[str, Blob]:
    """Store these byte strings, each given with its SHA-256, once each, in a few
    statements: the known ones looked up, the small new ones inserted together, the
    large ones written to the blob store first (``blobstore.store_blob``).  By
    SHA-256."""
    wanted: dict[str, bytes] = {}
    for sha, data in contents:
        wanted.setdefault(sha, data)
    found: dict[str, Blob] = {}
    shas = list(wanted)
    for part in chunks(shas):
        for blob in Blob.objects.filter(sha256__in=part).defer("data"):
            found[blob.sha256] = blob
    new = []
    for sha, data in wanted.items():
        if sha in found:
            continue
        if len(data) > settings.HELPLINE_INLINE_BLOB_BYTES:
            found[sha] = store_blob(data)
        else:
            new.append(Blob(sha256=sha, size=len(data), data=data))
    if new:
        from helpline.importers.znuny.tickets_copy import insert_blobs

        insert_blobs(new)
        missing = [b.sha256 for b in new if b.pk is None]
        for blob in new:
            if blob.pk is not None:
                found[blob.sha256] = blob
        for part in chunks(missing):
            for blob in Blob.objects.filter(sha256__in=part).defer("data"):
                found[blob.sha256] = blob
    return found
