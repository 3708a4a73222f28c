"""A lost device: an administrator or the command line resets the second factor."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from helpline.actions import twofactor
from helpline.errors import PermissionDenied
from helpline.models import AdminAuditEntry
from tests.auth import enrol, password_step
from tests.web import PASSWORD


def test_the_agents_screen_resets_the_second_factor_and_logs_it(
    admin_client, admin_user, world
):
    enrol(world.alice)
    response = admin_client.post(
        reverse("admin:helpline_agentaccount_changelist"),
        {"action": "reset_two_factor", "_selected_action": [world.alice.pk]},
        follow=True,
    )
    assert b"reset for 1 agent" in response.content
    assert not twofactor.has_two_factor(world.alice)
    entry = AdminAuditEntry.objects.get(action="two-factor reset")
    assert entry.actor == admin_user
    assert entry.object_id == str(world.alice.pk)
    assert entry.before == {"two-factor": True}
    # The password alone logs in again.
    assert password_step(admin_client.__class__(), "alice", PASSWORD)[
        "Location"
    ] == reverse("dashboard")


def test_the_command_line_resets_it(world, capsys):
    enrol(world.alice)
    call_command("agent", "2fa-reset", "alice")
    assert "Two-factor authentication of 'alice' reset." in capsys.readouterr().out
    assert not twofactor.has_two_factor(world.alice)
    entry = AdminAuditEntry.objects.get(action="two-factor reset")
    assert entry.actor is None and entry.object_repr == "alice"
    with pytest.raises(CommandError, match="No agent with login"):
        call_command("agent", "2fa-reset", "nobody")


def test_only_administrators_reset_it(world):
    enrol(world.alice)
    with pytest.raises(PermissionDenied):
        twofactor.reset_two_factor(world.bob, world.alice)
    assert twofactor.has_two_factor(world.alice)


def test_the_stock_device_screens_are_not_there(admin_client, world):
    assert admin_client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert admin_client.get("/admin/otp_static/staticdevice/").status_code == 404


def test_the_agents_list_says_who_has_a_second_factor(admin_client, world):
    enrol(world.alice)
    page = admin_client.get(reverse("admin:helpline_agentaccount_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "two-factor" in html
    rows = {
        name: next(r for r in html.split("<tr") if f">{name}<" in r)
        for name in ("alice", "bob")
    }
    column = 'class="field-two_factor_column"><img src="/static/admin/img/icon-{}.svg"'
    assert column.format("yes") in rows["alice"]
    assert column.format("no") in rows["bob"]
