from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpline.actions import admin, articles, tickets
from helpline.actions.articles import NewArticle
from helpline.models import ArticleChannel, Permission
from tests.support import make_agent, make_group, make_queue, make_ticket


class Clock:
    """``timezone.now()`` fixed at a moment the test sets (UTC)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, tzinfo=UTC)

    def at(self, text: str) -> datetime:
        self.now = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return self.now


@pytest.fixture
def clock(monkeypatch, settings):
    settings.TIME_ZONE = "UTC"
    fixed = Clock()
    monkeypatch.setattr("django.utils.timezone.now", lambda: fixed.now)
    return fixed


def reply(agent, ticket_id: int) -> None:
    articles.add_article(
        agent, ticket_id, NewArticle(channel=ArticleChannel.PHONE, body_text="Done.")
    )


class Desk:
    """Two queues (A: alice and bob; B: bob only) and an admin; the tickets of the
    hand-computed fixture (docs/reports.md's example), all times UTC:

    - t1 in A: received Mon 2 March 09:00, alice answers 09:30 (30 min), alice
      closes Tue 3 March 09:00 (handled in 24 h);
    - t2 in A: received 2 March 10:00, bob answers 12:00 (2 h), stays open;
    - t3 in A: received Tue 3 March 08:00, unanswered, open;
    - t4 in B: received 2 March 11:00, bob answers 11:00:30 (30 s), bob closes 12:00
      (1 h).
    """

    def __init__(self, clock: Clock) -> None:
        self.group_a = make_group("Group A")
        self.group_b = make_group("Group B")
        self.a = make_queue("Queue A", group=self.group_a)
        self.b = make_queue("Queue B", group=self.group_b)
        self.alice = make_agent("alice")
        self.bob = make_agent("bob")
        self.carol = make_agent("carol")  # reads nothing
        self.root = make_agent("root", is_admin=True)
        rw = [Permission.RW, Permission.OWNER]
        admin.grant(self.group_a, rw, agent=self.alice)
        admin.grant(self.group_a, rw, agent=self.bob)
        admin.grant(self.group_b, rw, agent=self.bob)
        admin.grant(self.group_a, rw, agent=self.root)
        admin.grant(self.group_b, rw, agent=self.root)
        clock.at("2026-03-02 09:00")
        self.t1 = make_ticket(self.a)
        clock.at("2026-03-02 09:30")
        reply(self.alice, self.t1.pk)
        clock.at("2026-03-02 10:00")
        self.t2 = make_ticket(self.a)
        clock.at("2026-03-02 11:00")
        self.t4 = make_ticket(self.b)
        clock.at("2026-03-02 11:00:30")
        reply(self.bob, self.t4.pk)
        clock.at("2026-03-02 12:00")
        reply(self.bob, self.t2.pk)
        tickets.close_ticket(self.bob, self.t4.pk, note="solved")
        clock.at("2026-03-03 08:00")
        self.t3 = make_ticket(self.a)
        clock.at("2026-03-03 09:00")
        tickets.close_ticket(self.alice, self.t1.pk, note="solved")
        clock.at("2026-03-05 12:00")


@pytest.fixture
def desk(db, clock):
    return Desk(clock)
