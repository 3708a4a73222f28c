"""Subject-access exports (GDPR Art. 15): everything a person sent or received, as a zip.

Asked for by a holder of the ``handle_personal_data`` right (``privacy_rights``; being
an administrator is not enough), for an email address, from the web page, the REST
API or the command line.  Every entry point calls ``request_export`` (a privacy run
of kind ``export``, in the administration log) and then ``run_export``: the web and
the API through a worker job, which writes the zip into the data directory for the
requester alone to download once (``take_download``) within
``HELPLINE_SUBJECT_ACCESS_EXPORT_DAYS``; the command line at once, into its file.

What is included (``subject_access_archive`` writes it):

- every ticket whose customer has the address (case and the IDNA form of the
  domain do not matter), with all its messages, and the messages a merge took from
  such a ticket into another one;
- from the tickets of other people, the messages whose From, To, Cc, Reply-To or Bcc
  holds the address.  Those tickets are found by the full-text index (its From and
  To/Cc fields), each message is then checked in Python; a message of another
  person's ticket that names the address only in Reply-To or Bcc is not found.
- Messages hidden from the person are left out unless ``include_internal``: internal
  notes, and messages not shown to the customer in which the person does not appear
  (a forward to a third party).

The export is audited: a read of kind ``export`` of every ticket included, on the
channel of the entry point it was asked from.  The run's ``subject`` is the address
while it waits or runs and its SHA-256 afterwards (as for an erasure), and so is the
administration log entry: administrators see that an export was made and by whom,
not whose; a holder who knows the address can match it (``address_hash``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone, translation

from helpline.actions import admin, privacy_rights, read_audit
from helpline.actions.customers import customer_address
from helpline.actions.subject_access_archive import (
    Archive,
    ArticlePart,
    BlobReader,
    BlobRef,
    FilePart,
    TicketPart,
    Totals,
)
from helpline.addresses import addresses_in
from helpline.errors import HelplineError, InvalidInput, NotFound
from helpline.models import (
    Article,
    ArticleChannel,
    Attachment,
    Blob,
    Customer,
    PrivacyRun,
    PrivacyRunKind,
    PrivacyRunStatus,
    ReadChannel,
    ReadKind,
    Ticket,
)

log = logging.getLogger(__name__)

EXPORTS = "exports"  # the directory under DATA_DIR
TICKETS_PER_BATCH = 100
# A run still waiting or running after this was lost with its worker.
STALE_AFTER = timedelta(hours=24)
# The headers in which the person is looked for, as JSON names them.
HEADERS = (
    ("from", "from_addr"),
    ("to", "to_addr"),
    ("cc", "cc_addr"),
    ("reply_to", "reply_to"),
    ("bcc", "bcc_addr"),
)
_ARTICLE_FIELDS = (
    "id",
    "ticket_id",
    "channel",
    "sender_type",
    "visible_to_customer",
    "incoming",
    "created",
    "subject",
    "message_id",
    "in_reply_to",
    "raw_id",
    "merged_from_id",
    "created_by__first_name",
    "created_by__last_name",
    *(name for _, name in HEADERS),
)


class ExportNotReady(HelplineError):
    code = "export_not_ready"
    http_status = 409


class ExportGone(HelplineError):
    code = "export_gone"
    http_status = 410


# -- the address ------------------------------------------------------------------------
def canonical_address(text: str) -> str:
    """The address as customers are stored (``actions.customers``), or InvalidInput."""
    address = customer_address(text or "")
    if not address:
        raise InvalidInput("Give the person's email address.")
    return address


def address_hash(address: str) -> str:
    """The SHA-256 of the canonical address: what the records keep of it."""
    return hashlib.sha256(canonical_address(address).encode()).hexdigest()


def _variants(address: str) -> set[str]:
    """The canonical address and the form a customer row written before addresses
    were canonical may have (a Unicode domain, lower-cased)."""
    local, _, domain = address.rpartition("@")
    variants = {address}
    if "xn--" in domain:
        import idna

        with contextlib.suppress(idna.IDNAError, UnicodeError):
            variants.add(f"{local}@{idna.decode(domain)}".lower())
    return variants


# -- finding what to export -------------------------------------------------------------
@dataclass
class Found:
    """The tickets of an export, by id: the person's own ones, and the others that
    may hold a message of theirs (confirmed message by message when written)."""

    own: list[int] = field(default_factory=list)
    others: list[int] = field(default_factory=list)

    @property
    def all(self) -> list[int]:
        return sorted({*self.own, *self.others})


def find_tickets(address: str) -> Found:
    """The tickets to look at for ``address`` (canonical), by indexed look-ups only:
    customers by address, tickets by customer, articles by the ticket a merge took
    them from, and the full-text index's From and To/Cc fields."""
    customers = list(
        Customer.objects.filter(email__in=_variants(address)).values_list(
            "pk", flat=True
        )
    )
    own = list(
        Ticket.objects.filter(customer_id__in=customers)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    others: set[int] = set()
    for start in range(0, len(own), 1000):
        others.update(
            Article.objects.filter(merged_from_id__in=own[start : start + 1000])
            .values_list("ticket_id", flat=True)
            .distinct()
        )
    others.update(_named_in_index(address))
    return Found(own=own, others=sorted(others - set(own)))


def _named_in_index(address: str) -> set[int]:
    from helpline.search.base import get_backend
    from helpline.search.query import TextTerm, words

    tokens = tuple(words(address))
    if not tokens:
        return set()
    backend = get_backend()
    found: set[int] = set()
    for part in ("from", "to"):
        condition = backend.condition([TextTerm(tokens, field=part)], []).condition()
        found.update(Ticket.objects.filter(condition).values_list("pk", flat=True))
    return found


def roles_of(article: Article, address: str) -> list[str]:
    """The headers of ``article`` that hold ``address`` (JSON names)."""
    return [
        name
        for name, attribute in HEADERS
        if address in addresses_in(getattr(article, attribute))
    ]


def is_hidden(article: Article, roles: Sequence[str]) -> bool:
    """Hidden from the person: an internal note, or a message not shown to the
    customer in which the person does not appear (a forward to someone else)."""
    if article.channel == ArticleChannel.INTERNAL:
        return True
    return not article.visible_to_customer and not roles


# -- writing the zip ----------------------------------------------------------------------
def write_export(
    actor: Any,
    address: str,
    out: BinaryIO,
    *,
    include_internal: bool = False,
    workdir: Path,
) -> Totals:
    """Write the export of ``address`` into ``out``; record a read of each ticket.

    No permission check (``request_export`` and ``run_export`` make it).  ``workdir``
    is a private directory for the spooled metadata.  Queries: a few to find the
    tickets, then about six per ``TICKETS_PER_BATCH`` tickets, plus one per 8 MiB
    of bytes kept in database rows; never one per article.
    """
    found = find_tickets(address)
    own = set(found.own)
    archive = Archive(
        out,
        address=address,
        prepared_by=actor.get_full_name() or actor.get_username(),
        include_internal=include_internal,
        workdir=workdir,
    )
    try:
        ids = found.all
        for start in range(0, len(ids), TICKETS_PER_BATCH):
            parts = _batch(
                ids[start : start + TICKETS_PER_BATCH],
                address,
                own,
                include_internal,
                archive.totals,
            )
            reader = BlobReader([ref for part in parts for ref in _blob_order(part)])
            for part in parts:
                archive.add(part, reader)
                read_audit.record(actor, part.ticket, ReadKind.EXPORT)
        return archive.close()
    except BaseException:
        archive.discard()
        raise


def _blob_order(part: TicketPart) -> Iterator[BlobRef]:
    for article in part.articles:
        if article.raw is not None:
            yield article.raw
        yield from (item.blob for item in article.files)


def _batch(
    ids: list[int], address: str, own: set[int], include_internal: bool, totals: Totals
) -> list[TicketPart]:
    """The tickets of ``ids`` with the articles to export, in ticket order."""
    tickets = {
        t.pk: t
        for t in Ticket.objects.filter(pk__in=ids)
        .select_related("queue", "state")
        .only(
            "id",
            "number",
            "title",
            "queue__name",
            "state__name",
            "state_type",
            "created",
            "closed_at",
            "customer_id",
        )
    }
    by_ticket: dict[int, list[ArticlePart]] = {pk: [] for pk in tickets}
    for article in (
        Article.objects.filter(ticket_id__in=ids)
        .select_related("created_by")
        .only(*_ARTICLE_FIELDS)
        .order_by("ticket_id", "created", "id")
    ):
        roles = roles_of(article, address)
        mine = article.ticket_id in own or article.merged_from_id in own
        if not (mine or roles):
            continue
        if is_hidden(article, roles) and not include_internal:
            totals.left_out += 1
            continue
        by_ticket[article.ticket_id].append(ArticlePart(article, None, roles=roles))
    parts = [
        TicketPart(
            tickets[pk], "customer" if pk in own else "participant", by_ticket[pk]
        )
        for pk in sorted(tickets, key=lambda pk: (tickets[pk].created, pk))
        if pk in own or by_ticket[pk]
    ]
    _fill(
        [article for part in parts for article in part.articles],
    )
    return parts


def _fill(articles: list[ArticlePart]) -> None:
    """Bodies (of articles without raw mail), files and blobs: three queries."""
    if not articles:
        return
    by_id = {a.article.pk: a for a in articles}
    rebuilt = [a.article.pk for a in articles if a.article.raw_id is None]
    if rebuilt:
        for pk, text, body_html in Article.objects.filter(pk__in=rebuilt).values_list(
            "pk", "body_text", "body_html"
        ):
            by_id[pk].body_text, by_id[pk].body_html = text, body_html
    files = list(
        Attachment.objects.filter(article_id__in=list(by_id))
        .order_by("article_id", "id")
        .values_list("article_id", "filename", "content_type", "inline", "blob_id")
    )
    blob_ids = {a.article.raw_id for a in articles if a.article.raw_id} | {
        f[4] for f in files
    }
    blobs = {
        pk: BlobRef(pk, sha, size, not external)
        for pk, sha, size, external in Blob.objects.filter(pk__in=blob_ids)
        .annotate(
            external=ExpressionWrapper(
                Q(data__isnull=True), output_field=BooleanField()
            )
        )
        .values_list("pk", "sha256", "size", "external")
    }
    for part in articles:
        if part.article.raw_id is not None:
            part.raw = blobs[part.article.raw_id]
    for article_id, name, content_type, inline, blob_id in files:
        by_id[article_id].files.append(
            FilePart(name, content_type, inline, blobs[blob_id])
        )


# -- runs ---------------------------------------------------------------------------------
def exports_dir() -> Path:
    """The private directory (0700) the exports are written to."""
    path = Path(settings.DATA_DIR) / EXPORTS
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def request_export(
    actor: Any,
    address: str,
    *,
    include_internal: bool = False,
    language: str = "",
    channel: str,
    client: str = "",
) -> PrivacyRun:
    """Ask for the export of ``address`` as ``actor`` (a holder of
    ``handle_personal_data``): a pending run, in the administration log.  The entry
    point then runs it (``run_export``), at once or as a job."""
    privacy_rights.require(actor, privacy_rights.HANDLE_PERSONAL_DATA)
    canonical = canonical_address(address)
    languages = {code for code, _ in settings.LANGUAGES}
    if language and language not in languages:
        raise InvalidInput(f"Unknown language {language!r}; use {sorted(languages)}.")
    if channel not in ReadChannel.values:
        raise ValueError(f"unknown read channel {channel!r}")
    options = {
        "include_internal": bool(include_internal),
        "language": language or settings.LANGUAGE_CODE,
        "channel": channel,
        "client": client[:300],
    }
    with transaction.atomic():
        run = PrivacyRun.objects.create(
            kind=PrivacyRunKind.EXPORT,
            requested_by=actor.pk,
            requested_by_name=actor.get_username(),
            subject=canonical,
            options=options,
            created=timezone.now(),
        )
        admin.record(
            actor,
            "requested subject-access export",
            run,
            object_type="privacy run",
            object_repr=f"export {run.pk} of sha256:{address_hash(canonical)}",
            after={"include_internal": options["include_internal"], "via": channel},
        )
    return run


def run_export(run_id: int, *, target: Path | None = None) -> PrivacyRun:
    """Write the export of a pending run (a job; the command line with ``target``).

    The requester must still hold the right.  Without ``target`` the zip goes into
    ``exports_dir()`` (0600) for ``take_download``; with it, to that path (not
    kept track of).  A run that is not pending is left alone (a job delivered twice).
    Failures are recorded on the run, never raised; the partial file is removed.
    """
    claimed = PrivacyRun.objects.filter(
        pk=run_id, kind=PrivacyRunKind.EXPORT, status=PrivacyRunStatus.PENDING
    ).update(status=PrivacyRunStatus.RUNNING, started=timezone.now())
    run = PrivacyRun.objects.get(pk=run_id)
    if not claimed:
        return run
    final = target or exports_dir() / f"{run.pk}-{secrets.token_hex(8)}.zip"
    partial = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
    try:
        actor = (
            get_user_model().objects.filter(pk=run.requested_by).first()
            if run.requested_by is not None
            else None
        )
        privacy_rights.require(actor, privacy_rights.HANDLE_PERSONAL_DATA)
        options = run.options
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with (
            read_audit.reading(options["channel"], options.get("client", "")),
            translation.override(options.get("language") or settings.LANGUAGE_CODE),
            os.fdopen(fd, "wb") as out,
        ):
            totals = write_export(
                actor,
                run.subject,
                out,
                include_internal=options["include_internal"],
                workdir=partial.parent,
            )
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)
    except HelplineError as exc:
        return _failed(run, exc.message, partial)
    except Exception:
        log.exception("subject-access export %s failed", run.pk)
        return _failed(
            run, "The export failed on the server; the error is logged.", partial
        )
    return _done(run, totals, final, kept=target is None)


