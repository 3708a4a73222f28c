"""Writing history entries and bumping a ticket's version: shared by every action."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from helpline.actions.events import ticket_changed
from helpline.models import Article, HistoryEntry, HistoryType, Ticket


def entry(
    ticket: Ticket,
    type_: HistoryType,
    actor: Any | None,
    *,
    article: Article | None = None,
    **data: Any,
) -> HistoryEntry:
    """An unsaved history entry, for ``record_all``."""
    return HistoryEntry(
        ticket=ticket,
        type=type_,
        actor=actor,
        created=timezone.now(),
        article=article,
        data=data,
    )


def record(
    ticket: Ticket,
    type_: HistoryType,
    actor: Any | None,
    *,
    article: Article | None = None,
    **data: Any,
) -> HistoryEntry:
    new = entry(ticket, type_, actor, article=article, **data)
    new.save()
    return new


def record_all(entries: list[HistoryEntry]) -> None:
    """Write several history entries in one statement, in their order."""
    HistoryEntry.objects.bulk_create(entries)


def touch(ticket: Ticket, *fields: str) -> None:
    """Save ``fields`` of a (row-locked) ticket, with its change time and version,
    and announce the change (search indexing) for after the commit."""
    ticket.changed = timezone.now()
    ticket.version += 1
    ticket.save(update_fields=[*fields, "changed", "version"])
    ticket_changed(ticket.pk)
