from __future__ import annotations

import pytest

from tests.oidc_provider import ACCOUNTS, OidcProvider, configure


@pytest.fixture(scope="module")
def provider():
    running = OidcProvider(
        ACCOUNTS,
        redirect_uri="http://testserver/sso/callback/",
        logout_uri="http://testserver/login/",
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture
def sso(settings, provider, db):
    configure(settings, provider)
    return provider
