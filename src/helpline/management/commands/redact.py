"""``helpline redact``: remove an article's text, subject, files or raw mail for good.

    helpline redact --ticket N --article ID (--body | --subject | --attachment ID |
                    --raw ...) --reason TEXT --as LOGIN [--json]

Acts as the agent named by ``--as``, who needs ``redact`` on the ticket's queue
(``rw`` does not imply it); what the agent may not see is "not found".  Several of
the flags may be given at once: they are removed together or not at all.
docs/data-protection.md says what is removed from where.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from helpline.actions import redaction
from helpline.management.base import HelplineCommand, acting_agent, positive_int


class Command(HelplineCommand):
    help = (
        "Remove an article's text, subject, attachments or raw mail for good, with a "
        "reason, acting as an agent with the redact permission (--as LOGIN)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ticket", required=True, metavar="NUMBER")
        parser.add_argument("--article", required=True, type=positive_int, metavar="ID")
        parser.add_argument(
            "--body", action="store_true", help="The text (plain and HTML)."
        )
        parser.add_argument(
            "--subject",
            action="store_true",
            help="The subject (and the ticket's title when it is that subject).",
        )
        parser.add_argument(
            "--attachment",
            action="append",
            type=positive_int,
            default=[],
            metavar="ID",
            help="A file (repeatable); the article's files with the same bytes go too.",
        )
        parser.add_argument(
            "--raw", action="store_true", help="The raw mail as a whole."
        )
        parser.add_argument(
            "--reason", required=True, help="Why; kept in the ticket's history."
        )
        self.add_as_agent(parser)
        self.add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        agent = acting_agent(options["as_login"])
        done = redaction.redact(
            agent,
            number=options["ticket"],
            article_id=options["article"],
            removal=redaction.Removal(
                body=options["body"],
                subject=options["subject"],
                attachment_ids=frozenset(options["attachment"]),
                raw=options["raw"],
            ),
            reason=options["reason"],
        )
        removed = [_described(r) for r in done.removed]
        if options["json"]:
            self.emit_json(
                {
                    "ticket": done.ticket.number,
                    "article": done.article.pk,
                    "removed": [r.data() for r in done.removed],
                    "already_removed": done.already,
                }
            )
            return
        where = f"article {done.article.pk} of ticket {done.ticket.number}"
        if removed:
            self.stdout.write(f"Removed from {where}: {', '.join(removed)}.")
        if done.already:
            self.stdout.write(
                f"Removed before from {where}: {', '.join(done.already)}."
            )


def _described(removed: redaction.Removed) -> str:
    if removed.what == redaction.ATTACHMENT:
        return (
            f"attachment {removed.attachment_id} "
            f"({removed.content_type}, {removed.size} bytes)"
        )
    if removed.what == redaction.SUBJECT and removed.title:
        return "subject (and the ticket's title)"
    return removed.what
