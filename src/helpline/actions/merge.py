"""Merge, un-merge, split and link tickets (BEHAVIOUR.md s. 7)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q

from helpline.actions.access import access_ticket, require_in_queue
from helpline.actions.articles import NewArticle, NewAttachment, do_add_article
from helpline.actions.history import record, touch
from helpline.actions.locks import claim, do_unlock
from helpline.actions.tickets import do_create_ticket, do_set_state, get_state
from helpline.actions.withdrawal import readers_of
from helpline.blobstore import read_blob
from helpline.errors import Conflict, InvalidInput, TicketNotFound
from helpline.models import (
    Article,
    HistoryEntry,
    HistoryType,
    LinkType,
    Permission,
    Queue,
    StateType,
    Ticket,
    TicketLink,
    TicketWatcher,
)

MAX_MERGE_HOPS = 10
# The internal note left on a merged ticket (English, like every stored text).
MERGE_NOTE = "This ticket was merged into another ticket; its history says which."


def resolve_merged(ticket: Ticket) -> Ticket:
    """The ticket that mail for ``ticket`` belongs in: follows merges (at most 10)."""
    hops = 0
    while ticket.merged_into_id is not None and hops < MAX_MERGE_HOPS:
        ticket = Ticket.objects.select_related("queue", "state").get(
            pk=ticket.merged_into_id
        )
        hops += 1
    return ticket


def _lock_pair(actor: Any, first_id: int, second_id: int) -> tuple[Ticket, Ticket]:
    """Row-lock two tickets in id order, so two merges of the same pair cannot deadlock."""
    low, high = sorted((first_id, second_id))
    locked = {
        tid: access_ticket(actor, tid, need=Permission.RW, for_update=True)
        for tid in (low, high)
    }
    return locked[first_id], locked[second_id]


def merge_tickets(actor: Any, source_id: int, target_id: int) -> Ticket:
    """Merge ``source`` into ``target``: its articles move to the target, it gets the
    state merged, watchers and links move along; later mail to it lands on the target.
    """
    if source_id == target_id:
        raise InvalidInput("A ticket cannot be merged into itself.")
    with transaction.atomic():
        source, target = _lock_pair(actor, source_id, target_id)
        for t in (source, target):
            if t.state_type in (StateType.MERGED, StateType.REMOVED):
                raise Conflict(f"Ticket {t.number} is {t.state.name}; it cannot merge.")
        claim(actor, source)
        moved = list(Article.objects.filter(ticket=source).values_list("pk", flat=True))
        Article.objects.filter(pk__in=moved).update(ticket=target, merged_from=source)
        _move_watchers(source, target)
        _move_links(source, target)
        TicketLink.objects.get_or_create(
            source=target,
            target=source,
            type=LinkType.PARENT_CHILD,
            defaults={"created_by": actor},
        )
        # Stored once for every reader of the source, some of whom may not see the
        # target: the note names no ticket; the zoom, the API and the CLI show the
        # target from ``merged_into`` through ``actions.disclosure``.
        note = MERGE_NOTE
        previous_state = source.state.name
        do_add_article(actor, source, NewArticle(body_text=note, subject="Merged"))
        source.merged_into = target
        touch(source, "merged_into")
        do_set_state(actor, source, get_state("merged"))
        do_unlock(actor, source, reason="merged")
        record(
            source,
            HistoryType.MERGED,
            actor,
            into=target.number,
            articles=moved,
            previous_state=previous_state,
        )
        touch(target)
        record(target, HistoryType.MERGED, actor, source=source.number, articles=moved)
        return target


def _move_watchers(source: Ticket, target: Ticket) -> None:
    """The source's watchers who may read the target watch it; the others stop
    watching (watching gives no access: merging must not hand the target out)."""
    existing = set(
        TicketWatcher.objects.filter(ticket=target).values_list("agent_id", flat=True)
    )
    TicketWatcher.objects.filter(readers_of(target, "agent_id"), ticket=source).exclude(
        agent_id__in=existing
    ).update(ticket=target)
    TicketWatcher.objects.filter(ticket=source).delete()


def _move_links(source: Ticket, target: Ticket) -> None:
    for link in TicketLink.objects.filter(Q(source=source) | Q(target=source)):
        other_id = link.target_id if link.source_id == source.pk else link.source_id
        if other_id == target.pk:
            continue
        new_source = target.pk if link.source_id == source.pk else other_id
        new_target = other_id if link.source_id == source.pk else target.pk
        TicketLink.objects.get_or_create(
            source_id=new_source, target_id=new_target, type=link.type
        )
        link.delete()


def unmerge_ticket(actor: Any, source_id: int) -> Ticket:
    """Undo a merge: the articles that moved go back, the state is restored."""
    with transaction.atomic():
        source = access_ticket(actor, source_id, need=Permission.RW, for_update=True)
        if source.merged_into_id is None:
            raise InvalidInput(f"Ticket {source.number} is not merged.")
        try:
            target = access_ticket(
                actor, source.merged_into_id, need=Permission.RW, for_update=True
            )
        except TicketNotFound:
            raise TicketNotFound(
                f"The merge of ticket {source.number} cannot be undone: it went into "
                "a ticket you may not see."
            ) from None
        entry = (
            HistoryEntry.objects.filter(ticket=source, type=HistoryType.MERGED)
            .order_by("-created", "-id")
            .first()
        )
        moved = entry.data.get("articles", []) if entry else []
        Article.objects.filter(pk__in=moved, ticket=target).update(
            ticket=source, merged_from=None
        )
        TicketLink.objects.filter(
            source=target, target=source, type=LinkType.PARENT_CHILD
        ).delete()
        source.merged_into = None
        touch(source, "merged_into")
        previous = entry.data.get("previous_state", "open") if entry else "open"
        state = get_state(previous)
        if state.is_pending:
            state = get_state("open")
        do_set_state(actor, source, state)
        record(
            source, HistoryType.UNMERGED, actor, target=target.number, articles=moved
        )
        touch(target)
        record(
            target, HistoryType.UNMERGED, actor, source=source.number, articles=moved
        )
        return source


def split_article(
    actor: Any, article_id: int, *, queue: Queue | None = None, title: str = ""
) -> Ticket:
    """A new ticket made from one article, linked as the original's child."""
    article = Article.objects.select_related("ticket").get(pk=article_id)
    with transaction.atomic():
        original = access_ticket(
            actor, article.ticket_id, need=Permission.RW, for_update=True
        )
        target_queue = queue or original.queue
        require_in_queue(actor, target_queue, Permission.CREATE)
        copy = NewArticle(
            channel=article.channel,
            sender_type=article.sender_type,
            body_text=article.body_text,
            body_html=article.body_html,
            subject=article.subject,
            from_addr=article.from_addr,
            to_addr=article.to_addr,
            cc_addr=article.cc_addr,
            reply_to=article.reply_to,
            visible_to_customer=article.visible_to_customer,
            incoming=article.incoming,
            attachments=[
                NewAttachment(
                    filename=a.filename,
                    content_type=a.content_type,
                    content=read_blob(a.blob),
                    content_id=a.content_id,
                    inline=a.inline,
                )
                for a in article.attachments.select_related("blob")
            ],
        )
        new, _ = do_create_ticket(
            actor,
            queue=target_queue,
            title=title or article.subject or original.title,
            article=copy,
            customer_email=original.customer.email if original.customer else "",
            priority=original.priority,
        )
        TicketLink.objects.create(
            source=original, target=new, type=LinkType.PARENT_CHILD, created_by=actor
        )
        record(original, HistoryType.SPLIT, actor, article=article, new=new.number)
        record(new, HistoryType.SPLIT, actor, source=original.number)
        return new


