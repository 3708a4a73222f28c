"""The weekly report mail (docs/reports.md): on Monday, to each subscribed agent,
last week's figures of the queues that agent may read (``build_report`` with the
agent's own rights), through the outbox.  A week is mailed once per agent
(``AgentProfile.report_mail_week``), however often the job runs."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from helpline import local_format
from helpline.actions.reports import Figures, build_report
from helpline.errors import PermissionDenied
from helpline.models import AgentProfile
from helpline.responses.agent_mail import agent_locale, mail_agent, speaking_to

log = logging.getLogger(__name__)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 5400:
        return _("%(n)d min") % {"n": round(seconds / 60)}
    return _("%(n)s h") % {"n": local_format.number(seconds / 3600, 1)}


def _line(label: str, f: Figures) -> str:
    backlog = "" if f.backlog is None else f" · {_('Backlog')} {f.backlog}"
    return (
        _(
            "%(label)s: %(received)d received, %(answered)d answered, %(closed)d closed; "
            "first response median %(first)s, 90th percentile %(first90)s; handling "
            "median %(handling)s"
        )
        % {
            "label": label,
            "received": f.received,
            "answered": f.answered,
            "closed": f.closed,
            "first": _duration(f.first_response_median),
            "first90": _duration(f.first_response_p90),
            "handling": _duration(f.handling_median),
        }
        + backlog
    )


def report_text(agent: Any, monday: date) -> tuple[str, str]:
    """Subject and body of the mail of the week starting ``monday``."""
    report = build_report(
        agent, start=monday, end=monday + timedelta(days=6), unit="week"
    )
    subject = _("Helpline: the week from %(day)s") % {
        "day": local_format.short_date(monday)
    }
    lines = [_("The figures of the queues you may read, %(first)s to %(last)s.") % {
        "first": local_format.short_date(monday),
        "last": local_format.short_date(monday + timedelta(days=6)),
    }, ""]  # fmt: skip
    lines.append(_line(_("All your queues"), report.total))
    for queue, figures in report.by_queue:
        lines.append(_line(queue.name, figures))
    link = settings.HELPLINE_BASE_URL.rstrip("/") + reverse("reports")
    lines += ["", _("Charts and more: %(link)s") % {"link": link}]
    return subject, "\n".join(lines) + "\n"


def send_weekly_reports(*, today: date | None = None) -> int:
    """Mail last week's report to every subscribed active agent not yet mailed it;
    the number queued."""
    today = today or timezone.localdate()
    monday = today - timedelta(days=today.weekday() + 7)
    due = list(
        AgentProfile.objects.filter(report_mail=True, user__is_active=True)
        .exclude(report_mail_week__gte=monday)
        .exclude(user__email="")
        .values_list("pk", flat=True)
    )
    sent = 0
    for pk in due:
        with transaction.atomic():
            profile = (
                AgentProfile.objects.select_for_update(skip_locked=True)
                .select_related("user")
                .filter(pk=pk)
                .exclude(report_mail_week__gte=monday)
                .first()
            )
            if profile is None:
                continue
            agent = profile.user
            with speaking_to(agent_locale(profile.language, profile.time_zone)):
                try:
                    subject, body = report_text(agent, monday)
                except PermissionDenied:  # pragma: no cover - own figures only
                    continue
            mail_agent(agent, subject, body)
            profile.report_mail_week = monday
            profile.save(update_fields=["report_mail_week"])
            sent += 1
    return sent
