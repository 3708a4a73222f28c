"""The pipeline's per-process snapshot of the configuration follows every change:
at once in the process that made it, before the next message in the others, and
within MAX_AGE when nobody announced it; without a working cache nothing is kept."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from helpline.actions import admin, locks
from helpline.mail import snapshot
from helpline.mail.intake import receive_and_dispatch
from helpline.models import (
    AutoResponse,
    AutoResponseType,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    Permission,
    PostmasterFilter,
    Queue,
    SystemAddress,
)
from tests.mail.messages import mail
from tests.support import make_agent, make_group, make_queue


@pytest.fixture
def desk(db):
    group = make_group("info")
    info = make_queue("info-en", group=group, email="info-en@helpline.localhost")
    make_queue("Raw", group=group)
    agent = make_agent("alice")
    admin.grant(group, [Permission.RW], agent=agent)
    return {"group": group, "info": info, "agent": agent}


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Store and process a message, then run what runs after the commit."""

    def run(raw: bytes) -> InboundMessage:
        with django_capture_on_commit_callbacks(execute=True):
            message = receive_and_dispatch(raw, transport="test")
        assert message.status != InboundStatus.QUARANTINED, message.error
        return message

    return run


def _press_queue_behind_the_pipelines_back(desk) -> Queue:
    """What another process, a bulk import or SQL does: rows without signals."""
    press = Queue.objects.bulk_create([Queue(name="press", group=desk["group"])])[0]
    SystemAddress.objects.bulk_create(
        [SystemAddress(email="press@helpline.localhost", queue=press)]
    )
    return press


@pytest.mark.django_db
def test_a_filter_saved_after_mail_was_processed_applies_to_the_next_message(
    desk, deliver
):
    assert deliver(mail(subject="Buy cheap watches")).status == InboundStatus.PROCESSED
    PostmasterFilter.objects.create(
        name="spam",
        matches=[{"header": "Subject", "regex": "cheap watches"}],
        sets={"ignore": True},
    )
    message = deliver(mail(subject="Buy cheap watches"))
    assert message.status == InboundStatus.REJECTED
    assert message.decisions["filters"] == ["filter spam"]


@pytest.mark.django_db
def test_an_address_added_after_mail_was_processed_routes_the_next_message(
    desk, deliver
):
    assert deliver(mail(to="press@helpline.localhost")).ticket.queue.name == "Raw"
    admin.create_queue("press", group=desk["group"], email="press@helpline.localhost")
    assert deliver(mail(to="press@helpline.localhost")).ticket.queue.name == "press"


@pytest.mark.django_db
def test_a_change_announced_by_another_process_is_read_before_the_next_message(
    desk, deliver
):
    deliver(mail(to="press@helpline.localhost"))
    _press_queue_behind_the_pipelines_back(desk)
    # Unannounced, the snapshot is still used: this process has not heard of it.
    assert deliver(mail(to="press@helpline.localhost")).ticket.queue.name == "Raw"
    # What snapshot.invalidate() in the process that made the change writes.
    cache.set(snapshot.VERSION_KEY, "changed elsewhere", timeout=None)
    assert deliver(mail(to="press@helpline.localhost")).ticket.queue.name == "press"


@pytest.mark.django_db
def test_a_cleared_shared_cache_makes_every_process_read_again(desk, deliver):
    deliver(mail(to="press@helpline.localhost"))
    _press_queue_behind_the_pipelines_back(desk)
    cache.clear()
    assert deliver(mail(to="press@helpline.localhost")).ticket.queue.name == "press"


@pytest.mark.django_db
def test_a_change_nobody_announced_is_read_once_the_snapshot_is_max_age_old(
    desk, deliver, monkeypatch
):
    deliver(mail(to="press@helpline.localhost"))
    _press_queue_behind_the_pipelines_back(desk)
    monkeypatch.setattr(snapshot, "MAX_AGE", 0.0)
    assert deliver(mail(to="press@helpline.localhost")).ticket.queue.name == "press"


@pytest.mark.django_db
def test_without_a_working_cache_every_message_reads_the_configuration(
    desk, deliver, monkeypatch
):
    class Down:
        def __getattr__(self, name: str) -> object:
            def fail(*args: object, **kwargs: object) -> None:
                raise ConnectionError("cache down")

            return fail

    monkeypatch.setattr(snapshot, "cache", Down())
    assert deliver(mail(to="press@helpline.localhost")).ticket.queue.name == "Raw"
    _press_queue_behind_the_pipelines_back(desk)
    assert deliver(mail(to="press@helpline.localhost")).ticket.queue.name == "press"


@pytest.mark.django_db
def test_an_auto_response_given_to_the_queue_later_is_sent(desk, deliver):
    deliver(mail())
    assert not OutboxMessage.objects.exists()
    response = AutoResponse.objects.create(
        name="thanks",
        type=AutoResponseType.REPLY,
        subject="We received your message",
        text="Thank you, we will answer soon.",
    )
    response.queues.add(desk["info"])
    message = deliver(mail())
    sent = OutboxMessage.objects.get()
    assert sent.recipients == ["jane@example.net"]
    assert message.ticket.articles.count() == 2


@pytest.mark.django_db
def test_nobody_hears_of_a_new_ticket_in_a_queue_nobody_follows(desk, deliver):
    deliver(mail())
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_an_agent_who_starts_following_the_queue_hears_of_the_next_new_ticket(
    desk, deliver
):
    deliver(mail())
    desk["agent"].agent_profile.followed_queues.add(desk["info"])
    deliver(mail())
    assert OutboxMessage.objects.get().recipients == ["alice@example.org"]


@pytest.mark.django_db
def test_the_owner_of_a_locked_ticket_hears_of_a_follow_up_though_nobody_follows(
    desk, deliver
):
    first = deliver(mail())
    locks.lock_ticket(desk["agent"], first.ticket.pk)
    deliver(mail(in_reply_to=f"<{first.article.message_id}>"))
    assert OutboxMessage.objects.get().recipients == ["alice@example.org"]
