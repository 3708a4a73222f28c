"""Jobs, runs and previews as plain data: what the CLI's ``--json``, the API and
the administration pages show."""

from __future__ import annotations

from typing import Any

from helpline.automation.runner import Preview
from helpline.automation.selection import AGES
from helpline.models import AutomationJob, AutomationRun


def job_data(job: AutomationJob) -> dict[str, Any]:
    return {
        "name": job.name,
        "valid": job.valid,
        "comment": job.comment,
        "owner": job.owner.get_username(),
        "account": job.actor.get_username(),
        "queues": sorted(q.name for q in job.queues.all()),
        "query": job.query,
        "ages": {
            key: getattr(job, key) for key in AGES if getattr(job, key) is not None
        },
        "trigger": job.trigger,
        "schedule": job.schedule,
        "actions": job.actions,
        "once_per_ticket": job.once_per_ticket,
    }


def run_data(run: AutomationRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "job": run.job.name,
        "trigger": run.trigger,
        "status": run.status,
        "created": run.created,
        "started": run.started,
        "finished": run.finished,
        "tickets": run.matched,
        "changed": run.changed,
        "failed": run.failed,
        "errors": run.errors,
        "message": run.message,
    }


def preview_data(preview: Preview) -> dict[str, Any]:
    return {
        "job": preview.job,
        "count": preview.count,
        "actions": preview.steps,
        "hidden": preview.hidden,
        "tickets": [
            {
                "number": t.number,
                "title": t.title,
                "queue": t.queue,
                "would": t.would,
            }
            for t in preview.tickets
        ],
    }
