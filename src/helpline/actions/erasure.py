"""Erasure of a person (GDPR Art. 17): everything about one email address.

For an address (compared as canonical addresses, so in any case):

- the tickets whose customer has that address are anonymised (or, asked so,
  deleted) with everything that is part of them (``actions.removal``);
- in other tickets, the articles the person wrote (From or Reply-To) are anonymised
  like those of an anonymised ticket: text, addresses, raw mail, attachments;
- in other tickets, every other article that names the person (a To or Cc, a quote
  "On ..., Jane Roe <jane@example.net> wrote:") has the address replaced by
  ``ERASED_ADDRESS`` and their display names by ``ERASED_NAME``, in its headers,
  subject and bodies; its raw mail (which has them too) and its outgoing copies are
  removed, the ticket's title and history rewritten the same way, and the agent
  notifications about the ticket that name the person removed;
- received messages that belong to no ticket (quarantined, ignored) and mention the
  address are deleted; so is the count of automatic answers sent to it;
- agents' unsent drafts that name the person (recipients, subject or text: the
  address or a display name), on any ticket, are deleted, and so are the drafts of
  an agent account with that address (``actions.drafts``);
- the customer rows with the address are anonymised (once no ticket refers to them);
- a ticket under legal hold is left as it is, and listed.

The other tickets are found without reading every article: the full-text index is
asked for the address (a phrase: its words in a row), and the candidates' articles
are then read and checked for the address itself.  So a mention the index does not
hold (a Bcc, a Reply-To alone, text beyond the indexed length) is not found; nor is
a display name without the address next to it.

``preview_erasure`` lists what a run would touch; ``request_erasure`` records a
pending ``PrivacyRun`` that the worker carries out (``run_erasure``), which finds
the same things again at that moment and reports them: ticket numbers, article ids
and counts.  When it is finished the run keeps the address's SHA-256 only.
docs/data-protection.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from helpline.actions import drafts, privacy_rights, privacy_runs, removal
from helpline.actions.customers import customer_address
from helpline.actions.erasure_others import erase_in_others
from helpline.actions.erasure_text import Rewriter
from helpline.blobstore import read_blob
from helpline.errors import InvalidInput
from helpline.models import (
    Article,
    AutoResponseLog,
    Customer,
    InboundMessage,
    OutboxMessage,
    PrivacyRun,
    PrivacyRunKind,
    RetentionAction,
    SystemAddress,
    Ticket,
)

ERASED_ADDRESS = "erased@erased.invalid"
ERASED_NAME = "[erased]"
# Other tickets rewritten per transaction.
OTHER_BATCH = 50
# Unattached inbound messages read per statement when looking for the address.
INBOUND_PAGE = 500
# Article fields read to confirm a mention.
TEXT_FIELDS = (
    "from_addr",
    "reply_to",
    "to_addr",
    "cc_addr",
    "bcc_addr",
    "subject",
    "body_text",
    "body_html",
)


@dataclass
class Found:
    """What an erasure touches, found now (the preview, and the run again)."""

    address: str
    action: str
    customer_ids: list[int] = field(default_factory=list)
    # The person's tickets (ids, by number) and those under legal hold.
    own: dict[int, str] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)
    # Other tickets (ids, by number): the articles the person wrote, and those
    # that name them.
    others: dict[int, str] = field(default_factory=dict)
    authored: dict[int, list[int]] = field(default_factory=dict)
    mentioned: dict[int, list[int]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    # Received messages of no ticket that have the address (the run reads them all
    # to find these; the preview only counts them: ``unattached``).
    inbound: list[int] = field(default_factory=list)
    unattached: int = 0

    def summary(self) -> dict[str, Any]:
        """The preview as a report would name it: numbers, article ids, counts."""
        own = sorted(self.own.values())
        return {
            "action": self.action,
            "deleted" if self.action == RetentionAction.DELETE else "anonymised": own,
            "held": sorted(self.held),
            "changed": sorted(self.others.values()),
            "authored": _by_number(self.authored, self.others),
            "mentioned": _by_number(self.mentioned, self.others),
            "inbound": len(self.inbound),
            "unattached": self.unattached,
            "customers": len(self.customer_ids),
        }


def _by_number(
    articles: dict[int, list[int]], numbers: dict[int, str]
) -> dict[str, list[int]]:
    return {numbers[t]: sorted(ids) for t, ids in sorted(articles.items()) if ids}


def _address(address: str) -> str:
    canonical = customer_address(address)
    if not canonical:
        raise InvalidInput("Give the email address of the person.")
    if SystemAddress.objects.filter(email=canonical).exists():
        # Every mail to the queue names it: erasing it would rewrite them all.
        raise InvalidInput(f"{canonical} is one of Helpline's own addresses.")
    return canonical


# --- finding ---------------------------------------------------------------------------
def find(address: str, *, delete: bool = False, scan: bool = False) -> Found:
    """Everything an erasure of ``address`` touches now (reads only).  ``scan``:
    read every received message of no ticket for the address (the run does; the
    preview only counts them, which a web request can afford)."""
    canonical = _address(address)
    found = Found(
        canonical, RetentionAction.DELETE if delete else RetentionAction.ANONYMISE
    )
    customers = list(
        Customer.objects.filter(
            email__in={canonical, address.strip().lower()}
        ).values_list("pk", "name")
    )
    found.customer_ids = [pk for pk, _ in customers]
    names = {name.strip() for _, name in customers if name.strip()}
    for pk, number, hold in Ticket.objects.filter(
        customer_id__in=found.customer_ids
    ).values_list("pk", "number", "legal_hold"):
        if hold:
            found.held.append(number)
        else:
            found.own[pk] = number
    candidates = _indexed(canonical, exclude=found.customer_ids)
    rewriter = Rewriter(canonical, names, ERASED_ADDRESS, ERASED_NAME)
    rows = list(
        Article.objects.filter(ticket_id__in=list(candidates))
        .order_by("ticket_id", "id")
        .values_list("pk", "ticket_id", *TEXT_FIELDS)
    )
    for _, _, *texts in rows:
        names |= rewriter.display_names(texts[:5])
    rewriter = Rewriter(canonical, names, ERASED_ADDRESS, ERASED_NAME)
    for pk, ticket_id, from_addr, reply_to, *rest in rows:
        number, hold = candidates[ticket_id]
        if rewriter.is_sender(from_addr, reply_to):
            target = found.authored
        elif rewriter.names_address(from_addr, reply_to, *rest):
            target = found.mentioned
        else:
            continue
        if hold:
            if number not in found.held:
                found.held.append(number)
            continue
        found.others[ticket_id] = number
        target.setdefault(ticket_id, []).append(pk)
    found.names = sorted(names)
    unattached = InboundMessage.objects.filter(ticket__isnull=True)
    found.unattached = unattached.count()
    if scan:
        found.inbound = _unattached(canonical)
    return found


def _indexed(address: str, *, exclude: Sequence[int]) -> dict[int, tuple[str, bool]]:
    """Tickets whose index entry has the address's words in a row, but the
    person's own: id -> (number, legal hold)."""
    from helpline.search.base import get_backend
    from helpline.search.query import TextTerm, words

    tokens = tuple(words(address))
    if not tokens:
        return {}
    condition = get_backend().condition([TextTerm(tokens)], []).condition()
    return {
        pk: (number, hold)
        for pk, number, hold in Ticket.objects.filter(condition)
        .exclude(customer_id__in=list(exclude))
        .values_list("pk", "number", "legal_hold")
    }


