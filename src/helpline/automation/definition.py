"""Defining jobs: create, change, delete; every entry point (CLI, API, admin) calls
these, which check everything and write the administration log.

Who may: an administrator (an active staff account).  A job's owner is an
administrator too (the one who defines it, unless another is named); its reach is
bounded twice — the tickets the owner may read (the same filter as every list), in
the queues the job names, which the owner must be able to read — and each step needs
the owner's permission on the ticket's queue (``steps.Step.need``).  The job acts
through an account of its own, ``job:NAME``: inactive, without a password, never
signing in, so its changes carry its name in each ticket's history.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from helpline.actions import admin
from helpline.actions.access import may_in_queue
from helpline.automation import steps, triggers
from helpline.errors import InvalidInput, NotFound, PermissionDenied
from helpline.models import AutomationJob, Permission, Queue
from helpline.search import parse_query

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
NAME_RULE = (
    "1 to 80 lower-case letters, digits, '.', '_' or '-', starting with a letter or "
    "digit."
)
ACCOUNT_PREFIX = "job:"
MAX_DAYS = 100 * 366


@dataclass
class JobSpec:
    """What an administrator says a job is; ``None`` fields stay as they are."""

    query: str | None = None
    queues: list[str] | None = None
    trigger: str | None = None
    schedule: str | None = None
    actions: list[dict[str, Any]] | None = None
    comment: str | None = None
    valid: bool | None = None
    once_per_ticket: bool | None = None
    owner: str | None = None
    # Ages in days ("created_days": 7); a value of None in the dict clears one.
    ages: dict[str, int | None] = field(default_factory=dict)


def require_admin(actor: Any) -> None:
    if actor is None or not (actor.is_active and actor.is_staff):
        raise PermissionDenied("Only an administrator may define automation jobs.")


def get_job(name: str) -> AutomationJob:
    job = (
        AutomationJob.objects.select_related("owner", "actor").filter(name=name).first()
    )
    if job is None:
        raise NotFound(f"There is no automation job {name!r}.")
    return job


def _owner(login: str) -> Any:
    owner = get_user_model().objects.filter(username=login).first()
    if owner is None or not (owner.is_active and owner.is_staff):
        raise InvalidInput(
            f"A job's owner must be an active administrator; {login!r} is not."
        )
    return owner


def _queues(names: list[str], owner: Any) -> list[Queue]:
    if not names:
        raise InvalidInput("A job needs at least one queue it may act in.")
    found = {q.name: q for q in Queue.objects.filter(name__in=names)}
    missing = [n for n in names if n not in found]
    if missing:
        raise NotFound(f"There is no queue {', '.join(map(repr, missing))}.")
    for queue in found.values():
        if not may_in_queue(owner, queue, Permission.RO):
            raise InvalidInput(
                f"{owner.get_username()} cannot read queue {queue.name}: a job reaches "
                "only what its owner may read."
            )
    return list(found.values())


def _ages(job: AutomationJob, ages: dict[str, int | None]) -> None:
    from helpline.automation.selection import AGES

    for key, days in ages.items():
        if key not in AGES:
            raise InvalidInput(f"Unknown age {key!r}; use {', '.join(AGES)}.")
        if days is not None and (
            isinstance(days, bool)
            or not isinstance(days, int)
            or not 0 <= days <= MAX_DAYS
        ):
            raise InvalidInput(f"{key} must be a number of days, 0 to {MAX_DAYS}.")
        setattr(job, key, days)


def _apply(job: AutomationJob, spec: JobSpec, actor: Any) -> list[Queue] | None:
    if spec.owner is not None:
        job.owner = _owner(spec.owner)
    elif job.owner_id is None:
        job.owner = actor
    queues = _queues(spec.queues, job.owner) if spec.queues is not None else None
    queue_ids = frozenset(
        q.pk for q in (queues if queues is not None else job.queues.all())
    )
    if spec.query is not None:
        parse_query(spec.query)  # InvalidInput says what is wrong
        job.query = spec.query.strip()
    if spec.trigger is not None or spec.schedule is not None:
        trigger = spec.trigger if spec.trigger is not None else job.trigger
        schedule = spec.schedule if spec.schedule is not None else job.schedule
        if trigger != job.trigger and trigger in triggers.EVENTS:
            job.event_cursor = triggers.EVENTS[trigger].start()
        job.trigger, job.schedule = triggers.check_trigger(trigger, schedule)
    if spec.actions is not None:
        job.actions = steps.check_steps(spec.actions, queue_ids)
    elif queues is not None:
        job.actions = steps.check_steps(job.actions, queue_ids)  # moves still allowed?
    for name in ("comment", "valid", "once_per_ticket"):
        value = getattr(spec, name)
        if value is not None:
            setattr(job, name, value)
    _ages(job, spec.ages)
    return queues


def _summary(job: AutomationJob) -> dict[str, Any]:
    return {
        "query": job.query,
        "queues": sorted(job.queues.values_list("name", flat=True)),
        "trigger": job.trigger,
        "schedule": job.schedule,
        "actions": job.actions,
        "valid": job.valid,
        "owner": job.owner.get_username(),
    }


def check_spec(actor: Any, job: AutomationJob, spec: JobSpec) -> None:
    """Would ``spec`` be accepted for ``job`` (a new one: unsaved)?  Changes nothing
    (the administration form shows the errors next to the fields)."""
    require_admin(actor)
    if job.pk is None and not NAME.match(job.name or ""):
        raise InvalidInput(f"{job.name!r} is not a job name: {NAME_RULE}")
    _apply(copy.copy(job), spec, actor)


def create_job(actor: Any, name: str, spec: JobSpec) -> AutomationJob:
    """A new job and its account; ``InvalidInput`` for anything wrong in ``spec``."""
    require_admin(actor)
    if not NAME.match(name):
        raise InvalidInput(f"{name!r} is not a job name: {NAME_RULE}")
    if spec.actions is None or spec.queues is None:
        raise InvalidInput("A job needs its queues and its actions.")
    with transaction.atomic():
        if AutomationJob.objects.filter(name=name).exists():
            raise InvalidInput(f"There is a job named {name!r} already.")
        job = AutomationJob(name=name, trigger=triggers.MANUAL)
        if spec.trigger is None:
            spec.trigger = triggers.SCHEDULE if spec.schedule else triggers.MANUAL
        queues = _apply(job, spec, actor)
        users = get_user_model()
        account = users.objects.filter(username=f"{ACCOUNT_PREFIX}{name}").first()
        if account is None:
            account = users(username=f"{ACCOUNT_PREFIX}{name}", is_active=False)
            account.set_unusable_password()
            account.save()
        job.actor = account
        job.save()
        job.queues.set(queues or [])
        admin.record(actor, "create", job, after=_summary(job))
        return job


def change_job(actor: Any, job: AutomationJob, spec: JobSpec) -> AutomationJob:
    require_admin(actor)
    with transaction.atomic():
        job = AutomationJob.objects.select_for_update().get(pk=job.pk)
        before = _summary(job)
        queues = _apply(job, spec, actor)
        job.save()
        if queues is not None:
            job.queues.set(queues)
        admin.record(actor, "change", job, before=before, after=_summary(job))
        return job


def delete_job(actor: Any, job: AutomationJob) -> None:
    """Delete the job and its runs; its account stays (the history names it)."""
    require_admin(actor)
    with transaction.atomic():
        admin.record(actor, "delete", job, before=_summary(job))
        job.delete()
