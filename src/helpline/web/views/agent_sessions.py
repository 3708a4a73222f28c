"""The agent's own sessions: where it is logged in, and ending any or all others."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from helpline.actions import sessions
from helpline.errors import InvalidInput
from helpline.web.views.decorators import AgentRequest, agent_view


@agent_view
@require_http_methods(["GET", "POST"])
def sessions_view(request: AgentRequest) -> HttpResponse:
    agent = request.user
    current = request.session.session_key or ""
    if request.method == "POST":
        if "end_others" in request.POST:
            count = sessions.end_other_sessions(agent, keep_key=current)
            messages.success(
                request, _("%(count)d other session(s) ended.") % {"count": count}
            )
        else:
            try:
                session_id = int(request.POST.get("end", ""))
            except ValueError as exc:
                raise InvalidInput(_("Which session?")) from exc
            sessions.end_session(agent, session_id)
            messages.success(request, _("The session was ended."))
        return redirect("sessions")
    current_hash = sessions.hash_key(current) if current else ""
    rows = [
        {"row": row, "current": row.key_hash == current_hash}
        for row in sessions.get_sessions(agent)
    ]
    return render(request, "helpline/sessions.html", {"sessions": rows})
