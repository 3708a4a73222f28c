"""Runs of the jobs that remove data (``PrivacyRun``): asked for, claimed by one
worker, finished with a report that names tickets by number and never by content.

A run is asked for (``request_run``: status pending) by a holder of
``handle_personal_data`` from the web, the API or the command line, and carried out
by the worker (``helpline.jobs.privacy_run_job``) or, from the command line, at
once; the nightly retention creates its own.  Exactly one worker carries out a run:
it claims the run by moving it from pending to running in one statement.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from helpline.actions import privacy_rights
from helpline.errors import NotFound
from helpline.models import PrivacyRun, PrivacyRunKind, PrivacyRunStatus

RECENT_RUNS = 10


def request_run(
    actor: Any, kind: str, *, subject: str = "", options: dict[str, Any] | None = None
) -> PrivacyRun:
    """A pending run of ``kind`` asked for by ``actor`` (who must hold
    ``handle_personal_data``); the caller has the worker carry it out."""
    privacy_rights.require(actor, privacy_rights.HANDLE_PERSONAL_DATA)
    return new_run(kind, actor=actor, subject=subject, options=options)


def new_run(
    kind: str,
    *,
    actor: Any | None = None,
    subject: str = "",
    options: dict[str, Any] | None = None,
    status: str = PrivacyRunStatus.PENDING,
) -> PrivacyRun:
    if kind not in PrivacyRunKind.values:
        raise ValueError(f"unknown privacy run kind {kind!r}")
    now = timezone.now()
    return PrivacyRun.objects.create(
        kind=kind,
        status=status,
        requested_by=actor.pk if actor is not None else None,
        requested_by_name=actor.get_username() if actor is not None else "",
        subject=subject,
        options=options or {},
        created=now,
        started=now if status == PrivacyRunStatus.RUNNING else None,
    )


def claim(run_id: int, kind: str) -> PrivacyRun | None:
    """Move the pending run to running for this worker; None when there is no such
    pending run (another worker took it, or it ran already)."""
    taken = PrivacyRun.objects.filter(
        pk=run_id, kind=kind, status=PrivacyRunStatus.PENDING
    ).update(status=PrivacyRunStatus.RUNNING, started=timezone.now())
    return PrivacyRun.objects.get(pk=run_id) if taken else None


def save_progress(run: PrivacyRun) -> None:
    run.save(update_fields=["report", "errors"])


def finish(run: PrivacyRun, *, failed: bool = False) -> PrivacyRun:
    """Done (or failed), with its report; an erasure's subject is replaced by its
    SHA-256 (the record of an erasure keeps no address)."""
    run.status = PrivacyRunStatus.FAILED if failed else PrivacyRunStatus.DONE
    run.finished = timezone.now()
    if run.kind == PrivacyRunKind.ERASURE and run.subject:
        run.subject = subject_hash(run.subject)
    run.save(update_fields=["status", "finished", "subject", "report", "errors"])
    return run


def subject_hash(address: str) -> str:
    """What a finished erasure keeps of its address: ``sha256:`` and the hex digest
    of the address in lower case (so that a later request for the same address can
    be matched to it, and the address not read from it)."""
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()
    return f"sha256:{digest}"


def runs_for(
    actor: Any, kind: str, *, limit: int = RECENT_RUNS
) -> QuerySet[PrivacyRun]:
    """The newest runs of ``kind``, for a holder of ``handle_personal_data``."""
    privacy_rights.require(actor, privacy_rights.HANDLE_PERSONAL_DATA)
    return PrivacyRun.objects.filter(kind=kind).order_by("-created", "-id")[:limit]


def get_run(actor: Any, run_id: int) -> PrivacyRun:
    """One run, for a holder of ``handle_personal_data``."""
    privacy_rights.require(actor, privacy_rights.HANDLE_PERSONAL_DATA)
    run = PrivacyRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"No privacy run {run_id}.")
    return run