def link_tickets(
    actor: Any, ticket_id: int, other_id: int, *, type_: str = LinkType.NORMAL
) -> TicketLink:
    """Link two tickets (for parent_child, ``ticket`` is the parent)."""
    if type_ not in LinkType.values:
        raise InvalidInput(f"Unknown link type {type_!r}.")
    if ticket_id == other_id:
        raise InvalidInput("A ticket cannot be linked to itself.")
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        other = access_ticket(actor, other_id, need=Permission.RO)
        return do_link(actor, ticket, other, type_=type_)


def do_link(
    actor: Any | None, ticket: Ticket, other: Ticket, *, type_: str = LinkType.NORMAL
) -> TicketLink:
    """Link two tickets (``ticket`` row-locked; for parent_child the parent); the
    caller checked the rights.  Linking twice is linking once."""
    source, target = ticket, other
    if type_ == LinkType.NORMAL and source.pk > target.pk:
        source, target = target, source
    link, created = TicketLink.objects.get_or_create(
        source=source, target=target, type=type_, defaults={"created_by": actor}
    )
    if created:
        record(ticket, HistoryType.LINK_ADDED, actor, other=other.number, type=type_)
        record(other, HistoryType.LINK_ADDED, actor, other=ticket.number, type=type_)
    return link


def unlink_tickets(actor: Any, ticket_id: int, other_id: int) -> int:
    with transaction.atomic():
        ticket = access_ticket(actor, ticket_id, need=Permission.RW, for_update=True)
        other = access_ticket(actor, other_id, need=Permission.RO)
        deleted, _ = TicketLink.objects.filter(
            Q(source=ticket, target=other) | Q(source=other, target=ticket)
        ).delete()
        if deleted:
            record(ticket, HistoryType.LINK_REMOVED, actor, other=other.number)
            record(other, HistoryType.LINK_REMOVED, actor, other=ticket.number)
        return deleted
