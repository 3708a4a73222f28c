"""seed_demo: a demo organisation that shows tickets, created once."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from helpline.actions.access import group_permissions
from helpline.models import (
    Article,
    Grant,
    Group,
    HistoryEntry,
    Queue,
    Role,
    SystemAddress,
    Ticket,
)

pytestmark = pytest.mark.django_db

DEMO_LOGINS = ["admin", "alice", "bruno", "carla"]


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def agent(login: str):
    return get_user_model().objects.get(username=login)


def visible_queues(login: str) -> set[str]:
    return set(
        Ticket.objects.visible_to(agent(login)).values_list("queue__name", flat=True)
    )


def snapshot() -> dict[str, int]:
    models = [Group, Queue, SystemAddress, Role, Grant, Ticket, Article, HistoryEntry]
    counts = {m.__name__: m.objects.count() for m in models}
    counts["agents"] = get_user_model().objects.count()
    return counts


def test_seeding_builds_queues_agents_and_tickets_that_agents_can_see(settings):
    seed()
    assert set(Queue.objects.values_list("name", flat=True)) == {
        "info-en",
        "info-de",
        "permissions",
        "photosubmission",
        settings.HELPLINE_DEFAULT_QUEUE,
        "Junk",
    }
    addresses = dict(SystemAddress.objects.values_list("queue__name", "email"))
    assert addresses["info-en"] == "info-en@helpline.localhost"
    assert addresses["permissions"] == "permissions@helpline.localhost"
    admin = agent("admin")
    assert admin.is_superuser and admin.is_staff
    # Superusers see nothing by right: the demo grants admin rw on every group.
    assert Ticket.objects.visible_to(admin).count() == Ticket.objects.count() >= 5
    assert visible_queues("alice") == {"info-en"}
    assert visible_queues("bruno") == {"info-de"}
    assert visible_queues("carla") == {"permissions", "photosubmission"}
    carla_perms = group_permissions(agent("carla"))
    assert set(carla_perms.values()) == {frozenset({"ro", "note"})}
    assert agent("carla").helpline_roles.get().name == "permissions-reviewers"


def test_demo_tickets_have_english_and_german_articles_and_attachments():
    seed()
    bodies = " ".join(Article.objects.values_list("body_text", flat=True))
    assert "Best regards" in bodies
    assert "Mit freundlichen Grüßen" in bodies
    assert Ticket.objects.filter(state_type="closed").exists()
    filenames = set(
        Article.objects.filter(attachments__isnull=False).values_list(
            "attachments__filename", flat=True
        )
    )
    assert filenames == {"permission-statement.txt", "zugspitze.png"}
    # Agents' work went through the actions: it is in the history, by login.
    actors = set(
        HistoryEntry.objects.exclude(actor=None).values_list(
            "actor__username", flat=True
        )
    )
    assert {"alice", "bruno", "carla"} <= actors


def test_a_second_run_changes_nothing_and_says_so():
    seed()
    before = snapshot()
    out = seed()
    assert out == "The demo organisation is in place already; nothing changed.\n"
    assert snapshot() == before


def test_the_generated_password_is_printed_once_with_the_logins_and_works():
    out = seed()
    logins = re.findall(r"^  (\w+)\s+(\S+)$", out, flags=re.MULTILINE)
    assert [login for login, _ in logins] == DEMO_LOGINS
    passwords = {password for _, password in logins}
    assert len(passwords) == 1
    password = passwords.pop()
    assert len(password) >= 12
    assert all(agent(login).check_password(password) for login in DEMO_LOGINS)
    assert password not in seed()


def test_the_admin_password_option_sets_the_demo_agents_password():
    out = seed("--admin-password", "correct horse battery staple")
    assert "correct horse battery staple" not in out
    assert agent("admin").check_password("correct horse battery staple")
    assert agent("carla").check_password("correct horse battery staple")


def test_existing_agents_keep_their_password_and_missing_parts_are_added():
    seed("--admin-password", "first pass phrase")
    Ticket.objects.filter(title="Who do I ask about donations?").update(
        title="Renamed by an agent"
    )
    out = seed("--admin-password", "second pass phrase")
    assert "1 ticket." in out
    assert "Kept the existing agents admin, alice, bruno, carla" in out
    assert agent("admin").check_password("first pass phrase")


def test_a_weak_admin_password_fails_and_leaves_nothing_behind():
    with pytest.raises(CommandError, match="too short") as info:
        seed("--admin-password", "short")
    assert info.value.returncode == 1
    assert not Queue.objects.exists()
    assert not get_user_model().objects.exists()
