"""The zip a subject-access export writes (GDPR Art. 15): what goes in, named how.

::

    README.txt                      what the files are
    summary.txt, summary.html       who asked, when, what is included, every message
    tickets.json                    the tickets' and messages' metadata
    2026120610000012 - Broken lamp/
        001 2026-12-06 10-12 incoming.eml
        001 attachments/invoice.pdf
        002 2026-12-06 11-40 outgoing.eml

A message Helpline received or sent is its stored raw mail, byte for byte; one
without (a phone call, a note, a message written in Helpline) is rebuilt from the
stored fields with the standard library's ``email`` package and says so in an
``X-Helpline-Source`` header.  Attachments (inline images too) are files beside it,
byte for byte.  Bcc recipients are never shown: the person never saw them.

Memory stays bounded whatever the size of the export: bytes go from the blob store
into the zip in chunks, and the metadata and summaries are written as the tickets
pass, into spooled temporary files in the export's own private directory, and copied
into the zip at the end.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from django.utils import timezone
from django.utils.translation import gettext as _

from helpline.actions.subject_access_summary import Summary, readme
from helpline.models import Article, ArticleChannel, Ticket

# Inline blobs (in their database rows) are read in groups of about this many bytes.
GROUP_BYTES = 8 * 1024 * 1024
# Spooled metadata and summaries stay in memory up to this, then go to a file.
SPOOL_BYTES = 1024 * 1024
# Past this an entry needs the zip64 extensions (zipfile's own limit).
ZIP64_LIMIT = zipfile.ZIP64_LIMIT
NAME_CHARS = 80
_UNSAFE = re.compile(r'[<>:"/\\|?*]')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10))}
_RESERVED |= {f"lpt{i}" for i in range(10)}


@dataclass(frozen=True)
class BlobRef:
    """A blob to copy into the zip: its row's id, digest and size, and whether its
    bytes are in the row (``inline``) or in the blob store."""

    pk: int
    sha256: str
    size: int
    inline: bool


@dataclass
class FilePart:
    name: str
    content_type: str
    inline: bool
    blob: BlobRef


@dataclass
class ArticlePart:
    """An article to export: its row (headers), its body when there is no raw mail,
    its raw mail and its files, and where the person appears in its headers."""

    article: Article
    raw: BlobRef | None
    body_text: str = ""
    body_html: str = ""
    roles: list[str] = field(default_factory=list)
    files: list[FilePart] = field(default_factory=list)


@dataclass
class TicketPart:
    ticket: Ticket
    # "customer": the person is the ticket's customer (or the article came from
    # such a ticket by a merge); "participant": someone else's ticket.
    role: str
    articles: list[ArticlePart]


@dataclass
class Totals:
    tickets: int = 0
    articles: int = 0
    attachments: int = 0
    # Articles hidden from the customer that were left out (internal notes ...).
    left_out: int = 0
    # The unsent drafts of an agent account with the address (drafts.json).
    drafts: int = 0


class BlobReader:
    """The bytes of the blobs of one batch of tickets, asked for in the order they
    are written: inline ones are fetched a group at a time (one query per
    ``GROUP_BYTES``), those in the blob store are streamed in chunks."""

    def __init__(self, order: list[BlobRef]) -> None:
        self.order = order
        self.position: dict[int, int] = {}
        for index, ref in enumerate(order):
            self.position.setdefault(ref.pk, index)
        self.loaded: dict[int, bytes] = {}

    def chunks(self, ref: BlobRef) -> Iterator[bytes]:
        from helpline.blobstore import current, iter_object
        from helpline.models import Blob

        if not ref.inline:
            yield from iter_object(current(), Blob(sha256=ref.sha256, size=0).path)
            return
        if ref.pk not in self.loaded:
            self._load_from(self.position[ref.pk])
        yield self.loaded[ref.pk]

    def _load_from(self, start: int) -> None:
        from helpline.models import Blob

        wanted: list[int] = []
        total = 0
        for ref in self.order[start:]:
            if not ref.inline or ref.pk in wanted:
                continue
            if wanted and total + ref.size > GROUP_BYTES:
                break
            wanted.append(ref.pk)
            total += ref.size
        rows = Blob.objects.filter(pk__in=wanted).values_list("pk", "data")
        self.loaded = {pk: bytes(data or b"") for pk, data in rows}


# -- names --------------------------------------------------------------------------
def safe_name(text: str, fallback: str) -> str:
    """A file or folder name every system accepts: no directories, control or
    reserved characters, no leading dots, at most ``NAME_CHARS`` characters."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = " ".join(_UNSAFE.sub("_", text).split()).strip(" .")
    if len(text) > NAME_CHARS:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            text = stem[: NAME_CHARS - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            text = text[:NAME_CHARS].rstrip(" .")
    if text.split(".", 1)[0].lower() in _RESERVED:
        text = "_" + text
    return text or fallback


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2).ext`` ... when a name is taken (case-insensitively)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, dot, ext = name, "", ""
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem} ({n}){dot}{ext}"
    taken.add(candidate.lower())
    return candidate


