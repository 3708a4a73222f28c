"""Reads of the heavy pages from a PostgreSQL streaming replica (docs/scaling.md).

With ``HELPLINE_DATABASE_REPLICA_URL`` set, settings add a second database alias,
``replica``, and ``ReplicaRouter``.  Nothing goes to the replica unless a view asks
for it with ``@replica_reads`` (search, queue views and lists, the dashboard, the
API's lists); every other read, every write and every question of permission goes to
the primary.  Inside such a view:

- Grants, roles, groups, agents and sessions are still read from the primary
  (``PRIMARY_ONLY``), and the ticket filters that embed the grants as a subquery
  (``visible_to``, ``queues_with``) take the group ids from the primary first
  (``primary_values``): a revoked grant must not linger on a lagging replica.
- An agent who has just written (any unsafe method) reads from the primary for
  ``HELPLINE_REPLICA_PIN_SECONDS``: a key in the shared cache and a signed cookie,
  so that the pin holds whichever web host serves the next request.
- A replica that lags by more than ``HELPLINE_REPLICA_MAX_LAG_SECONDS``, or that
  cannot be reached within ``HELPLINE_REPLICA_CONNECT_TIMEOUT``, is bypassed, with a
  warning in the log when that starts; its state is checked at most every
  ``HELPLINE_REPLICA_CHECK_SECONDS`` per process (``replica_state()``; the
  monitoring reads ``replica_metrics()``).

The lag is measured from WAL positions: a replica that has replayed everything the
primary had flushed lags by 0; one that has not lags by the time since the last
transaction it replayed was committed.  That is an upper bound (a replica idle for an
hour then one write behind counts as an hour behind until it replays it, a few
milliseconds later): it errs towards the primary.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

PRIMARY = "default"
REPLICA = "replica"
PIN_COOKIE = "helpline_pin"
_PIN_SALT = "helpline.replica.pin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Who may read what, and who is logged in: always the primary's answer.
PRIMARY_ONLY = frozenset(
    {
        "helpline.grant",
        "helpline.role",
        "helpline.role_members",
        "helpline.group",
        "helpline.apitoken",
        "auth.user",
        "auth.group",
        "auth.permission",
        "sessions.session",
        "contenttypes.contenttype",
    }
)

log = logging.getLogger("helpline.replica")
# While a view reads from the replica: the primary's answers to permission questions
# already asked in it (``primary_values``), else None.
_reading: ContextVar[dict[str, list[Any]] | None] = ContextVar(
    "helpline_replica_reading", default=None
)


def configured() -> bool:
    return REPLICA in settings.DATABASES


def reading_replica() -> bool:
    """Whether the reads of this moment go to the replica."""
    return _reading.get() is not None


class ReplicaRouter:
    """Reads inside ``reading_from_replica()`` go to the replica, all else to the
    primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        if _reading.get() is not None and model._meta.label_lower not in PRIMARY_ONLY:
            return REPLICA
        return PRIMARY

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True  # the same data on both

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY


def reading_connection() -> BaseDatabaseWrapper:
    """The connection that raw reads (the search engine's SQL) should use now."""
    return connections[REPLICA if _reading.get() is not None else PRIMARY]


def primary_values(
    qs: QuerySet[Any, Any], field: str
) -> QuerySet[Any, Any] | list[Any]:
    """``qs.values(field)`` as a subquery, or, while reading from the replica, the
    primary's list of those values: permissions are never taken from a replica.
    Asked once per view: the same question again gets the same list."""
    asked = _reading.get()
    if asked is None:
        return qs.values(field)
    query = qs.using(PRIMARY).values_list(field, flat=True)
    key = str(query.query)
    if key not in asked:
        asked[key] = list(query)
    return asked[key]


@contextmanager
def reading_from_replica() -> Iterator[None]:
    token = _reading.set({})
    try:
        yield
    finally:
        _reading.reset(token)


