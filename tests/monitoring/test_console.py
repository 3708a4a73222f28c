"""The console handler follows sys.stderr (a closed capture file loses no line)."""

from __future__ import annotations

import io
import logging
import logging.config
import sys

from django.conf import settings


def test_the_console_handler_writes_to_the_current_stderr(monkeypatch):
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"console": dict(settings.LOGGING["handlers"]["console"])},
        "loggers": {"helpline.test_console": {"handlers": ["console"]}},
    }
    config["handlers"]["console"].pop("filters", None)
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logging.config.dictConfig(config)
    log = logging.getLogger("helpline.test_console")
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        log.info("to the first")
        first.close()  # as a test runner closes its capture file
        second = io.StringIO()
        monkeypatch.setattr(sys, "stderr", second)
        log.info("to the second")
        assert second.getvalue() == "to the second\n"
    finally:
        log.handlers.clear()
