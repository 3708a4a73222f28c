from __future__ import annotations

import pytest

from tests.oidc_provider import configure, running_provider


@pytest.fixture(scope="module")
def provider():
    with running_provider() as running:
        yield running


@pytest.fixture
def sso(settings, provider, db):
    configure(settings, provider)
    return provider
