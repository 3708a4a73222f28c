"""Data for tests/test_replica.py, made through the actions on the pair's primary.

Run as ``python -m tests.replica_site VERB`` with HELPLINE_DATABASE_URL naming the
primary: ``seed`` migrates, makes a group, a queue, an agent with read-write access
(login ``replica``, password ``replica-pass-1``), two tickets and an API token, and
prints ``queue_id number1 number2 token``; ``revoke`` and ``grant`` take the agent's
rw grant on the group away and give it back.
"""

from __future__ import annotations

import os
import sys

import django

LOGIN = "replica"
PASSWORD = "replica-pass-1"  # noqa: S105 (a test agent on a throw-away database)
GROUP = "Replicated"


def main(verb: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
    django.setup()
    from django.core.management import call_command

    from helpline.actions import admin
    from helpline.actions.api_tokens import create_token

    if verb == "seed":
        call_command("migrate", verbosity=0, interactive=False)
        from tests.support import make_ticket

        group = admin.create_group(GROUP)
        queue = admin.create_queue("Mirrored", group=group)
        agent = admin.create_agent(
            LOGIN, email="replica@example.org", password=PASSWORD
        )
        admin.grant(group, ["rw"], agent=agent)
        first = make_ticket(queue, title="Quokka sighting near the harbour")
        second = make_ticket(queue, title="Wombat burrow under the fence")
        token = create_token(agent, name="replica test").secret
        print(queue.pk, first.number, second.number, token)
    elif verb == "revoke":
        admin.revoke(admin.get_group(GROUP), ["rw"], agent=admin.get_agent(LOGIN))
    elif verb == "grant":
        admin.grant(admin.get_group(GROUP), ["rw"], agent=admin.get_agent(LOGIN))
    else:
        raise SystemExit(f"unknown verb {verb!r}")


if __name__ == "__main__":
    main(sys.argv[1])
