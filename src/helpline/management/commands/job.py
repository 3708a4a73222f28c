"""``helpline job``: automation jobs — define, list, show, preview, run
(docs/automation.md).  Defining, previewing and running act as an administrator
named by ``--as``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import CommandParser
from django.db.models import Max

from helpline.automation import definition, report, runner, triggers
from helpline.automation.selection import AGES
from helpline.management.base import (
    HelplineCommand,
    UsageError,
    acting_agent,
    non_negative_int,
    positive_int,
    show_time,
)
from helpline.models import AutomationJob, AutomationRun


def _action(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('an action is a JSON object: {"do": ...}')
    return value


class Command(HelplineCommand):
    help = (
        "Automation jobs: a search, a trigger (a schedule or an event) and actions, "
        "run by the worker. Define them, preview what they would do, run them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        listing = verbs.add_parser("list", help="List the jobs and their last run.")
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_jobs)

        show = verbs.add_parser("show", help="A job's definition and latest runs.")
        show.add_argument("name", metavar="NAME")
        show.add_argument("--runs", type=positive_int, default=10, metavar="N")
        self.add_json_flag(show)
        show.set_defaults(handler=self.show)

        for verb, text in (("create", "Define a job."), ("change", "Change a job.")):
            sub = verbs.add_parser(verb, help=text, description=HELP_DEFINE)
            sub.add_argument("name", metavar="NAME")
            self.add_as_agent(sub)
            self._definition(sub, create=verb == "create")
            sub.set_defaults(handler=getattr(self, verb))

        delete = verbs.add_parser("delete", help="Delete a job and its runs.")
        delete.add_argument("name", metavar="NAME")
        self.add_as_agent(delete)
        delete.set_defaults(handler=self.delete)

        preview = verbs.add_parser(
            "preview",
            help="The tickets a run now would change, and how; changes nothing.",
        )
        preview.add_argument("name", metavar="NAME")
        self.add_as_agent(preview)
        preview.add_argument(
            "--limit", type=positive_int, default=runner.PREVIEW_LIMIT, metavar="N"
        )
        self.add_json_flag(preview)
        preview.set_defaults(handler=self.preview)

        run = verbs.add_parser(
            "run", help="Run a job now, in this process (the worker runs them itself)."
        )
        run.add_argument("name", metavar="NAME")
        self.add_as_agent(run)
        self.add_json_flag(run)
        run.set_defaults(handler=self.run)

    @staticmethod
    def _definition(parser: Any, *, create: bool) -> None:
        parser.add_argument(
            "--queue",
            dest="queues",
            action="append",
            metavar="QUEUE",
            help="A queue the job searches and may move tickets into (repeat).",
        )
        parser.add_argument("--query", help="The search (docs/search.md).")
        for key in AGES:
            parser.add_argument(
                f"--{key.replace('_', '-')}",
                dest=key,
                type=non_negative_int,
                metavar="DAYS",
                help=f"Only tickets whose {AGES[key]} is at least DAYS ago.",
            )
        parser.add_argument(
            "--trigger",
            choices=triggers.TRIGGERS,
            help="manual, schedule (give --schedule) or an event.",
        )
        parser.add_argument(
            "--schedule", metavar="CRON", help="A cron line: '17 3 * * *'."
        )
        parser.add_argument(
            "--action",
            dest="actions",
            action="append",
            type=_action,
            metavar="JSON",
            help='An action, in order (repeat): \'{"do": "move", "queue": "Junk"}\'.',
        )
        parser.add_argument("--owner", metavar="LOGIN", help="Default: --as.")
        parser.add_argument("--comment")
        parser.add_argument(
            "--once-per-ticket",
            action="store_true",
            default=None,
            help="Act on a ticket once, ever.",
        )
        if not create:
            parser.add_argument(
                "--no-age",
                action="append",
                default=[],
                choices=list(AGES),
                help="Clear an age condition.",
            )
            valid = parser.add_mutually_exclusive_group()
            valid.add_argument(
                "--valid", dest="valid", action="store_true", default=None
            )
            valid.add_argument("--invalid", dest="valid", action="store_false")

    @staticmethod
    def _spec(options: dict[str, Any]) -> definition.JobSpec:
        ages: dict[str, int | None] = {
            key: options[key] for key in AGES if options.get(key) is not None
        }
        for key in options.get("no_age", []):
            ages[key] = None
        return definition.JobSpec(
            query=options["query"],
            queues=options["queues"],
            trigger=options["trigger"],
            schedule=options["schedule"],
            actions=options["actions"],
            comment=options["comment"],
            valid=options.get("valid"),
            once_per_ticket=options["once_per_ticket"],
            owner=options["owner"],
            ages=ages,
        )

    def list_jobs(self, options: dict[str, Any]) -> None:
        jobs = list(
            AutomationJob.objects.select_related("owner", "actor")
            .prefetch_related("queues")
            .annotate(last_run=Max("runs__id"))
            .order_by("name")
        )
        last = {
            run.job_id: run
            for run in AutomationRun.objects.select_related("job").filter(
                pk__in=[job.last_run for job in jobs if job.last_run is not None]
            )
        }
        if options["json"]:
            self.emit_json(
                [
                    {
                        **report.job_data(job),
                        "last_run": report.run_data(last[job.pk])
                        if job.pk in last
                        else None,
                    }
                    for job in jobs
                ]
            )
            return
        self.emit_table(
            ("name", "valid", "trigger", "queues", "last run", "status", "tickets"),
            [
                (
                    job.name,
                    "yes" if job.valid else "no",
                    job.schedule or job.trigger,
                    ", ".join(sorted(q.name for q in job.queues.all())),
                    show_time(last[job.pk].created) if job.pk in last else "",
                    last[job.pk].status if job.pk in last else "",
                    last[job.pk].matched if job.pk in last else "",
                )
                for job in jobs
            ],
            empty="No automation jobs.",
        )

    def show(self, options: dict[str, Any]) -> None:
        job = definition.get_job(options["name"])
        runs = list(job.runs.select_related("job")[: options["runs"]])
        data = {**report.job_data(job), "runs": [report.run_data(r) for r in runs]}
        if options["json"]:
            self.emit_json(data)
            return
        for key, value in report.job_data(job).items():
            text = (
                json.dumps(value, ensure_ascii=False)
                if isinstance(value, list | dict)
                else value
            )
            self.stdout.write(f"{key}: {text}")
        self.stdout.write("")
        self._runs(runs)

    def _runs(self, runs: list[AutomationRun]) -> None:
        self.emit_table(
            (
                "run",
                "trigger",
                "started",
                "finished",
                "status",
                "tickets",
                "changed",
                "errors",
            ),
            [
                (
                    r.pk,
                    r.trigger,
                    show_time(r.started),
                    show_time(r.finished),
                    r.status,
                    r.matched,
                    r.changed,
                    r.failed,
                )
                for r in runs
            ],
            empty="No runs yet.",
        )

    def create(self, options: dict[str, Any]) -> None:
        actor = acting_agent(options["as_login"])
        job = definition.create_job(actor, options["name"], self._spec(options))
        self.stdout.write(
            f"Job {job.name!r} created; it acts as {job.actor.get_username()}."
        )

    def change(self, options: dict[str, Any]) -> None:
        actor = acting_agent(options["as_login"])
        job = definition.change_job(
            actor, definition.get_job(options["name"]), self._spec(options)
        )
        self.stdout.write(f"Job {job.name!r} changed.")

    def delete(self, options: dict[str, Any]) -> None:
        actor = acting_agent(options["as_login"])
        definition.delete_job(actor, definition.get_job(options["name"]))
        self.stdout.write(f"Job {options['name']!r} deleted.")

    def preview(self, options: dict[str, Any]) -> None:
        actor = acting_agent(options["as_login"])
        job = definition.get_job(options["name"])
        preview = runner.preview(actor, job, limit=options["limit"])
        if options["json"]:
            self.emit_json(report.preview_data(preview))
            return
        self.stdout.write(
            f"{preview.count} ticket(s) would be changed: {'; '.join(preview.steps)}"
        )
        self.emit_table(
            ("number", "queue", "title", "would"),
            [
                (t.number, t.queue, t.title[:50], "; ".join(t.would))
                for t in preview.tickets
            ],
            empty="",
        )
        if preview.hidden:
            self.stdout.write(f"(and {preview.hidden} you may not read)")

    def run(self, options: dict[str, Any]) -> None:
        actor = acting_agent(options["as_login"])
        job = definition.get_job(options["name"])
        if not job.valid:
            raise UsageError(
                f"Job {job.name!r} is not valid; 'job change --valid' first."
            )
        run = runner.run_now(actor, job)
        if options["json"]:
            self.emit_json(report.run_data(run))
            return
        self._runs([run])
        for error in run.errors:
            self.stdout.write(f"ticket {error['ticket']}: {error['error']}")


HELP_DEFINE = (
    "A job finds tickets with --query (the search syntax) in its --queue(s), "
    "narrowed by ages (--changed-days 30: not changed for 30 days), and does its "
    "--action(s) to each. It runs when asked (manual), on a --schedule (a cron line) "
    "or after an event (--trigger ticket_created, article_added, state_changed, "
    "escalation_warning, escalation). It acts with the rights of its owner (an "
    "administrator), only in its queues, and its changes are in each ticket's "
    "history as job:NAME."
)
