"""One canonical form per mailbox (helpline.addresses), as docs/receiving-mail.md
("Addresses") says: exact, parsed comparison, never substrings."""

from __future__ import annotations

import pytest

from helpline.addresses import addresses_in, format_address, normalize

SAME = [
    ("victim@example.org", "victim@example.org"),
    ("Victim@EXAMPLE.org", "victim@example.org"),
    ('"victim"@example.org', "victim@example.org"),
    ("<victim@example.org>", "victim@example.org"),
    ("  victim@example.org ", "victim@example.org"),
    ("victim(comment)@example.org", "victim@example.org"),
    ("joerg@bücher.example", "joerg@xn--bcher-kva.example"),
    ("joerg@XN--BCHER-KVA.example", "joerg@xn--bcher-kva.example"),
    ("joerg@BÜCHER.example", "joerg@xn--bcher-kva.example"),
    # NFC: "é" composed and decomposed are one character.
    ("rene@caf\u00e9.example", "rene@xn--caf-dma.example"),
    ("rene@cafe\u0301.example", "rene@xn--caf-dma.example"),
    ('"vic tim"@example.org', '"vic tim"@example.org'),
    ("a@[192.0.2.1]", "a@[192.0.2.1]"),
]


@pytest.mark.parametrize(("written", "canonical"), SAME)
def test_every_spelling_of_a_mailbox_has_one_canonical_form(written, canonical):
    assert normalize(written) == canonical


NOT_ADDRESSES = [
    "",
    "victim",
    "@example.org",
    "victim@",
    "victim@example.org@evil.example",
    "victim@example..org",
    "victim@exa mple.org",
    "victim@example.org\nBcc: x@y",
    "victim@xn--zz.example",  # not a valid IDNA label
    "victim@example.org, m@evil.example",
]


@pytest.mark.parametrize("text", NOT_ADDRESSES)
def test_what_is_not_one_valid_address_matches_nothing(text):
    assert normalize(text) == ""


def test_other_mailboxes_stay_apart():
    """No substring, plus-address or dot folding: these are other mailboxes."""
    forms = {
        normalize(a)
        for a in (
            "victim@example.org",
            "m@example.org",
            "xvictim@example.org",
            "victim+x@example.org",
            "vic.tim@example.org",
            "victim@example.org.evil.example",
            '"victim@example.org"@evil.example',
        )
    }
    assert len(forms) == 7


def test_display_names_and_comments_never_count_as_addresses():
    assert addresses_in('"victim@example.org" <m@evil.example>') == ["m@evil.example"]
    assert addresses_in("m@evil.example (victim@example.org)") == ["m@evil.example"]
    assert addresses_in("A <a@x.example>, B <B@X.example>, a@x.example") == [
        "a@x.example",
        "b@x.example",
    ]


def test_a_stored_display_name_cannot_smuggle_an_address_in():
    stored = format_address('a" <victim@example.org>, "b', "m@evil.example")
    assert addresses_in(stored) == ["m@evil.example"]
    assert format_address("", "m@evil.example") == "m@evil.example"
    assert format_address("Jane Doe", "j@x.example") == '"Jane Doe" <j@x.example>'
