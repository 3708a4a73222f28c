"""API tokens: issuing, revoking and recognising the bearer tokens of the REST API.

A token is shown once, when it is created; only its SHA-256 is stored.  Tokens are 256
random bits, so a fast hash is enough (there is nothing to brute-force), and the lookup
is by that hash, in one query.  Issuing and revoking are logged on ``helpline.audit``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from helpline.errors import InvalidInput, NotFound
from helpline.models import ApiToken, TokenScope

audit = logging.getLogger("helpline.audit")

# Every token starts with this, so that secret scanners and people recognise one.
TOKEN_PREFIX = "hlp_"  # noqa: S105 - a marker, not a secret
# Characters shown in listings: the marker and a few random ones.
SHOWN_CHARS = 12
# last_used is written at most this often per token: not one UPDATE per request.
LAST_USED_PRECISION = timedelta(minutes=1)
MAX_EXPIRY_DAYS = 3650


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    # The bearer secret; it exists only in this object and is never stored.
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    agent: Any,
    *,
    name: str = "",
    expires_in_days: int | None = None,
    scope: str = TokenScope.WRITE,
) -> IssuedToken:
    """Issue a new token for ``agent``; the secret is in the result, only there.
    ``scope`` ``read`` allows only reading requests (GET, HEAD)."""
    name = " ".join(name.split())[:100] or "API token"
    if not agent.is_active:
        raise InvalidInput(f"Agent {agent.get_username()} is switched off.")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise InvalidInput(f"Expiry must be 1 to {MAX_EXPIRY_DAYS} days.")
    if scope not in TokenScope.values:
        raise InvalidInput(f"Scope must be one of {', '.join(TokenScope.values)}.")
    now = timezone.now()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        agent=agent,
        name=name,
        prefix=secret[:SHOWN_CHARS],
        token_hash=hash_secret(secret),
        created=now,
        expires=now + timedelta(days=expires_in_days) if expires_in_days else None,
        scope=scope,
    )
    audit.info(
        "API token %s (%s, %s) issued to %s",
        token.pk,
        token.prefix,
        scope,
        agent.get_username(),
    )
    return IssuedToken(token=token, secret=secret)


def get_tokens(agent: Any) -> QuerySet[ApiToken]:
    """The agent's tokens, oldest first, revoked and expired ones included."""
    return ApiToken.objects.filter(agent=agent).order_by("created", "id")


def revoke_token(token_id: int, *, agent: Any | None = None) -> ApiToken:
    """Revoke a token for good.  With ``agent``, only one of that agent's own tokens.

    Revoking a revoked token changes nothing (the first revocation time stays).
    """
    tokens = ApiToken.objects.select_related("agent")
    if agent is not None:
        tokens = tokens.filter(agent=agent)
    token = tokens.filter(pk=token_id).first()
    if token is None:
        raise NotFound(f"No API token {token_id}.")
    if token.revoked is None:
        token.revoked = timezone.now()
        token.save(update_fields=["revoked"])
        audit.info(
            "API token %s (%s) of %s revoked",
            token.pk,
            token.prefix,
            token.agent.get_username(),
        )
    return token


def authenticate_token(secret: str) -> ApiToken | None:
    """The token behind ``secret`` with its agent, or None when it does not open
    the API: unknown, revoked, expired, or its agent is switched off."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = (
        ApiToken.objects.select_related("agent")
        .filter(token_hash=hash_secret(secret))
        .first()
    )
    now = timezone.now()
    if (
        token is None
        or token.revoked is not None
        or (token.expires is not None and token.expires <= now)
        or not token.agent.is_active
    ):
        return None
    if token.last_used is None or now - token.last_used >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token