def _done(run: PrivacyRun, totals: Totals, path: Path, *, kept: bool) -> PrivacyRun:
    now = timezone.now()
    run.report = {
        "tickets": totals.tickets,
        "messages": totals.articles,
        "attachments": totals.attachments,
        "hidden_messages_left_out": totals.left_out,
        "size": path.stat().st_size,
    }
    if kept:
        days = settings.HELPLINE_SUBJECT_ACCESS_EXPORT_DAYS
        run.report |= {
            "file": path.name,
            "host": socket.gethostname(),
            "expires": (now + timedelta(days=days)).isoformat(),
        }
    run.status, run.finished = PrivacyRunStatus.DONE, now
    run.subject = address_hash(run.subject)
    run.save(update_fields=["report", "status", "finished", "subject"])
    return run


def _failed(run: PrivacyRun, message: str, partial: Path | None) -> PrivacyRun:
    if partial is not None:
        partial.unlink(missing_ok=True)
    run.status, run.finished = PrivacyRunStatus.FAILED, timezone.now()
    run.errors = [message]
    if "@" in run.subject:
        run.subject = address_hash(run.subject)
    run.save(update_fields=["status", "finished", "errors", "subject"])
    return run


# -- what the requester sees --------------------------------------------------------------
@dataclass(frozen=True)
class ExportState:
    """A run as its requester sees it; ``status`` is also ``ready`` (to download),
    ``downloaded`` or ``expired``."""

    id: int
    status: str
    created: datetime
    finished: datetime | None
    include_internal: bool
    tickets: int | None
    messages: int | None
    attachments: int | None
    size: int | None
    expires: datetime | None
    downloaded: datetime | None
    error: str


