"""``helpline mail``: receive mail (listen, fetch), mail accounts, and the quarantine.

helpline mail listen [--bind 127.0.0.1:8024] [--smtp]
helpline mail fetch [--account NAME] [--loop SECONDS] [--limit N]
helpline mail account add|list|test ...
helpline mail list [--status S] [--limit N] [--json]
helpline mail show ID [--json | --raw]
helpline mail replay ID [ID ...] | --all-quarantined
helpline mail addresses [--postfix-map [--nexthop lmtp:inet:HOST:PORT] | --json]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from django.core.management.base import CommandError, CommandParser

from helpline.actions import admin, read_audit
from helpline.blobstore import read_blob
from helpline.errors import HelplineError, NotFound
from helpline.mail import postmaster
from helpline.mail.transports import accounts, mtamap
from helpline.management.base import (
    FAILURE,
    HelplineCommand,
    UsageError,
    ids_or_all,
    positive_int,
    show_time,
)
from helpline.models import InboundMessage, InboundStatus, MailAccount, ReadKind


def bind_address(text: str) -> tuple[str, int]:
    """argparse type: HOST:PORT, [IPv6]:PORT."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


class Command(HelplineCommand):
    help = (
        "Receive mail and look after what was received: run the LMTP/SMTP listener, "
        "fetch IMAP/POP3 mail accounts, manage the accounts, and list, show and replay "
        "inbound messages (the quarantine)."
    )
    # Tests and scripts may hand over the password stream instead of sys.stdin.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        self._listen_parser(verbs)
        self._fetch_parser(verbs)
        self._account_parsers(verbs)
        self._inbound_parsers(verbs)
        self._addresses_parser(verbs)

    # --- parsers --------------------------------------------------------------------
    def _listen_parser(self, verbs: Any) -> None:
        listen = verbs.add_parser(
            "listen",
            help="Run the LMTP (or SMTP) listener an MTA delivers to.",
            description=(
                "Listen for LMTP (default) or SMTP on HOST:PORT until SIGTERM or "
                "Ctrl-C. Binds only to the address given. Replies: 250 stored; "
                "552 5.3.4 too big; 451 4.3.0 not stored, retry; with "
                "HELPLINE_REJECT_UNKNOWN_RECIPIENTS, 550 5.1.1 for an address that is "
                "not a system address."
            ),
        )
        listen.add_argument(
            "--bind",
            type=bind_address,
            default=("127.0.0.1", 8024),
            metavar="HOST:PORT",
            help="Address to listen on (default 127.0.0.1:8024).",
        )
        listen.add_argument(
            "--smtp", action="store_true", help="Speak SMTP instead of LMTP."
        )
        listen.set_defaults(handler=self.listen)

    def _fetch_parser(self, verbs: Any) -> None:
        fetch = verbs.add_parser(
            "fetch",
            help="Fetch mail from the IMAP/POP3 accounts.",
            description=(
                "Fetch every valid mail account (or one). A message is removed from "
                "the server only after it is stored; one that fails stays there and "
                "is reported. Exit status 1 when any account had a problem."
            ),
        )
        fetch.add_argument("--account", metavar="NAME", help="Only this account.")
        fetch.add_argument(
            "--loop",
            type=positive_int,
            metavar="SECONDS",
            help="Fetch again every SECONDS until stopped (SIGTERM, Ctrl-C).",
        )
        fetch.add_argument(
            "--limit",
            type=positive_int,
            default=accounts.DEFAULT_LIMIT,
            help="At most this many messages per account and run (default %(default)s).",
        )
        fetch.set_defaults(handler=self.fetch)

    def _account_parsers(self, verbs: Any) -> None:
        account = verbs.add_parser(
            "account",
            help="Add, list and test mail accounts.",
            description="Mail accounts Helpline fetches from (IMAP or POP3).",
        )
        sub = self.verbs(account, dest="account_verb")
        add = sub.add_parser(
            "add",
            help="Add a mail account.",
            description=(
                "Add an IMAP or POP3 account. The password is read from the first "
                "line of standard input."
            ),
        )
        add.add_argument("name", metavar="NAME")
        add.add_argument(
            "--protocol", required=True, choices=MailAccount.Protocol.values
        )
        add.add_argument("--host", required=True)
        add.add_argument(
            "--port",
            type=positive_int,
            help="Default: 143 imap/imap_starttls, 993 imaps, 110 pop3, 995 pop3s.",
        )
        add.add_argument("--user", required=True, help="Login name.")
        add.add_argument(
            "--password-stdin",
            action="store_true",
            required=True,
            help="Read the password from the first line of standard input.",
        )
        add.add_argument("--folder", default="INBOX", help="IMAP folder to fetch.")
        add.add_argument(
            "--move-to",
            default="",
            metavar="FOLDER",
            help="IMAP: move fetched mail here instead of deleting it.",
        )
        add.add_argument(
            "--queue", help="Open all tickets in this queue (default: by recipient)."
        )
        add.add_argument(
            "--trust-headers",
            action="store_true",
            help="Obey X-Helpline-* control headers in this account's mail.",
        )
        add.add_argument(
            "--no-verify-tls",
            action="store_true",
            help="Accept any TLS certificate (a self-signed one).",
        )
        add.set_defaults(handler=self.account_add)

        listing = sub.add_parser("list", help="List mail accounts.")
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.account_list)

        test = sub.add_parser(
            "test",
            help="Connect, log in and open the folder.",
            description="Connect, log in, open the folder and count its messages.",
        )
        test.add_argument("name", metavar="NAME")
        test.set_defaults(handler=self.account_test)

    def _inbound_parsers(self, verbs: Any) -> None:
        listing = verbs.add_parser(
            "list",
            help="List received messages, newest first.",
            description="Received messages, newest first (the quarantine: "
            "--status quarantined).",
        )
        listing.add_argument("--status", choices=InboundStatus.values)
        listing.add_argument("--limit", type=positive_int, default=50)
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.inbound_list)

        show = verbs.add_parser(
            "show",
            help="Show one received message: decisions, reason, error.",
            description="What happened to a received message and why.",
        )
        show.add_argument("id", type=positive_int, metavar="ID")
        output = show.add_mutually_exclusive_group()
        output.add_argument(
            "--json", action="store_true", help="Print JSON, for scripts."
        )
        output.add_argument(
            "--raw", action="store_true", help="Print the message as received."
        )
        show.set_defaults(handler=self.inbound_show)

        replay = verbs.add_parser(
            "replay",
            help="Process quarantined messages again.",
            description="Process messages again (after fixing what made them fail). "
            "Processed and rejected messages are left alone.",
        )
        replay.add_argument("ids", type=positive_int, nargs="*", metavar="ID")
        replay.add_argument(
            "--all-quarantined",
            action="store_true",
            help="Every quarantined message.",
        )
        replay.set_defaults(handler=self.replay)

    def _addresses_parser(self, verbs: Any) -> None:
        addresses = verbs.add_parser(
            "addresses",
            help="Print the system addresses (as a Postfix table with --postfix-map).",
            description=(
                "Print every valid system address. --postfix-map prints "
                "'ADDRESS OK' lines for relay_recipient_maps, so the MTA refuses "
                "unknown recipients itself; with --nexthop, 'ADDRESS NEXTHOP' lines "
                "for transport_maps. See docs/mta.md."
            ),
        )
        output = addresses.add_mutually_exclusive_group()
        output.add_argument(
            "--postfix-map",
            action="store_true",
            help="A Postfix lookup table (one address and its value a line).",
        )
        output.add_argument("--json", action="store_true", help="JSON output.")
        addresses.add_argument(
            "--nexthop",
            metavar="TRANSPORT:NEXTHOP",
            help="With --postfix-map: the value, e.g. lmtp:inet:127.0.0.1:8024.",
        )
        addresses.set_defaults(handler=self.addresses)

    # --- listen ---------------------------------------------------------------------
    def listen(self, options: dict[str, Any]) -> None:
        from helpline.mail.transports.listener import make_controller

        host, port = options["bind"]
        protocol = "SMTP" if options["smtp"] else "LMTP"
        controller = make_controller(host, port, smtp=options["smtp"])
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        try:
            controller.start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc}") from exc
        self.stdout.write(f"Listening for {protocol} on {host}:{port}.")
        self.stdout.flush()
        while not stop.wait(1.0):
            pass
        self.stdout.write("Stopping...")
        controller.stop()
        self.stdout.write("Stopped.")

    # --- fetch ----------------------------------------------------------------------
    def fetch(self, options: dict[str, Any]) -> None:
        stop = threading.Event()
        if options["loop"]:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        while True:
            if options["account"]:
                runs = [
                    accounts.fetch_account(
                        accounts.get_account(options["account"]),
                        limit=options["limit"],
                    )
                ]
            else:
                runs = accounts.fetch_all(limit=options["limit"])
            for run in runs:
                self.stdout.write(f"{run.account.name}: {run.summary()}")
                for error in run.errors:
                    self.stderr.write(f"  {run.account.name}: {error}")
            if not runs:
                self.stdout.write("No valid mail accounts.")
            self.stdout.flush()
            if not options["loop"]:
                break
            if stop.wait(options["loop"]):
                return
        troubled = sum(1 for run in runs if run.errors)
        if troubled:
            raise CommandError(
                f"{troubled} mail account(s) had problems (see above).",
                returncode=FAILURE,
            )

    # --- accounts -------------------------------------------------------------------
    def account_add(self, options: dict[str, Any]) -> None:
        stream = options.get("stdin") or sys.stdin
        password = stream.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: standard input held no password.")
        queue = admin.get_queue(options["queue"]) if options["queue"] else None
        account = accounts.create_account(
            options["name"],
            protocol=options["protocol"],
            host=options["host"],
            port=options["port"],
            username=options["user"],
            password=password,
            folder=options["folder"],
            move_to=options["move_to"],
            queue=queue,
            trust_headers=options["trust_headers"],
            verify_tls=not options["no_verify_tls"],
        )
        self.stdout.write(
            f"Mail account {account.name!r} added ({account.protocol} "
            f"{account.host}). Check it with 'helpline mail account test "
            f"{account.name}'."
        )

    def account_list(self, options: dict[str, Any]) -> None:
        rows: list[dict[str, Any]] = [
            {
                "name": a.name,
                "protocol": a.protocol,
                "host": a.host,
                "port": a.port,
                "user": a.username,
                "folder": a.folder,
                "move_to": a.move_to,
                "queue": a.queue.name if a.queue else None,
                "trust_headers": a.trust_headers,
                "verify_tls": a.verify_tls,
                "valid": a.valid,
                "last_fetch": a.last_fetch,
                "last_error": a.last_error,
            }
            for a in MailAccount.objects.select_related("queue").order_by("name")
        ]
        if options["json"]:
            self.emit_json(rows)
            return
        self.emit_table(
            ["NAME", "PROTOCOL", "SERVER", "USER", "QUEUE", "LAST FETCH", "PROBLEM"],
            [
                (
                    r["name"] + ("" if r["valid"] else " (invalid)"),
                    r["protocol"],
                    r["host"] + (f":{r['port']}" if r["port"] else ""),
                    r["user"],
                    r["queue"] or "(by recipient)",
                    show_time(r["last_fetch"]) or "never",
                    (r["last_error"].splitlines() or ["-"])[-1][:60],
                )
                for r in rows
            ],
            empty="No mail accounts.",
        )

    def account_test(self, options: dict[str, Any]) -> None:
        account = accounts.get_account(options["name"])
        try:
            result = accounts.test_account(account)
        except Exception as exc:  # any failure to connect is the answer, not a crash
            raise HelplineError(f"{account.name}: {type(exc).__name__}: {exc}") from exc
        self.stdout.write(f"{account.name}: {result}")

    # --- system addresses -----------------------------------------------------------
    def addresses(self, options: dict[str, Any]) -> None:
        nexthop = options["nexthop"]
        if nexthop and not options["postfix_map"]:
            raise UsageError("--nexthop goes with --postfix-map.")
        if nexthop:
            try:
                mtamap.check_nexthop(nexthop)
            except ValueError as exc:
                raise UsageError(f"--nexthop: {exc}") from exc
        found = mtamap.get_system_addresses()
        if options["postfix_map"]:
            self.stdout.write(mtamap.postfix_map(found, nexthop=nexthop), ending="")
        elif options["json"]:
            self.emit_json(
                [
                    {"email": a.email, "queue": a.queue, "display_name": a.display_name}
                    for a in found
                ]
            )
        else:
            self.emit_table(
                ["ADDRESS", "QUEUE", "NAME"],
                [(a.email, a.queue, a.display_name) for a in found],
                empty="No valid system addresses.",
            )

    # --- inbound messages -----------------------------------------------------------
    def inbound_list(self, options: dict[str, Any]) -> None:
        messages = InboundMessage.objects.select_related("ticket").order_by("-id")
        if options["status"]:
            messages = messages.filter(status=options["status"])
        rows = [_summary(m) for m in messages[: options["limit"]]]
        if options["json"]:
            self.emit_json(rows)
            return
        self.emit_table(
            ["ID", "RECEIVED", "STATUS", "TICKET", "MESSAGE-ID", "REASON"],
            [
                (
                    r["id"],
                    show_time(r["received"]),
                    r["status"],
                    r["ticket"] or "-",
                    r["message_id"][:40],
                    r["reason"].splitlines()[0][:60] if r["reason"] else "",
                )
                for r in rows
            ],
            empty="No messages.",
        )

    def inbound_show(self, options: dict[str, Any]) -> None:
        message = _get_message(options["id"])
        if options["raw"]:
            raw = read_blob(message.raw)
            if message.ticket is not None:  # mail of a ticket: its content
                read_audit.record(
                    None,
                    message.ticket,
                    ReadKind.RAW,
                    article_id=message.article_id,
                    channel="cli",
                    client=self.read_client(),
                )
            binary = getattr(self.stdout, "buffer", None)
            if binary is not None:
                self.stdout.flush()
                binary.write(raw)
                binary.flush()
            else:
                self.stdout.write(raw.decode("utf-8", "replace"), ending="")
            return
        data = {
            **_summary(message),
            "transport": message.transport,
            "envelope_recipients": message.envelope_recipients,
            "sha256": message.sha256,
            "size": message.raw.size,
            "attempts": message.attempts,
            "processed": message.processed,
            "decisions": message.decisions,
            "spam_score": message.spam_score,
            "spam_symbols": message.spam_symbols,
            "error": message.error,
        }
        if options["json"]:
            self.emit_json(data)
            return
        self.stdout.write(_describe(data))

    def replay(self, options: dict[str, Any]) -> None:
        ids = ids_or_all(
            options["ids"],
            options["all_quarantined"],
            flag="--all-quarantined",
            matching=InboundMessage.objects.filter(status=InboundStatus.QUARANTINED)
            .order_by("id")
            .values_list("id", flat=True),
        )
        if not ids:
            self.stdout.write("No quarantined messages.")
            return
        for pk in ids:
            _get_message(pk)
        failed = 0
        for pk in ids:
            message = postmaster.replay(pk)
            ticket = f" ticket {message.ticket.number}" if message.ticket else ""
            self.stdout.write(
                f"{pk}: {message.status}{ticket} {message.reason}".rstrip()
            )
            failed += message.status == InboundStatus.QUARANTINED
        if failed:
            raise CommandError(
                f"{failed} message(s) still quarantined.", returncode=FAILURE
            )


