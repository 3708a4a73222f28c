"""The reports page (figures as SVG charts and as tables) and its CSV export
(docs/reports.md).  Every figure comes from ``actions.reports.build_report``, which
narrows it to the queues the agent may read."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpline import local_format
from helpline.actions.reports import (
    UNITS,
    Figures,
    Report,
    age_labels,
    build_report,
    report_mail_subscribed,
    set_report_mail,
    visible_report_queues,
)
from helpline.errors import InvalidInput
from helpline.models import Group
from helpline.web.report_charts import Series, bar_chart
from helpline.web.views.decorators import AgentRequest, agent_view

UNIT_LABELS = {
    "day": gettext_lazy("per day"),
    "week": gettext_lazy("per week"),
    "month": gettext_lazy("per month"),
}


class ReportForm(forms.Form):
    # Plain numbers: whether the agent may see them is the domain's question
    # (``build_report``), answered the same for the page, the CSV and the API.
    queue = forms.IntegerField(required=False)
    group = forms.IntegerField(required=False)
    agent = forms.IntegerField(required=False)
    unit = forms.ChoiceField(choices=[(u, u) for u in UNITS], required=False)
    start = forms.DateField(required=False)
    end = forms.DateField(required=False)

    def __init__(self, data: Any, *, agent: Any) -> None:
        super().__init__(data)
        queues = visible_report_queues(agent)
        all_label = _("all you may read")
        self.choices: dict[str, list[tuple[Any, str]]] = {}
        self.choices["queue"] = [("", all_label)] + [(q.pk, q.name) for q in queues]
        groups = Group.objects.filter(pk__in={q.group_id for q in queues})
        self.choices["group"] = [("", all_label)] + [
            (g.pk, g.name) for g in groups.order_by("name")
        ]
        if agent.is_superuser:
            people = (
                get_user_model().objects.filter(is_active=True).order_by("username")
            )
        else:
            people = get_user_model().objects.filter(pk=agent.pk)
        self.choices["agent"] = [("", _("whole queues"))] + [
            (p.pk, p.get_username()) for p in people
        ]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return _("%(n)d s") % {"n": round(seconds)}
    if seconds < 90 * 60:
        return _("%(n)d min") % {"n": round(seconds / 60)}
    if seconds < 36 * 3600:
        return _("%(n)s h") % {"n": local_format.number(seconds / 3600, 1)}
    return _("%(n)s d") % {"n": local_format.number(seconds / 86400, 1)}


def _params(request: AgentRequest) -> dict[str, Any]:
    form = ReportForm(request.GET, agent=request.user)
    if not form.is_valid():
        raise InvalidInput(
            _("These report settings are not valid: %(fields)s.")
            % {"fields": ", ".join(form.errors)}
        )
    data = form.cleaned_data
    today = timezone.localdate()
    end = data["end"] or today
    unit = data["unit"] or "week"
    start = data["start"] or end - timedelta(days=7 * 12 - 1)
    return {
        "start": start,
        "end": end,
        "unit": unit,
        "queue_id": data["queue"],
        "group_id": data["group"],
        "agent_id": data["agent"],
    }


def _label(first: date, unit: str) -> str:
    """The period as the agent's language writes it (the CSV keeps ISO days)."""
    if unit == "month":
        return local_format.formatted(first, "YEAR_MONTH_FORMAT")
    return local_format.short_date(first)


def _charts(report: Report) -> list[Any]:
    labels = [_label(p.first, report.unit) for p in report.periods]
    figures = [p.figures for p in report.periods]
    charts = [
        bar_chart(
            "c-volume",
            _("Tickets received, answered, closed"),
            labels,
            [
                Series(_("received"), [f.received for f in figures]),
                Series(_("answered"), [f.answered for f in figures]),
                Series(_("closed"), [f.closed for f in figures]),
            ],
            axis_label=_("tickets"),
        ),
        bar_chart(
            "c-response",
            _("First response and handling time (hours)"),
            labels,
            [
                Series(
                    _("first response, median"),
                    [_hours(f.first_response_median) for f in figures],
                ),
                Series(
                    _("first response, 90th percentile"),
                    [_hours(f.first_response_p90) for f in figures],
                ),
                Series(
                    _("handling, median"), [_hours(f.handling_median) for f in figures]
                ),
            ],
            axis_label=_("hours"),
        ),  # fmt: skip
    ]
    if report.total.backlog_ages is not None:
        ages = age_labels()
        charts.append(
            bar_chart(
                "c-backlog",
                _("Backlog at the end of each period, by age"),
                labels,
                [
                    Series(
                        ages[i],
                        [(f.backlog_ages or [0] * len(ages))[i] for f in figures],
                    )
                    for i in range(len(ages))
                ],
                stacked=True,
                axis_label=_("open tickets"),
            )  # fmt: skip
        )
    return charts


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _row(label: str, f: Figures) -> dict[str, Any]:
    return {
        "label": label,
        "figures": f,
        "first_median": _duration(f.first_response_median),
        "first_p90": _duration(f.first_response_p90),
        "handling_median": _duration(f.handling_median),
        "handling_p90": _duration(f.handling_p90),
    }


@agent_view
def reports(request: AgentRequest) -> HttpResponse:
    params = _params(request)
    report = build_report(request.user, **params)
    form = ReportForm(request.GET or None, agent=request.user)
    context = {
        "form": form,
        "report": report,
        "params": params,
        "unit_label": UNIT_LABELS[report.unit],
        "charts": _charts(report),
        "age_labels": age_labels(),
        "rows": [_row(_label(p.first, report.unit), p.figures) for p in report.periods],
        "total": _row(_("Total"), report.total),
        "by_queue": [_row(q.name, f) for q, f in report.by_queue],
        "csv_query": request.GET.urlencode(),
        "subscribed": report_mail_subscribed(request.user),
    }
    return render(request, "helpline/reports.html", context)


CSV_HEADER = [
    "period_start", "period_end", "received", "answered", "closed",
    "first_response_median_s", "first_response_p90_s", "handling_median_s",
    "handling_p90_s", "backlog",
]  # fmt: skip


def _seconds(value: float | None) -> str:
    return "" if value is None else str(round(value))


@agent_view
def reports_csv(request: AgentRequest) -> HttpResponse:
    params = _params(request)
    report = build_report(request.user, **params)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="helpline-report.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER + [f"backlog_{label}" for label in age_labels()])
    for period in report.periods:
        f = period.figures
        writer.writerow(
            [
                period.first.isoformat(), period.last.isoformat(), f.received,
                f.answered, f.closed, _seconds(f.first_response_median),
                _seconds(f.first_response_p90), _seconds(f.handling_median),
                _seconds(f.handling_p90),
                "" if f.backlog is None else f.backlog,
                *(f.backlog_ages or []),
            ]
        )  # fmt: skip
    return response


@agent_view
def report_mail(request: AgentRequest) -> HttpResponse:
    """Subscribe to the weekly report mail, or end it (POST)."""
    if request.method != "POST":
        return HttpResponse(status=405)
    on = request.POST.get("subscribe") == "1"
    set_report_mail(request.user, request.user, subscribed=on)
    messages.success(
        request,
        _("You will get this report by mail every Monday.")
        if on
        else _("You will no longer get the report by mail."),
    )
    return redirect("reports")
