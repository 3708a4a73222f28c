"""The permission matrix of tests/actions/test_permission_matrix.py, through the API.

The same worlds (an agent with ``ro`` plus one permission, directly or by role), the
same actions, made as HTTP requests: an action succeeds exactly when the permission it
needs (or ``rw``) is granted, and is 403 ``permission_denied`` otherwise.  Without
``ro`` the ticket does not exist for the agent: 404 ``ticket_not_found`` for every
action, and it is never listed or found.
"""

from __future__ import annotations

import base64
import sys
import types
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from helpline.actions import admin
from helpline.actions.articles import NewArticle, NewAttachment, add_article
from helpline.models import Permission, Ticket
from tests.actions.test_permission_matrix import (
    ACTIONS,
    GRANTABLE,
    World,
    _succeeds,
    _world,
)
from tests.api.conftest import ApiClient, client_for, error_code
from tests.support import make_agent, make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db

Call = Callable[[World, ApiClient], Any]


def _patch(changes: Callable[[World], dict[str, Any]]) -> Call:
    return lambda w, api: api.patch(f"/tickets/{w.ticket.number}", changes(w))


def _post(path: str, body: Callable[[World], dict[str, Any] | None]) -> Call:
    return lambda w, api: api.post(f"/tickets/{w.ticket.number}{path}", body(w))


# Each action of the domain matrix, as the request that does it.
API_ACTIONS: dict[str, Call] = {
    "read": lambda w, api: api.get(f"/tickets/{w.ticket.number}"),
    "note": _post("/articles", lambda w: {"kind": "note", "text": "n"}),
    "move": _patch(lambda w: {"queue": w.target_queue.name}),
    "owner": _patch(lambda w: {"owner": w.agent.username}),
    "priority": _patch(lambda w: {"priority": 5}),
    "lock": _patch(lambda w: {"lock": True}),
    "state": _patch(
        lambda w: {
            "state": "pending reminder",
            "pending_until": (timezone.now() + timedelta(days=1)).isoformat(),
        }
    ),
    "close": _patch(lambda w: {"state": "closed successful"}),
    "merge": _post("/merge", lambda w: {"into": w.other.number}),
    "link": _post("/links", lambda w: {"ticket": w.other.number}),
    "split": _post("/split", lambda w: {"article_id": w.ticket.articles.first().pk}),
    "responsible": _patch(lambda w: {"responsible": w.agent.username}),
    "title": _patch(lambda w: {"title": "T"}),
    "phone": _post("/articles", lambda w: {"kind": "phone", "text": "x"}),
}


def test_the_api_matrix_covers_every_action_of_the_domain_matrix():
    assert set(API_ACTIONS) == set(ACTIONS)


@pytest.mark.parametrize("via", ["agent", "role"])
@pytest.mark.parametrize("granted", GRANTABLE)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_an_api_action_succeeds_exactly_with_its_permission_or_rw(action, granted, via):
    need, _ = ACTIONS[action]
    world = _world(sorted({Permission.RO, granted}), via)
    version = world.ticket.version
    response = API_ACTIONS[action](world, client_for(world.agent))
    if _succeeds(need, granted):
        assert response.status_code in (200, 201), response.content
    else:
        assert response.status_code == 403, response.content
        assert error_code(response) == "permission_denied"
        world.ticket.refresh_from_db()
        assert world.ticket.version == version


@pytest.mark.parametrize("via", ["agent", "role"])
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_without_ro_every_api_action_answers_404_as_for_a_missing_ticket(action, via):
    others = [p for p in GRANTABLE if p not in (Permission.RO, Permission.RW)]
    world = _world(others, via)
    api = client_for(world.agent)
    response = API_ACTIONS[action](world, api)
    assert response.status_code == 404, response.content
    assert error_code(response) == "ticket_not_found"
    missing = api.get("/tickets/19990101100000011")
    assert response.json()["error"]["message"].replace(
        world.ticket.number, "N"
    ) == missing.json()["error"]["message"].replace("19990101100000011", "N")
    assert api.get("/tickets?archived=any").json()["items"] == []


@pytest.mark.parametrize("via", ["agent", "role"])
@pytest.mark.parametrize("granted", GRANTABLE)
def test_creating_over_the_api_needs_create_or_rw(granted, via):
    world = _world([granted], via)
    response = client_for(world.agent).post(
        "/tickets",
        {
            "queue": world.ticket.queue.name,
            "title": "Phone call",
            "article": {"channel": "phone", "body": "She called."},
        },
    )
    if granted in (Permission.CREATE, Permission.RW):
        assert response.status_code == 201, response.content
    else:
        assert response.status_code == 403
        assert error_code(response) == "permission_denied"


