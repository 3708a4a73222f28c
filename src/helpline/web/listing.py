"""The queries behind the overviews: queue tree, ticket lists, sorting and paging.

Every list starts from ``Ticket.objects.visible_to(agent)``.  Each page costs a fixed
number of queries whatever the number of tickets: one grouped count for the queue tree,
one count and one page query for a list (``select_related`` for what a row shows).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from helpline.actions.access import queues_with, readable_queue_ids
from helpline.models import Permission, StateType, Ticket, TicketWatcher

PAGE_SIZES = (25, 50, 100)
# Sort keys offered in list headers: name -> ordering on the first click (the most
# useful one: most urgent first, oldest first); a second click reverses it.
SORTS: dict[str, tuple[str, ...]] = {
    "priority": ("-priority", "created"),
    "age": ("created",),
    "title": ("title",),
    "customer": ("customer__email",),
    "changed": ("changed",),
    "number": ("number",),
    # Tickets without an escalation time last, both ways (docs/service-levels.md).
    "escalation": ("escalation_at",),
}
# ?escalation=: the tickets that have an escalation time, or those past it.
ESCALATION_FILTERS = ("any", "escalated")
# OTRS's queue view: unlocked tickets first, then the most urgent, then the oldest.
QUEUE_ORDER = ("locked", "-priority", "created", "id")
ROW_RELATIONS = ("queue", "state", "owner", "customer")


@dataclass
class QueueNode:
    name: str  # full name, Parent::Child
    label: str  # last segment
    depth: int
    pk: int | None  # None: a parent the agent may not read, shown for the tree only
    open: int = 0
    new: int = 0
    url: str = ""
    children: list[QueueNode] = field(default_factory=list)


# A value no row has, reversed in place of the row's own (see ``row_url``).
_SENTINEL = 2147483647


class RowUrl:
    """The URL ``name`` for every row of a page from one ``reverse``: ``args`` are
    the fixed arguments, a call gives the URL for the row's last one.

    ``{% url %}`` in a loop resolves the pattern again for each row (~70 µs each, on
    a 400-article zoom thousands of times); this reverses once with a sentinel and
    formats the row's value in, quoted as ``reverse`` quotes it.
    """

    def __init__(self, name: str, *args: Any) -> None:
        url = reverse(name, args=[*args, _SENTINEL])
        self.head, self.tail = url.rsplit(str(_SENTINEL), 1)

    def __call__(self, value: Any) -> str:
        if isinstance(value, int):
            return f"{self.head}{value}{self.tail}"
        return f"{self.head}{quote(str(value), safe=_SAFE)}{self.tail}"


row_url = RowUrl


# What ``reverse`` leaves unquoted in a path argument (django.urls.resolvers).
_SAFE = "!$&'()*+,;=/~:@"


def queue_tree(agent: Any) -> list[QueueNode]:
    """The queues the agent may read, in tree order, with open and new counts.

    Two queries: the readable queues, and one grouped count of their open tickets
    (``queue_counts``, cached for a few seconds).
    """
    queues = list(queues_with(agent, Permission.RO).values_list("pk", "name"))
    counts = queue_counts([pk for pk, _ in queues])
    queue_url = row_url("queue")
    by_name: dict[str, QueueNode] = {}
    for pk, name in queues:
        parts = name.split("::")
        for depth in range(len(parts)):
            partial = "::".join(parts[: depth + 1])
            if partial not in by_name:
                by_name[partial] = QueueNode(partial, parts[depth], depth, None)
        node = by_name[name]
        node.pk = pk
        node.url = queue_url(pk)
        node.open, node.new = counts.get(pk, (0, 0))
    ordered = sorted(by_name.values(), key=lambda n: n.name.lower().split("::"))
    return ordered


def queue_counts(queue_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{queue id: (open, new)} of these queues, from Django's cache when counted in
    the last ``HELPLINE_NAV_COUNTS_SECONDS`` (5; 0: always counted).

    Every page with the queue tree asks for these; under load the same agents ask
    every few seconds.  The entry is keyed by the set of queues (the counts depend on
    nothing else: every ticket of a readable queue is visible), so agents with the
    same access share it and a change of grants is a different key at once.
    """
    seconds = int(getattr(settings, "HELPLINE_NAV_COUNTS_SECONDS", 5))
    ids = sorted(queue_ids)
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]
    key = f"helpline:queue-counts:{digest}"
    if seconds > 0:
        cached = cache.get(key)
        if cached is not None:
            return cached
    counts = {
        row["queue_id"]: (row["total"], row["new"])
        for row in Ticket.objects.filter(queue_id__in=ids)
        .open()
        .values("queue_id")
        # Counting a column of the index (not the id): an index-only scan.
        .annotate(
            total=Count("queue_id"),
            new=Count("queue_id", filter=Q(state_type="new")),
        )
        .order_by()
    }
    if seconds > 0:
        cache.set(key, counts, seconds)
    return counts