def _moment(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None


def state_of(run: PrivacyRun) -> ExportState:
    report = run.report or {}
    status = run.status
    if status == PrivacyRunStatus.DONE:
        if "file" in report:
            status = "ready"
        elif report.get("downloaded"):
            status = "downloaded"
        elif report.get("expired"):
            status = "expired"
    return ExportState(
        id=run.pk,
        status=str(status),
        created=run.created,
        finished=run.finished,
        include_internal=bool(run.options.get("include_internal")),
        tickets=report.get("tickets"),
        messages=report.get("messages"),
        attachments=report.get("attachments"),
        size=report.get("size"),
        expires=_moment(report.get("expires")),
        downloaded=_moment(report.get("downloaded")),
        error="; ".join(str(e) for e in run.errors or []),
    )


def _own_runs(actor: Any) -> Any:
    privacy_rights.require(actor, privacy_rights.HANDLE_PERSONAL_DATA)
    return PrivacyRun.objects.filter(kind=PrivacyRunKind.EXPORT, requested_by=actor.pk)


def exports_of(actor: Any, *, limit: int = 20) -> list[ExportState]:
    """The latest exports ``actor`` asked for (holders only), newest first."""
    return [state_of(run) for run in _own_runs(actor).order_by("-created")[:limit]]


def get_export(actor: Any, run_id: int) -> ExportState:
    """One export ``actor`` asked for; another's is not found."""
    run = _own_runs(actor).filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"You have no export {run_id}.")
    return state_of(run)


