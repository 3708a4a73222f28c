from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.web import build_world, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)
    cache.clear()


@pytest.fixture
def world(db):
    return build_world(passwords=True)
