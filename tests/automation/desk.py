"""A help desk for the automation tests: two queues of one group and a junk queue
(with a system address, so mail can be sent), an administrator who owns the jobs,
and an agent; tickets made through the actions, with a clock that can be moved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from helpline.actions import admin
from helpline.automation.definition import JobSpec, create_job
from helpline.models import Permission, Queue, Template, TemplateType
from tests.support import make_agent, make_group, make_queue

ADDRESS = "permissions@helpline.localhost"


@dataclass
class Desk:
    info: Queue
    permissions: Queue
    junk: Queue
    boss: Any
    agent: Any


def make_desk() -> Desk:
    group = make_group("Support")
    info = make_queue("Info", group=group, email=ADDRESS)
    permissions = make_queue(
        "Permissions", group=group, email="perm@helpline.localhost"
    )
    junk = make_queue("Junk", group=group)
    boss = make_agent("boss", is_admin=True)
    agent = make_agent("alice")
    for who in (boss, agent):
        admin.grant(group, [Permission.RW], agent=who)
    template = Template.objects.create(
        name="still-waiting",
        type=TemplateType.ANSWER,
        subject="Still waiting",
        text="We are still waiting for your permission statement.",
    )
    template.queues.set([info, permissions])
    return Desk(info, permissions, junk, boss, agent)


def job(desk: Desk, name: str = "tidy", **spec: Any) -> Any:
    spec.setdefault("queues", ["Info", "Permissions", "Junk"])
    return create_job(desk.boss, name, JobSpec(**spec))


def days_ago(days: float) -> Any:
    return timezone.now() - timedelta(days=days)


def ticket(queue: Queue, **kwargs: Any) -> Any:
    """A ticket, indexed as after a real commit."""
    from tests.search import committed
    from tests.support import make_ticket

    with committed():
        return make_ticket(queue, **kwargs)
