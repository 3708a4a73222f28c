"""What the policy check costs a request: two small queries (the valid policies,
the agent's device) for a session without a second factor, none once the session
has proved one."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.auth import code_step, enrol, fresh_code, password_step
from tests.web import PASSWORD


def two_factor_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return [
        q["sql"]
        for q in queries.captured_queries
        if "two_factor_policy" in q["sql"] or "otp_" in q["sql"]
    ]


def test_a_session_without_a_second_factor_costs_two_small_queries(client, world):
    client.force_login(world.alice)
    assert len(two_factor_queries(client, reverse("dashboard"))) == 2


def test_a_session_that_proved_its_second_factor_costs_none(client, world):
    enrol(world.alice)
    password_step(client, "alice", PASSWORD)
    code_step(client, fresh_code(world.alice))
    assert two_factor_queries(client, reverse("dashboard")) == []
