"""Placeholders without a value: removed with their punctuation by rule, or a fallback.

The rule (docs/web.md "Placeholders") is table-driven here: each row is a template
line, the customer's name (empty or not) and what the customer reads.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from helpline.errors import InvalidInput
from helpline.responses.render import Context, check_text, render


def customer(name: str) -> Context:
    return Context(customer=SimpleNamespace(name=name, email="jane@example.net"))


EMPTY_NAME = [
    # The salutations agents write.
    ("Dear {{ customer.name }},", "Dear,"),
    ("Hello {{ customer.name }},\n", "Hello,\n"),
    ("Hello {{customer.name}}!", "Hello!"),
    ("Dear {{ customer.name }} ,", "Dear,"),
    ("Hi {{ customer.name }}, thanks for writing.", "Hi, thanks for writing."),
    # A separator left dangling before the end or other punctuation goes.
    ("Thanks, {{ customer.name }}.", "Thanks."),
    ("Regards, {{ customer.name }}", "Regards"),
    ("Name: {{ customer.name }}; mail: x", "Name; mail: x"),
    # At the start of a line the following separator goes.
    ("{{ customer.name }}, welcome back", "welcome back"),
    # Brackets and quotes around nothing go with it.
    ("Ticket 5 ({{ customer.name }}) is open", "Ticket 5 is open"),
    ("Ticket 5 [{{ customer.name }}].", "Ticket 5."),
    ('You wrote as "{{ customer.name }}" to us', "You wrote as to us"),
    ("Sehr geehrte/r „{{ customer.name }}“,", "Sehr geehrte/r,"),
    ("«{{ customer.name }}»", ""),
    # Spaces between words close up to one.
    ("Hi {{ customer.name }} and welcome", "Hi and welcome"),
    ("a {{ customer.name }}\tb", "a b"),
    # A line with nothing else left goes, with its line break.
    ("{{ customer.name }}\nNext line", "Next line"),
    ("Top\n({{ customer.name }}),\nBottom", "Top\nBottom"),
    ("  {{ customer.name }}\n", ""),
    # Indentation before a placeholder at the start of a line stays.
    ("  {{ customer.name }} wrote", "  wrote"),
    # Lines without an empty placeholder are never touched, even punctuation only.
    ("-- \n{{ customer.email }}", "-- \njane@example.net"),
    ("Hello {{ customer.name }},\n\n--\n", "Hello,\n\n--\n"),
    # Two empty placeholders in a row.
    ("Dear {{ customer.name }} {{ customer.name }},", "Dear,"),
    # The CRLF of a line stays.
    ("Dear {{ customer.name }},\r\nText", "Dear,\r\nText"),
]


@pytest.mark.parametrize(("text", "expected"), EMPTY_NAME)
def test_an_empty_placeholder_goes_with_its_punctuation(text, expected):
    assert render(text, customer("")) == expected


@pytest.mark.parametrize(("text", "_"), EMPTY_NAME)
def test_a_filled_placeholder_leaves_the_text_as_written(text, _):
    out = render(text, customer("Jane Doe"))
    filled = text.replace("{{ customer.name }}", "Jane Doe")
    filled = filled.replace("{{customer.name}}", "Jane Doe")
    assert out == filled.replace("{{ customer.email }}", "jane@example.net")


FALLBACKS = [
    ('Dear {{ customer.name|default:"Sir or Madam" }},', "", "Dear Sir or Madam,"),
    ('Dear {{ customer.name|default:"Sir or Madam" }},', "Jane", "Dear Jane,"),
    ('Dear {{customer.name | default : "friend"}}!', "", "Dear friend!"),
    ('Hi {{ customer.name|default:"" }}, ok', "", "Hi, ok"),
    ('x {{ customer.name|default:"say \\"hi\\"" }}', "", 'x say "hi"'),
    ('x {{ customer.name|default:"a\\\\b" }}', "", "x a\\b"),
    ('{{ ticket.title:5|default:"(no title)" }}', "", "(no title)"),
]


@pytest.mark.parametrize(("text", "name", "expected"), FALLBACKS)
def test_a_fallback_stands_in_for_an_empty_value(text, name, expected):
    assert render(text, customer(name)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "{{ customer.name|upper }}",
        "{{ customer.name|default:Sir }}",
        "{{ customer.name|default:'Sir' }}",
        '{{ customer.name|default:"Sir" |default:"Madam" }}',
        '{{ customer.name|default:"a\nb" }}',
        '{{ customer.secret|default:"x" }}',
    ],
)
def test_only_a_quoted_default_is_accepted_after_a_name(text):
    with pytest.raises(InvalidInput):
        check_text(text)


def test_the_fallback_is_literal_text_not_a_placeholder():
    out = render('{{ customer.name|default:"{ ticket.number }" }}', customer(""))
    assert out == "{ ticket.number }"
