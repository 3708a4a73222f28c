"""The agent's own settings: language, article order, followed queues, notifications."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from helpline.actions.access import queues_with
from helpline.models import AgentProfile, Permission
from helpline.responses.notify import Event
from helpline.web import forms
from helpline.web.views.auth import set_language
from helpline.web.views.decorators import AgentRequest, agent_view


@agent_view
def preferences(request: AgentRequest) -> HttpResponse:
    agent = request.user
    profile, _created = AgentProfile.objects.get_or_create(user=agent)
    queues = queues_with(agent, Permission.RO)
    kinds = [e.value for e in Event]
    form = forms.PreferencesForm(
        request.POST or None,
        queues=queues,
        initial={
            "language": profile.language,
            "article_order": profile.article_order,
            "followed_queues": list(profile.followed_queues.all()),
            "notifications": [k for k in kinds if k not in profile.notifications_off],
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # The agent's own profile (not ticket data): saved here, field by field.
        profile.language = data["language"]
        profile.article_order = data["article_order"]
        profile.notifications_off = [k for k in kinds if k not in data["notifications"]]
        profile.save(update_fields=["language", "article_order", "notifications_off"])
        profile.followed_queues.set(data["followed_queues"])
        response = redirect("preferences")
        set_language(response, profile.language)
        messages.success(request, _("Your preferences were saved."))
        return response
    return render(request, "helpline/preferences.html", {"form": form})
