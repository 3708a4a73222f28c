"""What an agent may learn about *other* tickets from the ticket it is reading.

History entries (merge, un-merge, split, link), links and merges name other tickets.
An agent who may read this ticket but not the other one must not learn the other's
number, title or id: a number is already a disclosure (it says the ticket exists, in
which order, and ties two matters together).  This module is the one place that
decides; the web zoom, the API and ``helpline ticket show`` present history, links and
merges only through it.  Visibility is ``Ticket.objects.visible_to``, asked once for a
whole page of history or a ticket's links, however many entries there are.

A hidden ticket is shown as "a ticket you may not see": its number becomes ``None``
and the entry says which of its fields were withheld.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy

from helpline.actions.access import Agent
from helpline.models import HistoryEntry, HistoryType, LinkType, Ticket, TicketLink

# How every entry point words a ticket it may not show.
HIDDEN_TICKET = gettext_lazy("(a ticket you may not see)")

# History data keys that hold another ticket's number, by entry type.
TICKET_KEYS: dict[str, tuple[str, ...]] = {
    HistoryType.MERGED: ("into", "source"),
    HistoryType.UNMERGED: ("target", "source"),
    HistoryType.SPLIT: ("new", "source"),
    HistoryType.LINK_ADDED: ("other",),
    HistoryType.LINK_REMOVED: ("other",),
}
# Keys that describe the other ticket's content (the articles that moved into or out
# of it): withheld together with its number.
ABOUT_OTHER_KEYS: dict[str, tuple[str, ...]] = {
    HistoryType.MERGED: ("articles",),
    HistoryType.UNMERGED: ("articles",),
}


@dataclass(frozen=True)
class OtherTicket:
    """Another ticket the agent may see, as far as lists of it show it."""

    pk: int
    number: str
    title: str
    state: str
    state_type: str


@dataclass(frozen=True)
class Visible:
    """The tickets among those asked about that the agent may see."""

    by_pk: dict[int, OtherTicket] = field(default_factory=dict)
    by_number: dict[str, OtherTicket] = field(default_factory=dict)


@dataclass(frozen=True)
class ShownEntry:
    """A history entry as the agent may see it.

    ``data`` is the entry's data with every value naming (or describing) a hidden
    ticket set to ``None``; ``hidden`` lists those keys.
    """

    entry: HistoryEntry
    data: dict[str, Any]
    hidden: tuple[str, ...]


@dataclass(frozen=True)
class ShownLink:
    """A link as seen from one ticket: the other end, and what it is to this one."""

    ticket: OtherTicket
    type: str  # LinkType: normal or parent_child
    relation: str  # "linked", "parent" or "child"


@dataclass(frozen=True)
class ShownMerges:
    """Where a ticket went and what came into it, as far as the agent may see.

    ``merged_into`` is ``None`` both when the ticket is not merged and when it went
    into a ticket the agent may not see; ``merged_into_hidden`` tells them apart.
    """

    merged_into: OtherTicket | None
    merged_into_hidden: bool
    merged_here: list[OtherTicket]


def visible_other_tickets(
    agent: Agent, *, ids: Iterable[int] = (), numbers: Iterable[str] = ()
) -> Visible:
    """The tickets among ``ids`` and ``numbers`` that ``agent`` may see: one query
    (none when there is nothing to ask about)."""
    wanted_ids = {int(i) for i in ids}
    wanted_numbers = {str(n) for n in numbers}
    if not wanted_ids and not wanted_numbers:
        return Visible()
    rows = (
        Ticket.objects.visible_to(agent)
        .filter(Q(pk__in=wanted_ids) | Q(number__in=wanted_numbers))
        .values_list("pk", "number", "title", "state__name", "state_type")
    )
    found = [OtherTicket(*row) for row in rows]
    return Visible(
        by_pk={t.pk: t for t in found}, by_number={t.number: t for t in found}
    )


def _numbers_in(entries: Iterable[HistoryEntry]) -> set[str]:
    return {
        str(e.data[key])
        for e in entries
        for key in TICKET_KEYS.get(e.type, ())
        if e.data.get(key) not in (None, "")
    }


def _shown(entry: HistoryEntry, visible: Visible) -> ShownEntry:
    data = dict(entry.data)
    hidden = [
        key
        for key in TICKET_KEYS.get(entry.type, ())
        if data.get(key) not in (None, "") and str(data[key]) not in visible.by_number
    ]
    if hidden:
        hidden += [k for k in ABOUT_OTHER_KEYS.get(entry.type, ()) if k in data]
    for key in hidden:
        data[key] = None
    return ShownEntry(entry, data, tuple(hidden))


def present_history(agent: Agent, entries: Sequence[HistoryEntry]) -> list[ShownEntry]:
    """``entries`` (of tickets the agent may read) as the agent may see them: the
    numbers of tickets it may not see withheld.  One query for the whole list."""
    visible = visible_other_tickets(agent, numbers=_numbers_in(entries))
    return [_shown(e, visible) for e in entries]


def _other_end(ticket: Ticket, link: TicketLink) -> int:
    return link.target_id if link.source_id == ticket.pk else link.source_id


def _relation(ticket: Ticket, link: TicketLink) -> str:
    if link.type == LinkType.PARENT_CHILD:  # the source is the parent
        return "child" if link.source_id == ticket.pk else "parent"
    return "linked"


def present_links(agent: Agent, ticket: Ticket) -> list[ShownLink]:
    """The tickets linked to ``ticket`` that the agent may see, by number; a link to
    a ticket it may not see is left out.  Two queries, however many links."""
    links = list(
        TicketLink.objects.filter(Q(source=ticket) | Q(target=ticket)).order_by("id")
    )
    visible = visible_other_tickets(agent, ids={_other_end(ticket, x) for x in links})
    shown = [
        ShownLink(visible.by_pk[other], link.type, _relation(ticket, link))
        for link in links
        if (other := _other_end(ticket, link)) in visible.by_pk
    ]
    return sorted(shown, key=lambda s: s.ticket.number)


def present_merges(agent: Agent, ticket: Ticket) -> ShownMerges:
    """The ticket ``ticket`` was merged into and those merged into it, those the
    agent may see.  One query."""
    # Two indexed columns of one table (no subquery, which PostgreSQL would not
    # combine with the primary key lookup).
    related = Q(merged_into_id=ticket.pk)
    if ticket.merged_into_id is not None:
        related |= Q(pk=ticket.merged_into_id)
    rows = (
        Ticket.objects.visible_to(agent)
        .filter(related)
        .values_list("pk", "number", "title", "state__name", "state_type")
        .order_by("number")
    )
    found = [OtherTicket(*row) for row in rows]
    into = next((t for t in found if t.pk == ticket.merged_into_id), None)
    return ShownMerges(
        merged_into=into,
        merged_into_hidden=ticket.merged_into_id is not None and into is None,
        merged_here=[t for t in found if t.pk != ticket.merged_into_id],
    )


def merged_into_numbers(
    agent: Agent, tickets: Iterable[Ticket]
) -> dict[int, str | None]:
    """For each merged ticket among ``tickets`` (by primary key): the number of the
    ticket it went into, or ``None`` when the agent may not see that one.
    At most one query for the lot."""
    targets = {t.pk: t.merged_into_id for t in tickets if t.merged_into_id is not None}
    visible = visible_other_tickets(agent, ids=targets.values())
    return {
        pk: (visible.by_pk[target].number if target in visible.by_pk else None)
        for pk, target in targets.items()
    }
