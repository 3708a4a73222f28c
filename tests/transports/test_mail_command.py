"""``helpline mail``: accounts, fetching, and the quarantine (list, show, replay)."""

from __future__ import annotations

import io
import json
import subprocess

import pytest
from django.core.management import call_command

from helpline.mail.intake import receive_and_dispatch
from helpline.models import InboundMessage, InboundStatus, MailAccount
from tests.cli import fails, run
from tests.mail.messages import mail
from tests.support import make_group, make_queue
from tests.transports import HELPLINE, subprocess_env, three_messages

pytestmark = pytest.mark.django_db


def add_account(dovecot, mailbox, *args: str, password: str | None = None) -> str:
    user, secret = mailbox
    return run(
        "mail", "account", "add", f"box-{user}", "--protocol", "imap",
        "--host", dovecot.host, "--port", str(dovecot.imap_port), "--user", user,
        "--password-stdin", *args,
        stdin=io.StringIO(f"{password or secret}\n"),
    )  # fmt: skip


def test_an_account_is_added_listed_tested_and_fetched_from_the_command_line(
    org, dovecot, mailbox
):
    dovecot.deliver(*mailbox, *three_messages()[:2])
    user = mailbox[0]
    out = add_account(dovecot, mailbox, "--queue", "press", "--trust-headers")
    assert f"Mail account 'box-{user}' added (imap 127.0.0.1)" in out

    listed = json.loads(run("mail", "account", "list", "--json"))
    assert [a["name"] for a in listed] == [f"box-{user}"]
    assert listed[0]["queue"] == "press"
    assert listed[0]["trust_headers"] is True
    assert "password" not in listed[0]
    assert mailbox[1] not in run("mail", "account", "list")

    assert run("mail", "account", "test", f"box-{user}") == (
        f"box-{user}: logged in to 127.0.0.1; folder 'INBOX' holds 2 message(s)\n"
    )
    assert run("mail", "fetch", "--account", f"box-{user}") == (
        f"box-{user}: 2 new, 0 already stored, 2 removed from the server\n"
    )
    received = json.loads(run("mail", "list", "--json"))
    assert [m["status"] for m in received] == ["processed", "processed"]
    assert all(m["ticket"] for m in received)
    assert {m.queue_hint for m in InboundMessage.objects.all()} == {org.press}


def test_a_failed_connection_test_says_why_and_exits_1(org, dovecot, mailbox):
    add_account(dovecot, mailbox, password="wrong")
    error = fails("mail", "account", "test", f"box-{mailbox[0]}")
    assert error.returncode == 1
    assert "AUTHENTICATIONFAILED" in str(error)


def test_fetch_reports_an_account_with_problems_and_exits_1(org, dovecot, mailbox):
    add_account(dovecot, mailbox, password="wrong")
    error = fails("mail", "fetch")
    assert error.returncode == 1
    assert "1 mail account(s) had problems" in str(error)
    account = MailAccount.objects.get()
    assert "AUTHENTICATIONFAILED" in account.last_error


def test_account_add_refuses_folders_for_pop3_and_an_unknown_queue(
    org, dovecot, mailbox
):
    error = fails(
        "mail", "account", "add", "p", "--protocol", "pop3", "--host", "h",
        "--user", "u", "--password-stdin", "--move-to", "Done",
        stdin=io.StringIO("pw\n"),
    )  # fmt: skip
    assert "IMAP only" in str(error)
    error = fails(
        "mail", "account", "add", "q", "--protocol", "imap", "--host", "h",
        "--user", "u", "--password-stdin", "--queue", "Nonesuch",
        stdin=io.StringIO("pw\n"),
    )  # fmt: skip
    assert "No queue named 'Nonesuch'" in str(error)
    assert not MailAccount.objects.exists()


@pytest.fixture
def quarantined(db) -> InboundMessage:
    """A message that failed: there is no queue at all to put it in."""
    message = receive_and_dispatch(
        mail(subject="Lost?", to="someone@elsewhere.example"), transport="pipe"
    )
    assert message.status == InboundStatus.QUARANTINED
    return message


