"""``helpline outbox``: what waits to be sent, send it now, send failed mail again.

An operator's tool (like ``helpline mail``): it shows recipients and errors of every
queued message, not ticket content, and acts on the outbox as a whole.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import CommandError, CommandParser

from helpline.errors import NotFound
from helpline.mail import outbound
from helpline.management.base import (
    FAILURE,
    HelplineCommand,
    ids_or_all,
    positive_int,
    show_time,
)
from helpline.models import OutboxMessage, OutboxStatus

audit = logging.getLogger("helpline.audit")


class Command(HelplineCommand):
    help = "List the outgoing mail, send what is due, queue failed mail again."

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)

        listing = verbs.add_parser(
            "list",
            help="List outgoing messages, newest first.",
            description=(
                "Statuses: queued (waiting, perhaps for a retry after an error), "
                "sending (a worker has it), sent, failed (refused by the server, out "
                "of retries, or interrupted while sending: see the error)."
            ),
        )
        listing.add_argument(
            "--status",
            choices=OutboxStatus.values,
            help="Only messages with this status.",
        )
        listing.add_argument(
            "--limit",
            type=positive_int,
            default=50,
            metavar="N",
            help="Show at most N messages (default %(default)s).",
        )
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_messages)

        send = verbs.add_parser(
            "send",
            help="Send the messages that are due now (the worker does this by itself).",
            description=(
                "Sends what is due through HELPLINE_SMTP_URL and prints how many were "
                "sent, put back for a retry, or failed. Exit status 1 if any failed."
            ),
        )
        send.add_argument(
            "--limit",
            type=positive_int,
            default=500,
            metavar="N",
            help="Send at most N messages (default %(default)s).",
        )
        send.set_defaults(handler=self.send)

        retry = verbs.add_parser(
            "retry",
            help="Queue failed messages again (sent by the worker or 'outbox send').",
            description=(
                "Only failed messages can be queued again. A message that failed "
                "while being sent may have reached the server: check before retrying."
            ),
        )
        retry.add_argument("ids", nargs="*", type=positive_int, metavar="ID")
        retry.add_argument(
            "--all-failed", action="store_true", help="Every failed message."
        )
        retry.set_defaults(handler=self.retry)

    # --- list -----------------------------------------------------------------------
    def list_messages(self, options: dict[str, Any]) -> None:
        rows = OutboxMessage.objects.select_related("article__ticket").order_by("-id")
        if options["status"]:
            rows = rows.filter(status=options["status"])
        data = [_summary(row) for row in rows[: options["limit"]]]
        if options["json"]:
            self.emit_json(data)
            return
        self.emit_table(
            ["ID", "CREATED", "STATUS", "TRIES", "NEXT TRY", "TICKET", "TO", "ERROR"],
            [
                (
                    r["id"],
                    show_time(r["created"]),
                    r["status"],
                    r["attempts"],
                    show_time(r["next_attempt"])
                    if r["status"] == OutboxStatus.QUEUED
                    else "-",
                    r["ticket"] or "-",
                    ", ".join(r["recipients"])[:40],
                    (r["last_error"].splitlines() or ["-"])[-1][:60],
                )
                for r in data
            ],
            empty="The outbox is empty.",
        )

    # --- send -----------------------------------------------------------------------
    def send(self, options: dict[str, Any]) -> None:
        counts = outbound.send_due(limit=options["limit"])
        self.stdout.write(
            f"{counts['sent']} sent, {counts['retry']} to retry later, "
            f"{counts['failed']} failed."
        )
        if counts["failed"]:
            raise CommandError(
                f"{counts['failed']} message(s) failed; see 'helpline outbox list "
                "--status failed'.",
                returncode=FAILURE,
            )

    # --- retry ----------------------------------------------------------------------
    def retry(self, options: dict[str, Any]) -> None:
        ids = ids_or_all(
            options["ids"],
            options["all_failed"],
            flag="--all-failed",
            matching=OutboxMessage.objects.filter(status=OutboxStatus.FAILED)
            .order_by("id")
            .values_list("id", flat=True),
        )
        if not ids:
            self.stdout.write("No failed messages.")
            return
        statuses = dict(
            OutboxMessage.objects.filter(pk__in=ids).values_list("id", "status")
        )
        for pk in ids:
            if pk not in statuses:
                raise NotFound(f"No outbox message {pk}.")
            if statuses[pk] != OutboxStatus.FAILED:
                raise CommandError(
                    f"Outbox message {pk} is {statuses[pk]}; only failed messages "
                    "can be queued again.",
                    returncode=FAILURE,
                )
        for pk in ids:
            outbound.retry(pk)
            audit.info("outbox message %s queued again from the command line", pk)
            self.stdout.write(f"{pk}: queued again")


def _summary(row: OutboxMessage) -> dict[str, Any]:
    ticket = row.article.ticket if row.article is not None else None
    return {
        "id": row.pk,
        "created": row.created,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt": row.next_attempt,
        "sent": row.sent,
        "ticket": ticket.number if ticket is not None else None,
        "message_id": row.message_id,
        "envelope_from": row.envelope_from,
        "recipients": list(row.recipients),
        "last_error": row.last_error,
    }
