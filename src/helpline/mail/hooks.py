"""Callbacks run after an inbound message has been committed as a ticket or follow-up.

The answering layer (auto-responses) and notifications register here, so the mail
pipeline does not import them and they do not run inside its transaction.  Each hook
is called as ``hook(message_id=, ticket_id=, queue_id=, article_id=, auto_response=,
outcome=)`` (``queue_id``: the ticket's queue when the message was committed) and must
accept further keyword arguments (``**_``) so new ones can be added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

after_inbound: list[Callable[..., Any]] = []