# --- the replica's state --------------------------------------------------------------
@dataclass(frozen=True)
class ReplicaState:
    """``status``: ``off`` (not configured), ``ok``, ``lagging``, ``down``, or
    ``unknown`` (the primary did not answer the check)."""

    status: str
    lag_seconds: float | None
    checked_at: float  # time.time() of the check
    error: str = ""

    @property
    def usable(self) -> bool:
        return self.status == "ok"


_OFF = ReplicaState("off", None, 0.0)
_lock = threading.Lock()
_last: ReplicaState | None = None
_last_checked = 0.0  # time.monotonic()
_counts = {"replica": 0, "primary_pinned": 0, "primary_bypassed": 0}


def replica_counts() -> dict[str, int]:
    """Requests of ``@replica_reads`` views in this process: served by the replica,
    by the primary because the agent had just written, or because the replica was
    lagging or down."""
    with _lock:
        return dict(_counts)


def replica_metrics() -> dict[str, float]:
    """The replica's state and this process's counts as numbers, for a metrics
    endpoint: ``up`` 1 when the pages may read from it; ``lag_seconds`` -1 when
    unknown (down, or not configured)."""
    state = replica_state()
    lag = -1.0 if state.lag_seconds is None else state.lag_seconds
    return {
        "configured": float(state.status != "off"),
        "up": float(state.usable),
        "lag_seconds": lag,
        "checked_at": state.checked_at,
        **{f"requests_{key}": float(n) for key, n in replica_counts().items()},
    }


def _count(key: str) -> None:
    from helpline.monitoring.metrics import count_replica_read

    with _lock:
        _counts[key] += 1
    count_replica_read(key)


def _measure() -> ReplicaState:
    now = time.time()
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_flush_lsn()")
            (primary_lsn,) = cursor.fetchone()
    except DatabaseError as exc:
        # Without the primary's position the lag is unknown: not usable.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "?"
        return ReplicaState(
            "unknown", None, now, f"the primary did not answer: {reason}"
        )
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= %s::pg_lsn,"
                " extract(epoch FROM now() - pg_last_xact_replay_timestamp())",
                [primary_lsn],
            )
            recovering, caught_up, behind = cursor.fetchone()
    except DatabaseError as exc:
        connections[REPLICA].close()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "?"
        return ReplicaState("down", None, now, reason)
    if not recovering:
        return ReplicaState("down", None, now, "not a standby (promoted?)")
    if caught_up:
        return ReplicaState("ok", 0.0, now)
    lag = None if behind is None else max(0.0, float(behind))
    limit = settings.HELPLINE_REPLICA_MAX_LAG_SECONDS
    if lag is None or lag > limit:
        return ReplicaState("lagging", lag, now, f"more than {limit} s behind")
    return ReplicaState("ok", lag, now)


def _record(state: ReplicaState) -> None:
    global _last, _last_checked
    before = _last
    _last, _last_checked = state, time.monotonic()
    if state.usable:
        if before is not None and not before.usable:
            log.warning("Replica usable again (lag %.1f s).", state.lag_seconds or 0)
    elif before is None or before.usable or before.status != state.status:
        lag = "unknown" if state.lag_seconds is None else f"{state.lag_seconds:.1f} s"
        log.warning(
            "Replica %s (lag %s: %s): reading from the primary.",
            state.status,
            lag,
            state.error,
        )


def replica_state(*, fresh: bool = False) -> ReplicaState:
    """The replica's state, checked at most every HELPLINE_REPLICA_CHECK_SECONDS."""
    if not configured():
        return _OFF
    with _lock:
        age = time.monotonic() - _last_checked
        if (
            _last is not None
            and not fresh
            and age < settings.HELPLINE_REPLICA_CHECK_SECONDS
        ):
            return _last
    state = _measure()
    with _lock:
        _record(state)
    return state