def direction(article: Article) -> str:
    """How the article came to be, from the organisation's side."""
    if not article.visible_to_customer or article.channel == ArticleChannel.INTERNAL:
        return "internal"
    if article.channel == ArticleChannel.PHONE:
        return "phone"
    return "incoming" if article.incoming else "outgoing"


def _local(moment: datetime | None) -> datetime | None:
    return timezone.localtime(moment) if moment is not None else None


def _iso(moment: datetime | None) -> str | None:
    local = _local(moment)
    return local.isoformat() if local is not None else None


def _agent_name(article: Article) -> str | None:
    """The name of the agent who wrote the article (never a login or an address)."""
    agent = article.created_by
    if agent is None or article.incoming:
        return None
    return agent.get_full_name() or None


# -- messages rebuilt from their fields ------------------------------------------------
def rebuilt_message(part: ArticlePart) -> bytes:
    """An RFC 5322 message from the article's stored fields (no raw mail kept)."""
    article = part.article
    msg = EmailMessage(policy=policy.default)
    headers = [
        ("From", article.from_addr),
        ("To", article.to_addr),
        ("Cc", article.cc_addr),
        ("Reply-To", article.reply_to),
        ("Subject", article.subject),
    ]
    for name, value in headers:
        _set_header(msg, name, value)
    msg["Date"] = format_datetime(article.created)
    if article.message_id:
        _set_header(msg, "Message-ID", f"<{article.message_id}>")
    if article.in_reply_to:
        _set_header(msg, "In-Reply-To", f"<{article.in_reply_to.split()[0]}>")
    msg["X-Helpline-Source"] = (
        f"rebuilt from the stored fields ({direction(article)} {article.channel})"
    )
    msg.set_content(part.body_text or "")
    if part.body_html:
        msg.add_alternative(part.body_html, subtype="html")
    return msg.as_bytes()


def _set_header(msg: EmailMessage, name: str, value: str) -> None:
    """Set a header; a stored value the parser refuses is kept as plain text."""
    value = "".join(ch for ch in value if ch >= " " or ch == "\t").strip()
    if not value:
        return
    try:
        msg[name] = value
    except Exception:  # noqa: BLE001 - the header parsers raise several types
        msg[f"X-Original-{name}"] = value.encode("ascii", "replace").decode()