# --- an outsider --------------------------------------------------------------------
@pytest.fixture
def outsider_world(db):
    """A ticket with a file in a queue the outsider has no grant on, and their own."""
    board = make_group("Board")
    member = make_agent("member")
    admin.grant(board, [Permission.RW], agent=member)
    secret = make_ticket(make_queue("Secret", group=board))
    article = add_article(
        member,
        secret.pk,
        NewArticle(
            body_text="minutes",
            attachments=[NewAttachment("minutes.pdf", "application/pdf", b"%PDF")],
        ),
    )
    outsider = make_agent("outsider")
    own_group = make_group("Own")
    admin.grant(own_group, [Permission.RW], agent=outsider)
    own = make_ticket(make_queue("Own", group=own_group))
    return secret, article, own, client_for(outsider)


def test_an_outsider_gets_404_for_everything_about_the_ticket(outsider_world):
    secret, article, _, api = outsider_world
    attachment = article.attachments.get()
    n = secret.number
    requests = [
        api.get(f"/tickets/{n}"),
        api.get(f"/tickets/{n}/articles"),
        api.get(f"/tickets/{n}/articles/{article.pk}"),
        api.get(f"/tickets/{n}/articles/{article.pk}/attachments/{attachment.pk}"),
        api.get(f"/tickets/{n}/history"),
        api.get(f"/tickets/{n}/links"),
        api.patch(f"/tickets/{n}", {"title": "mine now"}),
        api.post(f"/tickets/{n}/articles", {"kind": "note", "text": "x"}),
        api.post(f"/tickets/{n}/archive"),
    ]
    for response in requests:
        assert response.status_code == 404, response.request
        assert error_code(response) == "ticket_not_found"
        assert "minutes" not in response.content.decode()
    secret.refresh_from_db()
    assert secret.title == "Question about an article"


def test_an_outsider_cannot_merge_the_ticket_nor_merge_into_it(outsider_world):
    secret, _, own, api = outsider_world
    as_source = api.post(f"/tickets/{secret.number}/merge", {"into": own.number})
    as_target = api.post(f"/tickets/{own.number}/merge", {"into": secret.number})
    linking = api.post(f"/tickets/{own.number}/links", {"ticket": secret.number})
    for response in (as_source, as_target, linking):
        assert response.status_code == 404
        assert error_code(response) == "ticket_not_found"
    own.refresh_from_db()
    secret.refresh_from_db()
    assert own.merged_into is None
    assert secret.merged_into is None
    assert own.articles.count() == 1


def test_an_outsider_never_lists_nor_finds_the_ticket(outsider_world, monkeypatch):
    secret, _, own, api = outsider_world
    listed = api.get("/tickets?archived=any").json()["items"]
    assert [t["number"] for t in listed] == [own.number]
    # Even a search backend that returned the ticket would not get it shown.
    fake = types.ModuleType("helpline.search")
    fake.search_tickets = lambda agent, q, **kw: types.SimpleNamespace(
        ticket_ids=[secret.pk, own.pk], total=2, total_capped=False, hints=[]
    )
    monkeypatch.setitem(sys.modules, "helpline.search", fake)
    found = api.get("/tickets?q=minutes").json()["items"]
    assert [t["number"] for t in found] == [own.number]


def test_a_queue_the_agent_may_not_read_has_no_templates_to_show(outsider_world):
    _, _, _, api = outsider_world
    response = api.get("/queues/Secret/templates")
    assert response.status_code == 404
    assert [q["name"] for q in api.get("/queues").json()] == ["Own"]


def test_the_upload_of_a_file_to_a_hidden_ticket_stores_nothing(outsider_world):
    secret, _, _, api = outsider_world
    before = Ticket.objects.get(pk=secret.pk).version
    response = api.post(
        f"/tickets/{secret.number}/articles",
        {
            "kind": "note",
            "text": "x",
            "attachments": [
                {"filename": "x", "content_base64": base64.b64encode(b"x").decode()}
            ],
        },
    )
    assert response.status_code == 404
    assert Ticket.objects.get(pk=secret.pk).version == before
