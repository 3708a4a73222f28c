"""The reports page, its CSV, and the public backlog page: figures only of the
queues the agent may read, by every path; the public page names only the queues
that opted in and shows nothing but counts."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from helpline.actions.reports import set_public_backlog
from helpline.actions.reports_aggregate import update_reports
from helpline.errors import PermissionDenied
from helpline.models import AdminAuditEntry, Ticket
from tests.web import web_settings

pytestmark = pytest.mark.django_db

RANGE = "start=2026-03-02&end=2026-03-08"


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def aggregated(desk):
    update_reports()
    return desk


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_report_page_shows_charts_and_table(client, aggregated):
    client.force_login(aggregated.root)
    response = client.get(
        reverse("reports") + f"?{RANGE}&unit=day&queue={aggregated.a.pk}"
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") == 3
    assert "<table" in page
    assert "Queue A" in page
    rows = response.context["rows"]
    assert [r["figures"].received for r in rows] == [2, 1, 0, 0, 0, 0, 0]


def test_csv_export(client, aggregated):
    client.force_login(aggregated.root)
    rows = _csv(
        client.get(
            reverse("reports-csv") + f"?{RANGE}&unit=week&queue={aggregated.a.pk}"
        )
    )
    assert len(rows) == 1
    assert rows[0]["received"] == "3"
    assert rows[0]["backlog"] == "2"
    assert 1630 <= int(rows[0]["first_response_median_s"]) <= 1980


def test_no_figures_of_other_queues_by_any_path(client, aggregated):
    client.force_login(aggregated.alice)  # reads A only
    b = aggregated.b.pk
    for name in ("reports", "reports-csv"):
        response = client.get(reverse(name) + f"?{RANGE}&queue={b}")
        assert response.status_code == 404
        assert b"Queue B" not in response.content
    # All she may read: A's figures only (B's ticket t4 is not counted).
    rows = _csv(client.get(reverse("reports-csv") + f"?{RANGE}&unit=week"))
    assert rows[0]["received"] == "3"
    page = client.get(reverse("reports") + f"?{RANGE}").content.decode()
    assert "Queue B" not in page and "Group B" not in page
    # B's group, by id: refused the same way.
    response = client.get(
        reverse("reports") + f"?{RANGE}&group={aggregated.group_b.pk}"
    )
    assert response.status_code == 404


def test_agent_figures_only_for_the_agent_and_admins(client, aggregated):
    client.force_login(aggregated.alice)
    own = client.get(reverse("reports") + f"?{RANGE}&agent={aggregated.alice.pk}")
    assert own.status_code == 200
    other = client.get(reverse("reports-csv") + f"?{RANGE}&agent={aggregated.bob.pk}")
    assert other.status_code == 403
    # An admin sees bob's figures, but only on the queues the admin may read.
    client.force_login(aggregated.root)
    rows = _csv(
        client.get(
            reverse("reports-csv") + f"?{RANGE}&unit=week&agent={aggregated.bob.pk}"
        )
    )
    assert (rows[0]["answered"], rows[0]["closed"], rows[0]["backlog"]) == (
        "2",
        "1",
        "",
    )


def test_an_agent_without_queues_sees_no_figures(client, aggregated):
    client.force_login(aggregated.carol)
    rows = _csv(client.get(reverse("reports-csv") + f"?{RANGE}&unit=week"))
    assert rows[0]["received"] == "0"
    assert rows[0]["backlog"] == "0"
    page = client.get(reverse("reports") + f"?{RANGE}").content.decode()
    assert "Queue A" not in page and "Queue B" not in page


def test_bad_settings_get_a_clear_error(client, aggregated):
    client.force_login(aggregated.alice)
    response = client.get(reverse("reports") + "?start=2026-13-40")
    assert response.status_code == 400
    assert b"not valid" in response.content
    response = client.get(reverse("reports") + "?start=2026-03-08&end=2026-03-01")
    assert response.status_code == 400


def test_public_backlog_names_only_opted_in_queues(client, aggregated):
    set_public_backlog(aggregated.root, aggregated.a, public=True)
    response = client.get(reverse("public-backlog"))  # no login
    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    page = response.content.decode()
    assert "Queue A" in page
    for secret in ("Queue B", "Group", "alice", "bob", "root", "customer@"):
        assert secret not in page
    for ticket in Ticket.objects.all():
        assert ticket.number not in page and ticket.title not in page
    [row] = response.context["rows"]
    # t2 and t3 open; at the end of Thursday 5 March both are 2 or 3 days old.
    assert (row.queue, row.total, row.ages) == ("Queue A", 2, [0, 2, 0, 0, 0])


def test_public_backlog_without_opted_in_queue_names_none(client, aggregated):
    page = client.get(reverse("public-backlog")).content.decode()
    assert "Queue A" not in page and "Queue B" not in page


def test_public_backlog_is_rate_limited(client, aggregated, settings):
    settings.HELPLINE_PUBLIC_BACKLOG_PER_MINUTE = 2
    assert client.get(reverse("public-backlog")).status_code == 200
    assert client.get(reverse("public-backlog")).status_code == 200
    refused = client.get(reverse("public-backlog"))
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"


def test_only_admins_make_a_queue_public(aggregated):
    with pytest.raises(PermissionDenied):
        set_public_backlog(aggregated.alice, aggregated.a, public=True)
    call_command("reports", "public", "Queue B", "on")
    aggregated.b.refresh_from_db()
    assert aggregated.b.public_backlog is True
    assert AdminAuditEntry.objects.filter(action="public backlog on").exists()


def test_opting_out_takes_the_queue_off_at_once(
    client, aggregated, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        set_public_backlog(aggregated.root, aggregated.a, public=True)
    assert "Queue A" in client.get(reverse("public-backlog")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        set_public_backlog(aggregated.root, aggregated.a, public=False)
    assert "Queue A" not in client.get(reverse("public-backlog")).content.decode()