def _unattached(address: str) -> list[int]:
    """Received messages of no ticket (quarantined, ignored, duplicates) whose raw
    bytes have the address: each one is read, a page at a time."""
    needle = address.lower().encode()
    found: list[int] = []
    last = 0
    while page := list(
        InboundMessage.objects.filter(ticket__isnull=True, pk__gt=last)
        .select_related("raw")
        .order_by("pk")[:INBOUND_PAGE]
    ):
        last = page[-1].pk
        found.extend(m.pk for m in page if needle in read_blob(m.raw).lower())
    return found


# --- asking and running -----------------------------------------------------------------
def preview_erasure(actor: Any, address: str, *, delete: bool = False) -> Found:
    """What erasing ``address`` would touch now, for a holder of
    ``handle_personal_data``."""
    privacy_rights.require(actor, privacy_rights.HANDLE_PERSONAL_DATA)
    return find(address, delete=delete)


def request_erasure(actor: Any, address: str, *, delete: bool = False) -> PrivacyRun:
    """A pending erasure run for the worker (``run_erasure``)."""
    privacy_rights.require(actor, privacy_rights.HANDLE_PERSONAL_DATA)
    return privacy_runs.request_run(
        actor,
        PrivacyRunKind.ERASURE,
        subject=_address(address),
        options={"delete": bool(delete)},
    )


