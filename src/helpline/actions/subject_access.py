"""Subject-access exports (GDPR Art. 15): asked for, written, handed over once.

Asked for by a holder of the ``handle_personal_data`` right (``privacy_rights``; being
an administrator is not enough), for an email address, from the web page, the REST
API or the command line.  Every entry point calls ``request_export`` (a privacy run
of kind ``export``, in the administration log) and then ``run_export``: the web and
the API through a worker job, which writes the zip into ``<data dir>/exports/`` for
the requester alone to download once (``take_download``) within
``HELPLINE_SUBJECT_ACCESS_EXPORT_DAYS``; the command line at once, into its file.
What the zip holds: ``subject_access_content`` and ``subject_access_archive``.

The export is audited: a read of kind ``export`` of every ticket included, on the
channel of the entry point it was asked from.  The run's ``subject`` is the address
while it waits or runs and its SHA-256 afterwards (as for an erasure), and so is the
administration log entry: administrators see that an export was made and by whom,
not whose; a holder who knows the address can match it (``address_hash``).  The
download is in the administration log too.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone, translation

from helpline.actions import admin, privacy_rights, read_audit
from helpline.actions.subject_access_archive import Totals
from helpline.actions.subject_access_content import (
    address_hash,
    canonical_address,
    write_export,
)
from helpline.errors import HelplineError, InvalidInput, NotFound
from helpline.models import (
    PrivacyRun,
    PrivacyRunKind,
    PrivacyRunStatus,
    ReadChannel,
)

log = logging.getLogger(__name__)

EXPORTS = "exports"  # the directory under DATA_DIR
# A run still waiting or running after this was lost with its worker.
STALE_AFTER = timedelta(hours=24)


class ExportNotReady(HelplineError):
    code = "export_not_ready"
    http_status = 409


class ExportGone(HelplineError):
    code = "export_gone"
    http_status = 410


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
        if target is None:
            os.replace(partial, final)
        else:  # a link, unlike a rename, never replaces a file made meanwhile
            os.link(partial, final)
            partial.unlink()
    except FileExistsError:
        return _failed(run, f"{final} exists; nothing was overwritten.", partial)
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
