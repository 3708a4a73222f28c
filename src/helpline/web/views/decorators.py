"""The wrapper of every agent view: a logged-in agent, and domain errors as pages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from helpline.errors import HelplineError, NotFound, PermissionDenied
from helpline.web import inline_images

View = Callable[..., HttpResponseBase]

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    class AgentRequest(HttpRequest):
        """What an ``agent_view`` receives: a request of a logged-in agent."""

        user: User

else:
    AgentRequest = HttpRequest


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def error_page(request: HttpRequest, exc: HelplineError) -> HttpResponse:
    """A domain error as a page in the layout (or a fragment for htmx)."""
    if isinstance(exc, NotFound):
        title = _("Not found")
    elif isinstance(exc, PermissionDenied):
        title = _("Not allowed")
    else:
        title = _("That did not work")
    template = (
        "helpline/partials/error.html" if is_htmx(request) else "helpline/error.html"
    )
    return render(
        request,
        template,
        {"title": title, "message": exc.message},
        status=exc.http_status,
    )


def agent_view(view: View) -> View:
    """Require a logged-in agent; turn ``HelplineError`` into a clear error page."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            login = reverse("login")
            if is_htmx(request):
                response = HttpResponse(status=401)
                response["HX-Redirect"] = login
                return response
            return redirect_to_login(request.get_full_path(), login)
        try:
            return view(request, *args, **kwargs)
        except HelplineError as exc:
            return error_page(request, exc)

    return wrapped


def image_token_access(view: View) -> View:
    """Let a signed image token stand in for the session cookie (wrap an agent_view).

    Images inside an e-mail's sandboxed frame are requested without the session cookie
    (see ``helpline.web.inline_images``); their URL carries a token naming the agent
    and the attachment.  Without a session, a valid token makes its agent this
    request's user; the view still checks that agent's access as for any request.
    """

    @functools.wraps(view)
    def wrapped(
        request: HttpRequest, number: str, attachment_id: int, **kwargs: Any
    ) -> HttpResponseBase:
        if not request.user.is_authenticated:
            agent = inline_images.agent_from_token(
                request.GET.get("t", ""), attachment_id
            )
            if agent is not None:
                request.user = agent
        return view(request, number, attachment_id, **kwargs)

    return wrapped