def run_erasure(run_id: int) -> PrivacyRun | None:
    """Carry out the pending erasure run (None when it is not pending any more)."""
    run = privacy_runs.claim(run_id, PrivacyRunKind.ERASURE)
    if run is None:
        return None
    actor = (
        get_user_model().objects.filter(pk=run.requested_by).first()
        if run.requested_by is not None
        else None
    )
    try:
        found = find(run.subject, delete=bool(run.options.get("delete")), scan=True)
        with removal.removing():
            run.report = _erase(found, actor, run)
    except Exception as exc:
        run.errors.append({"error": removal.describe(exc)})
        _forget_address(run, found_names=[])
        privacy_runs.finish(run, failed=True)
        raise
    _forget_address(run, found_names=found.names)
    return privacy_runs.finish(run)


def _erase(found: Found, actor: Any, run: PrivacyRun) -> dict[str, Any]:
    own = removal.remove_tickets(
        found.own, action=found.action, actor=actor, reason="erasure", run=run
    )
    rewriter = Rewriter(found.address, found.names, ERASED_ADDRESS, ERASED_NAME)
    others = removal.in_batches(
        list(found.others),
        erase_in_others,
        size=OTHER_BATCH,
        actor=actor,
        reason="erasure",
        run=run,
        found=found,
        rewriter=rewriter,
    )
    inbound = _drop_unattached(found.inbound)
    # Unsent drafts naming the person (addressed to them, quoting them) on any
    # ticket, and an agent's own drafts of that address (docs/data-protection.md).
    dropped = drafts.drop_drafts_of_person(found.address, rewriter.mentions)
    logs, _ = AutoResponseLog.objects.filter(address__iexact=found.address).delete()
    customers = removal.forget_customers(found.customer_ids)
    run.errors.extend([*own.errors, *others.errors])
    return {
        "action": found.action,
        "deleted": sorted(own.deleted),
        "anonymised": sorted(own.anonymised),
        "merged_parts": sorted(own.merged_parts),
        "held": sorted({*found.held, *own.held, *others.held}),
        "changed": sorted(others.changed),
        "authored": _by_number(found.authored, found.others),
        "mentioned": _by_number(found.mentioned, found.others),
        "articles": own.articles,
        "articles_anonymised": others.articles,
        "articles_rewritten": others.rewritten,
        "attachments": own.attachments + others.attachments,
        "messages": own.messages + others.messages + inbound[0],
        "blobs": own.blobs + others.blobs + inbound[1],
        "inbound": inbound[0],
        "auto_response_logs": logs,
        "drafts": dropped,
        "customers": own.customers + customers,
    }


def _drop_unattached(ids: Iterable[int]) -> tuple[int, int]:
    with transaction.atomic():
        count, blobs = removal.drop_mail(
            OutboxMessage.objects.none(),
            InboundMessage.objects.filter(pk__in=list(ids)),
        )
        return count, removal.release_blobs(blobs)


def _forget_address(run: PrivacyRun, *, found_names: Iterable[str]) -> None:
    """The run's errors without the address or the names (a message may quote
    them); the subject itself is hashed by ``privacy_runs.finish``."""
    rewriter = Rewriter(run.subject, set(found_names), ERASED_ADDRESS, ERASED_NAME)
    run.errors = [
        {k: rewriter.text(v) if isinstance(v, str) else v for k, v in e.items()}
        for e in run.errors
    ]
