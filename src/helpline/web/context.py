"""Template context every agent page needs: shortcuts for the help overlay, polling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from helpline.actions import (
    mail_admin,
    permission_admin,
    privacy_rights,
    saved_searches,
)
from helpline.sso import oidc
from helpline.sso.backends import password_login_mode
from helpline.web import nav_counts

T = TypeVar("T")

# (keys, what they do): shown by "?" and in docs/web.md.  app.js implements them:
# global keys there, ticket keys through data-key attributes on the zoom's buttons.
SHORTCUTS = [
    ("?", _("Show or hide this help")),
    ("/", _("Search")),
    ("g d", _("Go to the dashboard")),
    ("g q", _("Go to the queues")),
    ("g l", _("Go to my locked tickets")),
    ("j / k", _("Next / previous ticket in a list")),
    ("Enter", _("Open the selected ticket")),
    ("x", _("Select the ticket for a bulk action")),
    ("r", _("Reply")),
    ("a", _("Reply to all")),
    ("f", _("Forward")),
    ("n", _("Add a note")),
    ("p", _("Record a phone call")),
    ("l", _("Lock or unlock")),
    ("c", _("Close")),
    ("m", _("Merge")),
    ("v", _("Move to another queue")),
    ("o", _("Change the owner")),
    ("s", _("Change the state")),
    ("w", _("Watch or stop watching")),
    ("!", _("Spam: to the junk queue, learned as spam (also on a selection)")),
    (
        "N",
        _("Not spam: back from the junk queue, learned as ham (also on a selection)"),
    ),
    ("Esc", _("Close a dialog or leave a field")),
]


def helpline(request: HttpRequest) -> dict[str, Any]:
    return {
        "shortcuts": SHORTCUTS,
        "is_htmx": request.headers.get("HX-Request") == "true",
        # How often the zoom and the reply screen ask who else is on the ticket.
        "poll_seconds": getattr(settings, "HELPLINE_PRESENCE_POLL_SECONDS", 10),
        # The login page: single sign-on offered, password form on/off/breakglass.
        "sso_enabled": oidc.enabled(),
        "sso_name": settings.HELPLINE_OIDC_DISPLAY_NAME,
        "password_login": password_login_mode(),
        # Called by the template only where the navigation is drawn (one query).
        "may_administer_permissions": lambda: permission_admin.may_administer(
            getattr(request, "user", None)
        ),
        # Mail and states (adminmail): system addresses, mail accounts, filters, states.
        "may_administer_mail": lambda: bool(
            mail_admin.screens_for(getattr(request, "user", None))
        ),
        "may_audit_reads": lambda: privacy_rights.may_audit(
            getattr(request, "user", None)
        ),
        # The navigation's counts (web.nav_counts), where the template draws them.
        "nav_mentions": lambda: _for_agent(request, nav_counts.mention_count, 0),
        "nav_searches": lambda: _for_agent(request, nav_counts.search_counts, None),
        "share_groups": lambda: _for_agent(request, saved_searches.share_groups, None),
    }


def _for_agent(
    request: HttpRequest, count: Callable[[Any], T], default: T | None
) -> T | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return default
    return count(user)
