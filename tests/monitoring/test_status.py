"""``helpline status``: the checks, the pipeline's state and the workers, for people."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from helpline.models import WorkerBeat


def status(*args: str) -> str:
    out = io.StringIO()
    call_command("status", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_status_shows_the_parts_the_mail_and_the_workers():
    now = timezone.now()
    WorkerBeat.objects.create(
        name="host-a:10", started=now - timedelta(hours=2), beat=now, jobs_done=42
    )
    WorkerBeat.objects.create(
        name="host-b:20",
        started=now - timedelta(hours=2),
        beat=now - timedelta(minutes=5),
        jobs_failed=2,
        last_failure="process_inbound_job 1f: OperationalError: gone",
        last_failure_at=now - timedelta(minutes=6),
    )
    text = status()
    assert "database  ok" in text and "blobs     ok" in text
    assert "Quarantine: 0" in text
    assert "Workers: 1 alive" in text
    assert "host-b:20" in text and "SILENT" in text
    assert "Job failures (workers of the last day): 2" in text
    assert "OperationalError: gone" in text

    data = json.loads(status("--json"))
    assert data["status"] == "ok"
    assert data["workers_alive"] == 1 and data["job_failures"] == 2
    assert data["inbound"] == {"received": 0, "quarantined": 0}
    assert [w["alive"] for w in data["workers"]] == [True, False]


@pytest.mark.django_db
def test_status_exits_1_with_the_reason_when_a_part_is_unreachable(settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker / "media"
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("status", stdout=out)
    assert exited.value.code == 1
    assert "blobs     unreachable: PermissionError" in out.getvalue()
