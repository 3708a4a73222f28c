"""Huey, with the request id travelling in each job's arguments.

A job enqueued while a request id is current (``helpline.monitoring.requestid``)
carries it as one more keyword argument; the worker takes it out before calling the
job function, makes it current while the job runs and logs it as the job starts.
The settings name these classes in ``HUEY["huey_class"]``.
"""

from __future__ import annotations

import logging
from typing import Any

import huey
from huey.api import PeriodicTask, Task

from helpline.monitoring import requestid

log = logging.getLogger("helpline.jobs")
ARGUMENT = "_helpline_request_id"


class RequestIdMixin:
    def enqueue(self, task: Any) -> Any:
        rid = requestid.current()
        if rid and isinstance(task, Task) and not isinstance(task, PeriodicTask):
            task.kwargs = {**(task.kwargs or {}), ARGUMENT: rid}
        return super().enqueue(task)  # type: ignore[misc]

    def _execute(self, task: Any, timestamp: Any) -> Any:
        kwargs = task.kwargs or {}
        rid = kwargs.pop(ARGUMENT, None) if isinstance(kwargs, dict) else None
        token = requestid.activate(rid or requestid.current())
        try:
            if rid:
                log.info("job %s %s started for request %s", task.name, task.id, rid)
            return super()._execute(task, timestamp)  # type: ignore[misc]
        finally:
            requestid.deactivate(token)


class RedisHuey(RequestIdMixin, huey.RedisHuey):
    pass


class SqliteHuey(RequestIdMixin, huey.SqliteHuey):
    pass
