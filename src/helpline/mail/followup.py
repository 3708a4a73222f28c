"""Is this mail a follow-up, and to which ticket?  (BEHAVIOUR.md s. 2, "Follow-up".)

In order, first match wins, and the method that matched is recorded:

1. ``bounce`` — a delivery report about one of our outgoing messages (a Message-ID
   Helpline generated);
2. ``references`` — In-Reply-To, then References newest first, against the Message-IDs
   of every stored article, incoming and outgoing, imported or not.  Only a Message-ID
   Helpline generated for its own outgoing mail (``compose.new_message_id``, 128
   random bits) is trusted from anyone; any other (an inbound mail's own, an imported
   article's: Znuny's are guessable) must pass the same check as a number alone;
3. ``subject`` — our ticket hook and number in the subject, or the hook of the
   system Helpline replaced (``Snapshot.legacy_hooks``: imported tickets keep their
   numbers);
4. ``body`` — the same in the body (off by default: HELPLINE_FOLLOWUP_IN_BODY).

A number alone (subject or body), or a Message-ID we did not generate, is trusted only
when every address the mail comes from (From, Sender) and would be answered at
(Reply-To) has taken part in the ticket, compared exactly as canonical addresses
(``helpline.addresses``), or the ticket's queue trusts subject numbers; otherwise a new ticket is opened and linked to the old
one, so nobody can write into someone else's ticket by guessing.  Mail claiming to
come from one of our system addresses is never trusted by number, and is stored as a
system article wherever it lands (``sent_by_us``).
Mail for a merged ticket lands on the ticket it was merged into.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef

from helpline.actions.merge import resolve_merged
from helpline.addresses import addresses_in, normalize
from helpline.mail.automatic import AutoKind, Classification
from helpline.mail.parse import ParsedMessage
from helpline.mail.snapshot import current
from helpline.models import Article, OutboxMessage, Ticket
from helpline.numbers import numbers_in_subject, numbers_in_text


@dataclass
class Thread:
    ticket: Ticket | None = None
    method: str = ""
    # A ticket named by number by someone who never took part in it.
    untrusted: Ticket | None = None
    # ``ticket`` was read with a row lock (and its queue, state and owner).
    locked: bool = False


@dataclass
class _Match:
    ticket: Ticket
    locked: bool
    # The Message-ID is one Helpline generated for its own outgoing mail.
    ours: bool


def _by_message_ids(ids: list[str], *, ours_only: bool = False) -> _Match | None:
    """The ticket of the newest article with one of ``ids`` (earlier ids first),
    row-locked unless it was merged into another (then its target, not locked).

    A Message-ID Helpline generated for its own outgoing mail (``compose.build``: it
    has an outbox row with that Message-ID) is a capability, unguessable, and names the
    ticket it was sent from; any other (an inbound mail's own, an imported article's,
    which may be guessable) is only a hint that the caller checks
    (``ours_only``: ignored).  Whether it is ours is read in the same query."""
    if not ids:
        return None
    # Stored without angle brackets (helpline.mail.headers); an import may have kept
    # them, as Znuny does: both spellings, in the same query.
    spellings = {f"<{i}>": i for i in ids}
    sent = OutboxMessage.objects.filter(
        article=OuterRef("pk"), message_id=OuterRef("message_id")
    )
    qs = Article.objects.filter(message_id__in=[*ids, *spellings])
    if ours_only:
        qs = qs.filter(incoming=False)
    found: dict[str, tuple[int, bool]] = {}
    # Newest article first: a Message-ID stored twice (a copy in two tickets) resolves
    # to the most recent, instead of giving up as OTRS does; to the one we sent, if
    # we sent it (a copy of our mail received back is not the capability).
    for message_id, ticket_id, ours in (
        qs.annotate(ours=Exists(sent))
        .order_by("-id")
        .values_list("message_id", "ticket_id", "ours")[:200]
    ):
        key = spellings.get(message_id, message_id)
        if ours_only and not ours:
            continue
        if key not in found or (ours and not found[key][1]):
            found[key] = (ticket_id, ours)
    for message_id in ids:
        if message_id in found:
            pk, ours = found[message_id]
            # Locked at once, as the follow-up is written to it; a merged ticket is
            # not locked (merges lock in id order, we would lock against it).
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("queue", "state", "owner", "customer")
                .filter(pk=pk, merged_into__isnull=True)
                .first()
            )
            if ticket is not None:
                return _Match(ticket, True, ours)
            merged = Ticket.objects.select_related("queue", "state", "customer").get(
                pk=pk
            )
            return _Match(resolve_merged(merged), False, ours)
    return None


def participants(ticket: Ticket) -> set[str]:
    """Everyone who has taken part in the ticket, as canonical addresses: its customer
    and the From, To, Cc and Reply-To of its articles, never a system address.

    One query, whatever the number of articles (their address columns only)."""
    found: set[str] = set()
    if ticket.customer is not None:
        found.update(addresses_in(ticket.customer.email))
    for row in Article.objects.filter(ticket=ticket).values_list(
        "from_addr", "to_addr", "cc_addr", "reply_to"
    ):
        for value in row:
            found.update(addresses_in(value))
    return found - own_addresses()


def is_participant(ticket: Ticket, email: str) -> bool:
    """Has ``email`` been the customer, a sender or a recipient of this ticket?
    Exact comparison of canonical addresses; a system address never is."""
    address = normalize(email)
    return bool(address) and address in participants(ticket)


def own_addresses() -> frozenset[str]:
    """Our (valid) system addresses, canonical (kept with the configuration)."""
    return current().own_addresses


def identities(parsed: ParsedMessage) -> set[str]:
    """Who the message claims to come from: every From address and the Sender."""
    claimed = [a.email for a in parsed.from_all]
    if parsed.sender is not None:
        claimed.append(parsed.sender.email)
    return {normalize(a) for a in claimed}


def sent_by_us(parsed: ParsedMessage) -> bool:
    """Does the message claim to come from one of our system addresses?  Such mail
    (a loop, or a forgery) is never a customer's follow-up."""
    return not identities(parsed).isdisjoint(own_addresses())


