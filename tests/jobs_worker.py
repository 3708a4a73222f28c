"""A ``helpline worker`` for tests/security/test_dead_worker_locks.py.

Run as ``python -m tests.jobs_worker`` with the environment the test sets: the worker's
slot claims (made once a periodic job's lease is taken) leave a file
``TEST_JOBS_DIR/<job>.<pid>``, claim the slot ``TEST_JOBS_DAYS_AHEAD`` days ahead, and
with ``TEST_JOBS_HOLD=1`` keep the job running until the test kills the worker. The
scheduler is off: the test enqueues the periodic jobs itself.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import django


def main() -> None:
    """A ``helpline worker`` whose slot claims leave a trace (and may hold the job)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from helpline import jobs

    claim_slot = jobs.claim_slot
    ran = Path(os.environ["TEST_JOBS_DIR"])
    hold = os.environ["TEST_JOBS_HOLD"] == "1"
    ahead = timedelta(days=int(os.environ["TEST_JOBS_DAYS_AHEAD"]))

    def claim_and_trace(job: str, minutes: int, *, now: datetime | None = None) -> bool:
        if not claim_slot(job, minutes, now=(now or timezone.now()) + ahead):
            return False
        (ran / f"{job}.{os.getpid()}").touch()
        if hold:
            time.sleep(300)  # until the test kills this worker
        return True

    jobs.claim_slot = claim_and_trace  # type: ignore[assignment]
    call_command("worker", "--no-periodic")


if __name__ == "__main__":
    main()
