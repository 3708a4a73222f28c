"""Password hashes: Argon2id with Helpline's parameters (OWASP's minimum by default),
older hashes verified and upgraded at the next successful login."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    check_password,
    get_hasher,
    make_password,
)
from django.core.cache import cache
from django.urls import reverse

from helpline.passwords import HelplineArgon2PasswordHasher
from tests.support import make_agent
from tests.web import web_settings

PASSWORD = "correct horse battery staple"


def _parameters(encoded: str) -> tuple[int, int, int]:
    params = extract_parameters("$" + encoded.split("$", 1)[1])
    return params.time_cost, params.memory_cost, params.parallelism


def test_new_passwords_are_hashed_with_owasps_argon2id_minimum():
    encoded = make_password(PASSWORD)
    assert isinstance(get_hasher("default"), HelplineArgon2PasswordHasher)
    assert encoded.startswith("argon2$argon2id$")
    assert _parameters(encoded) == (2, 19 * 1024, 1)
    assert check_password(PASSWORD, encoded)
    assert not check_password("wrong", encoded)


def test_the_parameters_are_settings(settings):
    settings.HELPLINE_ARGON2_TIME_COST = 3
    settings.HELPLINE_ARGON2_MEMORY_KIB = 12 * 1024
    settings.HELPLINE_ARGON2_PARALLELISM = 2
    assert _parameters(make_password(PASSWORD)) == (3, 12 * 1024, 2)


def test_a_hash_with_djangos_parameters_verifies_and_must_be_updated():
    old = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    assert _parameters(old) == (2, 102400, 8)
    assert check_password(PASSWORD, old)
    assert get_hasher("default").must_update(old)
    assert not get_hasher("default").must_update(make_password(PASSWORD))


@pytest.mark.django_db
def test_an_old_hash_is_rehashed_with_the_new_parameters_at_the_next_login(
    client, settings
):
    web_settings(settings)
    cache.clear()
    agent = make_agent("shift")
    agent.password = Argon2PasswordHasher().encode(
        PASSWORD, Argon2PasswordHasher().salt()
    )
    agent.save(update_fields=["password"])

    refused = client.post(reverse("login"), {"username": "shift", "password": "not it"})
    assert refused.status_code == 200
    agent.refresh_from_db()
    assert _parameters(agent.password) == (2, 102400, 8)  # untouched by a failure

    response = client.post(
        reverse("login"), {"username": "shift", "password": PASSWORD}
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert _parameters(agent.password) == (2, 19 * 1024, 1)
    assert check_password(PASSWORD, agent.password)
    cache.clear()
