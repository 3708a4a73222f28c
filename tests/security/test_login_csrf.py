"""Login CSRF: a page elsewhere cannot make a browser log in, give a code or ask for a
password reset, because every step is a form that needs the CSRF token (the single
sign-on callback's equivalent, the state, is in test_sso.py)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from helpline.models import OutboxMessage
from tests.auth import enrol, fresh_code
from tests.web import PASSWORD, build_world, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world(passwords=True)


def test_the_password_step_needs_the_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)
    answer = browser.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert answer.status_code == 403
    assert "_auth_user_id" not in browser.session


def test_the_code_step_needs_the_csrf_token(world):
    enrol(world.alice)
    browser = Client(enforce_csrf_checks=True)
    browser.get(reverse("login"))
    token = browser.cookies["csrftoken"].value
    first = browser.post(
        reverse("login"),
        {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert first.status_code == 302
    assert first["Location"] == reverse("login-code")
    # A forged form of another site posts the code without the token.
    forged = browser.post(reverse("login-code"), {"code": fresh_code(world.alice)})
    assert forged.status_code == 403
    assert "_auth_user_id" not in browser.session


def test_a_password_reset_request_needs_the_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)
    queued = OutboxMessage.objects.count()
    answer = browser.post(reverse("password-reset"), {"email": world.alice.email})
    assert answer.status_code == 403
    assert OutboxMessage.objects.count() == queued  # no reset mail queued
