"""The configuration the mail pipeline reads for every message, kept per process.

System addresses, PostMaster filters, queues, ticket states, which queues have an
auto-response of which type and which queues have followers change rarely (an admin
edits them) but are read for every message.  ``current()`` returns a snapshot of them
that each process keeps until the configuration changes; each part is read from the
database the first time it is asked for, so a process that handles one message (the
pipe) reads only what it needs.

How a change reaches every process: saving or deleting one of these rows (or changing
the auto-responses' queues or an agent's followed queues) drops this process's
snapshot at once and writes a new version token into the shared cache (Django's
``default`` cache: files in the data directory, or Redis), again when the transaction
commits.  Every process compares the token with its snapshot's before each message and
reads the configuration again when they differ, when the token is missing (the cache
was cleared) or when the snapshot is older than ``MAX_AGE`` seconds — the last for
changes made without signals (``QuerySet.update``, SQL, a bulk import).  When the
shared cache fails, nothing is kept: every message reads the database, as before.

A batch of messages (``pinned``) uses one snapshot for all its messages and for the
hooks that run after its commit, asking the shared cache once.

Snapshots hold model instances shared between messages: read them, never change them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from helpline.addresses import normalize
from helpline.models import (
    AgentProfile,
    AutoResponse,
    ImportedObject,
    PostmasterFilter,
    Queue,
    SystemAddress,
    TicketState,
)
from helpline.numbers import LEGACY_HOOK_KIND, LegacyHook, configured_legacy_hooks

log = logging.getLogger(__name__)

VERSION_KEY = "helpline:mail-config-version"
MAX_AGE = 60.0


@dataclass
class Snapshot:
    """One consistent view of the configuration; parts load on first use."""

    token: str | None
    loaded: float = field(default_factory=time.monotonic)

    @cached_property
    def addresses(self) -> dict[str, SystemAddress]:
        """Valid system addresses by canonical email (helpline.addresses), with
        their queue."""
        return {
            normalize(a.email) or a.email.lower(): a
            for a in SystemAddress.objects.filter(valid=True).select_related("queue")
        }

    @cached_property
    def own_addresses(self) -> frozenset[str]:
        """Every system address in canonical form (helpline.addresses), switched off
        or not: one that no longer receives mail is still ours, never a customer's
        or a participant's (auto-responses and replies exclude them all too)."""
        found = {
            normalize(email) or email.lower()
            for email in SystemAddress.objects.values_list("email", flat=True)
        }
        return frozenset(found)

    @cached_property
    def filters(self) -> tuple[PostmasterFilter, ...]:
        """Valid PostMaster filters in the order they run."""
        return tuple(
            PostmasterFilter.objects.filter(valid=True).order_by("order", "name")
        )

    @cached_property
    def _queues(self) -> tuple[dict[str, Queue], dict[int, Queue]]:
        queues = list(Queue.objects.all())
        return {q.name: q for q in queues}, {q.pk: q for q in queues}

    def queue_named(self, name: str) -> Queue | None:
        return self._queues[0].get(name)

    def queue(self, pk: int) -> Queue | None:
        return self._queues[1].get(pk)

    @cached_property
    def _states(self) -> dict[str, TicketState]:
        return {s.name: s for s in TicketState.objects.filter(valid=True)}

    def state(self, name: str) -> TicketState | None:
        """The valid state of that name."""
        return self._states.get(name)

    @cached_property
    def _auto_responses(self) -> frozenset[tuple[str, int]]:
        through = AutoResponse.queues.through
        return frozenset(
            through.objects.filter(autoresponse__valid=True).values_list(
                "autoresponse__type", "queue_id"
            )
        )

    def has_auto_response(self, type_: str, queue_id: int) -> bool:
        """Has the queue a valid auto-response of this type?"""
        return (type_, queue_id) in self._auto_responses

    @cached_property
    def _followed(self) -> frozenset[int]:
        through = AgentProfile.followed_queues.through
        return frozenset(through.objects.values_list("queue_id", flat=True).distinct())

    def has_followers(self, queue_id: int) -> bool:
        """Does any agent follow the queue (active or not: the caller checks)?"""
        return queue_id in self._followed

    @cached_property
    def legacy_hooks(self) -> tuple[LegacyHook, ...]:
        """The ticket hooks of replaced systems: HELPLINE_LEGACY_TICKET_HOOKS, then
        those an import stored (``ImportedObject`` of kind ``ticket_hook``)."""
        hooks = configured_legacy_hooks()
        for cursor in ImportedObject.objects.filter(kind=LEGACY_HOOK_KIND).values_list(
            "cursor", flat=True
        ):
            try:
                hooks.append(LegacyHook.from_dict(cursor))
            except (TypeError, ValueError):
                log.warning("ignoring a stored legacy ticket hook: %r", cursor)
        return tuple(dict.fromkeys(hooks))


_lock = threading.Lock()
_current: Snapshot | None = None
_warned = False
_pinned = threading.local()


def _shared_token() -> str | None:
    """The version in the shared cache (set if missing); None if the cache fails."""
    global _warned
    try:
        token = cache.get(VERSION_KEY)
        if token is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
            token = cache.get(VERSION_KEY)
    except Exception:  # the cache is only an optimisation: read the database instead
        if not _warned:
            log.warning("shared cache unavailable: configuration read per message")
            _warned = True
        return None
    return str(token) if token is not None else None


def current() -> Snapshot:
    """The configuration snapshot for the message about to be processed."""
    global _current
    pinned: Snapshot | None = getattr(_pinned, "snapshot", None)
    if pinned is not None:
        return pinned
    token = _shared_token()
    snapshot = _current
    if (
        snapshot is not None
        and token is not None
        and snapshot.token == token
        and time.monotonic() - snapshot.loaded < MAX_AGE
    ):
        return snapshot
    snapshot = Snapshot(token)
    if token is not None:
        with _lock:
            _current = snapshot
    return snapshot


@contextmanager
def pinned() -> Iterator[Snapshot]:
    """The current snapshot, returned by ``current()`` in this thread until the block
    ends (a batch of messages: one configuration for all of them)."""
    outer: Snapshot | None = getattr(_pinned, "snapshot", None)
    _pinned.snapshot = outer or current()
    try:
        yield _pinned.snapshot
    finally:
        _pinned.snapshot = outer


def invalidate() -> None:
    """Forget this process's snapshot and tell the other processes to forget theirs."""
    global _current
    with _lock:
        _current = None
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:  # other processes catch up within MAX_AGE
        log.warning("could not announce a configuration change", exc_info=True)


def _changed(*, action: str = "post_", **kwargs: object) -> None:
    if not action.startswith("post_"):  # m2m_changed fires before and after
        return
    invalidate()
    # Again after the commit: a process that re-read in between saw the old rows.
    transaction.on_commit(invalidate)


_WATCHED = (SystemAddress, PostmasterFilter, Queue, TicketState, AutoResponse)
_WATCHED_M2M = (AutoResponse.queues.through, AgentProfile.followed_queues.through)


def connect() -> None:
    """Watch the configuration models (idempotent; ``HelplineConfig.ready``)."""
    for model in (*_WATCHED, AgentProfile):
        post_save.connect(_changed, sender=model, dispatch_uid=f"snapshot-{model}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"snapshot-d-{model}")
    for through in _WATCHED_M2M:
        m2m_changed.connect(
            _changed, sender=through, dispatch_uid=f"snapshot-{through}"
        )
