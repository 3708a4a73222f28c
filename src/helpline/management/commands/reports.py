"""``helpline reports``: the report aggregates (docs/reports.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from helpline.actions import reports, reports_aggregate
from helpline.management.base import HelplineCommand, UsageError
from helpline.models import Queue


class Command(HelplineCommand):
    help = (
        "Keep the report aggregates: 'update' aggregates the tickets changed since "
        "the last run (the worker does this every five minutes), 'rebuild' empties "
        "the aggregates and aggregates every ticket again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        verbs.add_parser(
            "update", help="Aggregate the tickets changed since the last run."
        ).set_defaults(handler=self.update)
        verbs.add_parser(
            "rebuild", help="Empty the aggregates and aggregate every ticket again."
        ).set_defaults(handler=self.rebuild)
        public = verbs.add_parser(
            "public",
            help="Show a queue on the public backlog page (on) or stop (off).",
        )
        public.add_argument("queue", metavar="QUEUE")
        public.add_argument("switch", choices=["on", "off"])
        public.set_defaults(handler=self.public)
        mail = verbs.add_parser(
            "mail", help="Send an agent last week's report every Monday (on) or stop."
        )
        mail.add_argument("login", metavar="LOGIN")
        mail.add_argument("switch", choices=["on", "off"])
        mail.set_defaults(handler=self.mail)

    def update(self, options: dict[str, Any]) -> None:
        count = reports_aggregate.update_reports()
        self.stdout.write(f"{count} tickets aggregated.")

    def rebuild(self, options: dict[str, Any]) -> None:
        count = reports_aggregate.rebuild_reports()
        self.stdout.write(f"Aggregates rebuilt from {count} tickets.")

    def public(self, options: dict[str, Any]) -> None:
        queue = Queue.objects.filter(name=options["queue"]).first()
        if queue is None:
            raise UsageError(f"No queue named {options['queue']!r}.")
        on = options["switch"] == "on"
        reports.set_public_backlog(None, queue, public=on)
        where = "shown on" if on else "not shown on"
        self.stdout.write(f"Queue {queue.name!r} is {where} the public backlog page.")

    def mail(self, options: dict[str, Any]) -> None:
        from django.contrib.auth import get_user_model

        agent = get_user_model().objects.filter(username=options["login"]).first()
        if agent is None:
            raise UsageError(f"No agent {options['login']!r}.")
        on = options["switch"] == "on"
        reports.set_report_mail(None, agent, subscribed=on)
        state = "gets" if on else "no longer gets"
        self.stdout.write(f"{agent.get_username()} {state} the weekly report mail.")
