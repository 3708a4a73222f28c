"""Which queue a new ticket goes to (BEHAVIOUR.md section 2, "Routing")."""

from __future__ import annotations

import copy

from django.conf import settings

from helpline.addresses import normalize
from helpline.mail.snapshot import Snapshot
from helpline.models import InboundMessage, Queue


def route(
    message: InboundMessage,
    recipients: list[str],
    snapshot: Snapshot,
    *,
    filter_queue: str | None,
) -> tuple[Queue, str]:
    """The queue and how it was chosen.

    A filter or trusted header wins; then the transport's queue (a mail account's or
    the pipe's ``--queue``); then the first recipient — envelope recipients first, then
    the headers — that is one of our system addresses; then the default queue.
    """
    queue, how = _choose(message, recipients, snapshot, filter_queue)
    # The snapshot's rows are shared between messages: the ticket gets its own copy.
    return copy.copy(queue), how


def _choose(
    message: InboundMessage,
    recipients: list[str],
    snapshot: Snapshot,
    filter_queue: str | None,
) -> tuple[Queue, str]:
    if filter_queue:
        queue = snapshot.queue_named(filter_queue)
        if queue is not None and queue.valid:
            return queue, f"filter set queue {queue.name}"
    if message.queue_hint_id is not None:
        queue = snapshot.queue(message.queue_hint_id)
        if queue is None:  # created after the snapshot was taken
            queue = Queue.objects.get(pk=message.queue_hint_id)
        return queue, f"transport queue {queue.name}"
    for address in [*message.envelope_recipients, *recipients]:
        found = snapshot.addresses.get(normalize(address) or address.lower())
        if found is not None and found.queue.valid:
            return found.queue, f"recipient {found.email}"
    name = settings.HELPLINE_DEFAULT_QUEUE
    queue = snapshot.queue_named(name)
    if queue is None:
        raise LookupError(
            f"No queue matched and the default queue {name!r} does not exist; "
            "create it (helpline queue add) or set HELPLINE_DEFAULT_QUEUE."
        )
    return queue, f"default queue {queue.name}"
