"""Logging in with a second factor: the password alone logs nobody in."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.urls import reverse

from helpline.models import AdminAuditEntry
from tests.auth import code_step, enrol, fresh_code, password_step
from tests.web import PASSWORD


def test_without_a_second_factor_the_password_logs_in_as_before(client, world):
    response = password_step(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.session["_auth_user_id"] == str(world.alice.pk)


def test_the_right_password_asks_for_the_code_and_logs_nobody_in(client, world):
    enrol(world.alice)
    response = password_step(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("login-code")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302
    page = client.get(reverse("login-code"))
    assert page.status_code == 200
    assert b'autocomplete="one-time-code"' in page.content
    assert b'<label for="id_code">' in page.content


def test_the_right_code_logs_in_and_goes_where_the_login_was_asked_for(client, world):
    enrol(world.alice)
    zoom = reverse("zoom", args=[world.ticket.number])
    client.post(
        reverse("login"), {"username": "alice", "password": PASSWORD, "next": zoom}
    )
    response = code_step(client, fresh_code(world.alice))
    assert response.status_code == 302
    assert response["Location"] == zoom
    assert client.session["_auth_user_id"] == str(world.alice.pk)
    assert client.get(zoom).status_code == 200


def test_a_wrong_code_is_refused_with_the_form_again(client, world):
    enrol(world.alice)
    password_step(client, "alice", PASSWORD)
    response = code_step(
        client, "000000" if fresh_code(world.alice) != "000000" else "111111"
    )
    assert response.status_code == 200
    assert b"That code is not right." in response.content
    assert "_auth_user_id" not in client.session


def test_a_code_is_accepted_only_once(client, world, settings):
    enrol(world.alice)
    code = fresh_code(world.alice)
    password_step(client, "alice", PASSWORD)
    assert code_step(client, code).status_code == 302
    client.post(reverse("logout"))
    password_step(client, "alice", PASSWORD)
    assert code_step(client, code).status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_recovery_code_logs_in_once_and_is_logged(client, world):
    codes = enrol(world.alice)
    password_step(client, "alice", PASSWORD)
    typed = f"{codes[3][:4].upper()}-{codes[3][4:]}"  # as shown, in capitals
    response = code_step(client, typed, follow=True)
    assert response.status_code == 200
    assert b"9 are left" in response.content
    assert AdminAuditEntry.objects.filter(
        action="recovery code used", object_id=str(world.alice.pk)
    ).exists()
    client.post(reverse("logout"))
    password_step(client, "alice", PASSWORD)
    assert code_step(client, codes[3]).status_code == 200
    assert "_auth_user_id" not in client.session


def test_the_code_step_expires(client, world, settings):
    settings.HELPLINE_TWO_FACTOR_STEP_SECONDS = 0
    enrol(world.alice)
    password_step(client, "alice", PASSWORD)
    response = code_step(client, fresh_code(world.alice))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_a_password_changed_between_the_steps_ends_the_step(client, world):
    enrol(world.alice)
    password_step(client, "alice", PASSWORD)
    world.alice.password = make_password("another password entirely")
    world.alice.save(update_fields=["password"])
    response = code_step(client, fresh_code(world.alice))
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_the_code_step_without_a_password_step_goes_to_the_login(client, world):
    enrol(world.alice)
    response = code_step(client, fresh_code(world.alice))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


def test_the_password_step_changes_the_session_key(client, world):
    enrol(world.alice)
    client.get(reverse("login"))
    client.session.save()
    before = client.cookies["sessionid"].value if "sessionid" in client.cookies else ""
    password_step(client, "alice", PASSWORD)
    assert client.cookies["sessionid"].value != before


def test_the_agents_language_applies_after_the_second_step(client, world):
    from helpline.actions.preferences import set_preferences

    set_preferences(world.alice, language="de")
    enrol(world.alice)
    password_step(client, "alice", PASSWORD)
    response = code_step(client, fresh_code(world.alice))
    assert response.cookies["django_language"].value == "de"


def test_the_code_step_speaks_german(client, world):
    enrol(world.alice)
    password_step(client, "alice", PASSWORD)
    page = client.get(reverse("login-code"), HTTP_ACCEPT_LANGUAGE="de")
    assert "Geben Sie den Code ein" in page.content.decode()
    assert b">Pr\xc3\xbcfen</button>" in page.content
