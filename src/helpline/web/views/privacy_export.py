"""Subject-access exports (GDPR Art. 15) for holders of ``handle_personal_data``: ask
for one, watch it being written by the worker, download it once.

The download is a POST (a button), so that no link prefetch or crawler can use up
the one download; the page reloads itself while an export is being written.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from helpline.actions import subject_access
from helpline.jobs import subject_access_export_job
from helpline.models import ReadChannel
from helpline.web.audit import client_of
from helpline.web.downloads import content_disposition
from helpline.web.middleware import DOWNLOAD_POLICY
from helpline.web.views.decorators import AgentRequest, agent_view


class ExportForm(forms.Form):
    address = forms.EmailField(
        label=gettext_lazy("The person's email address"),
        max_length=320,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    include_internal = forms.BooleanField(
        label=gettext_lazy(
            "Include internal notes and messages to third parties (not shown to "
            "the person by default)"
        ),
        required=False,
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the summary"), choices=settings.LANGUAGES
    )


@agent_view
@require_http_methods(["GET", "POST"])
def exports_page(request: AgentRequest) -> HttpResponse:
    agent = request.user
    exports = subject_access.exports_of(agent)  # refuses anyone without the right
    form = ExportForm(request.POST or None, initial={"language": get_language()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        run = subject_access.request_export(
            agent,
            data["address"],
            include_internal=data["include_internal"],
            language=data["language"],
            channel=ReadChannel.WEB,
            client=client_of(request),
        )
        subject_access_export_job(run.pk)
        messages.success(
            request,
            _("Export %(id)d is being written; this page shows when it is ready.")
            % {"id": run.pk},
        )
        return redirect("privacy-exports")
    response = render(
        request,
        "helpline/privacy_exports.html",
        {
            "form": form,
            "exports": exports,
            "keep_days": settings.HELPLINE_SUBJECT_ACCESS_EXPORT_DAYS,
        },
    )
    if any(e.status in {"pending", "running"} for e in exports):
        response["Refresh"] = "5"  # until the worker has written it
    return response


@agent_view
def export_download(
    request: AgentRequest, export_id: int
) -> FileResponse | HttpResponseNotAllowed:
    # Who may ask is answered first (403, 404), as on every URL; then how.
    subject_access.get_export(request.user, export_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    taken = subject_access.take_download(request.user, export_id)
    response = FileResponse(taken.handle, content_type="application/zip")
    response["Content-Length"] = str(taken.size)
    response["Content-Disposition"] = content_disposition(taken.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_POLICY
    response["Cache-Control"] = "private, no-store"
    return response
