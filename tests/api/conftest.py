"""Clients of the REST API: an agent with a token, speaking JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from helpline.actions import admin
from helpline.actions.api_tokens import create_token
from helpline.models import Permission
from tests.support import make_agent, make_group, make_queue

PREFIX = "/api/v1"


@pytest.fixture(autouse=True)
def _api_urls(settings):
    settings.ROOT_URLCONF = "tests.api.urls"


@pytest.fixture(autouse=True)
def _fresh_rate_counts():
    cache.clear()
    yield
    cache.clear()


class ApiClient:
    """Django's test client with a bearer token, JSON in and out."""

    def __init__(self, token: str | None, client: Client | None = None) -> None:
        self.token = token
        self.client = client or Client()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        all_headers = dict(headers or {})
        if self.token is not None:
            all_headers.setdefault("Authorization", f"Bearer {self.token}")
        kwargs: dict[str, Any] = {"headers": all_headers}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        return self.client.generic(method, PREFIX + path, **kwargs)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)


def client_for(agent: Any) -> ApiClient:
    return ApiClient(create_token(agent, name="tests").secret)


@dataclass
class Desk:
    """An agent with rw on a queue that can send mail, and their API client."""

    agent: Any
    queue: Any
    api: ApiClient


@pytest.fixture
def desk(db) -> Desk:
    group = make_group("Support")
    queue = make_queue(
        "Info", group=group, email="info@helpline.localhost", display_name="Info"
    )
    agent = make_agent("alice", first_name="Alice", last_name="Agent")
    admin.grant(group, [Permission.RW], agent=agent)
    return Desk(agent=agent, queue=queue, api=client_for(agent))


def queries_for(api: ApiClient, path: str) -> list[str]:
    """The SQL of one successful request (after a first one has set last_used)."""
    api.get("/me")
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path)
    assert response.status_code == 200, response.content
    return [q["sql"] for q in captured.captured_queries]


def error_code(response: Any) -> str:
    assert response["Content-Type"].startswith("application/json"), response
    return str(response.json()["error"]["code"])
