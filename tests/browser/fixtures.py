"""Fixtures for the browser tests: Debian's Chromium through Playwright, a live server.

They are registered once, by tests/conftest.py, for every directory's browser tests
(tests/browser, spam, reports, administration...).  Never import them into another
conftest or test module: each import registers them again, and a second session-wide
``chromium`` starts Playwright a second time inside the first one's event loop ("using
Playwright Sync API inside the asyncio loop"), failing every later browser test of that
worker.

Chromium comes from the distribution (``apt-get install chromium``), never from
``playwright install``.  If it is missing the tests fail with that instruction: a
browser test that cannot run is a failure, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test.utils import override_settings

from tests.web import web_settings

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between page actions are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


class _SettingsRecorder:
    """Collects what ``web_settings`` would set, for ``override_settings``."""

    def __init__(self) -> None:
        object.__setattr__(self, "changes", {})

    def __getattr__(self, name: str) -> Any:
        changes = object.__getattribute__(self, "changes")
        return changes[name] if name in changes else getattr(django_settings, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.changes[name] = value


@pytest.fixture(scope="session")
def _web_settings_for_live_server() -> Iterator[None]:
    """The interface's settings, in place before the live server loads its handler."""
    recorder = _SettingsRecorder()
    web_settings(recorder)
    override = override_settings(**recorder.changes)
    override.enable()
    yield
    override.disable()


@pytest.fixture(scope="session")
def server(_web_settings_for_live_server: None, live_server: Any) -> Any:
    return live_server


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's Chromium "
            "(apt-get install -y chromium) to run the browser tests.",
            pytrace=False,
        )
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs the rest of the session in a greenlet with a fresh
    # context, where Django's per-context connection objects are new ones: carry over
    # the serialized test data that ``serialized_rollback`` restores from.
    serialized = {
        alias: connections[alias].__dict__.get("_test_serialized_contents")
        for alias in connections
    }
    with sync_playwright() as playwright:
        for alias, contents in serialized.items():
            if contents is not None:
                connections[alias]._test_serialized_contents = contents
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Any, server: Any) -> Iterator[Any]:
    """A factory of pages, each in its own browser context (its own cookies)."""
    contexts = []

    def make(**kwargs: Any) -> Any:
        context = chromium.new_context(base_url=server.url, **kwargs)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Any) -> Any:
    return new_page()


def log_in(page: Any, login: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", login)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
