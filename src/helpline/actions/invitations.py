"""Inviting an agent by email (docs/administration.md): a new agent without a
password, its first grants, and a time-limited link on which it sets one.

The link carries a signed token (``django.core.signing``, salted for invitations)
naming the agent, with the time it was made and a digest of the agent's password hash
and last login: it expires after ``HELPLINE_INVITATION_DAYS`` and works once, since
setting the password changes the hash.  An agent deactivated meanwhile cannot use it.
The mail itself goes through the outbox (``helpline.responses.invitation``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac

from helpline.actions import admin as admin_actions
from helpline.actions import permission_admin as pa
from helpline.errors import InvalidInput, NotFound, PermissionDenied
from helpline.models import AgentProfile

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

SALT = "helpline.invitation"


def days() -> int:
    return int(getattr(settings, "HELPLINE_INVITATION_DAYS", 7))


def may_invite(actor: Agent | None) -> bool:
    return pa.is_permission_admin(actor) and bool(
        actor is not None and actor.has_perm("auth.add_user")
    )


def _state(agent: Agent) -> str:
    login = agent.last_login.isoformat() if agent.last_login else ""
    return salted_hmac(SALT, f"{agent.pk}:{agent.password}:{login}").hexdigest()[:32]


def make_token(agent: Agent) -> str:
    return signing.dumps({"a": agent.pk, "s": _state(agent)}, salt=SALT, compress=True)


def agent_for_token(token: str, *, for_update: bool = False) -> Any:
    """The invited agent, or ``NotFound`` for a link forged, expired or used."""
    gone = NotFound("This invitation link is not valid: it has expired or was used.")
    try:
        data = signing.loads(token, salt=SALT, max_age=days() * 86400)
    except signing.BadSignature:
        raise gone from None
    if not isinstance(data, dict) or not isinstance(data.get("a"), int):
        raise gone
    agents = get_user_model().objects.filter(pk=data["a"], is_active=True)
    agent = (agents.select_for_update() if for_update else agents).first()
    if agent is None or not constant_time_compare(str(data.get("s")), _state(agent)):
        raise gone
    return agent


def invite_agent(
    actor: Agent | None,
    *,
    login: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    grants: list[tuple[int, str]] = (),  # type: ignore[assignment]
    language: str | None = None,
) -> Any:
    """Create the invited agent, without a password, with its first grants ((group
    id, permission) pairs, through ``permission_admin``: audited) and its language
    (a code of settings.LANGUAGES; the agent may change it later).  The caller sends
    the mail in the same transaction."""
    if not may_invite(actor):
        raise PermissionDenied("Only administrators who may add agents invite them.")
    login = login.strip()
    if not login:
        raise InvalidInput("An invited agent needs a login.")
    codes = [code for code, _name in settings.LANGUAGES]
    if language is not None and language not in codes:
        raise InvalidInput(
            f"Unknown language {language!r}; choose one of {', '.join(codes)}."
        )
    with transaction.atomic():
        agent = admin_actions.create_agent(
            login,
            email=email,
            password=None,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            actor=actor,
        )
        if language is not None:
            AgentProfile.objects.filter(user=agent).update(language=language)
        changes = [pa.Change(True, "a", agent.pk, g, p) for g, p in grants]
        pa.bulk_change_grants(actor, changes)
        admin_actions.record(actor, "invited", agent, object_type="agent")
    return agent


def accept_invitation(token: str, password: str) -> Any:
    """Set the invited agent's password (Django's rules apply); the link then stops
    working.  Returns the agent."""
    with transaction.atomic():
        agent = agent_for_token(token, for_update=True)
        admin_actions.set_agent_password(agent, agent, password)
    return agent