def _trusted(ticket: Ticket, parsed: ParsedMessage) -> bool:
    """May a ticket number alone make this message a follow-up of ``ticket``?

    Every address the message comes from (each From, the Sender) and every address
    our answer would go to (Reply-To) must have taken part in the ticket; an address
    that is no valid address, or none at all, is trusted by nobody.  An anonymised
    ticket (``actions.removal``) is trusted for nobody: it has no participants left,
    and a reply must not bring words back into it (a new ticket, linked to it)."""
    if sent_by_us(parsed) or ticket.anonymised is not None:
        return False
    if ticket.queue.trust_subject_number:
        return True
    claimed = identities(parsed) | {normalize(a.email) for a in parsed.reply_to}
    if not claimed or "" in claimed:
        return False
    if ticket.customer is not None and claimed <= set(
        addresses_in(ticket.customer.email)
    ):
        return True  # the customer (the common reply): no need to read the articles
    return claimed <= participants(ticket)


def _by_number(numbers: list[str], parsed: ParsedMessage, method: str) -> Thread | None:
    for number in numbers:
        ticket = (
            Ticket.objects.select_related("queue", "state", "customer")
            .filter(number=number)
            .first()
        )
        if ticket is None:
            continue
        ticket = resolve_merged(ticket)
        if _trusted(ticket, parsed):
            return Thread(ticket, method)
        return Thread(None, f"{method} (sender not a participant)", untrusted=ticket)
    return None


def find_thread(parsed: ParsedMessage, classification: Classification) -> Thread:
    if (
        classification.kind in (AutoKind.BOUNCE, AutoKind.DELIVERED)
        and classification.original_message_ids
    ):
        found = _by_message_ids(classification.original_message_ids, ours_only=True)
        if found is not None:
            return Thread(found.ticket, "bounce", locked=found.locked)
    ids = [*parsed.in_reply_to, *reversed(parsed.references)]
    found = _by_message_ids(list(dict.fromkeys(ids)))
    if found is not None:
        if found.ours or _trusted(found.ticket, parsed):
            return Thread(found.ticket, "references", locked=found.locked)
        # Not our Message-ID (an imported article's, or a mail's own, which anyone on
        # the thread knows): trusted as a ticket number would be, else a new ticket.
        return Thread(
            None, "references (sender not a participant)", untrusted=found.ticket
        )
    legacy = current().legacy_hooks
    subject_numbers = numbers_in_subject(parsed.subject, legacy=legacy)
    thread = _by_number(subject_numbers, parsed, "subject")
    if thread is not None:
        return thread
    if settings.HELPLINE_FOLLOWUP_IN_BODY:
        body_numbers = numbers_in_text(parsed.body_text, legacy=legacy)
        thread = _by_number(body_numbers, parsed, "body")
        if thread is not None:
            return thread
    return Thread()
