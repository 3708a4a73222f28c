"""The id of the request (or job) being handled, for every log line it causes.

The web middleware sets it for each request; a job enqueued while it is set carries it
in its arguments (``helpline.monitoring.jobqueue``) and sets it again while it runs, so
a request's log lines and those of the jobs it started share one id.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("helpline_request_id", default=None)
# What a trusted proxy's X-Request-ID may contain: nothing that could forge a log line.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def current() -> str | None:
    """The id of the request or job this thread (or task) works for, if any."""
    return _current.get()


def new_id() -> str:
    return uuid.uuid4().hex


def acceptable(value: str | None) -> bool:
    """Whether a request id received from outside may be used as it is."""
    return bool(value) and _ACCEPTABLE.fullmatch(value or "") is not None


def activate(request_id: str | None) -> object:
    """Make ``request_id`` current; returns a token for ``deactivate``."""
    return _current.set(request_id)


def deactivate(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (the current id, or ``-``) to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get() or "-"
        return True
