"""Which queue a new ticket goes to (BEHAVIOUR.md section 2, "Routing")."""

from __future__ import annotations

from django.conf import settings

from helpline.models import InboundMessage, Queue, SystemAddress


def system_addresses() -> dict[str, SystemAddress]:
    return {
        a.email: a
        for a in SystemAddress.objects.filter(valid=True).select_related("queue")
    }


def route(
    message: InboundMessage,
    recipients: list[str],
    addresses: dict[str, SystemAddress],
    *,
    filter_queue: str | None,
) -> tuple[Queue, str]:
    """The queue and how it was chosen.

    A filter or trusted header wins; then the transport's queue (a mail account's or
    the pipe's ``--queue``); then the first recipient — envelope recipients first, then
    the headers — that is one of our system addresses; then the default queue.
    """
    if filter_queue:
        queue = Queue.objects.filter(name=filter_queue, valid=True).first()
        if queue is not None:
            return queue, f"filter set queue {queue.name}"
    if message.queue_hint_id is not None:
        queue = Queue.objects.get(pk=message.queue_hint_id)
        return queue, f"transport queue {queue.name}"
    for address in [*message.envelope_recipients, *recipients]:
        found = addresses.get(address.lower())
        if found is not None and found.queue.valid:
            return found.queue, f"recipient {found.email}"
    name = settings.HELPLINE_DEFAULT_QUEUE
    queue = Queue.objects.filter(name=name).first()
    if queue is None:
        raise LookupError(
            f"No queue matched and the default queue {name!r} does not exist; "
            "create it (helpline queue add) or set HELPLINE_DEFAULT_QUEUE."
        )
    return queue, f"default queue {queue.name}"
