"""Schemathesis drives every operation of the live API from its own OpenAPI document.

A real HTTP server (pytest-django's live server) answers requests generated from the
schema, valid and invalid ones.  No answer may be a 5xx, and every answer must match the
document: status code, content type, headers and body.  About half of the valid
requests are pointed at things that exist (tickets, articles, queues, states, agents),
so that the writes (PATCH, merge, split, replies...) run for real, not only into 404.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from helpline.actions import admin
from helpline.actions.api_tokens import create_token
from helpline.actions.articles import NewArticle, NewAttachment, add_article
from helpline.models import Article, Attachment, Permission, Template, Ticket
from tests.support import make_agent, make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MAX_EXAMPLES = 20


@dataclass
class World:
    base_url: str
    token: str
    numbers: list[str]


@pytest.fixture
def world(live_server, settings) -> World:
    settings.HELPLINE_API_RATE_LIMIT = 0
    group = make_group("Support")
    queue = make_queue("Info", group=group, email="info@helpline.localhost")
    make_queue("Info::Sub", group=group)
    agent = make_agent("fuzzer")
    admin.grant(group, list(Permission.values), agent=agent)
    template = Template.objects.create(name="thanks", type="answer", text="Thanks.")
    template.queues.add(queue)
    numbers = []
    for i in range(3):
        ticket = make_ticket(queue, title=f"Question {i}")
        add_article(
            agent,
            ticket.pk,
            NewArticle(
                body_text="see file",
                attachments=[NewAttachment("notes.txt", "text/plain", b"x" * 10)],
            ),
        )
        numbers.append(ticket.number)
    return World(live_server.url, create_token(agent).secret, numbers)


def _search_available() -> bool:
    try:
        from helpline.search import search_tickets  # noqa: F401
    except ImportError:
        return False
    return True


# What a request the document calls valid may get: the server refusing a value only
# it can judge (422: an unknown queue or state, a reply without text, a cursor of
# another listing), a ticket not found or not visible (404), a permission missing
# (403), a lock or a state in the way (409), an If-Match naming another version (412),
# and, while the server has no full-text search, the documented 501
# search_unavailable.  Never 400: that is for requests the document calls invalid.
SEARCH_MISSING = [] if _search_available() else [501]
ACCEPTABLE = ["2xx", 401, 403, 404, 409, 412, 422, 429, *SEARCH_MISSING]
NOT_SERVER_ERRORS = ["2xx", "3xx", "4xx", *SEARCH_MISSING]
# Schemathesis' own list of rejections, and 413 for a body over the size limit (the
# limit applies before the schema is checked).
REJECTIONS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]

# The committed contract (test_openapi keeps it equal to what the server serves), with
# every check schemathesis has (its default: all of them), none switched off.
schema = schemathesis.openapi.from_path(
    Path(__file__).resolve().parents[2] / "docs" / "openapi.json",
    config=schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
            "phases": {"stateful": {"enabled": False}},
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ACCEPTABLE},
                "not_a_server_error": {"expected-statuses": NOT_SERVER_ERRORS},
                "negative_data_rejection": {"expected-statuses": REJECTIONS},
            },
        }
    ),
)


def the_server_takes_what_the_document_allows(ctx, response, case) -> None:
    """A request the document calls valid never fails the server's own validation.

    The domain may refuse a valid request with 422 (an unknown name): that answer
    has no ``details``.  A 422 with ``details`` comes from the server's schema, which
    then is stricter than the document it publishes.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code == 422:
        error = response.json()["error"]
        assert "details" not in error or error["details"] is None, (
            f"the document allows this request, the server's schema refuses it: {error} {case.headers!r} {case.meta!r}"
        )


def no_traceback_leaves_the_server(ctx, response, case) -> None:
    """No answer shows a traceback or the server's code, whatever went wrong."""
    text = response.text if isinstance(response.text, str) else ""
    for sign in ("Traceback (most recent call last)", '.py", line '):
        assert sign not in text, f"the answer shows server internals: {text[:300]}"


OUR_CHECKS = [the_server_takes_what_the_document_allows, no_traceback_leaves_the_server]


# Real names for the fields that name things, so that valid requests reach the
# actions instead of stopping at "no such queue".
REAL_NAMES = {
    "queue": ["Info", "Info::Sub"],
    "name": ["Info"],
    "state": ["open", "closed successful", "pending reminder", "new"],
    "next_state": ["open", "closed successful"],
    "owner": ["fuzzer"],
    "responsible": ["fuzzer"],
    "template": ["thanks"],
    "customer_email": ["jane@example.org"],
}
TICKET_FIELDS = ("number", "other", "into", "ticket")


ID_FIELDS = ("article_id", "in_reply_to", "attachment_id")


def _coin(seed: str, name: str) -> bool:
    """Three times in four, and the same every time Hypothesis replays the case."""
    return zlib.crc32(f"{name}:{seed}".encode()) % 4 != 0


def _real_value(name: str, drawn, seed: str):
    if name in TICKET_FIELDS:
        choices = list(Ticket.objects.order_by("id").values_list("number", flat=True))
    elif name == "attachment_id":
        choices = list(Attachment.objects.order_by("id").values_list("id", flat=True))
    elif name in ID_FIELDS:
        choices = list(Article.objects.order_by("id").values_list("id", flat=True))
    else:
        choices = REAL_NAMES[name]
    choice = choices[zlib.crc32(f"{name}:{seed}".encode()) % len(choices)]
    return [choice] if isinstance(drawn, list) else choice


def _aim_at_real_data(case) -> None:
    """In most valid requests, name things that exist, and send the right If-Match."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    seed = repr((case.path_parameters, case.query, case.body, case.headers))
    for container in (case.path_parameters, case.query, case.body):
        if not isinstance(container, dict):
            continue
        for name, drawn in list(container.items()):
            known = name in REAL_NAMES or name in TICKET_FIELDS or name in ID_FIELDS
            if known and _coin(seed, name):
                container[name] = _real_value(name, drawn, seed)
    number = (case.path_parameters or {}).get("number")
    if case.headers and "If-Match" in case.headers and _coin(seed, "If-Match"):
        ticket = Ticket.objects.filter(number=number).first()
        if ticket is not None:
            case.headers["If-Match"] = f'"{ticket.version}"'


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    case, world
):
    _aim_at_real_data(case)
    # The token goes through call_and_validate, so that ignored_auth can take it away
    # and expect a 401.
    case.call_and_validate(
        base_url=world.base_url,
        headers={"Authorization": f"Bearer {world.token}"},
        additional_checks=OUR_CHECKS,
    )
