"""``--verify``: source and Helpline compared, counts and SHA-256 of every attachment
and raw mail.

Counts per kind compare the source's rows with the Helpline rows the mapping points
at (and that still exist).  Hashes are taken of the bytes on both sides, read again:
the source's column or file, and Helpline's blob as stored (``blobstore.read_blob``),
so a blob changed after the import is found, not only a wrong mapping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from helpline.blobstore import read_blob
from helpline.importers.znuny.articles import fs_key
from helpline.importers.znuny.source import Source
from helpline.models import (
    Article,
    Attachment,
    HistoryEntry,
    ImportedObject,
    Ticket,
    TicketLink,
    TicketWatcher,
)

SIDE_FILES = (".content_type", ".content_id", ".content_alternative", ".disposition")
MAX_LISTED = 100


@dataclass
class Mismatch:
    kind: str
    what: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}"


def verify(source: Source) -> list[Mismatch]:
    """Every difference found between the source and what was imported from it."""
    found: list[Mismatch] = []
    found += _counts(source)
    found += _attachments(source)
    found += _raw_mails(source)
    return found


# --- counts -------------------------------------------------------------------------
def _targets(source: Source, kind: str) -> list[int]:
    return [
        t
        for t in ImportedObject.objects.filter(source=source.name, kind=kind)
        .exclude(target_id=None)
        .values_list("target_id", flat=True)
        if t is not None
    ]


def _counts(source: Source) -> list[Mismatch]:
    tickets = _targets(source, "ticket")
    in_helpline = {
        "ticket": Ticket.objects.filter(pk__in=tickets).count(),
        "article": Article.objects.filter(ticket_id__in=tickets).count(),
        "attachment": Attachment.objects.filter(article__ticket_id__in=tickets).count(),
        "raw_mail": Article.objects.filter(
            ticket_id__in=tickets, raw__isnull=False
        ).count(),
        "history": HistoryEntry.objects.filter(ticket_id__in=tickets).count(),
        "watcher": TicketWatcher.objects.filter(ticket_id__in=tickets).count(),
        "link": TicketLink.objects.filter(pk__in=_targets(source, "link")).count(),
    }
    attachments = source.count("article_data_mime_attachment")
    raw = source.count("article_data_mime_plain")
    if source.article_dir is not None:
        attachments += sum(1 for _ in fs_attachments(source))
        raw += sum(1 for _ in fs_raw_mails(source))
    in_source = {
        "ticket": source.count("ticket"),
        "article": source.count("article"),
        "attachment": attachments,
        "raw_mail": raw,
        "history": source.count("ticket_history"),
        "watcher": source.count("ticket_watcher"),
        "link": int(
            source.scalar(
                "SELECT COUNT(*) FROM link_relation lr "
                "JOIN link_object so ON so.id = lr.source_object_id "
                "JOIN link_object tg ON tg.id = lr.target_object_id "
                "JOIN link_state ls ON ls.id = lr.state_id "
                "WHERE so.name = 'Ticket' AND tg.name = 'Ticket' AND ls.name = 'Valid'"
            )
            or 0
        ),
    }
    return [
        Mismatch(
            kind, f"{in_source[kind]} in the source, {in_helpline[kind]} in Helpline"
        )
        for kind in in_source
        if in_source[kind] != in_helpline[kind]
    ]


# --- the file system's articles -----------------------------------------------------
def _article_dirs(source: Source) -> Iterator[tuple[int, Path]]:
    for row in source.rows(
        "SELECT article_id, content_path FROM article_data_mime "
        "WHERE content_path IS NOT NULL ORDER BY article_id"
    ):
        path = source.article_path(str(row["content_path"]), str(row["article_id"]))
        if path is not None and path.is_dir():
            yield int(row["article_id"]), path


def fs_attachments(source: Source) -> Iterator[tuple[str, Path]]:
    """(mapping key, file) of every attachment in Znuny's article directory."""
    for article_id, directory in _article_dirs(source):
        for path in sorted(directory.iterdir()):
            if path.name == "plain.txt" or path.name.endswith(SIDE_FILES):
                continue
            if path.is_file():
                yield fs_key(article_id, path.name), path


def fs_raw_mails(source: Source) -> Iterator[tuple[int, Path]]:
    for article_id, directory in _article_dirs(source):
        if (directory / "plain.txt").is_file():
            yield article_id, directory / "plain.txt"


# --- hashes -------------------------------------------------------------------------
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mapped(source: Source, kind: str) -> dict[str, int | None]:
    return dict(
        ImportedObject.objects.filter(source=source.name, kind=kind).values_list(
            "source_id", "target_id"
        )
    )


def _source_attachments(source: Source) -> Iterator[tuple[str, bytes]]:
    for row in source.rows(
        "SELECT id, content FROM article_data_mime_attachment ORDER BY id"
    ):
        yield str(row["id"]), source.blob(row["content"])
    if source.article_dir is not None:
        for key, path in fs_attachments(source):
            yield key, path.read_bytes()


def _attachments(source: Source) -> list[Mismatch]:
    mapped = _mapped(source, "attachment")
    rows = Attachment.objects.select_related("blob").in_bulk(
        [pk for pk in mapped.values() if pk is not None]
    )
    found = []
    for key, data in _source_attachments(source):
        pk = mapped.get(key)
        attachment = rows.get(pk) if pk is not None else None
        if attachment is None:
            found.append(Mismatch("attachment", f"{key} was not imported"))
            continue
        if _sha(read_blob(attachment.blob)) != _sha(data):
            found.append(
                Mismatch(
                    "attachment",
                    f"{key} ({attachment.filename}) differs from the source's "
                    f"(attachment {attachment.pk})",
                )
            )
    return found[:MAX_LISTED]


def _source_raw_mails(source: Source) -> Iterator[tuple[str, bytes]]:
    for row in source.rows(
        "SELECT article_id, body FROM article_data_mime_plain ORDER BY id"
    ):
        yield str(row["article_id"]), source.blob(row["body"])
    if source.article_dir is not None:
        for article_id, path in fs_raw_mails(source):
            yield str(article_id), path.read_bytes()


def _raw_mails(source: Source) -> list[Mismatch]:
    mapped = _mapped(source, "article")
    articles = Article.objects.select_related("raw").in_bulk(
        [pk for pk in mapped.values() if pk is not None]
    )
    found = []
    for key, data in _source_raw_mails(source):
        pk = mapped.get(key)
        article = articles.get(pk) if pk is not None else None
        if article is None or article.raw is None:
            found.append(Mismatch("raw_mail", f"article {key}: not imported"))
            continue
        if _sha(read_blob(article.raw)) != _sha(data):
            found.append(
                Mismatch("raw_mail", f"article {key}: differs from the source's")
            )
    return found[:MAX_LISTED]
