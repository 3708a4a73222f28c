"""The parts of a subject-access export written for people: summary.txt and
summary.html (who asked for whom, when, what is included, every ticket with its
messages) and README.txt (what the files are).  In the language the export was asked
in (``translation.override`` around the export).

The lines of the tickets are written as the tickets pass, into spooled files; the
head, which needs the totals, is put before them when the export closes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    from helpline.actions.subject_access_archive import Totals

# The summaries' words for the directions (the file names keep the English ones).
DIRECTIONS = {
    "incoming": gettext_lazy("received"),
    "outgoing": gettext_lazy("sent"),
    "phone": gettext_lazy("phone call"),
    "internal": gettext_lazy("internal"),
}
STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
    "table{border-collapse:collapse;width:100%}"
    "td,th{border:1px solid #ccc;padding:.2em .4em;text-align:left}"
)


class Summary:
    """summary.txt and summary.html, ticket by ticket."""

    def __init__(
        self,
        text: IO[bytes],
        html_file: IO[bytes],
        *,
        address: str,
        prepared_by: str,
        include_internal: bool,
        started: datetime,
    ) -> None:
        self.text = text
        self.html = html_file
        self.address = address
        self.prepared_by = prepared_by
        self.include_internal = include_internal
        self.started = started

    def add(self, meta: dict[str, Any]) -> None:
        """The lines of one ticket (``meta`` as tickets.json has it)."""
        role = (
            _("your ticket")
            if meta["role"] == "customer"
            else _("a ticket of someone else, where you were a sender or recipient")
        )
        heading = f"{meta['number']}" + (f" {meta['title']}" if meta["title"] else "")
        place = _("%(role)s; queue: %(queue)s; state: %(state)s") % {
            "role": role,
            "queue": meta["queue"],
            # The default states' names are in the catalogue; others stay as named.
            "state": _(meta["state"]),
        }
        folder = _("Folder: %(folder)s") % {"folder": meta["folder"]}
        rows = [
            (
                (message["created"] or "")[:16].replace("T", " "),
                str(DIRECTIONS[message["direction"]]),
                message["from"],
                message["subject"] or "-",
                ", ".join(f["name"] for f in message["attachments"]),
            )
            for message in meta["messages"]
        ]
        lines = ["", heading, "=" * min(len(heading), 78), place, folder]
        lines += [
            f"- {when}  {kind}  {subject}" + (f"  [{files}]" if files else "")
            for when, kind, _sender, subject, files in rows
        ]
        self.text.write(("\n".join(lines) + "\n").encode())
        headers = [_("Date"), _("Kind"), _("From"), _("Subject"), _("Attachments")]
        self.html.write(
            (
                f"<h2>{html.escape(heading)}</h2>\n<p>{html.escape(place)}<br>"
                f"{html.escape(folder)}</p>\n{_table(headers, rows)}\n"
            ).encode()
        )

    def head(self, totals: Totals) -> list[str]:
        when = timezone.localtime(self.started).strftime("%Y-%m-%d %H:%M %Z")
        notes = (
            _("Internal notes and other messages hidden from you are included.")
            if self.include_internal
            else _(
                "Internal notes of the staff and messages to third parties are not "
                "included (%(count)d left out)."
            )
            % {"count": totals.left_out}
        )
        return [
            _("Copy of your personal data (GDPR Art. 15)"),
            _("For: %(address)s") % {"address": self.address},
            _("Prepared on %(when)s by %(who)s.")
            % {"when": when, "who": self.prepared_by},
            _(
                "Included: %(tickets)d tickets with %(messages)d messages and "
                "%(files)d attachments."
            )
            % {
                "tickets": totals.tickets,
                "messages": totals.articles,
                "files": totals.attachments,
            },
            notes,
            _("Each message is in its ticket's folder as an .eml file."),
        ]

    def text_parts(self, totals: Totals) -> list[bytes | IO[bytes]]:
        return [("\n".join(self.head(totals)) + "\n").encode(), self.text]

    def html_parts(self, totals: Totals) -> list[bytes | IO[bytes]]:
        head = self.head(totals)
        title = html.escape(head[0])
        top = (
            f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{title}'
            f"</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n"
            + "".join(f"<p>{html.escape(line)}</p>\n" for line in head[1:])
        )
        return [top.encode(), self.html, b"</body></html>\n"]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    return "\n".join(
        [
            "<table><thead><tr>"
            + "".join(f"<th>{html.escape(h)}</th>" for h in headers)
            + "</tr></thead><tbody>",
            *(
                "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
                for row in rows
            ),
            "</tbody></table>",
        ]
    )


def readme() -> str:
    """README.txt: what the files of the export are."""
    return "\n\n".join(
        [
            _("Copy of your personal data (GDPR Art. 15)"),
            _(
                "summary.txt and summary.html list your tickets and every message "
                "in them."
            ),
            _(
                "tickets.json has the same as data: the tickets (number, queue, "
                "state, dates) and each message (date, direction, sender, "
                "recipients, subject, attachments with size and SHA-256)."
            ),
            _(
                "Each ticket has a folder. Each message is an .eml file that any "
                "mail program opens: the mail exactly as it was received or sent, "
                "or, for a message without one (a phone call, a message written "
                "here), one made from what was stored, marked X-Helpline-Source."
            ),
            _(
                "The attachments of a message are in the folder 'NNN attachments' "
                "beside it, exactly as they were received or sent."
            ),
            _(
                "Blind copy (Bcc) recipients are never shown. Of tickets of other "
                "people, only the messages you sent or received are included."
            ),
            _(
                "drafts.json is there only if the address is that of an agent of "
                "this helpdesk with unsent drafts: for each, the ticket number, the "
                "kind (reply, note, forward), when it was begun and last saved, and "
                "the text the agent wrote, without the quoted message."
            ),
        ]
    )