def _get_message(pk: int) -> InboundMessage:
    message = (
        InboundMessage.objects.select_related("ticket", "raw").filter(pk=pk).first()
    )
    if message is None:
        raise NotFound(f"No inbound message {pk}.")
    return message


def _describe(data: dict[str, Any]) -> str:
    """``mail show`` for people: what happened, why, and the traceback if any."""
    recipients = ", ".join(data["envelope_recipients"])
    lines = [
        f"Inbound message {data['id']}: {data['status']}",
        f"Received:   {show_time(data['received'])} by {data['transport']}"
        + (f" for {recipients}" if recipients else ""),
        f"Message-ID: {data['message_id'] or '-'}",
        f"Size:       {data['size']} bytes, sha256 {data['sha256']}",
        f"Ticket:     {data['ticket'] or '-'}",
        f"Reason:     {data['reason'] or '-'}",
        f"Attempts:   {data['attempts']}",
    ]
    if data.get("spam_score") is not None:
        symbols = ", ".join(data.get("spam_symbols") or []) or "-"
        lines.append(f"Spam score: {data['spam_score']} ({symbols})")
    if data["decisions"]:
        lines.append("Decisions:")
        lines += [f"  {k}: {v}" for k, v in data["decisions"].items()]
    if data["error"]:
        lines += ["Error:", data["error"].rstrip()]
    return "\n".join(lines)


def _summary(message: InboundMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "received": message.received,
        "status": message.status,
        "reason": message.reason,
        "message_id": message.message_id,
        "ticket": message.ticket.number if message.ticket else None,
    }
