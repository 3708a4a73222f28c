"""A separate process for the concurrency tests: creates tickets or races for a lock.

Run as ``python -m tests.concurrency_worker create QUEUE COUNT`` or
``... lock LOGIN TICKET_ID START_AT``; the database comes from HELPLINE_DATABASE_URL.
"""

from __future__ import annotations

import os
import sys
import time

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
    django.setup()
    from django.db import transaction

    from helpline.actions.admin import get_agent, get_queue
    from helpline.actions.articles import NewArticle
    from helpline.actions.locks import lock_ticket
    from helpline.actions.tickets import do_create_ticket
    from helpline.errors import TicketLocked

    mode = sys.argv[1]
    if mode == "create":
        queue = get_queue(sys.argv[2])
        for i in range(int(sys.argv[3])):
            with transaction.atomic():
                ticket, _ = do_create_ticket(
                    None, queue=queue, title=f"t{i}", article=NewArticle(body_text="x")
                )
            print(ticket.number, flush=True)
    elif mode == "lock":
        agent = get_agent(sys.argv[2])
        start_at = float(sys.argv[4])
        time.sleep(max(0.0, start_at - time.time()))
        try:
            lock_ticket(agent, int(sys.argv[3]))
            print("won", flush=True)
        except TicketLocked:
            print("lost", flush=True)


if __name__ == "__main__":
    main()
