"""Password reset by mail, and the password rules wherever a password is set."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from helpline.actions import admin
from helpline.errors import InvalidInput
from helpline.mail import outbound
from helpline.models import OutboxMessage
from tests.auth_sessions import ask_reset, link_in, log_in, reset_mails, text_of
from tests.cli import fails

NEW = "a brand new pass phrase"


def _set_password(client, path, password=NEW, again=None):
    """Follow the link (Django moves the token into the session) and post."""
    page = client.get(path, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else path
    response = client.post(
        form_url, {"new_password1": password, "new_password2": again or password}
    )
    return page, response


def test_a_reset_mail_goes_through_the_outbox_and_sets_a_new_password(world):
    response = ask_reset(Client(), "alice@example.org")
    assert response.status_code == 200
    [raw] = reset_mails("alice@example.org")
    assert "Resetting your Helpline password" in raw.decode("utf-8", "replace")
    assert "works once" in text_of(raw)
    browser = Client()
    page, done = _set_password(browser, link_in(raw))
    assert page.context["validlink"] is True
    assert done.status_code == 302
    assert done["Location"] == reverse("password-reset-complete")
    world.alice.refresh_from_db()
    assert world.alice.check_password(NEW)
    log_in(Client(), "alice", NEW)


def test_the_reset_mail_is_sent_by_smtp_when_the_worker_runs(world, smtp_sink):
    ask_reset(Client(), "Alice@Example.org")
    assert outbound.send_due()["sent"] == 1
    [got] = smtp_sink.received
    assert got.rcpt_tos == ["alice@example.org"]
    assert "/password-reset/" in text_of(got.data)


def test_the_reset_mail_speaks_the_agents_language(world):
    from helpline.actions.preferences import get_preferences, set_preferences

    current = get_preferences(world.alice)
    set_preferences(
        world.alice,
        language="de",
        article_order=current.article_order,
        followed_queue_ids=list(current.followed_queue_ids),
        notifications_off=list(current.notifications_off),
    )
    ask_reset(Client(), "alice@example.org")
    [raw] = reset_mails("alice@example.org")
    assert "Passwort" in text_of(raw)


def test_a_deactivated_agent_gets_no_reset_mail(world):
    admin.set_agent_active(None, world.alice, active=False)
    assert ask_reset(Client(), "alice@example.org").status_code == 200
    assert reset_mails("alice@example.org") == []


def test_a_new_password_must_follow_the_rules(world):
    ask_reset(Client(), "alice@example.org")
    [raw] = reset_mails("alice@example.org")
    browser = Client()
    for weak in ("short1", "123456789012345", "password1234"):
        _page, refused = _set_password(browser, link_in(raw), weak)
        assert refused.status_code == 200
        assert refused.context["form"].errors
    world.alice.refresh_from_db()
    assert not world.alice.check_password("password1234")


def test_the_minimum_length_is_a_setting(settings, db):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 20},
        }
    ]
    with pytest.raises(InvalidInput, match="at least 20 characters"):
        admin.create_agent(
            "carol", email="c@example.org", password="nineteen chars 1234"
        )


def test_the_default_rules_refuse_short_and_common_passwords_everywhere(world):
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        admin.create_agent("carol", email="c@example.org", password="Elevenchars")
    with pytest.raises(InvalidInput, match="too common"):
        admin.set_agent_password(None, world.alice, "password1234")
    error = fails(
        "agent",
        "add",
        "dave",
        "--email",
        "d@example.org",
        "--password-stdin",
        stdin=__import__("io").StringIO("123456789012\n"),
    )
    assert "numeric" in str(error)


def test_the_login_page_links_to_the_reset(client, db):
    page = client.get(reverse("login"))
    assert reverse("password-reset").encode() in page.content


def test_no_outbox_row_for_an_unknown_address(world):
    ask_reset(Client(), "nobody@example.org")
    assert OutboxMessage.objects.count() == 0


def test_an_agent_changes_its_password_and_its_other_sessions_end(world):
    from helpline.models import AgentSession
    from tests.web import PASSWORD

    here, elsewhere = Client(), Client()
    log_in(here, "alice")
    log_in(elsewhere, "alice")
    old_key = here.session.session_key
    url = reverse("password-change")
    weak = here.post(
        url,
        {
            "old_password": PASSWORD,
            "new_password1": "12345678901234",
            "new_password2": "12345678901234",
        },
    )
    assert weak.status_code == 200 and weak.context["form"].errors
    done = here.post(
        url, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )
    assert done.status_code == 302
    # This session stays, under a new key that its row follows.
    assert here.get(reverse("dashboard")).status_code == 200
    assert here.session.session_key != old_key
    assert AgentSession.objects.filter(agent=world.alice, ended=None).count() == 1
    assert elsewhere.get(reverse("dashboard")).status_code == 302
    world.alice.refresh_from_db()
    assert world.alice.check_password(NEW)
