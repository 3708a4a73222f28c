from __future__ import annotations

import logging

import pytest

# aiosmtpd's per-connection lines ("EOF received", "connection lost") come from the
# servers' threads after a test has ended, outside pytest's capture: its warnings
# and errors are enough for a test's report.
logging.getLogger("mail.log").setLevel(logging.WARNING)

# The browser fixtures, registered here once for every directory (why only here:
# tests/browser/fixtures.py).
from tests.browser.fixtures import (  # noqa: E402, F401
    _web_settings_for_live_server,
    chromium,
    new_page,
    page,
    server,
)


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    """Each test stores blobs under its own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in German leaves German
    active in the thread (LocaleMiddleware activates, nothing deactivates), and the
    next test in the process would speak it."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def group(db):
    from tests.support import make_group

    return make_group("Support")


@pytest.fixture
def queue(group):
    from tests.support import make_queue

    return make_queue("Info", group=group)


@pytest.fixture
def smtp_sink(settings):
    """A running SMTP server that Helpline's outbox sends to."""
    from tests.smtp_sink import SmtpSink

    sink = SmtpSink()
    sink.start()
    settings.HELPLINE_SMTP_URL = sink.url
    yield sink
    sink.stop()


@pytest.fixture(autouse=True, scope="session")
def _jobs_run_immediately():
    """Jobs run in the test process, at once (Huey's immediate mode)."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    yield


@pytest.fixture(autouse=True)
def _private_cache(settings):
    """Each test has its own empty in-memory cache: throttle and rate-limit counters
    never leak between tests or between parallel test workers."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    from django.core.cache import cache

    cache.clear()


def pytest_collection_modifyitems(items):
    """A committing test must restore what the migrations seeded (the default states):
    the flush after a ``transaction=True`` test empties every table, and the tests
    after it would find no state "new".  Refuse such a test at collection."""
    offenders = []
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None:
            continue
        if marker.kwargs.get("transaction") and not marker.kwargs.get(
            "serialized_rollback"
        ):
            offenders.append(item.nodeid)
    if offenders:
        raise pytest.UsageError(
            "django_db(transaction=True) needs serialized_rollback=True: "
            + ", ".join(offenders)
        )
