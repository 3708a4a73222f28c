"""The agent's own settings: language, time zone, article order, followed queues,
notifications."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from helpline.actions.access import queues_with
from helpline.actions.events import Event
from helpline.actions.preferences import get_preferences, set_preferences
from helpline.models import Permission
from helpline.web import forms
from helpline.web.views.auth import set_language
from helpline.web.views.decorators import AgentRequest, agent_view


@agent_view
def preferences(request: AgentRequest) -> HttpResponse:
    agent = request.user
    current = get_preferences(agent)
    kinds = [e.value for e in Event]
    form = forms.PreferencesForm(
        request.POST or None,
        queues=queues_with(agent, Permission.RO),
        initial={
            "language": current.language,
            "time_zone": current.time_zone,
            "article_order": current.article_order,
            "followed_queues": sorted(current.followed_queue_ids),
            "notifications": [k for k in kinds if k not in current.notifications_off],
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # The form already refuses what the action would (a choice that is not
        # offered); the action checks again, as for every entry point.
        saved = set_preferences(
            agent,
            language=data["language"],
            time_zone=data["time_zone"],
            article_order=data["article_order"],
            followed_queue_ids=[q.pk for q in data["followed_queues"]],
            # The form lists the notifications that are on; stored are those off.
            notifications_off=[k for k in kinds if k not in data["notifications"]],
        )
        response = redirect("preferences")
        set_language(response, saved.language)
        messages.success(request, _("Your preferences were saved."))
        return response
    return render(request, "helpline/preferences.html", {"form": form})
