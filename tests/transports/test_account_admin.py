"""The mail account screen's "Test connection" against the private Dovecot
(docs/administration.md, "Mail accounts"): success, a wrong password and a server that
does not answer, each in plain words, never with the password."""

from __future__ import annotations

import socket
import threading

import pytest
from django.urls import reverse

from helpline.actions import admin, mail_admin
from helpline.actions.mail_admin import AccountSettings
from helpline.errors import InvalidInput
from helpline.mail.transports import probe
from helpline.models import MailAccount
from tests.transports.dovecot import free_port
from tests.web import PASSWORD, web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss():
    return admin.create_agent(
        "boss", email="boss@example.org", password=PASSWORD, is_admin=True
    )


def on_dovecot(dovecot, user, password, protocol="imap", **kw):
    port = dovecot.pop3_port if protocol.startswith("pop3") else dovecot.imap_port
    return AccountSettings(
        name=kw.pop("name", "Dovecot"),
        protocol=protocol,
        host=dovecot.host,
        port=port,
        username=user,
        password=password,
        **kw,
    )


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_the_right_password_logs_in(boss, dovecot, mailbox, protocol):
    user, password = mailbox
    result = probe.test_connection(
        boss, on_dovecot(dovecot, user, password, protocol), account=None
    )
    assert result.ok, result.text
    assert "logged in to 127.0.0.1" in result.text
    assert password not in result.text
    assert not MailAccount.objects.exists()  # a test saves nothing


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_wrong_password_is_the_servers_answer_in_words(
    boss, dovecot, mailbox, protocol
):
    user, _password = mailbox
    result = probe.test_connection(
        boss, on_dovecot(dovecot, user, "wrong-horse-battery", protocol), account=None
    )
    assert not result.ok
    assert result.text.startswith("The server answered:")
    assert "Authentication failed" in result.text
    assert "Traceback" not in result.text and "wrong-horse-battery" not in result.text


def test_a_stored_password_is_used_when_the_field_is_empty(boss, dovecot, mailbox):
    user, password = mailbox
    account = mail_admin.save_account(boss, None, on_dovecot(dovecot, user, password))
    result = probe.test_connection(boss, on_dovecot(dovecot, user, ""), account=account)
    assert result.ok, result.text


def test_a_closed_port_and_a_silent_server_are_said_plainly(boss, monkeypatch):
    closed = AccountSettings(
        "x", "imap", "127.0.0.1", "u", password="p", port=free_port()
    )
    result = probe.test_connection(boss, closed, account=None)
    assert not result.ok
    assert "refused the connection" in result.text
    # A server that accepts and never says a word: the test ends after the timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    held: list[socket.socket] = []
    threading.Thread(
        target=lambda: held.append(silent.accept()[0]), daemon=True
    ).start()
    monkeypatch.setattr(probe, "TEST_TIMEOUT", 1.0)
    quiet = AccountSettings(
        "x", "imap", "127.0.0.1", "u", password="p", port=silent.getsockname()[1]
    )
    try:
        result = probe.test_connection(boss, quiet, account=None)
    finally:
        silent.close()
        for conn in held:
            conn.close()
    assert not result.ok
    assert result.text == "The server did not answer within 1 seconds."


def test_only_site_administrators_test(dovecot, mailbox):
    user, password = mailbox
    plain = admin.create_agent("plain", email="plain@example.org")
    with pytest.raises(Exception, match="Only site administrators"):
        probe.test_connection(plain, on_dovecot(dovecot, user, password), account=None)


def test_the_page_tests_without_saving_and_never_echoes_the_password(
    settings, client, boss, dovecot, mailbox
):
    web_settings(settings)
    user, password = mailbox
    client.force_login(boss)
    data = {
        "name": "Support",
        "protocol": "imap",
        "host": dovecot.host,
        "port": str(dovecot.imap_port),
        "username": user,
        "password": "not-the-password",
        "folder": "INBOX",
        "verify_tls": "on",
        "valid": "on",
        "test": "1",
    }
    page = client.post(reverse("admin-account-new"), data).content.decode()
    assert "The server answered:" in page
    assert "not-the-password" not in page
    page = client.post(reverse("admin-account-new"), {**data, "password": password})
    assert "Connected: logged in to" in page.content.decode()
    assert password not in page.content.decode()
    assert not MailAccount.objects.exists()
    del data["test"]
    assert (
        client.post(
            reverse("admin-account-new"), {**data, "password": password}
        ).status_code
        == 302
    )
    account = MailAccount.objects.get()
    assert account.password == password


class _Listener:
    """A server that records whether anybody connected (what a host an
    administrator typed would see)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]

    def connected(self) -> bool:
        try:
            conn, _ = self.sock.accept()
        except TimeoutError:
            return False
        conn.close()
        return True


@pytest.mark.parametrize(
    "change",
    [
        {"port": "other"},
        {"username": "someone-else"},
        {"protocol": "imap_starttls"},
        {"verify_tls": False},
    ],
)
def test_the_stored_password_goes_to_no_other_server_or_user(
    boss, dovecot, mailbox, change
):
    """An administrator may edit an account, not read its password: pointing the
    account at another server (or user, or a weaker connection) with the password
    left empty is refused, for a test and for a save, and nothing connects."""
    user, password = mailbox
    account = mail_admin.save_account(boss, None, on_dovecot(dovecot, user, password))
    listener = _Listener()
    if change.get("port") == "other":
        change = {"port": listener.port}
    settings = on_dovecot(dovecot, user, "")
    for name, value in change.items():
        setattr(settings, name, value)
    result = probe.test_connection(boss, settings, account=account)
    assert not result.ok
    assert result.text.startswith("Type the password again")
    assert not listener.connected()
    with pytest.raises(InvalidInput, match="Type the password again"):
        mail_admin.save_account(boss, account, settings)
    account.refresh_from_db()
    assert (account.port, account.username) == (dovecot.imap_port, user)
    # With the password typed again, the change is the administrator's to make.
    settings.password = "a-new-one"
    saved = mail_admin.save_account(boss, account, settings)
    assert saved.password == "a-new-one"


def test_renaming_an_account_keeps_its_password(boss, dovecot, mailbox):
    user, password = mailbox
    account = mail_admin.save_account(boss, None, on_dovecot(dovecot, user, password))
    mail_admin.save_account(
        boss, account, on_dovecot(dovecot, user, "", name="Renamed", folder="INBOX")
    )
    account.refresh_from_db()
    assert (account.name, account.password) == ("Renamed", password)
