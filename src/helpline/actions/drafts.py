"""Drafts: an agent's unsent reply, note or forward, saved as it is typed.

A draft is the agent's own: only that agent reads, restores, copies or discards it,
on any device and after any new login.  Saving needs the same permission as the
form it comes from (a ticket the agent may not see is "not found", like every
ticket URL).  When the agent loses access to the ticket the draft stays, for that
agent only, and what it shows is the agent's own text without anything from the
ticket (``own_text``).  Sending deletes the draft in the sending transaction
(``discard_draft`` inside it); removing the ticket deletes its drafts
(``actions.removal``); the worker purges drafts untouched for
``HELPLINE_DRAFT_DAYS`` (``purge_old_drafts``).

Drafts are personal data (docs/data-protection.md, "Drafts"): the agent's own
drafts are part of a subject-access export of the agent's address
(``drafts_for_export``); an erasure of an address deletes the drafts that name it
and those of an agent with that address (``drop_drafts_of_person``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from helpline.actions.access import access_ticket
from helpline.errors import HelplineError, InvalidInput, NotFound
from helpline.models import ComposeDraft, DraftKind, Permission, Ticket

# The fields each form's draft keeps; anything else posted is ignored.
FIELDS: dict[str, tuple[str, ...]] = {
    DraftKind.REPLY: (
        "to",
        "cc",
        "subject",
        "body",
        "next_state",
        "pending_until",
        "article",
        "all",
        "template",
        "lang",
    ),
    DraftKind.NOTE: ("subject", "text", "next_state", "pending_until", "template"),
    DraftKind.FORWARD: ("to", "text", "article", "template"),
}
# The field holding the text the agent writes.
TEXT_FIELD: dict[str, str] = {
    DraftKind.REPLY: "body",
    DraftKind.NOTE: "text",
    DraftKind.FORWARD: "text",
}
# The permission the form itself needs.
NEEDS: dict[str, str] = {
    DraftKind.REPLY: Permission.RW,
    DraftKind.NOTE: Permission.NOTE,
    DraftKind.FORWARD: Permission.RW,
}


class DraftTooLarge(HelplineError):
    """The draft is larger than ``HELPLINE_DRAFT_MAX_BYTES``."""

    http_status = 413


def kind_of(raw: str | None) -> str:
    """A posted kind, checked."""
    if raw not in FIELDS:
        raise NotFound(_("There is no such kind of draft."))
    return str(raw)


def clean_fields(kind: str, raw: Any) -> dict[str, str]:
    """The form's fields as the draft keeps them: the known names, as strings."""
    if not isinstance(raw, dict):
        raise InvalidInput(_("A draft must be an object of form fields."))
    fields: dict[str, str] = {}
    for name in FIELDS[kind]:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str | int | float | bool):
            raise InvalidInput(
                _("The draft field “%(name)s” must be text.") % {"name": name}
            )
        fields[name] = str(value)
    size = len(json.dumps(fields, ensure_ascii=False).encode())
    limit = settings.HELPLINE_DRAFT_MAX_BYTES
    if size > limit:
        raise DraftTooLarge(
            _(
                "The draft is %(size)s; at most %(limit)s can be kept as a draft. "
                "Your text is still in the form."
            )
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)}
        )
    return fields


def save_draft(
    agent: Any,
    ticket_id: int | None = None,
    *,
    number: str | None = None,
    kind: str,
    fields: Any,
) -> ComposeDraft:
    """Keep ``fields`` as the agent's ``kind`` draft of the ticket (checked first:
    the form's own permission on a ticket the agent may see)."""
    kind = kind_of(kind)
    ticket = access_ticket(agent, ticket_id, number=number, need=NEEDS[kind])
    return do_save_draft(agent, ticket, kind=kind, fields=clean_fields(kind, fields))


def do_save_draft(
    agent: Any, ticket: Ticket, *, kind: str, fields: dict[str, str]
) -> ComposeDraft:
    now = timezone.now()
    with transaction.atomic():
        draft, _created = ComposeDraft.objects.update_or_create(
            agent=agent,
            ticket=ticket,
            kind=kind,
            defaults={"fields": fields, "updated": now},
            create_defaults={"fields": fields, "updated": now, "created": now},
        )
    return draft


def get_draft(agent: Any, ticket: Ticket, kind: str) -> ComposeDraft | None:
    """The agent's own ``kind`` draft of a ticket the caller has checked."""
    return ComposeDraft.objects.filter(agent=agent, ticket=ticket, kind=kind).first()


def discard_draft(agent: Any, ticket: Ticket, kind: str) -> int:
    """Delete the agent's ``kind`` draft of ``ticket`` (after sending, call it in
    the sending transaction); the number of rows deleted."""
    count, _kinds = ComposeDraft.objects.filter(
        agent=agent, ticket=ticket, kind=kind
    ).delete()
    return count


def own_draft(
    agent: Any, ticket_id: int | None = None, *, number: str | None = None, kind: str
) -> ComposeDraft:
    """The agent's ``kind`` draft of a ticket it may still use that form on."""
    kind = kind_of(kind)
    ticket = access_ticket(agent, ticket_id, number=number, need=NEEDS[kind])
    draft = get_draft(agent, ticket, kind)
    if draft is None:
        raise NotFound(_("There is no such draft."))
    return draft


def discard_draft_of(
    agent: Any, ticket_id: int | None = None, *, number: str | None = None, kind: str
) -> int:
    """ "Discard draft" in the form: the ticket checked as for saving."""
    kind = kind_of(kind)
    ticket = access_ticket(agent, ticket_id, number=number, need=NEEDS[kind])
    return discard_draft(agent, ticket, kind)


