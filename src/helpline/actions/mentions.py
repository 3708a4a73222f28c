"""``@login`` in a note: notify that agent and list the ticket under its "Mentions".

Only an agent who may read the ticket is mentioned (``may(..., RO)``): for anyone else
(no access, an unknown login, a deactivated account) nothing is written and nothing
is sent, and the writer learns only that the login was not notified, the same
neutral words for every reason, so a mention neither leaks the ticket to the
mentioned agent nor tells the writer who exists or who may read what.

A mention is recognised where ``@`` starts a word: not inside an e-mail address
(``foo@login.org``) and not in quoted lines (``> ...``, the quoted mail a note may
carry).  The row lives until the agent reads the ticket (``mark_seen``: the web zoom, the
API's ticket, ``helpline ticket show``) or dismisses it ("Done", one or all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from helpline.actions.access import access_ticket, may
from helpline.actions.events import Event, announce_on_commit
from helpline.models import Article, Mention, Permission, Ticket

# At most this many logins of one note are looked at (each is one permission check).
MAX_MENTIONS = 20
# "@" where a word starts (not after a letter, digit, "." or another "@": not in
# foo@login.org), then a login of Django's characters.
_MENTION = re.compile(r"(?<![\w.@+-])@([\w.+-]*\w)")


@dataclass(frozen=True)
class MentionOutcome:
    notified: tuple[str, ...] = ()
    # Unknown, inactive or without read access: deliberately not told apart.
    not_notified: tuple[str, ...] = field(default_factory=tuple)


_OUTCOME_ATTR = "_helpline_mentions"


def mentioned_logins(text: str) -> list[str]:
    """The logins ``@``-mentioned in ``text`` outside quoted lines, in order, once."""
    found: dict[str, None] = {}
    for line in text.splitlines():
        if line.lstrip().startswith(">"):
            continue
        for match in _MENTION.finditer(line):
            found.setdefault(match.group(1), None)
    return list(found)


def do_mention(actor: Any | None, ticket: Ticket, article: Article) -> MentionOutcome:
    """Record the mentions of a new note (inside its transaction) and announce them
    for after the commit.  One query when the note mentions nobody known."""
    logins = mentioned_logins(article.body_text)[:MAX_MENTIONS]
    if not logins:
        return _remember(article, MentionOutcome())
    users = {
        u.get_username(): u
        for u in get_user_model().objects.filter(username__in=logins, is_active=True)
    }
    notified: list[Any] = []
    missed: list[str] = []
    for login in logins:
        user = users.get(login)
        if actor is not None and user is not None and user.pk == actor.pk:
            continue  # mentioning oneself: nothing to do, nothing to say
        if user is not None and may(user, ticket, Permission.RO):
            notified.append(user)
        else:
            missed.append(login)
    if notified:
        now = timezone.now()
        Mention.objects.bulk_create(
            [
                Mention(ticket=ticket, agent=u, article=article, by=actor, created=now)
                for u in notified
            ],
            update_conflicts=True,
            unique_fields=["agent", "ticket"],
            update_fields=["article", "by", "created"],
        )
        announce_on_commit(Event.MENTION, ticket.pk, actor=actor, article_id=article.pk)
    outcome = MentionOutcome(
        notified=tuple(u.get_username() for u in notified), not_notified=tuple(missed)
    )
    return _remember(article, outcome)


def _remember(article: Article, outcome: MentionOutcome) -> MentionOutcome:
    setattr(article, _OUTCOME_ATTR, outcome)
    return outcome


def outcome_of(article: Article) -> MentionOutcome:
    """What ``do_mention`` did for this (just added) note."""
    found = getattr(article, _OUTCOME_ATTR, None)
    return found if isinstance(found, MentionOutcome) else MentionOutcome()


def mentioned_agents(article_id: int) -> list[Any]:
    """Who the note ``article_id`` mentions (the recipients of ``Event.MENTION``)."""
    return list(
        get_user_model().objects.filter(
            pk__in=Mention.objects.filter(article_id=article_id).values("agent_id")
        )
    )


def mentioned_tickets(agent: Any) -> QuerySet[Ticket]:
    """The tickets listed under the agent's "Mentions": only those it may read."""
    return Ticket.objects.visible_to(agent).filter(
        Exists(Mention.objects.filter(ticket=OuterRef("pk"), agent=agent))
    )


def mark_seen(agent: Any, ticket: Ticket) -> bool:
    """The agent read ``ticket`` (already checked by the caller's ``access_ticket``):
    it leaves "Mentions".  Every path that shows a ticket's content calls it: the
    web zoom, ``GET /api/v1/tickets/{number}`` and ``helpline ticket show``.  One
    query; no check of its own, the row is the agent's."""
    deleted, _ = Mention.objects.filter(agent=agent, ticket_id=ticket.pk).delete()
    return bool(deleted)


def dismiss_mention(agent: Any, ticket_id: int) -> bool:
    """ "Done": the agent takes a ticket off its Mentions without opening it (the
    ticket checked first: one the agent may not read is "not found")."""
    ticket = access_ticket(agent, ticket_id, need=Permission.RO)
    return mark_seen(agent, ticket)


def dismiss_all_mentions(agent: Any) -> int:
    """ "All done": every mention of the agent goes, those on tickets it may no
    longer read too (they were not listed; were access given back they would
    have come back).  One statement; the number of rows deleted."""
    deleted, _ = Mention.objects.filter(agent=agent).delete()
    return deleted
