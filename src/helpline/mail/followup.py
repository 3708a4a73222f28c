"""Is this mail a follow-up, and to which ticket?  (BEHAVIOUR.md s. 2, "Follow-up".)

In order, first match wins, and the method that matched is recorded:

1. ``bounce`` — a delivery report about one of our outgoing messages;
2. ``references`` — In-Reply-To, then References newest first, against the Message-IDs
   of every stored article, incoming and outgoing;
3. ``subject`` — our ticket hook and number in the subject;
4. ``body`` — the same in the body (off by default: HELPLINE_FOLLOWUP_IN_BODY).

A number alone (subject or body) is trusted only when the sender has taken part in the
ticket, or the ticket's queue trusts subject numbers; otherwise a new ticket is opened
and linked to the old one, so nobody can write into someone else's ticket by guessing.
Mail for a merged ticket lands on the ticket it was merged into.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from helpline.actions.merge import resolve_merged
from helpline.mail.automatic import AutoKind, Classification
from helpline.mail.parse import ParsedMessage
from helpline.models import Article, Ticket
from helpline.numbers import numbers_in_subject, numbers_in_text


@dataclass
class Thread:
    ticket: Ticket | None = None
    method: str = ""
    # A ticket named by number by someone who never took part in it.
    untrusted: Ticket | None = None
    # ``ticket`` was read with a row lock (and its queue, state and owner).
    locked: bool = False


def _by_message_ids(
    ids: list[str], *, outgoing_only: bool = False
) -> tuple[Ticket, bool] | None:
    """The ticket of the newest article with one of ``ids`` (earlier ids first),
    row-locked unless it was merged into another (then its target, not locked)."""
    if not ids:
        return None
    qs = Article.objects.filter(message_id__in=ids)
    if outgoing_only:
        qs = qs.filter(incoming=False)
    found: dict[str, int] = {}
    # Newest article first: a Message-ID stored twice (a copy in two tickets) resolves
    # to the most recent, instead of giving up as OTRS does.
    for message_id, ticket_id in qs.order_by("-id").values_list(
        "message_id", "ticket_id"
    )[:200]:
        found.setdefault(message_id, ticket_id)
    for message_id in ids:
        if message_id in found:
            pk = found[message_id]
            # Locked at once, as the follow-up is written to it; a merged ticket is
            # not locked (merges lock in id order, we would lock against it).
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("queue", "state", "owner")
                .filter(pk=pk, merged_into__isnull=True)
                .first()
            )
            if ticket is not None:
                return ticket, True
            merged = Ticket.objects.select_related("queue", "state").get(pk=pk)
            return resolve_merged(merged), False
    return None


def is_participant(ticket: Ticket, email: str) -> bool:
    """Has ``email`` been the customer, a sender or a recipient of this ticket?"""
    if not email:
        return False
    email = email.lower()
    if ticket.customer is not None and ticket.customer.email == email:
        return True
    return Article.objects.filter(
        Q(from_addr__icontains=email)
        | Q(to_addr__icontains=email)
        | Q(cc_addr__icontains=email)
        | Q(reply_to__icontains=email),
        ticket=ticket,
    ).exists()


def _by_number(numbers: list[str], sender: str, method: str) -> Thread | None:
    for number in numbers:
        ticket = (
            Ticket.objects.select_related("queue", "state", "customer")
            .filter(number=number)
            .first()
        )
        if ticket is None:
            continue
        ticket = resolve_merged(ticket)
        if ticket.queue.trust_subject_number or is_participant(ticket, sender):
            return Thread(ticket, method)
        return Thread(None, f"{method} (sender not a participant)", untrusted=ticket)
    return None


def find_thread(parsed: ParsedMessage, classification: Classification) -> Thread:
    if (
        classification.kind in (AutoKind.BOUNCE, AutoKind.DELIVERED)
        and classification.original_message_ids
    ):
        found = _by_message_ids(classification.original_message_ids, outgoing_only=True)
        if found is not None:
            return Thread(found[0], "bounce", locked=found[1])
    ids = [*parsed.in_reply_to, *reversed(parsed.references)]
    found = _by_message_ids(list(dict.fromkeys(ids)))
    if found is not None:
        return Thread(found[0], "references", locked=found[1])
    sender = parsed.from_.email if parsed.from_ else ""
    thread = _by_number(numbers_in_subject(parsed.subject), sender, "subject")
    if thread is not None:
        return thread
    if settings.HELPLINE_FOLLOWUP_IN_BODY:
        thread = _by_number(numbers_in_text(parsed.body_text), sender, "body")
        if thread is not None:
            return thread
    return Thread()