def with_urls(rows: Iterable[Ticket]) -> list[Ticket]:
    """The rows of a ticket table, each with its ``zoom_url`` (one ``reverse``) and
    whether it is past its escalation time (``escalated``)."""
    zoom_url = row_url("zoom")
    now = timezone.now()
    listed = list(rows)
    for ticket in listed:
        ticket.zoom_url = zoom_url(ticket.number)  # type: ignore[attr-defined]
        due = ticket.escalation_at
        ticket.escalated = due is not None and due <= now  # type: ignore[attr-defined]
    return listed


def filter_escalation(qs: QuerySet[Ticket], value: str) -> QuerySet[Ticket]:
    """``?escalation=any``: tickets with an escalation time; ``escalated``: those
    past it.  Anything else: unfiltered."""
    if value == "any":
        return qs.filter(escalation_at__isnull=False)
    if value == "escalated":
        return qs.filter(escalation_at__lte=timezone.now())
    return qs


def list_rows(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return qs.select_related(*ROW_RELATIONS)


def ticket_list(agent: Any, view: str) -> QuerySet[Ticket]:
    """The tickets of one of the personal overviews, unordered."""
    visible = Ticket.objects.visible_to(agent)
    now = timezone.now()
    if view == "locked":
        return visible.open().filter(locked=True, owner=agent)
    if view == "owned":
        return visible.open().filter(owner=agent)
    if view == "responsible":
        return visible.open().filter(responsible=agent)
    if view == "watched":
        return visible.filter(
            Exists(TicketWatcher.objects.filter(ticket=OuterRef("pk"), agent=agent))
        )
    if view == "reminders":
        return visible.filter(
            Q(owner=agent) | Q(responsible=agent),
            state_type=StateType.PENDING_REMINDER,
            pending_until__lte=now,
        )
    if view == "new":
        return visible.filter(state_type=StateType.NEW)
    if view == "open":
        return visible.open()
    if view == "closed":
        return visible.filter(state_type=StateType.CLOSED)
    raise ValueError(view)


def dashboard_counts(agent: Any) -> dict[str, int]:
    """New, open, my locked, owned, responsible and reminders reached: three queries.

    Each count is the total of the ``ticket_list`` view of the same name (all of them
    are open tickets).

    The visible tickets are exactly those of the readable queues (``visible_to``),
    counted by queue id from the queue-view index alone; the agent's own counts are
    the agent's tickets among them, from the owner and responsible indexes.  Owning a
    ticket in a queue the agent may not read gives no access: it is not counted.
    """
    now = timezone.now()
    readable = readable_queue_ids(agent)
    by_queue = (
        Ticket.objects.filter(queue_id__in=readable)
        .open()
        .aggregate(
            new=Count("queue_id", filter=Q(state_type=StateType.NEW)),
            open=Count("queue_id"),
        )
    )
    mine = Q(owner=agent) | Q(responsible=agent)
    own = (
        Ticket.objects.open()
        .filter(mine, queue_id__in=readable)
        .aggregate(
            locked=Count("id", filter=Q(locked=True, owner=agent)),
            owned=Count("id", filter=Q(owner=agent)),
            # Not named "responsible": an alias named like a field takes that name
            # over in the filters (Q(responsible=agent) would compare the count).
            as_responsible=Count("id", filter=Q(responsible=agent)),
            reminders=Count(
                "id",
                filter=Q(state_type=StateType.PENDING_REMINDER, pending_until__lte=now),
            ),
        )
    )
    return {
        "new": by_queue["new"],
        "open": by_queue["open"],
        "locked": own["locked"],
        "owned": own["owned"],
        "responsible": own["as_responsible"],
        "reminders": own["reminders"],
    }


@dataclass
class Sorting:
    key: str  # "" for the default order
    descending: bool

    def param(self, key: str) -> str:
        """The ``sort`` value a header link for ``key`` carries (toggles direction)."""
        if key == self.key and not self.descending:
            return f"-{key}"
        return key


def sorting_from(request: HttpRequest) -> Sorting:
    raw = request.GET.get("sort", "")
    descending = raw.startswith("-")
    key = raw.lstrip("-")
    if key not in SORTS:
        return Sorting("", False)
    return Sorting(key, descending)


def apply_sorting(
    qs: QuerySet[Ticket], sorting: Sorting, *, default: tuple[str, ...]
) -> QuerySet[Ticket]:
    if not sorting.key:
        return qs.order_by(*default)
    fields: tuple[Any, ...] = SORTS[sorting.key]
    if sorting.key == "escalation":
        # Ascending, this is the order of the ticket_open_escalation index
        # (PostgreSQL puts NULLs last by default); SQLite is told so.
        column = F("escalation_at")
        fields = (
            column.desc(nulls_last=True)
            if sorting.descending
            else column.asc(nulls_last=True),
        )
    elif sorting.descending:
        fields = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in fields)
    # Locked tickets stay below the unlocked ones in queue views (default[0]).
    lead = default[:1] if default and default[0] == "locked" else ()
    return qs.order_by(*lead, *fields, "id")


def page_size_from(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("size", PAGE_SIZES[0]))
    except ValueError:
        return PAGE_SIZES[0]
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


def paginate(request: HttpRequest, qs: QuerySet[Ticket]) -> Page:
    """One page of ``qs``: one count query and one page query."""
    paginator = Paginator(list_rows(qs), page_size_from(request))
    return paginator.get_page(request.GET.get("page"))
