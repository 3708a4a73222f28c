"""GET /tickets?q=...: the full-text search behind the list, paged by offset cursors.

``helpline.search`` is its own package; these tests stand a small fake in for it, so
that they check what the API does with the results: order kept, pages, and a second
visibility filter that holds even if a search backend returned too much.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import pytest

from tests.api.conftest import error_code
from tests.support import make_queue, make_ticket

pytestmark = pytest.mark.django_db


@dataclass
class FakeSearch:
    ids: list[int] = field(default_factory=list)
    capped: bool = False
    calls: list[dict] = field(default_factory=list)

    def search_tickets(self, agent, q, *, archived, order, limit, offset):
        self.calls.append(
            {"q": q, "archived": archived, "order": order, "limit": limit}
        )
        page = self.ids[offset : offset + limit]
        return types.SimpleNamespace(
            ticket_ids=page, total=len(self.ids), total_capped=self.capped, hints=[]
        )


@pytest.fixture
def search(monkeypatch) -> FakeSearch:
    fake = FakeSearch()
    module = types.ModuleType("helpline.search")
    module.search_tickets = fake.search_tickets
    monkeypatch.setitem(sys.modules, "helpline.search", module)
    return fake


def test_results_come_in_the_search_order_with_the_total(desk, search):
    a, b, c = (make_ticket(desk.queue, title=t) for t in "abc")
    search.ids = [b.pk, c.pk, a.pk]
    page = desk.api.get("/tickets?q=printer&archived=any&order=id").json()
    assert [t["number"] for t in page["items"]] == [b.number, c.number, a.number]
    assert (page["total"], page["total_capped"], page["next_cursor"]) == (
        3,
        False,
        None,
    )
    assert search.calls == [
        {"q": "printer", "archived": None, "order": "id", "limit": 25}
    ]


def test_search_pages_follow_each_other(desk, search):
    made = [make_ticket(desk.queue) for _ in range(5)]
    search.ids = [t.pk for t in made]
    seen, cursor = [], ""
    while True:
        page = desk.api.get(f"/tickets?q=x&limit=2{cursor}").json()
        seen += [t["number"] for t in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == [t.number for t in made]
    assert [call["archived"] for call in search.calls] == [False, False, False]


def test_a_search_cursor_is_refused_by_another_query(desk, search):
    search.ids = [make_ticket(desk.queue).pk, make_ticket(desk.queue).pk]
    cursor = desk.api.get("/tickets?q=one&limit=1").json()["next_cursor"]
    assert cursor is not None
    response = desk.api.get(f"/tickets?q=two&limit=1&cursor={cursor}")
    assert error_code(response) == "invalid_cursor"


def test_a_ticket_the_agent_may_not_see_never_appears_even_if_the_search_says_so(
    desk, search
):
    hidden = make_ticket(make_queue("Secret"), title="printer secret")
    shown = make_ticket(desk.queue, title="printer")
    search.ids = [hidden.pk, shown.pk]
    page = desk.api.get("/tickets?q=printer").json()
    assert [t["number"] for t in page["items"]] == [shown.number]
    assert hidden.number not in str(page)