def mark_down(error: BaseException) -> None:
    """A query on the replica failed: bypass it until the next check."""
    with _lock:
        _record(ReplicaState("down", None, time.time(), str(error).strip()[:200]))
    connections[REPLICA].close()


# --- pinning an agent who has just written to the primary ------------------------------
def _agent_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return int(user.pk)
    auth: Any = getattr(request, "auth", None)  # the API's token holder
    pk = getattr(auth, "pk", None)
    return None if pk is None else int(pk)


def _pin_key(agent_id: int) -> str:
    return f"helpline:replica-pin:{agent_id}"


def pin(request: HttpRequest, response: HttpResponse) -> None:
    """Send this agent's reads to the primary for HELPLINE_REPLICA_PIN_SECONDS."""
    agent_id = _agent_id(request)
    seconds = settings.HELPLINE_REPLICA_PIN_SECONDS
    if agent_id is None or seconds <= 0:
        return
    cache.set(_pin_key(agent_id), 1, timeout=seconds)
    response.set_signed_cookie(
        PIN_COOKIE,
        str(agent_id),
        salt=_PIN_SALT,
        max_age=seconds,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def pinned(request: HttpRequest) -> bool:
    agent_id = _agent_id(request)
    if agent_id is None:
        return False
    try:
        cookie = request.get_signed_cookie(
            PIN_COOKIE,
            default=None,
            salt=_PIN_SALT,
            max_age=settings.HELPLINE_REPLICA_PIN_SECONDS,
        )
    except signing.BadSignature:
        cookie = None
    if cookie == str(agent_id):
        return True
    return bool(cache.get(_pin_key(agent_id)))


class PinAfterWriteMiddleware:
    """After an unsafe request of a logged-in agent (or an API token's), pin the
    agent's reads to the primary.  Not after logging in (nothing of the agent's was
    written yet) nor after a view marked ``@no_pin`` (presence heartbeats)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        unsafe = request.method not in SAFE_METHODS and configured()
        was_agent = unsafe and request.user.is_authenticated
        response = self.get_response(request)
        writer = was_agent or getattr(request, "auth", None) is not None
        if unsafe and writer and not getattr(request, "_helpline_no_pin", False):
            pin(request, response)
        return response

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], *args: Any
    ) -> None:
        if getattr(view, "replica_no_pin", False):
            request._helpline_no_pin = True  # type: ignore[attr-defined]


def no_pin(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view whose writes do not pin the agent to the primary: what it writes is
    not read back in the replica's lists (presence heartbeats)."""
    view.replica_no_pin = True  # type: ignore[attr-defined]
    return view


# --- the views that read from the replica ---------------------------------------------
View = Callable[..., Any]


def on_replica(request: HttpRequest, call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)``, reading from the replica when that is safe: a safe method, an
    agent who has not just written, a replica that is up and not lagging.  A replica
    that fails during the call is marked down and the call runs again on the
    primary.  (The API's list functions call this: django-ninja reads their
    signatures, which a decorator would hide.)"""
    if not configured() or request.method not in SAFE_METHODS:
        return call(*args)
    if pinned(request):
        _count("primary_pinned")
        return call(*args)
    if not replica_state().usable:
        _count("primary_bypassed")
        return call(*args)
    try:
        with reading_from_replica():
            result = call(*args)
            # A template response renders (and reads) here, not later.
            if callable(getattr(result, "render", None)) and not getattr(
                result, "is_rendered", True
            ):
                result.render()
    except (OperationalError, InterfaceError) as exc:
        # The replica went away, or replay cancelled the query; a bug (any other
        # database error) is not the replica's fault and is raised as it is.
        mark_down(exc)
        _count("primary_bypassed")
        return call(*args)
    _count("replica")
    return result


def replica_reads(view: View) -> View:
    """A read-only view served from the replica when that is safe (``on_replica``)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return on_replica(request, functools.partial(view, request, *args, **kwargs))

    return wrapped
