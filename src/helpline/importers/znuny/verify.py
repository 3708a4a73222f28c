"""``--verify``: source and Helpline compared, counts and SHA-256 of every attachment
and raw mail.

Counts per kind compare the source's rows with the Helpline rows the mapping points
at (and that still exist).  Hashes are taken of the bytes on both sides, read again:
the source's column or file, and Helpline's blob as stored (``blobstore.read_blob``),
so a blob changed after the import is found, not only a wrong mapping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from django.db.models import QuerySet

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
def _targets(source: Source, kind: str) -> QuerySet[Any, Any]:
    """The Helpline ids ``kind`` was mapped to (a subquery: never read into memory)."""
    return (
        ImportedObject.objects.filter(source=source.name, kind=kind)
        .exclude(target_id=None)
        .values("target_id")
    )


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


CHUNK = 500  # source rows compared at a time: one mapping and one Helpline query each


def _chunks(rows: Iterator[tuple[str, bytes]]) -> Iterator[list[tuple[str, bytes]]]:
    while part := list(islice(rows, CHUNK)):
        yield part


def _mapped(source: Source, kind: str, keys: list[str]) -> dict[str, int | None]:
    return dict(
        ImportedObject.objects.filter(
            source=source.name, kind=kind, source_id__in=keys
        ).values_list("source_id", "target_id")
    )


def _compare(
    source: Source,
    kind: str,
    rows: Iterator[tuple[str, bytes]],
    fetch: Callable[[list[int]], dict[Any, Any]],
    check: Callable[[str, Any, bytes], Mismatch | None],
) -> list[Mismatch]:
    """Source rows against what their mapping points at, ``CHUNK`` at a time (the
    blobs of one chunk in memory, never all)."""
    found: list[Mismatch] = []
    for part in _chunks(rows):
        mapped = _mapped(source, kind, [key for key, _ in part])
        objects = fetch([pk for pk in mapped.values() if pk is not None])
        for key, data in part:
            pk = mapped.get(key)
            mismatch = check(key, objects.get(pk) if pk is not None else None, data)
            if mismatch is not None and len(found) < MAX_LISTED:
                found.append(mismatch)
    return found


def _source_attachments(source: Source) -> Iterator[tuple[str, bytes]]:
    for row in source.rows(
        "SELECT id, content FROM article_data_mime_attachment ORDER BY id"
    ):
        yield str(row["id"]), source.blob(row["content"])
    if source.article_dir is not None:
        for key, path in fs_attachments(source):
            yield key, path.read_bytes()


def _attachments(source: Source) -> list[Mismatch]:
    def check(key: str, attachment: Attachment | None, data: bytes) -> Mismatch | None:
        if attachment is None:
            return Mismatch("attachment", f"{key} was not imported")
        if _sha(read_blob(attachment.blob)) != _sha(data):
            return Mismatch(
                "attachment",
                f"{key} ({attachment.filename}) differs from the source's "
                f"(attachment {attachment.pk})",
            )
        return None

    return _compare(
        source,
        "attachment",
        _source_attachments(source),
        Attachment.objects.select_related("blob").in_bulk,
        check,
    )


def _source_raw_mails(source: Source) -> Iterator[tuple[str, bytes]]:
    for row in source.rows(
        "SELECT article_id, body FROM article_data_mime_plain ORDER BY id"
    ):
        yield str(row["article_id"]), source.blob(row["body"])
    if source.article_dir is not None:
        for article_id, path in fs_raw_mails(source):
            yield str(article_id), path.read_bytes()


def _raw_mails(source: Source) -> list[Mismatch]:
    def check(key: str, article: Article | None, data: bytes) -> Mismatch | None:
        if article is None or article.raw is None:
            return Mismatch("raw_mail", f"article {key}: not imported")
        if _sha(read_blob(article.raw)) != _sha(data):
            return Mismatch("raw_mail", f"article {key}: differs from the source's")
        return None

    return _compare(
        source,
        "article",
        _source_raw_mails(source),
        Article.objects.select_related("raw").in_bulk,
        check,
    )