@dataclass
class ExportFile:
    handle: BinaryIO  # the zip, open; its file is gone from the directory
    size: int
    filename: str


def take_download(actor: Any, run_id: int) -> ExportFile:
    """The zip of a finished export, once, for its requester: its file is deleted as
    it is handed over (the open handle still reads it)."""
    with transaction.atomic():
        run = _own_runs(actor).select_for_update().filter(pk=run_id).first()
        if run is None:
            raise NotFound(f"You have no export {run_id}.")
        state = state_of(run)
        if state.status in {PrivacyRunStatus.PENDING, PrivacyRunStatus.RUNNING}:
            raise ExportNotReady("The export is not ready yet; try again shortly.")
        if state.status == PrivacyRunStatus.FAILED:
            raise ExportNotReady(f"The export failed: {state.error}")
        if state.status != "ready":
            raise ExportGone(
                f"The export was {state.status} already and its file deleted; "
                "ask for a new one."
            )
        path = exports_dir() / run.report["file"]
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            host = run.report.get("host", "")
            where = (
                f" (it was written on {host})" if host != socket.gethostname() else ""
            )
            raise ExportGone(
                f"The export's file is not on this server{where}; ask for a new one."
            ) from None
        report = dict(run.report)
        report.pop("file")
        report["downloaded"] = timezone.now().isoformat()
        run.report = report
        run.save(update_fields=["report"])
        admin.record(
            actor,
            "downloaded subject-access export",
            run,
            object_type="privacy run",
            object_repr=f"export {run.pk}",
        )
    path.unlink(missing_ok=True)
    return ExportFile(
        handle=handle,
        size=os.fstat(handle.fileno()).st_size,
        filename=f"subject-access-{run.pk}-{run.created:%Y%m%d}.zip",
    )


