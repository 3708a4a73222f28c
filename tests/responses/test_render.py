"""The placeholder language: small, documented, safe."""

from __future__ import annotations

import pytest

from helpline.errors import InvalidInput
from helpline.responses.render import PLACEHOLDERS, Context, check_text, render
from tests.support import make_agent, make_queue, make_ticket


@pytest.mark.django_db
def test_placeholders_are_filled_from_ticket_customer_agent_and_original():
    agent = make_agent("alice", first_name="Alice", last_name="Smith")
    ticket = make_ticket(
        make_queue("info-en"),
        title="Error in article",
        body="Line one\nLine two\nLine three",
    )
    original = ticket.articles.get()
    text = (
        "Dear {{ customer.email }}, about {{ ticket.title }} ({{ ticket.number }}) in "
        "{{ticket.queue}}:\n{{ original.quote:2 }}\n-- {{ agent.name }}"
    )
    out = render(
        text,
        Context(
            ticket=ticket, agent=agent, customer=ticket.customer, original=original
        ),
    )
    assert out == (
        f"Dear customer@example.net, about Error in article ({ticket.number}) in "
        "info-en:\n> Line one\n> Line two\n-- Alice Smith"
    )


def test_an_unknown_placeholder_is_refused_with_the_known_ones_listed():
    with pytest.raises(InvalidInput, match="Unknown placeholder.*ticket.number"):
        check_text("Hello {{ ticket.secret }}")


@pytest.mark.parametrize(
    "text",
    [
        "{{ ticket.title | upper }}",
        "{{ __import__ }}",
        "{{ ticket.number:abc }}",
        "{{}}",
    ],
)
def test_anything_but_a_plain_name_is_refused(text):
    with pytest.raises(InvalidInput):
        check_text(text)


def test_text_without_placeholders_passes_unchanged():
    assert render("Plain {text} with braces", Context()) == "Plain {text} with braces"


def test_every_placeholder_renders_with_an_empty_context():
    for name in PLACEHOLDERS:
        assert isinstance(render("{{ " + name + " }}", Context()), str)


@pytest.mark.django_db
def test_subject_is_cut_to_n_characters():
    ticket = make_ticket(make_queue(), title="A very long subject line indeed")
    out = render(
        "{{ original.subject:6 }}",
        Context(ticket=ticket, original=ticket.articles.get()),
    )
    assert out == "A very..."