def get_own(agent: Any, draft_id: int) -> ComposeDraft:
    """One of the agent's drafts by id; another agent's is "not found"."""
    draft = ComposeDraft.objects.filter(agent=agent, pk=draft_id).first()
    if draft is None:
        raise NotFound(_("There is no such draft."))
    return draft


def discard_own(agent: Any, draft_id: int) -> None:
    """Delete one of the agent's drafts by id, readable ticket or not; another
    agent's draft is "not found"."""
    count, _kinds = ComposeDraft.objects.filter(agent=agent, pk=draft_id).delete()
    if not count:
        raise NotFound(_("There is no such draft."))


def drafters(agent: Any, ticket: Ticket) -> list[Any]:
    """The other agents who have an unsent draft of ``ticket`` (who, not what)."""
    rows = (
        ComposeDraft.objects.filter(ticket=ticket)
        .exclude(agent=agent)
        .select_related("agent")
        .order_by("agent__username", "kind")
    )
    seen: dict[int, Any] = {}
    for row in rows:
        seen.setdefault(row.agent_id, row.agent)
    return list(seen.values())


QUOTED = re.compile(r"^\s*>")
# The line a reply's quote starts with (helpline.responses.replies.QUOTE_HEADER,
# which this layer may not import).
QUOTE_HEADER = re.compile(r"^On \d{4}-\d\d-\d\d \d\d:\d\d, .* wrote:$", re.M)


def own_text(draft: ComposeDraft) -> str:
    """The text the agent wrote, without the quoted message a reply carries (it
    is the ticket's, so not shown once the agent may no longer read the ticket)."""
    text = str(draft.fields.get(TEXT_FIELD[draft.kind], "")).replace("\r\n", "\n")
    header = QUOTE_HEADER.search(text)
    if header is not None:
        text = text[: header.start()]
    kept = [line for line in text.split("\n") if not QUOTED.match(line)]
    return "\n".join(kept).strip("\n")


@dataclass(frozen=True)
class MyDraft:
    """One line of "My drafts": the ticket only while the agent may read it."""

    draft: ComposeDraft
    ticket: Ticket | None
    text: str


def my_drafts(agent: Any) -> list[MyDraft]:
    """All the agent's drafts, newest first, in two queries.  A draft of a ticket
    the agent may no longer read shows the agent's own text and nothing else."""
    drafts = list(ComposeDraft.objects.filter(agent=agent).order_by("-updated", "-id"))
    readable = {
        t.pk: t
        for t in Ticket.objects.visible_to(agent).filter(
            pk__in={d.ticket_id for d in drafts}
        )
    }
    result = []
    for d in drafts:
        ticket = readable.get(d.ticket_id)
        text = str(d.fields.get(TEXT_FIELD[d.kind], "")) if ticket else own_text(d)
        result.append(MyDraft(draft=d, ticket=ticket, text=text))
    return result


PURGE_BATCH = 5000


def purge_old_drafts(days: int | None = None, *, batch: int = PURGE_BATCH) -> int:
    """Delete drafts untouched for ``days`` (``HELPLINE_DRAFT_DAYS``), ``batch``
    rows per statement; the number deleted."""
    days = settings.HELPLINE_DRAFT_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    while True:
        oldest = ComposeDraft.objects.filter(updated__lt=cutoff).order_by("id")
        count, _kinds = ComposeDraft.objects.filter(
            pk__in=list(oldest.values_list("pk", flat=True)[:batch])
        ).delete()
        deleted += count
        if count < batch:
            return deleted


# Drafts read per statement when an erasure looks for the person in them.
ERASURE_PAGE = 1000


def drafts_for_export(address: str) -> list[dict[str, Any]]:
    """The unsent drafts of the agent accounts with ``address``, for that person's
    subject-access export, oldest first (one query): the ticket's number, the
    kind of form, when it was begun and last saved, and the agent's own text
    (``own_text``).  Not the quoted message, the recipients or the subject: those
    are the ticket's and its customer's, not the agent's."""
    rows = (
        ComposeDraft.objects.filter(agent__email__iexact=address)
        .select_related("ticket")
        .only("kind", "created", "updated", "fields", "ticket__number")
        .order_by("created", "id")
    )
    return [
        {
            "ticket": draft.ticket.number,
            "kind": draft.kind,
            "created": draft.created,
            "updated": draft.updated,
            "text": own_text(draft),
        }
        for draft in rows
    ]


def drop_drafts_of_person(address: str, names: Callable[[str], bool]) -> int:
    """An erasure of ``address``: delete the drafts of agent accounts with that
    address, and every draft whose fields (recipients, subject, text) name the
    person (``names``: the erasure's test for the address and the display names),
    on any ticket not under legal hold (left as it is).  Reads the drafts a
    page at a time (they live ``HELPLINE_DRAFT_DAYS`` at most); the number
    deleted."""
    free = ComposeDraft.objects.exclude(ticket__legal_hold=True)
    doomed = set(free.filter(agent__email__iexact=address).values_list("pk", flat=True))
    last = 0
    while page := list(
        free.filter(pk__gt=last)
        .order_by("pk")
        .values_list("pk", "fields")[:ERASURE_PAGE]
    ):
        last = page[-1][0]
        doomed.update(
            pk
            for pk, fields in page
            if any(names(str(value)) for value in (fields or {}).values())
        )
    deleted, _kinds = ComposeDraft.objects.filter(pk__in=doomed).delete()
    return deleted
