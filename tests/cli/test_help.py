"""Every command and verb explains itself with --help."""

from __future__ import annotations

import pytest
from django.core.management import call_command

COMMANDS = [
    (("queue",), "queues"),
    (("queue", "add"), "--follow-up"),
    (("queue", "list"), "--json"),
    (("agent",), "grants"),
    (("agent", "add"), "--password-stdin"),
    (("agent", "list"), "--json"),
    (("group",), "permissions"),
    (("group", "add"), "--comment"),
    (("group", "list"), "--json"),
    (("role",), "members"),
    (("role", "add"), "--comment"),
    (("role", "list"), "--json"),
    (("role", "member"), "remove"),
    (("role", "member", "add"), "ROLE"),
    (("role", "member", "remove"), "LOGIN"),
    (("grant",), "override_lock"),
    (("revoke",), "override_lock"),
    (("ticket",), "--as"),
    (("ticket", "create"), "--body-file"),
    (("ticket", "list"), "--state-type"),
    (("ticket", "show"), "NUMBER"),
    (("ticket", "reply"), "--reply-all"),
    (("ticket", "note"), "@login"),
    (("mentions", "list"), "--json"),
    (("mentions", "dismiss"), "NUMBER"),
    (("out_of_office", "set"), "--substitute"),
    (("out_of_office", "clear"), "--as"),
    (("saved_search", "create"), "--group"),
    (("saved_search", "update"), "--personal"),
    (("outbox",), "retry"),
    (("outbox", "list"), "--status"),
    (("outbox", "send"), "--limit"),
    (("outbox", "retry"), "--all-failed"),
    (("redact",), "--attachment"),
    (("seed_demo",), "--admin-password"),
    (("serve",), "--workers"),
]


@pytest.mark.parametrize(
    ("argv", "mentions"), COMMANDS, ids=[" ".join(a) for a, _ in COMMANDS]
)
def test_help_describes_the_command_and_exits_0(argv, mentions, capsys):
    with pytest.raises(SystemExit) as info:
        call_command(*argv, "--help")
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert out.startswith("usage: ")
    assert " ".join(argv) in out.splitlines()[0]
    assert mentions in out