# -- purging ------------------------------------------------------------------------------
def purge_exports(*, now: datetime | None = None) -> int:
    """Delete the files of exports kept longer than
    ``HELPLINE_SUBJECT_ACCESS_EXPORT_DAYS``, fail runs lost with their worker, and
    delete files no run names (a crash's leftovers); how many files were deleted.
    Run every hour by the worker."""
    now = now or timezone.now()
    keep = timedelta(days=settings.HELPLINE_SUBJECT_ACCESS_EXPORT_DAYS)
    directory = exports_dir()
    deleted = 0
    runs = PrivacyRun.objects.filter(
        kind=PrivacyRunKind.EXPORT, status=PrivacyRunStatus.DONE, report__has_key="file"
    )
    named: set[str] = set()
    for run in runs:
        if run.finished is not None and run.finished > now - keep:
            named.add(run.report["file"])
            continue
        (directory / run.report["file"]).unlink(missing_ok=True)
        report = dict(run.report)
        report.pop("file")
        report["expired"] = now.isoformat()
        run.report = report
        run.save(update_fields=["report"])
        deleted += 1
    for run in PrivacyRun.objects.filter(
        kind=PrivacyRunKind.EXPORT,
        status__in=[PrivacyRunStatus.PENDING, PrivacyRunStatus.RUNNING],
        created__lt=now - STALE_AFTER,
    ):
        _failed(run, "The worker stopped before the export was written.", None)
    # Files no run names: a crash's partial file, a zip whose run was lost.  Only
    # old ones: a zip just written is named by its run a moment later.
    for path in directory.iterdir():
        if path.name in named or not path.is_file():
            continue
        if datetime.fromtimestamp(path.stat().st_mtime, UTC) < now - STALE_AFTER:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
