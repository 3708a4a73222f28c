"""The agents of bench/load.py, as locust users (run by bench/load.py, or by hand:
``HELPLINE_LOAD_PLAN=plan.json locust -f bench/locustfile.py --host http://...``).

Each simulated agent logs in once through the real login form (CSRF included),
then loops as an agent works a queue: the queue view, a ticket's zoom, the presence
heartbeat, a search, a note or a reply (the reply screen, then the form sent; the
reply goes through the outbox to the benchmark's SMTP sink), lock and unlock; now
and then a bulk action (priority on a few tickets of the queue) or a merge of two
tickets.  Each loop also asks for the floor page (the presence endpoint, GET: the
cheapest page that needs a logged-in agent), so the floor is measured under the
same load as every other page.

The plan (``HELPLINE_LOAD_PLAN``, written by bench/load.py) gives each agent's
login and password, the queues it reads, the open tickets it may change and what
it searches for.  Agents take the plan's logins in turn.

Answers: 2xx and 3xx are fine (a redirect to the login page is not: the session
was lost); 409 (a lock or state conflict) and 404 (a ticket another agent merged
or moved away) are *refusals*, correct answers under contention; anything else is
an error, kept with a sample of its body.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

from locust import HttpUser, between, constant, task

REFUSALS = frozenset({404, 409})
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PLAN: dict[str, Any] = (
    json.loads(Path(os.environ["HELPLINE_LOAD_PLAN"]).read_text())
    if os.environ.get("HELPLINE_LOAD_PLAN")
    else {"agents": [], "searches": ["licence"]}
)
THINK = float(os.environ.get("HELPLINE_LOAD_THINK", "0"))
FLOOR = "floor (presence GET)"
_next_agent = itertools.count()


class Outcomes:
    """Refusals and errors by page (locust counts them all as answers or failures)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.refusals: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.samples: dict[str, str] = {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "refusals": dict(self.refusals),
            "errors": dict(self.errors),
            "samples": self.samples,
        }


OUTCOMES = Outcomes()


class Agent(HttpUser):
    wait_time = between(0, THINK) if THINK > 0 else constant(0)

    def on_start(self) -> None:
        agents = PLAN["agents"]
        self.plan = agents[next(_next_agent) % len(agents)]
        self.tickets = list(self.plan["tickets"])
        self.logged_in = False
        page = self.client.get("/login/", name="login form")
        found = TOKEN.search(page.text or "")
        data = {
            "username": self.plan["login"],
            "password": self.plan["password"],
            "csrfmiddlewaretoken": found.group(1) if found else "",
        }
        with self.client.post(
            "/login/",
            data=data,
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 302 and "/login/" not in response.headers.get(
                "Location", ""
            ):
                response.success()
                self.logged_in = True
            else:
                self._error(response, "login")

    # --- requests ---------------------------------------------------------------------
    def _error(self, response: Any, name: str) -> None:
        OUTCOMES.errors[name] += 1
        if name not in OUTCOMES.samples:
            body = (response.text or "")[:300].replace("\n", " ")
            OUTCOMES.samples[name] = f"{response.status_code} {response.url}: {body}"
        response.failure(f"HTTP {response.status_code}")

    def _judge(self, response: Any, name: str) -> Any:
        status = response.status_code
        location = response.headers.get("Location", "")
        if status in REFUSALS:
            OUTCOMES.refusals[name] += 1
            response.success()
        elif 200 <= status < 300 or (300 <= status < 400 and "/login/" not in location):
            response.success()
        else:
            self._error(response, name)
        return response

    def get(self, url: str, name: str, **params: Any) -> Any:
        with self.client.get(
            url, params=params, name=name, allow_redirects=False, catch_response=True
        ) as response:
            return self._judge(response, name)

    def post(self, url: str, name: str, data: dict[str, Any]) -> Any:
        data = {**data, "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")}
        with self.client.post(
            url, data=data, name=name, allow_redirects=False, catch_response=True
        ) as response:
            return self._judge(response, name)

    # --- what an agent does -----------------------------------------------------------
    @task(30)
    def work_a_ticket(self) -> None:
        if not self.logged_in or not self.tickets:
            return
        plan = self.plan
        self.get(f"/queues/{random.choice(plan['queues'])}/", "queue view")
        number, customer, _ = random.choice(self.tickets)
        base = f"/ticket/{number}/"
        self.get(base, "zoom")
        self.post(base + "presence/", "presence (POST)", {"action": "viewing"})
        self.get(base + "presence/", FLOOR)
        self.get("/search/", "search", q=random.choice(PLAN["searches"]))
        if random.random() < 0.7:
            self.post(
                base + "note/",
                "note",
                {"subject": "Load test", "text": "Checked the licence; waiting."},
            )
        else:
            self.get(base + "reply/", "reply form")
            self.post(
                base + "reply/",
                "reply",
                {
                    "to": customer,
                    "cc": "",
                    "subject": "Re: your message",
                    "body": "Thank you for your message; the permission is fine.",
                    "next_state": "open",
                    "pending_until": "",
                },
            )
        self.post(base + "lock/", "lock", {})
        self.post(base + "unlock/", "unlock", {})

    @task(1)
    def bulk_priority(self) -> None:
        if not self.logged_in or len(self.tickets) < 5:
            return
        ids = [ticket_id for _, _, ticket_id in random.sample(self.tickets, 5)]
        self.get("/bulk/", "bulk form", ids=ids)
        self.post(
            "/bulk/",
            "bulk (priority)",
            {"ids": ids, "action": "priority", "priority": random.randint(2, 4)},
        )

    @task(1)
    def merge_two(self) -> None:
        if not self.logged_in or len(self.tickets) < 10:
            return
        (number, _, _), (target, _, _) = random.sample(self.tickets, 2)
        self.get(f"/ticket/{number}/merge/", "merge form")
        response = self.post(f"/ticket/{number}/merge/", "merge", {"target": target})
        if response.status_code == 302:  # merged away: closed, its articles moved
            self.tickets = [t for t in self.tickets if t[0] != number]