def test_the_quarantine_is_listed_shown_and_replayed_once_fixed(quarantined):
    listed = json.loads(run("mail", "list", "--status", "quarantined", "--json"))
    assert [m["id"] for m in listed] == [quarantined.pk]
    assert "default queue" in listed[0]["reason"]
    assert run("mail", "list", "--status", "processed") == "No messages.\n"

    shown = json.loads(run("mail", "show", str(quarantined.pk), "--json"))
    assert shown["status"] == "quarantined"
    assert shown["transport"] == "pipe"
    assert "Traceback" in shown["error"]
    text = run("mail", "show", str(quarantined.pk))
    assert f"Inbound message {quarantined.pk}: quarantined" in text
    assert "Error:\nTraceback" in text

    make_queue("Raw", group=make_group())  # the fix: a default queue
    out = run("mail", "replay", str(quarantined.pk))
    assert out.startswith(f"{quarantined.pk}: processed ticket ")
    quarantined.refresh_from_db()
    assert quarantined.status == InboundStatus.PROCESSED
    assert quarantined.ticket.title == "Lost?"


def test_replay_all_quarantined_exits_1_while_messages_still_fail(quarantined):
    error = fails("mail", "replay", "--all-quarantined")
    assert error.returncode == 1
    assert "1 message(s) still quarantined" in str(error)
    make_queue("Raw", group=make_group())
    assert "processed" in run("mail", "replay", "--all-quarantined")
    assert run("mail", "replay", "--all-quarantined") == "No quarantined messages.\n"


def test_replay_and_show_refuse_what_they_cannot_do(db):
    assert fails("mail", "replay").returncode == 2
    error = fails("mail", "show", "4711")
    assert error.returncode == 1
    assert "No inbound message 4711" in str(error)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_show_raw_prints_the_message_exactly_as_received(tmp_path):
    raw = mail(subject="Grüße", body="Ünïcödé body\n").replace(b"\n", b"\r\n")
    message = receive_and_dispatch(raw, transport="lmtp")
    done = subprocess.run(
        [HELPLINE, "mail", "show", str(message.pk), "--raw"],
        capture_output=True,
        env=subprocess_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == raw


VERBS = [
    (("mail",), "quarantine"),
    (("mail", "listen"), "--smtp"),
    (("mail", "fetch"), "--loop"),
    (("mail", "account"), "test"),
    (("mail", "account", "add"), "--no-verify-tls"),
    (("mail", "account", "list"), "--json"),
    (("mail", "account", "test"), "NAME"),
    (("mail", "list"), "--status"),
    (("mail", "show"), "--raw"),
    (("mail", "replay"), "--all-quarantined"),
    (("mail", "addresses"), "--postfix-map"),
    (("postmaster",), "--trust-headers"),
]


@pytest.mark.parametrize(
    ("argv", "mentions"), VERBS, ids=[" ".join(a) for a, _ in VERBS]
)
def test_every_mail_verb_explains_itself_with_help(argv, mentions, capsys):
    with pytest.raises(SystemExit) as info:
        call_command(*argv, "--help")
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert " ".join(argv) in out.splitlines()[0]
    assert mentions in out


def test_addresses_prints_the_valid_system_addresses_as_a_postfix_table(org):
    org.press.addresses.update(valid=False)
    assert run("mail", "addresses", "--postfix-map") == (
        "info-en@helpline.localhost OK\n"
    )
    assert run(
        "mail", "addresses", "--postfix-map", "--nexthop", "lmtp:inet:127.0.0.1:8024"
    ) == ("info-en@helpline.localhost lmtp:inet:127.0.0.1:8024\n")
    rows = json.loads(run("mail", "addresses", "--json"))
    assert rows == [
        {"email": "info-en@helpline.localhost", "queue": "info-en", "display_name": ""}
    ]
    assert "info-en@helpline.localhost" in run("mail", "addresses")


def test_addresses_refuses_a_nexthop_without_a_map_or_without_a_transport(db):
    error = fails("mail", "addresses", "--nexthop", "lmtp:inet:127.0.0.1:8024")
    assert error.returncode == 2
    assert "--nexthop goes with --postfix-map" in str(error)
    error = fails("mail", "addresses", "--postfix-map", "--nexthop", "127.0.0.1")
    assert "is not TRANSPORT:NEXTHOP" in str(error)
