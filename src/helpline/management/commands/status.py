"""``helpline status``: what /readyz and /metrics tell, for an operator at a shell."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from helpline.management.base import FAILURE, HelplineCommand, format_table, show_time
from helpline.models import InboundStatus
from helpline.monitoring import readiness
from helpline.monitoring.gauges import Snapshot, take_snapshot


class Command(HelplineCommand):
    help = (
        "Show whether the database, Redis and the blob store answer, the inbound "
        "messages by status, the quarantine, the outbox backlog and the background "
        "workers' heartbeats. Exit status 1 when a part is unreachable."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        ready = readiness.check_all()
        snap = take_snapshot() if ready.checks[0].ok else None
        if options["json"]:
            self.emit_json(_as_json(ready, snap))
        else:
            self.stdout.write(_as_text(ready, snap))
        if not ready.ok:
            sys.exit(FAILURE)


def _seconds(value: float) -> str:
    value = int(value)
    if value < 120:
        return f"{value} s"
    if value < 7200:
        return f"{value // 60} min"
    return f"{value // 3600} h"


def _as_text(ready: readiness.Readiness, snap: Snapshot | None) -> str:
    lines = [f"Helpline status at {timezone.now():%Y-%m-%d %H:%M:%S %Z}", ""]
    lines.append(
        format_table(
            ["PART", "STATE"],
            [
                (c.name, c.reason or "ok" if c.ok else f"{c.reason}: {c.detail}")
                for c in ready.checks
            ],
        )
    )
    if snap is None:
        lines += ["", "The database is unreachable: nothing more to show."]
        return "\n".join(lines)
    recent = ", ".join(f"{status} {n}" for status, n in snap.last_hour.items())
    outbox = ", ".join(f"{status} {n}" for status, n in snap.outbox.items())
    lines += [
        "",
        f"Inbound messages waiting: {snap.inbound[InboundStatus.RECEIVED]}, "
        f"oldest {_seconds(snap.oldest_waiting_seconds)}",
        f"Quarantine: {snap.quarantined}",
        f"Received in the last hour, by status now: {recent}",
        f"Outbox (unsent): {outbox}",
        f"  backlog {snap.outbox_backlog}, oldest {_seconds(snap.outbox_oldest_seconds)}",
        f"Job failures (workers of the last day): {snap.job_failures}",
        "",
        f"Workers: {snap.workers_alive} alive",
    ]
    table = format_table(
        ["WORKER", "STARTED", "LAST BEAT", "STATE", "DONE", "FAILED"],
        [
            (
                w.name,
                show_time(w.started),
                f"{_seconds(w.age_seconds)} ago",
                "stopped" if w.stopped else ("alive" if w.alive else "SILENT"),
                w.jobs_done,
                w.jobs_failed,
            )
            for w in snap.workers
        ],
    )
    lines.append(table or "  (no worker has beaten in the last day)")
    failures = [w for w in snap.workers if w.last_failure]
    for w in failures:
        lines.append(
            f"  last failure on {w.name} at {show_time(w.last_failure_at)}: {w.last_failure}"
        )
    return "\n".join(lines)


def _as_json(ready: readiness.Readiness, snap: Snapshot | None) -> dict[str, Any]:
    data: dict[str, Any] = ready.as_dict(detail=True)
    if snap is not None:
        data.update(
            {
                "inbound": snap.inbound,
                "inbound_last_hour": snap.last_hour,
                "inbound_oldest_waiting_seconds": round(snap.oldest_waiting_seconds, 1),
                "quarantined": snap.quarantined,
                "outbox": snap.outbox,
                "outbox_backlog": snap.outbox_backlog,
                "outbox_oldest_seconds": round(snap.outbox_oldest_seconds, 1),
                "job_failures": snap.job_failures,
                "workers_alive": snap.workers_alive,
                "workers": [
                    {
                        "name": w.name,
                        "started": w.started,
                        "beat": w.beat,
                        "beat_age_seconds": round(w.age_seconds, 1),
                        "alive": w.alive,
                        "stopped": w.stopped,
                        "jobs_done": w.jobs_done,
                        "jobs_failed": w.jobs_failed,
                        "last_failure": w.last_failure,
                        "last_failure_at": w.last_failure_at,
                    }
                    for w in snap.workers
                ],
            }
        )
    return data
