"""/healthz, /readyz and /metrics in this process, through Django's test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline.mail import chain
from helpline.mail.intake import receive_and_dispatch
from helpline.models import InboundMessage, InboundStatus, PostmasterFilter
from helpline.monitoring.gauges import QUERIES_PER_SNAPSHOT, take_snapshot
from tests.support import make_group, make_queue


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a scrape (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "")
    found = re.search(rf"^{pattern} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def scrape(client, **extra) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    return response.content.decode()


def test_healthz_answers_without_the_database(client):
    # No django_db mark: a query here would raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


@pytest.mark.django_db
def test_readyz_checks_each_part_with_any_host_header(client):
    response = client.get("/readyz", HTTP_HOST="10.1.2.3:8000")  # not an allowed host
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "not configured", "blobs": "ok"},
    }


@pytest.mark.django_db
def test_readyz_is_503_with_the_reason_when_the_blob_store_is_unwritable(
    client, settings, tmp_path
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.MEDIA_ROOT = blocker / "media"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] == "blobs: unreachable"


@pytest.mark.django_db
def test_readyz_is_503_when_redis_does_not_answer(client, settings):
    from tests.smtp_sink import free_port

    settings.HELPLINE_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing there
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] == "redis: unreachable"
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_metrics_refuse_other_networks_and_wrong_tokens(client, settings):
    settings.HELPLINE_METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    settings.HELPLINE_METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    outsider = {"REMOTE_ADDR": "192.0.2.7"}
    assert client.get("/metrics", **outsider).status_code == 403
    wrong = {"HTTP_AUTHORIZATION": "Bearer not-the-token", **outsider}
    assert client.get("/metrics", **wrong).status_code == 403
    right = {"HTTP_AUTHORIZATION": "Bearer s3cret-token", **outsider}
    assert client.get("/metrics", **right).status_code == 200
    settings.HELPLINE_METRICS_TOKEN = ""  # no token: a Bearer header opens nothing
    empty = {"HTTP_AUTHORIZATION": "Bearer ", **outsider}
    assert client.get("/metrics", **empty).status_code == 403
    settings.HELPLINE_METRICS_ALLOWED_NETWORKS = ["192.0.2.0/24"]
    assert client.get("/metrics", **outsider).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db
def test_metrics_forwarded_by_a_proxy_need_the_token(client, settings):
    """nginx on the same host connects from loopback for every client: a request it
    forwarded (it carries the proxy's headers) is not let in by the network rule."""
    settings.HELPLINE_METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    settings.HELPLINE_METRICS_TOKEN = "s3cret-token"
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"):
        proxied = {"REMOTE_ADDR": "127.0.0.1", header: "203.0.113.9"}
        assert client.get("/metrics", **proxied).status_code == 403, header
        token = {"HTTP_AUTHORIZATION": "Bearer s3cret-token", **proxied}
        assert client.get("/metrics", **token).status_code == 200, header
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200


@pytest.mark.django_db
def test_requests_are_counted_per_view_and_status(client):
    before = scrape(client)
    for _ in range(7):
        assert client.get("/login/").status_code == 200
    for _ in range(3):
        assert client.get("/no-such-page/").status_code == 404
    after = scrape(client)
    login = {"view": "login", "method": "GET", "status": "200"}
    missing = {"view": "unresolved", "method": "GET", "status": "404"}
    name = "helpline_http_requests_total"
    assert sample(after, name, **login) - sample(before, name, **login) == 7
    assert sample(after, name, **missing) - sample(before, name, **missing) == 3
    count = "helpline_http_request_duration_seconds_count"
    assert sample(after, count, view="login") - sample(before, count, view="login") == 7


@pytest.mark.django_db
def test_each_request_has_an_id_and_a_proxys_is_taken_only_when_trusted(
    client, settings
):
    first = client.get("/login/")["X-Request-ID"]
    second = client.get("/login/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second
    given = {"HTTP_X_REQUEST_ID": "edge-42"}
    assert client.get("/login/", **given)["X-Request-ID"] != "edge-42"
    settings.HELPLINE_TRUST_REQUEST_ID = True
    assert client.get("/login/", **given)["X-Request-ID"] == "edge-42"
    forged = {"HTTP_X_REQUEST_ID": 'x" level="ERROR'}  # never copied into logs
    assert (
        client.get("/login/", **forged)["X-Request-ID"] != forged["HTTP_X_REQUEST_ID"]
    )


def _mail(i: int, *, sender: str = "reader@example.net", subject: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: info@helpline.localhost\r\n"
        f"Subject: {subject or f'Question {i}'}\r\n"
        f"Message-ID: <metrics-{i}@example.net>\r\n\r\nBody {i}.\r\n"
    ).encode()


@pytest.mark.django_db
def test_inbound_messages_are_counted_by_status(client, monkeypatch):
    make_queue("Info", group=make_group("Support"), email="info@helpline.localhost")
    PostmasterFilter.objects.create(
        name="no-reply",
        matches=[{"header": "From", "regex": "noreply@"}],
        sets={"ignore": True},
    )
    real = chain.find_thread

    def find_thread(parsed, classification):
        if parsed.subject == "Unthreadable":
            raise LookupError("threading broke")
        return real(parsed, classification)

    monkeypatch.setattr(chain, "find_thread", find_thread)
    for i in range(5):
        receive_and_dispatch(_mail(i), transport="test")
    for i in range(5, 7):
        receive_and_dispatch(_mail(i, sender="noreply@example.net"), transport="test")
    receive_and_dispatch(_mail(7, subject="Unthreadable"), transport="test")
    assert InboundMessage.objects.count() == 8  # every one stored, processed at once

    text = scrape(client)
    recent = "helpline_inbound_messages_last_hour"
    assert sample(text, recent, status="processed") == 5
    assert sample(text, recent, status="rejected") == 2
    assert sample(text, recent, status="quarantined") == 1
    assert sample(text, recent, status="received") == 0
    assert sample(text, "helpline_inbound_messages", status="quarantined") == 1
    assert sample(text, "helpline_inbound_messages", status="received") == 0
    assert sample(text, "helpline_quarantine_messages") == 1
    assert sample(text, "helpline_outbox_backlog") == 0


@pytest.mark.django_db
def test_a_snapshot_costs_the_same_queries_whatever_the_data():
    make_queue("Info", group=make_group("Support"), email="info@helpline.localhost")
    with CaptureQueriesContext(connection) as empty:
        take_snapshot()
    for i in range(30):
        receive_and_dispatch(_mail(100 + i), transport="test")
    InboundMessage.objects.filter(
        pk__in=InboundMessage.objects.values("pk")[:4]
    ).update(status=InboundStatus.RECEIVED)
    with CaptureQueriesContext(connection) as full:
        snap = take_snapshot()
    assert len(empty) == len(full) == QUERIES_PER_SNAPSHOT
    assert snap.inbound[InboundStatus.RECEIVED] == 4
    assert snap.last_hour[InboundStatus.PROCESSED] == 26
    assert snap.last_hour[InboundStatus.RECEIVED] == 4
    assert snap.oldest_waiting_seconds >= 0
    # A message of yesterday is no longer in the last hour's counts.
    old = InboundMessage.objects.filter(status=InboundStatus.PROCESSED).first()
    InboundMessage.objects.filter(pk=old.pk).update(
        received=old.received - timedelta(days=1)
    )
    assert take_snapshot().last_hour[InboundStatus.PROCESSED] == 25


@pytest.mark.django_db
def test_each_search_is_timed(client):
    from helpline.search import search_tickets
    from tests.support import make_agent

    agent = make_agent("searcher")
    name = "helpline_search_duration_seconds_count"
    before = sample(scrape(client), name)
    for query in ("printer", "toner OR paper", "title:jam"):
        assert search_tickets(agent, query).ticket_ids == []  # no grants, no tickets
    assert sample(scrape(client), name) - before == 3
