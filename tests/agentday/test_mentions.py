"""@mentions in notes: who hears of them, what the writer learns, the "Mentions" list."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline.actions import mentions
from helpline.actions.articles import add_note
from helpline.errors import TicketNotFound
from helpline.models import Mention, OutboxMessage
from tests.agentday.conftest import mails_to, recipients
from tests.support import make_agent, make_ticket


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("@bob please look", ["bob"]),
        ("ask @bob, or (@carol.smith).", ["bob", "carol.smith"]),
        ("write to foo@bob.org or bob@example.org", []),
        ("> @bob said so in the quoted mail\nno mention here", []),
        ("  > quoted @bob\n@alice yes", ["alice"]),
        ("@bob @bob twice", ["bob"]),
        ("email@ the end @", []),
    ],
)
def test_mentions_are_words_starting_with_at_outside_addresses_and_quotes(text, found):
    assert mentions.mentioned_logins(text) == found


@pytest.mark.django_db
def test_a_mention_notifies_and_lists_the_ticket(
    team, django_capture_on_commit_callbacks
):
    ticket = make_ticket(team.queue)
    with django_capture_on_commit_callbacks(execute=True):
        note = add_note(team.alice, ticket.pk, "@bob can you check the licence?")
    assert mentions.outcome_of(note) == mentions.MentionOutcome(notified=("bob",))
    assert recipients() == ["bob@example.org"]
    (raw,) = mails_to("bob@example.org")
    assert b"You were mentioned" in raw
    assert b"can you check the licence?" in raw
    assert list(mentions.mentioned_tickets(team.bob)) == [ticket]
    assert list(mentions.mentioned_tickets(team.alice)) == []


@pytest.mark.django_db
def test_a_mention_of_an_agent_without_access_sends_and_lists_nothing(
    team, django_capture_on_commit_callbacks
):
    ticket = make_ticket(team.secret, title="Secret matter", body="private words")
    with django_capture_on_commit_callbacks(execute=True):
        note = add_note(team.alice, ticket.pk, "@bob and @carol and @nobody: see")
    outcome = mentions.outcome_of(note)
    # Unknown and unauthorised logins are told apart by nothing.
    assert outcome.notified == ()
    assert outcome.not_notified == ("bob", "carol", "nobody")
    assert OutboxMessage.objects.count() == 0
    assert Mention.objects.count() == 0
    assert list(mentions.mentioned_tickets(team.bob)) == []


@pytest.mark.django_db
def test_a_mention_respects_the_notification_preference(
    team, django_capture_on_commit_callbacks
):
    from helpline.actions.preferences import set_preferences

    set_preferences(team.bob, notifications_off=["mention"])
    ticket = make_ticket(team.queue)
    with django_capture_on_commit_callbacks(execute=True):
        add_note(team.alice, ticket.pk, "@bob fyi")
    assert recipients() == []
    # Still listed: the preference is about mail only.
    assert list(mentions.mentioned_tickets(team.bob)) == [ticket]


@pytest.mark.django_db
def test_mentioning_oneself_does_nothing(team, django_capture_on_commit_callbacks):
    ticket = make_ticket(team.queue)
    with django_capture_on_commit_callbacks(execute=True):
        note = add_note(team.alice, ticket.pk, "note to @alice")
    assert mentions.outcome_of(note) == mentions.MentionOutcome()
    assert recipients() == []


@pytest.mark.django_db
def test_access_withdrawn_later_hides_the_mention(team):
    from helpline.models import Grant

    ticket = make_ticket(team.queue)
    add_note(team.alice, ticket.pk, "@bob look")
    assert mentions.mentioned_tickets(team.bob).count() == 1
    Grant.objects.filter(agent=team.bob).delete()
    bob = type(team.bob).objects.get(pk=team.bob.pk)  # no cached permissions
    assert mentions.mentioned_tickets(bob).count() == 0
    with pytest.raises(TicketNotFound):
        mentions.dismiss_mention(bob, ticket.pk)


@pytest.mark.django_db
def test_dismissing_clears_the_mention(team):
    ticket = make_ticket(team.queue)
    add_note(team.alice, ticket.pk, "@bob look")
    assert mentions.dismiss_mention(team.bob, ticket.pk) is True
    assert mentions.mentioned_tickets(team.bob).count() == 0
    assert mentions.dismiss_mention(team.bob, ticket.pk) is False


@pytest.mark.django_db
def test_a_second_mention_of_the_same_ticket_is_one_entry(team):
    ticket = make_ticket(team.queue)
    add_note(team.alice, ticket.pk, "@bob look")
    second = add_note(team.alice, ticket.pk, "@bob and again")
    (row,) = Mention.objects.filter(agent=team.bob)
    assert row.article_id == second.pk


@pytest.mark.django_db
def test_the_cost_of_a_note_does_not_grow_with_the_mentioned_agents_data(team):
    """The queries of a mentioning note are the same with 1 or 20 tickets around."""
    ticket = make_ticket(team.queue)
    add_note(team.alice, ticket.pk, "warm up")  # per-process caches filled
    with CaptureQueriesContext(connection) as few:
        add_note(team.alice, ticket.pk, "@bob look")
    for _ in range(20):
        add_note(team.alice, make_ticket(team.queue).pk, "@bob look")
    make_agent("dave")
    with CaptureQueriesContext(connection) as many:
        add_note(team.alice, ticket.pk, "@bob look again")
    assert len(many) == len(few)
