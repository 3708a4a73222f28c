"""docs/examples/api_ticket_lifecycle.py, run as a user would, against a live server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpline.actions import admin
from helpline.actions.api_tokens import create_token
from helpline.models import OutboxMessage, Permission, Ticket
from tests.support import make_agent, make_group, make_queue

SCRIPT = Path(__file__).resolve().parents[2] / "docs/examples/api_ticket_lifecycle.py"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_example_creates_replies_and_closes_and_the_reply_is_mailed(
    live_server, smtp_sink
):
    group = make_group("Support")
    make_queue("Support", group=group, email="support@helpline.localhost")
    agent = make_agent("script")
    admin.grant(group, [Permission.RW], agent=agent)
    token = create_token(agent, name="example").secret

    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--url",
            live_server.url,
            "--token",
            token,
            "--queue",
            "Support",
            "--customer",
            "jane@example.net",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    ticket = Ticket.objects.get(number=done.stdout.strip())
    assert ticket.state.name == "closed successful"
    assert ticket.customer.email == "jane@example.net"
    queued = OutboxMessage.objects.get(article__ticket=ticket)
    assert queued.recipients == ["jane@example.net"]
    # The outbox was kicked after the commit: the reply reached the SMTP server.
    assert [m.rcpt_tos for m in smtp_sink.received] == [["jane@example.net"]]
    assert (
        "the printer works again"
        in smtp_sink.received[0].message.get_body().get_content()
    )


def test_the_example_uses_the_standard_library_only():
    imports = [
        line.split()[1]
        for line in SCRIPT.read_text().splitlines()
        if line.startswith(("import ", "from "))
    ]
    assert set(imports) <= {
        "__future__",
        "argparse",
        "json",
        "sys",
        "urllib.error",
        "urllib.request",
        "typing",
    }