# -- the archive ----------------------------------------------------------------------
class Archive:
    """Writes the export into ``out`` (a binary file open for writing)."""

    def __init__(
        self,
        out: BinaryIO,
        *,
        address: str,
        prepared_by: str,
        include_internal: bool,
        workdir: Path,
    ) -> None:
        self.zip = zipfile.ZipFile(
            out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6
        )
        self.address = address
        self.prepared_by = prepared_by
        self.include_internal = include_internal
        self.started = timezone.now()
        self.totals = Totals()
        self.json = self._spool(workdir)
        self.summary = Summary(
            self._spool(workdir),
            self._spool(workdir),
            address=address,
            prepared_by=prepared_by,
            include_internal=include_internal,
            started=self.started,
        )
        self._json_head()

    @staticmethod
    def _spool(workdir: Path) -> IO[bytes]:
        return tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed in close()
            max_size=SPOOL_BYTES, dir=str(workdir), prefix=".spool-"
        )

    # -- tickets ---------------------------------------------------------------------
    def add(self, part: TicketPart, reader: BlobReader) -> None:
        """Write one ticket: its messages and files, its metadata and summary lines."""
        ticket = part.ticket
        first_subject = next((a.article.subject for a in part.articles), "")
        title = ticket.title if part.role == "customer" else first_subject
        no_subject = _("no subject")
        folder = safe_name(f"{ticket.number} - {safe_name(title, no_subject)}", "")
        folder = folder or ticket.number
        messages = [
            self._write_article(folder, index, article, reader)
            for index, article in enumerate(part.articles, start=1)
        ]
        meta = {
            "number": ticket.number,
            "role": part.role,
            # Someone else's ticket: its title is that person's words.
            "title": ticket.title if part.role == "customer" else None,
            "queue": ticket.queue.name,
            "state": ticket.state.name,
            "state_type": ticket.state_type,
            "created": _iso(ticket.created),
            "closed": _iso(ticket.closed_at),
            # Its messages are in that ticket now (and in the export, in its folder).
            "merged_into": ticket.merged_into.number if ticket.merged_into else None,
            "folder": folder + "/",
            "messages": messages,
        }
        self._json_ticket(meta)
        self.summary.add(meta)
        self.totals.tickets += 1

    def _write_article(
        self, folder: str, index: int, part: ArticlePart, reader: BlobReader
    ) -> dict[str, Any]:
        article = part.article
        created = timezone.localtime(article.created)
        label = direction(article)
        name = f"{folder}/{index:03d} {created:%Y-%m-%d %H-%M} {label}.eml"
        if part.raw is not None:
            self._write_blob(name, created, part.raw, reader)
            size, source = part.raw.size, "original"
        else:
            data = rebuilt_message(part)
            self._write_bytes(name, created, data)
            size, source = len(data), "rebuilt"
        files: list[dict[str, Any]] = []
        taken: set[str] = set()
        for item in part.files:
            # The name's last segment: a sender's "../../x" or "C:\\x" is just "x".
            last = item.name.replace("\\", "/").rsplit("/", 1)[-1]
            file_name = unique_name(safe_name(last, "attachment"), taken)
            path = f"{folder}/{index:03d} attachments/{file_name}"
            self._write_blob(path, created, item.blob, reader)
            files.append(
                {
                    "file": path,
                    "name": item.name,
                    "content_type": item.content_type,
                    "size": item.blob.size,
                    "sha256": item.blob.sha256,
                    "inline": item.inline,
                }
            )
        self.totals.articles += 1
        self.totals.attachments += len(files)
        return {
            "file": name,
            "source": source,
            "size": size,
            "created": _iso(article.created),
            "direction": label,
            "channel": article.channel,
            "sender_type": article.sender_type,
            "agent": _agent_name(article),
            "you_are": part.roles,
            "from": article.from_addr,
            "to": article.to_addr,
            "cc": article.cc_addr,
            "reply_to": article.reply_to,
            "subject": article.subject,
            "message_id": article.message_id or None,
            "attachments": files,
        }

    def add_drafts(self, drafts: list[dict[str, Any]]) -> None:
        """drafts.json: an agent's own unsent drafts (none: no file)."""
        if not drafts:
            return
        rows = [
            {**d, "created": _iso(d["created"]), "updated": _iso(d["updated"])}
            for d in drafts
        ]
        data = json.dumps({"drafts": rows}, ensure_ascii=False, indent=1)
        self._write_bytes("drafts.json", self.started, data.encode() + b"\n")
        self.totals.drafts = len(rows)

    # -- zip entries -----------------------------------------------------------------
    def _info(self, name: str, moment: datetime) -> zipfile.ZipInfo:
        local = timezone.localtime(moment).replace(tzinfo=None)
        stamp = max(local, datetime(1980, 1, 1))  # noqa: DTZ001 - zip times are local
        info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def _write_blob(
        self, name: str, moment: datetime, ref: BlobRef, reader: BlobReader
    ) -> None:
        info = self._info(name, moment)
        with self.zip.open(info, "w", force_zip64=ref.size >= ZIP64_LIMIT) as entry:
            for chunk in reader.chunks(ref):
                entry.write(chunk)

    def _write_bytes(self, name: str, moment: datetime, data: bytes) -> None:
        self.zip.writestr(self._info(name, moment), data)

    def _write_stream(self, name: str, parts: Iterable[bytes | IO[bytes]]) -> None:
        info = self._info(name, self.started)
        with self.zip.open(info, "w", force_zip64=True) as entry:
            for part in parts:
                if isinstance(part, bytes):
                    entry.write(part)
                else:
                    part.seek(0)
                    shutil.copyfileobj(part, entry)

    # -- tickets.json ----------------------------------------------------------------
    def _json_head(self) -> None:
        head = json.dumps(
            {
                "format": 1,
                "address": self.address,
                "prepared": _iso(self.started),
                "prepared_by": self.prepared_by,
                "internal_notes_included": self.include_internal,
            },
            ensure_ascii=False,
            indent=1,
        )
        # The object stays open: its tickets follow, its totals close it.
        self.json.write(head[:-2].encode() + b',\n "tickets": [')

    def _json_ticket(self, meta: dict[str, Any]) -> None:
        separator = b"\n" if self.totals.tickets == 0 else b",\n"
        self.json.write(separator + json.dumps(meta, ensure_ascii=False).encode())

    def _json_tail(self) -> bytes:
        totals = json.dumps(self._totals(), ensure_ascii=False)
        return f'\n ],\n "totals": {totals}\n}}\n'.encode()

    def _totals(self) -> dict[str, int]:
        return {
            "tickets": self.totals.tickets,
            "messages": self.totals.articles,
            "attachments": self.totals.attachments,
            "hidden_messages_left_out": self.totals.left_out,
            "drafts": self.totals.drafts,
        }

    def close(self) -> Totals:
        """Write the summaries, the metadata and the README; finish the zip."""
        self._write_bytes("README.txt", self.started, readme().encode() + b"\n")
        self._write_stream("summary.txt", self.summary.text_parts(self.totals))
        self._write_stream("summary.html", self.summary.html_parts(self.totals))
        self._write_stream("tickets.json", [self.json, self._json_tail()])
        self.zip.close()
        self.discard()
        return self.totals

    def discard(self) -> None:
        for spool in (self.json, self.summary.text, self.summary.html):
            spool.close()
