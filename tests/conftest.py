from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    """Each test stores blobs under its own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


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
