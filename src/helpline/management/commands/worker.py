"""``helpline worker``: run the background jobs and the periodic scheduler."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Run background jobs: processing inbound mail, sending the outbox, fetching mail "
        "accounts, pending reminders and auto-close, unlock timeouts, archiving. "
        "Run one per machine; with several machines, use HELPLINE_REDIS_URL (the job "
        "queue all workers share). Each queued job runs on one worker, and each "
        "periodic job runs once per time slot whichever workers run the scheduler. "
        "A worker that dies inside a periodic job leaves no lock behind: the job's "
        "lease expires after HELPLINE_JOB_LEASE_SECONDS and the next run takes it over. "
        "The worker writes a heartbeat every HELPLINE_WORKER_BEAT_SECONDS "
        "(docs/monitoring.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=None, help="worker threads")
        parser.add_argument(
            "--no-periodic", action="store_true", help="do not run the scheduler"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from huey.contrib.djhuey import HUEY

        from helpline.checks import announce_host
        from helpline.monitoring.beat import Heartbeat

        announce_host()
        argv: list[str] = []
        if options["workers"]:
            argv += ["--workers", str(options["workers"])]
        if options["no_periodic"]:
            argv.append("--no-periodic")
        heartbeat = Heartbeat(HUEY)
        heartbeat.start()
        try:
            call_command("run_huey", *argv)
        finally:
            heartbeat.stop()
