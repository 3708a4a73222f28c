"""``helpline privacy``: retention, erasure of a person, legal holds, subject-access
exports and the runs that removed data (docs/data-protection.md).

Every verb acts as the agent named by ``--as``, who must hold the
``handle_personal_data`` right (``helpline right give``); being a superuser is not
enough.  A verb is one entry of ``VERBS``: a method that builds its parser, and a
handler it names with ``set_defaults(handler=...)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from helpline import leases
from helpline.actions import (
    erasure,
    legal_hold,
    privacy_runs,
    retention,
    subject_access,
)
from helpline.errors import Conflict
from helpline.jobs import RETENTION_LEASE
from helpline.management.base import (
    FAILURE,
    HelplineCommand,
    UsageError,
    acting_agent,
    positive_int,
    show_time,
)
from helpline.models import PrivacyRun, PrivacyRunKind, PrivacyRunStatus, ReadChannel

VERBS = ("retention", "erase", "hold", "export", "runs")


class Command(HelplineCommand):
    help = (
        "Data protection: preview and run retention, erase a person, set and release "
        "legal holds, export a person's data, list the runs that removed data. Acts as --as LOGIN, who needs "
        "the handle_personal_data right."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        for verb in VERBS:
            getattr(self, f"_add_{verb}")(verbs)

    @staticmethod
    def _preview_or_run(parser: Any) -> None:
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument(
            "--preview", action="store_true", help="Show what a run would do."
        )
        mode.add_argument("--run", action="store_true", help="Do it now.")

    # --- retention ---------------------------------------------------------------------
    def _add_retention(self, verbs: Any) -> None:
        parser = verbs.add_parser(
            "retention",
            help="Preview or run the removal of tickets past their queue's retention.",
            description=(
                "Per queue with a retention time ('helpline queue retention'): the "
                "closed tickets past it (in a junk queue, every ticket not changed "
                "for that long) are deleted or anonymised; tickets under legal hold "
                "stay. The worker runs this every night."
            ),
        )
        self.add_as_agent(parser)
        self._preview_or_run(parser)
        parser.add_argument(
            "--limit",
            type=positive_int,
            default=retention.PREVIEW_NUMBERS,
            help="Ticket numbers to list per queue (preview; default %(default)s).",
        )
        self.add_json_flag(parser)
        parser.set_defaults(handler=self.retention)

    def retention(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        if options["preview"]:
            rows = retention.preview_retention(agent, limit=options["limit"])
            if options["json"]:
                self.emit_json([vars(r) for r in rows])
                return
            self.emit_table(
                ["QUEUE", "ACTION", "DAYS", "JUNK", "DUE", "FIRST"],
                [
                    (
                        r.queue,
                        r.action,
                        r.days,
                        "yes" if r.junk else "",
                        r.count,
                        " ".join(r.numbers),
                    )
                    for r in rows
                ],
                empty="No queue has a retention time.",
            )
            return
        run = privacy_runs.request_run(agent, PrivacyRunKind.RETENTION)
        try:
            with leases.held(RETENTION_LEASE, settings.HELPLINE_JOB_LEASE_SECONDS):
                run = retention.run_retention(run=run)
        except leases.LeaseBusy as busy:
            run.delete()
            raise Conflict(
                f"Another retention run is going on ({busy.holder}); try again later."
            ) from None
        self._show_run(run, options["json"])

    # --- erasure -----------------------------------------------------------------------
    def _add_erase(self, verbs: Any) -> None:
        parser = verbs.add_parser(
            "erase",
            help="Preview or carry out the erasure of everything about an address.",
            description=(
                "The person's tickets are anonymised (--delete: deleted); in other "
                "tickets their articles are anonymised and their address and name "
                "replaced; tickets under legal hold stay and are listed. The run's "
                "record keeps the address's SHA-256 only."
            ),
        )
        self.add_as_agent(parser)
        parser.add_argument("address", metavar="ADDRESS")
        self._preview_or_run(parser)
        parser.add_argument(
            "--delete",
            action="store_true",
            help="Delete the person's tickets instead of anonymising them.",
        )
        self.add_json_flag(parser)
        parser.set_defaults(handler=self.erase)

    def erase(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        address, delete = options["address"], options["delete"]
        if options["preview"]:
            summary = erasure.preview_erasure(agent, address, delete=delete).summary()
            if options["json"]:
                self.emit_json(summary)
                return
            for key, value in summary.items():
                shown = value
                if isinstance(value, list):
                    shown = " ".join(value) or "-"
                elif isinstance(value, dict):
                    shown = (
                        "; ".join(
                            f"{n}: {len(ids)} article(s)" for n, ids in value.items()
                        )
                        or "-"
                    )
                self.stdout.write(f"{key}: {shown}")
            return
        run = erasure.request_erasure(agent, address, delete=delete)
        erasure.run_erasure(run.pk)
        run.refresh_from_db()
        self._show_run(run, options["json"])

    # --- legal hold --------------------------------------------------------------------
    def _add_hold(self, verbs: Any) -> None:
        parser = verbs.add_parser(
            "hold",
            help="Put a ticket under legal hold, or release it (--release).",
            description=(
                "A ticket under legal hold is removed by neither retention nor an "
                "erasure. The reason goes to the ticket's history."
            ),
        )
        self.add_as_agent(parser)
        parser.add_argument("number", metavar="NUMBER")
        parser.add_argument("--reason", required=True, help="Why (kept in history).")
        parser.add_argument(
            "--release", action="store_true", help="Release the hold instead."
        )
        parser.set_defaults(handler=self.hold)

    def hold(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        change = (
            legal_hold.release_legal_hold
            if options["release"]
            else legal_hold.set_legal_hold
        )
        ticket = change(agent, number=options["number"], reason=options["reason"])
        state = "released from" if options["release"] else "put under"
        self.stdout.write(f"Ticket {ticket.number} {state} legal hold.")

    # --- runs --------------------------------------------------------------------------
    # --- export --------------------------------------------------------------------
    def _add_export(self, verbs: Any) -> None:
        parser = verbs.add_parser(
            "export",
            help="Write everything a person sent or received into a zip.",
            description=(
                "A subject-access export (GDPR Art. 15): the person's tickets, their "
                "messages as .eml, attachments, tickets.json and a summary, written "
                "at once into a new file (mode 0600, never overwriting one). "
                "Recorded as a privacy run, in the administration log and, per "
                "ticket, in the read audit."
            ),
        )
        parser.add_argument("address", help="The person's email address.")
        parser.add_argument(
            "-o",
            "--output",
            required=True,
            metavar="FILE.zip",
            help="The zip to write (must not exist; created with mode 0600).",
        )
        parser.add_argument(
            "--include-internal",
            action="store_true",
            help=(
                "Include internal notes and messages to third parties, which the "
                "person was not shown (left out by default)."
            ),
        )
        parser.add_argument(
            "--language",
            choices=[code for code, _ in settings.LANGUAGES],
            default="",
            help="Language of the summary and README (default: the server's).",
        )
        self.add_as_agent(parser)
        self.add_json_flag(parser)
        parser.set_defaults(handler=self.export)

    def export(self, options: dict[str, Any]) -> None:
        target = Path(options["output"]).expanduser().absolute()
        if target.exists():
            raise UsageError(f"{target} exists; name a new file.")
        if not target.parent.is_dir():
            raise UsageError(f"{target.parent} is not a directory.")
        agent = acting_agent(options["as_login"])
        run = subject_access.request_export(
            agent,
            options["address"],
            include_internal=options["include_internal"],
            language=options["language"],
            channel=ReadChannel.CLI,
            client="helpline privacy export",
        )
        run = subject_access.run_export(run.pk, target=target)
        if run.status != PrivacyRunStatus.DONE:
            message = "; ".join(str(e) for e in run.errors) or "The export failed."
            raise CommandError(message, returncode=FAILURE)
        report = run.report
        if options["json"]:
            self.emit_json({"id": run.pk, "file": str(target), **report})
            return
        self.stdout.write(
            f"Wrote {target}: {report['tickets']} tickets, {report['messages']} "
            f"messages, {report['attachments']} attachments ({report['size']} bytes)."
        )

    def _add_runs(self, verbs: Any) -> None:
        parser = verbs.add_parser(
            "runs", help="List the newest runs of retention or erasure."
        )
        self.add_as_agent(parser)
        parser.add_argument(
            "--kind",
            choices=[PrivacyRunKind.RETENTION, PrivacyRunKind.ERASURE],
            default=PrivacyRunKind.RETENTION,
        )
        parser.add_argument("--id", type=positive_int, help="Show this run in full.")
        self.add_json_flag(parser)
        parser.set_defaults(handler=self.runs)

    def runs(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        if options["id"]:
            self._show_run(privacy_runs.get_run(agent, options["id"]), options["json"])
            return
        found = list(privacy_runs.runs_for(agent, options["kind"]))
        if options["json"]:
            self.emit_json([_run_data(r) for r in found])
            return
        self.emit_table(
            ["ID", "CREATED", "STATUS", "BY", "REMOVED", "ERRORS"],
            [
                (
                    r.pk,
                    show_time(r.created),
                    r.status,
                    r.requested_by_name or "system",
                    _removed(r),
                    len(r.errors),
                )
                for r in found
            ],
            empty="No runs.",
        )

    def _show_run(self, run: PrivacyRun, as_json: bool) -> None:
        if as_json:
            self.emit_json(_run_data(run))
            return
        self.stdout.write(
            f"Run {run.pk} ({run.kind}): {run.status}, {_removed(run)} ticket(s) "
            f"removed, {len(run.errors)} error(s)."
        )
        for queue, part in run.report.get("queues", {}).items():
            self.stdout.write(
                f"  {queue}: {part['deleted']} deleted, {part['anonymised']} "
                f"anonymised, {part['held']} held, {part['errors']} failed"
            )
        for key in ("deleted", "anonymised", "held", "changed"):
            if run.kind == PrivacyRunKind.ERASURE and run.report.get(key):
                self.stdout.write(f"  {key}: {' '.join(run.report[key])}")
        for error in run.errors:
            tickets = " ".join(error.get("tickets", []))
            self.stdout.write(f"  error: {tickets} {error.get('error', '')}".rstrip())


def _run_data(run: PrivacyRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "requested_by": run.requested_by_name,
        "subject": run.subject,
        "options": run.options,
        "created": run.created,
        "started": run.started,
        "finished": run.finished,
        "report": run.report,
        "errors": run.errors,
    }


def _removed(run: PrivacyRun) -> int:
    if run.kind == PrivacyRunKind.RETENTION:
        totals = run.report.get("totals", {})
        return int(totals.get("deleted", 0)) + int(totals.get("anonymised", 0))
    return len(run.report.get("deleted", [])) + len(run.report.get("anonymised", []))
