"""PostMaster filters match as docs/receiving-mail.md ("Filters") says."""

from __future__ import annotations

import pytest

from helpline.mail.filters import apply_filters
from helpline.mail.parse import parse_message
from helpline.models import PostmasterFilter
from tests.mail.messages import mail


def _fired(raw: bytes, *filters: PostmasterFilter) -> list[str]:
    outcome = apply_filters(parse_message(raw), trust_headers=False, filters=filters)
    return outcome.fired


def _filter(name: str, *matches: dict[str, object]) -> PostmasterFilter:
    return PostmasterFilter(name=name, matches=list(matches), sets={"priority": 1})


def test_an_emailaddress_match_is_the_exact_address_in_any_letter_case() -> None:
    flt = _filter("vip", {"header": "EMAILADDRESS:boss@example.net", "regex": ""})
    assert _fired(mail(sender="The Boss <Boss@Example.NET>"), flt) == ["filter vip"]
    assert _fired(mail(cc="boss@example.net"), flt) == ["filter vip"]
    assert _fired(mail(sender="boss@example.net.evil.example"), flt) == []


def test_a_missing_header_is_matched_as_empty_text() -> None:
    flt = _filter("no list", {"header": "List-Id", "regex": "^$"})
    assert _fired(mail(), flt) == ["filter no list"]
    assert _fired(mail(headers={"List-Id": "<news.example.net>"}), flt) == []


def test_every_match_must_hold_and_negate_turns_one_around() -> None:
    flt = _filter(
        "outside",
        {"header": "Subject", "regex": "invoice"},
        {"header": "From", "regex": "@example\\.net$", "negate": True},
    )
    assert _fired(mail(subject="Invoice 12", sender="a@other.example"), flt)
    assert not _fired(mail(subject="Invoice 12", sender="a@example.net"), flt)
    assert not _fired(mail(subject="Hello", sender="a@other.example"), flt)


@pytest.mark.django_db
def test_without_filters_given_the_valid_ones_run_in_order() -> None:
    PostmasterFilter.objects.create(
        name="b", order=2, matches=[{"header": "Subject", "regex": "."}], sets={}
    )
    PostmasterFilter.objects.create(
        name="a", order=1, matches=[{"header": "Subject", "regex": "."}], sets={}
    )
    PostmasterFilter.objects.create(
        name="off",
        valid=False,
        matches=[{"header": "Subject", "regex": "."}],
        sets={},
    )
    outcome = apply_filters(parse_message(mail()), trust_headers=False)
    assert outcome.fired == ["filter a", "filter b"]
