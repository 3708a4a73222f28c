"""Field filters (``queue:``, ``state:``, ``created:`` ...) as conditions on tickets.

Each filter becomes a ``Q`` on ``Ticket`` that uses the ticket row's own columns and
indexes, or a subquery on a small table (queues, states, users, customers), so a
search with filters only is plain indexed SQL.  Two filters run a query: ``queue:``
reads the ids of the queue and its sub-queues, and ``state:`` with a name that is not
a state type checks that the state exists, so that a typo is an error rather than an
empty result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet

from helpline.errors import InvalidInput
from helpline.models import Customer, Queue, StateType, TicketState, TicketWatcher
from helpline.search.query import DateRange, Filter

# The value that names the searching agent in owner:, responsible:, watcher:.
ME = "me"
STATE_ALIASES = {
    "open": StateType.open_types(),
    "pending": StateType.pending_types(),
}
DATE_COLUMNS = {
    "created": "created",
    "changed": "changed",
    "closed": "closed_at",
    "pending": "pending_until",
}


def filter_q(flt: Filter, agent: Any) -> Q:
    """The condition for one filter (negated for ``-field:value``)."""
    condition = _BUILDERS[flt.field](flt.value, agent)
    return ~condition if flt.negated else condition


def _queue(value: object, agent: Any) -> Q:
    name = str(value)
    queues = Queue.objects.filter(
        Q(name__iexact=name) | Q(name__istartswith=f"{name}::")
    )
    # The ids read first (one small query): as a subquery, PostgreSQL joins the
    # queues and repeats the whole word lookup for each, a queue and its sub-queues.
    return Q(queue_id__in=list(queues.values_list("pk", flat=True)))


def _state_types(value: str) -> list[str] | None:
    if value in STATE_ALIASES:
        return list(STATE_ALIASES[value])
    if value in StateType.values:
        return [value]
    return None


def _state(value: object, agent: Any) -> Q:
    """A state type (``open`` = new, open and pending) or a state's name."""
    name = str(value)
    types = _state_types(name.lower())
    by_name = TicketState.objects.filter(name__iexact=name)
    if types is not None:
        if name.lower() in STATE_ALIASES:
            return Q(state_type__in=types)
        return Q(state_type__in=types) | Q(state__in=by_name.values("pk"))
    if not by_name.exists():
        known = ", ".join(TicketState.objects.values_list("name", flat=True))
        raise InvalidInput(
            f"state: there is no state {name!r}. States: {known}; or a type: "
            f"open, pending, {', '.join(StateType.values)}."
        )
    return Q(state__in=by_name.values("pk"))


def _statetype(value: object, agent: Any) -> Q:
    types = _state_types(str(value))
    if types is None:
        raise InvalidInput(
            f"statetype: takes open, pending or one of {', '.join(StateType.values)}; "
            f"not {value!r}."
        )
    return Q(state_type__in=types)


def _priority(value: object, agent: Any) -> Q:
    return Q(priority__in=value)


def _agents(value: object) -> QuerySet[Any]:
    return get_user_model().objects.filter(username__iexact=str(value))


def _owner(value: object, agent: Any) -> Q:
    if str(value).lower() == ME:
        return Q(owner=agent)
    return Q(owner__in=_agents(value).values("pk"))


def _responsible(value: object, agent: Any) -> Q:
    if str(value).lower() == ME:
        return Q(responsible=agent)
    return Q(responsible__in=_agents(value).values("pk"))


def _watcher(value: object, agent: Any) -> Q:
    watching = TicketWatcher.objects.filter(ticket=OuterRef("pk"))
    if str(value).lower() == ME:
        watching = watching.filter(agent=agent)
    else:
        watching = watching.filter(agent__in=_agents(value).values("pk"))
    return Q(Exists(watching))


def _locked(value: object, agent: Any) -> Q:
    return Q(locked=bool(value))


def _wildcard(column: str, value: str) -> Q:
    """``jane*``, ``*@example.net``, ``*support*`` or an exact value."""
    stem = value.strip("*")
    if not stem:
        raise InvalidInput(f"{value!r} needs more than stars.")
    if "*" in stem:
        raise InvalidInput(f"{value!r}: a * goes at the start or the end only.")
    lookup = {
        (True, True): "icontains",
        (False, True): "istartswith",
        (True, False): "iendswith",
        (False, False): "iexact",
    }[(value.startswith("*"), value.endswith("*"))]
    return Q(**{f"{column}__{lookup}": stem})


def _customer(value: object, agent: Any) -> Q:
    customers = Customer.objects.filter(_wildcard("email", str(value).lower()))
    return Q(customer__in=customers.values("pk"))


def _number(value: object, agent: Any) -> Q:
    return _wildcard("number", str(value))


def _dates(column: str) -> Callable[[object, Any], Q]:
    def build(value: object, agent: Any) -> Q:
        low, high = cast(DateRange, value)
        condition = Q()
        if low is not None:
            condition &= Q(**{f"{column}__gte": low})
        if high is not None:
            condition &= Q(**{f"{column}__lt": high})
        return condition

    return build


_BUILDERS: dict[str, Callable[[object, Any], Q]] = {
    "queue": _queue,
    "state": _state,
    "statetype": _statetype,
    "priority": _priority,
    "owner": _owner,
    "responsible": _responsible,
    "watcher": _watcher,
    "locked": _locked,
    "customer": _customer,
    "number": _number,
    **{name: _dates(column) for name, column in DATE_COLUMNS.items()},
}
