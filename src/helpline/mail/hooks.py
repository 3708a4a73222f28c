"""Callbacks the mail layer calls without importing who answers them.

``after_inbound``: run after an inbound message has been committed as a ticket or
follow-up.
The answering layer (auto-responses) and notifications register here, so the mail
pipeline does not import them and they do not run inside its transaction.  Each hook
is called as ``hook(message_id=, ticket_id=, queue_id=, article_id=, auto_response=,
outcome=, spam=)`` (``queue_id``: the ticket's queue when the message was committed;
``spam``: the spam filter judged it spam) and must
accept further keyword arguments (``**_``) so new ones can be added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

after_inbound: list[Callable[..., Any]] = []

# The job queue (``helpline.jobs``, registered in ``HelplineConfig.ready``): a stored
# inbound message is handed to the worker by ``on_stored(message_id)``; queued outgoing
# mail asks for a send by ``on_outbox_queued()`` after its transaction commits.  Were
# none registered, nothing is lost: the periodic sweep and outbox jobs find both.
on_stored: list[Callable[[int], Any]] = []
on_outbox_queued: list[Callable[[], Any]] = []
