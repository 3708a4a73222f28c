"""What a subject-access export holds (GDPR Art. 15): finding a person's messages.

- Every ticket whose customer has the address (case and the IDNA form of the domain
  do not matter), with all its messages, and the messages a merge took from such a
  ticket into another one.
- From the tickets of other people, the messages whose From, To, Cc, Reply-To or Bcc
  holds the address.  Those tickets are found by the full-text index (its From and
  To/Cc fields; no article is scanned), then each message is checked in Python; so a
  message of another person's ticket that names the address only in Reply-To or Bcc
  is not found.  The index follows a change within seconds (a job after its commit).
- Messages hidden from the person are left out unless ``include_internal``: internal
  notes, and messages not shown to the customer in which the person does not appear
  (a forward to a third party).  A message the person sent or received is never
  hidden, whatever its ticket.

An agent's own unsent drafts are included when the address is an agent
account's (``drafts.drafts_for_export``: the agent's own text, not the ticket's).

``write_export`` writes them through ``subject_access_archive``, recording a read of
kind ``export`` of each ticket; ``subject_access`` runs it for the entry points.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from django.db.models import BooleanField, ExpressionWrapper, Q

from helpline.actions import drafts, read_audit
from helpline.actions.customers import customer_address
from helpline.actions.subject_access_archive import (
    Archive,
    ArticlePart,
    BlobReader,
    BlobRef,
    FilePart,
    TicketPart,
    Totals,
)
from helpline.addresses import addresses_in
from helpline.errors import InvalidInput
from helpline.models import (
    Article,
    ArticleChannel,
    Attachment,
    Blob,
    Customer,
    ReadKind,
    Ticket,
)

TICKETS_PER_BATCH = 100
# The headers in which the person is looked for, as JSON names them.
HEADERS = (
    ("from", "from_addr"),
    ("to", "to_addr"),
    ("cc", "cc_addr"),
    ("reply_to", "reply_to"),
    ("bcc", "bcc_addr"),
)
_ARTICLE_FIELDS = (
    "id",
    "ticket_id",
    "channel",
    "sender_type",
    "visible_to_customer",
    "incoming",
    "created",
    "subject",
    "message_id",
    "in_reply_to",
    "raw_id",
    "merged_from_id",
    "created_by__first_name",
    "created_by__last_name",
    *(name for _, name in HEADERS),
)


# -- the address ------------------------------------------------------------------------
def canonical_address(text: str) -> str:
    """The address as customers are stored (``actions.customers``), or InvalidInput."""
    address = customer_address(text or "")
    if not address:
        raise InvalidInput("Give the person's email address.")
    return address


def address_hash(address: str) -> str:
    """The SHA-256 of the canonical address: what the records keep of it."""
    return hashlib.sha256(canonical_address(address).encode()).hexdigest()


def _variants(address: str) -> set[str]:
    """The canonical address and the form a customer row written before addresses
    were canonical may have (a Unicode domain, lower-cased)."""
    local, _, domain = address.rpartition("@")
    variants = {address}
    if "xn--" in domain:
        import idna

        with contextlib.suppress(idna.IDNAError, UnicodeError):
            variants.add(f"{local}@{idna.decode(domain)}".lower())
    return variants


# -- finding what to export -------------------------------------------------------------
@dataclass
class Found:
    """The tickets of an export, by id: the person's own ones, and the others that
    may hold a message of theirs (confirmed message by message when written)."""

    own: list[int] = field(default_factory=list)
    others: list[int] = field(default_factory=list)

    @property
    def all(self) -> list[int]:
        return sorted({*self.own, *self.others})


def find_tickets(address: str) -> Found:
    """The tickets to look at for ``address`` (canonical), by indexed look-ups only:
    customers by address, tickets by customer, articles by the ticket a merge took
    them from, and the full-text index's From and To/Cc fields."""
    customers = list(
        Customer.objects.filter(email__in=_variants(address)).values_list(
            "pk", flat=True
        )
    )
    own = list(
        Ticket.objects.filter(customer_id__in=customers)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    others: set[int] = set()
    for start in range(0, len(own), 1000):
        others.update(
            Article.objects.filter(merged_from_id__in=own[start : start + 1000])
            .values_list("ticket_id", flat=True)
            .distinct()
        )
    others.update(_named_in_index(address))
    return Found(own=own, others=sorted(others - set(own)))


def _named_in_index(address: str) -> set[int]:
    from helpline.search.base import get_backend
    from helpline.search.query import TextTerm, words

    tokens = tuple(words(address))
    if not tokens:
        return set()
    backend = get_backend()
    found: set[int] = set()
    for part in ("from", "to"):
        condition = backend.condition([TextTerm(tokens, field=part)], []).condition()
        found.update(Ticket.objects.filter(condition).values_list("pk", flat=True))
    return found


def roles_of(article: Article, address: str) -> list[str]:
    """The headers of ``article`` that hold ``address`` (JSON names)."""
    return [
        name
        for name, attribute in HEADERS
        if address in addresses_in(getattr(article, attribute))
    ]


def is_hidden(article: Article, roles: Sequence[str]) -> bool:
    """Hidden from the person: an internal note, or a message not shown to the
    customer in which the person does not appear (a forward to someone else)."""
    if article.channel == ArticleChannel.INTERNAL:
        return True
    return not article.visible_to_customer and not roles


# -- writing the zip ----------------------------------------------------------------------
def write_export(
    actor: Any,
    address: str,
    out: BinaryIO,
    *,
    include_internal: bool = False,
    workdir: Path,
) -> Totals:
    """Write the export of ``address`` into ``out``; record a read of each ticket.

    No permission check (``request_export`` and ``run_export`` make it).  ``workdir``
    is a private directory for the spooled metadata.  Queries: a few to find the
    tickets, then about six per ``TICKETS_PER_BATCH`` tickets, plus one per 8 MiB
    of bytes kept in database rows; never one per article.
    """
    found = find_tickets(address)
    own = set(found.own)
    archive = Archive(
        out,
        address=address,
        prepared_by=actor.get_full_name() or actor.get_username(),
        include_internal=include_internal,
        workdir=workdir,
    )
    try:
        ids = found.all
        for start in range(0, len(ids), TICKETS_PER_BATCH):
            parts = _batch(
                ids[start : start + TICKETS_PER_BATCH],
                address,
                own,
                include_internal,
                archive.totals,
            )
            reader = BlobReader([ref for part in parts for ref in _blob_order(part)])
            for part in parts:
                archive.add(part, reader)
                read_audit.record(actor, part.ticket, ReadKind.EXPORT)
        # An agent's address: its own unsent drafts (docs/data-protection.md).
        archive.add_drafts(drafts.drafts_for_export(address))
        return archive.close()
    except BaseException:
        archive.discard()
        raise


def _blob_order(part: TicketPart) -> Iterator[BlobRef]:
    for article in part.articles:
        if article.raw is not None:
            yield article.raw
        yield from (item.blob for item in article.files)


def _batch(
    ids: list[int], address: str, own: set[int], include_internal: bool, totals: Totals
) -> list[TicketPart]:
    """The tickets of ``ids`` with the articles to export, in ticket order."""
    tickets = {
        t.pk: t
        for t in Ticket.objects.filter(pk__in=ids)
        .select_related("queue", "state", "merged_into")
        .only(
            "id",
            "number",
            "title",
            "queue__name",
            "state__name",
            "state_type",
            "created",
            "closed_at",
            "customer_id",
            "merged_into__number",
        )
    }
    by_ticket: dict[int, list[ArticlePart]] = {pk: [] for pk in tickets}
    for article in (
        Article.objects.filter(ticket_id__in=ids)
        .select_related("created_by")
        .only(*_ARTICLE_FIELDS)
        .order_by("ticket_id", "created", "id")
    ):
        roles = roles_of(article, address)
        mine = article.ticket_id in own or article.merged_from_id in own
        if not (mine or roles):
            continue
        if is_hidden(article, roles) and not include_internal:
            totals.left_out += 1
            continue
        by_ticket[article.ticket_id].append(ArticlePart(article, None, roles=roles))
    parts = [
        TicketPart(
            tickets[pk], "customer" if pk in own else "participant", by_ticket[pk]
        )
        for pk in sorted(tickets, key=lambda pk: (tickets[pk].created, pk))
        if pk in own or by_ticket[pk]
    ]
    _fill([article for part in parts for article in part.articles])
    return parts


def _fill(articles: list[ArticlePart]) -> None:
    """Bodies (of articles without raw mail), files and blobs: three queries."""
    if not articles:
        return
    by_id = {a.article.pk: a for a in articles}
    rebuilt = [a.article.pk for a in articles if a.article.raw_id is None]
    if rebuilt:
        for pk, text, body_html in Article.objects.filter(pk__in=rebuilt).values_list(
            "pk", "body_text", "body_html"
        ):
            by_id[pk].body_text, by_id[pk].body_html = text, body_html
    files = list(
        Attachment.objects.filter(article_id__in=list(by_id))
        .order_by("article_id", "id")
        .values_list("article_id", "filename", "content_type", "inline", "blob_id")
    )
    blob_ids = {a.article.raw_id for a in articles if a.article.raw_id} | {
        f[4] for f in files
    }
    blobs = {
        pk: BlobRef(pk, sha, size, not external)
        for pk, sha, size, external in Blob.objects.filter(pk__in=blob_ids)
        .annotate(
            external=ExpressionWrapper(
                Q(data__isnull=True), output_field=BooleanField()
            )
        )
        .values_list("pk", "sha256", "size", "external")
    }
    for part in articles:
        if part.article.raw_id is not None:
            part.raw = blobs[part.article.raw_id]
    for article_id, name, content_type, inline, blob_id in files:
        by_id[article_id].files.append(
            FilePart(name, content_type, inline, blobs[blob_id])
        )
