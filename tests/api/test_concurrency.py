"""Clients racing for the same version of a ticket, over real HTTP: one wins.

The If-Match check runs under the ticket's row lock inside the write's transaction,
so of several clients that read the same version and write at the same moment, exactly
one succeeds and the others get 412, whatever the timing.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from helpline.actions import admin
from helpline.actions.api_tokens import create_token
from helpline.models import Permission, Ticket
from tests.support import make_agent, make_group, make_queue, make_ticket

CLIENTS = 4


def _patch(url: str, token: str, etag: str, title: str) -> int:
    request = urllib.request.Request(
        url,
        method="PATCH",
        data=json.dumps({"title": title}).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "If-Match": etag,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_clients_writing_the_same_version_at_once_exactly_one_wins(live_server):
    group = make_group("Support")
    ticket = make_ticket(make_queue("Info", group=group))
    agents = [make_agent(f"agent{i}") for i in range(CLIENTS)]
    for agent in agents:
        admin.grant(group, [Permission.RW, Permission.OVERRIDE_LOCK], agent=agent)
    tokens = [create_token(agent).secret for agent in agents]
    url = f"{live_server.url}/api/v1/tickets/{ticket.number}"
    etag = f'"{ticket.version}"'
    start = threading.Barrier(CLIENTS)
    results: dict[int, int] = {}

    def client(i: int) -> None:
        start.wait()
        results[i] = _patch(url, tokens[i], etag, f"title {i}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results.values()) == [200] + [412] * (CLIENTS - 1)
    winner = next(i for i, status in results.items() if status == 200)
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.title == f"title {winner}"
    assert ticket.history.filter(type="title").count() == 1
