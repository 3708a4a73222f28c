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
