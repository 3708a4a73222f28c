"""The relying party: the authorisation code flow with PKCE (S256), state and nonce,
against the provider named by HELPLINE_OIDC_ISSUER.

Authlib makes the PKCE verifier and challenge and the random values; joserfc (Authlib's
JOSE library) checks the ID token's signature against the provider's published keys
(JWKS) and its iss, aud, exp, iat and nonce.  Nothing here trusts the browser: the
state, nonce and verifier are kept in the session and used once."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.conf import settings
from joserfc import jwk, jwt
from joserfc.errors import JoseError

from helpline.actions.sso import Identity

log = logging.getLogger("helpline.sso")

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


class OidcError(Exception):
    """Sign-in failed; ``message`` is for the person, ``detail`` for the log."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message
        self.detail = detail or message


@dataclass(frozen=True)
class Pending:
    """What the session keeps between the redirect to the provider and the return."""

    state: str
    nonce: str
    verifier: str
    next: str

    def as_dict(self) -> dict[str, str]:
        return {
            "state": self.state,
            "nonce": self.nonce,
            "verifier": self.verifier,
            "next": self.next,
        }


def enabled() -> bool:
    return bool(settings.HELPLINE_OIDC_ISSUER and settings.HELPLINE_OIDC_CLIENT_ID)


def _open(url: str, form: dict[str, str] | None = None, *, client: bool = False) -> Any:
    """GET ``url`` (or POST ``form`` to it) and read its JSON answer; ``client``: as
    this client (HTTP Basic, client_secret_basic, the OpenID Connect default)."""
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise OidcError("The identity provider is misconfigured.", f"bad URL {url!r}")
    request = urllib.request.Request(  # noqa: S310 (http or https, checked above)
        url,
        data=urllib.parse.urlencode(form).encode() if form is not None else None,
        headers={"Accept": "application/json"},
    )
    if client:
        pair = ":".join(
            urllib.parse.quote(part, safe="")
            for part in (
                settings.HELPLINE_OIDC_CLIENT_ID,
                settings.HELPLINE_OIDC_CLIENT_SECRET,
            )
        )
        request.add_header(
            "Authorization", f"Basic {b64encode(pair.encode()).decode()}"
        )
    try:
        with urllib.request.urlopen(  # noqa: S310 (http or https, checked above)
            request, timeout=settings.HELPLINE_OIDC_TIMEOUT
        ) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()[:2000].decode("utf-8", "replace")
        try:
            answer = json.loads(body)
        except ValueError:
            answer = {}
        raise OidcError(
            "The identity provider refused the sign-in. Please try again.",
            f"{url}: HTTP {exc.code}: {answer.get('error', '')} "
            f"{answer.get('error_description', '') or body[:200]}",
        ) from exc
    except (OSError, ValueError) as exc:
        raise OidcError(
            "The identity provider cannot be reached. Please try again later.",
            f"{url}: {exc}",
        ) from exc


def metadata() -> dict[str, Any]:
    """The provider's discovery document, whose issuer must be ours exactly."""
    issuer = settings.HELPLINE_OIDC_ISSUER
    document = _open(f"{issuer}/.well-known/openid-configuration")
    if (
        not isinstance(document, dict)
        or document.get("issuer", "").rstrip("/") != issuer
    ):
        raise OidcError(
            "The identity provider is misconfigured.",
            f"discovery names issuer {document.get('issuer')!r}, expected {issuer!r}",
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str):
            raise OidcError("The identity provider is misconfigured.", f"no {key}")
    return document


def begin(redirect_uri: str, next_url: str) -> tuple[str, Pending]:
    """The provider's authorisation URL to send the browser to, and what to keep."""
    document = metadata()
    pending = Pending(
        state=generate_token(43),
        nonce=generate_token(43),
        verifier=generate_token(64),
        next=next_url,
    )
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": settings.HELPLINE_OIDC_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": settings.HELPLINE_OIDC_SCOPES,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": create_s256_code_challenge(pending.verifier),
            "code_challenge_method": "S256",
        }
    )
    return f"{document['authorization_endpoint']}?{query}", pending


def finish(
    params: dict[str, str], pending: dict[str, str] | None, redirect_uri: str
) -> tuple[Identity, str]:
    """Check the provider's answer and exchange its code; the identity and the raw ID
    token (kept for logging out at the provider)."""
    if not pending or not params.get("state") or params["state"] != pending["state"]:
        # A sign-in this browser did not start (login CSRF), or one finished already.
        raise OidcError(
            "This sign-in was not started here or has expired. Please sign in again.",
            "state missing or not the session's",
        )
    if params.get("error"):
        raise OidcError(
            "The identity provider did not sign you in.",
            f"{params['error']}: {params.get('error_description', '')}",
        )
    if not params.get("code"):
        raise OidcError("The identity provider sent no code.", "no code")
    document = metadata()
    tokens = _open(
        document["token_endpoint"],
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": pending["verifier"],
        },
        client=True,
    )
    id_token = tokens.get("id_token") if isinstance(tokens, dict) else None
    if not isinstance(id_token, str):
        raise OidcError("The identity provider sent no ID token.", "no id_token")
    claims = validate_id_token(id_token, nonce=pending["nonce"], document=document)
    return identity_of(claims), id_token


def validate_id_token(
    id_token: str, *, nonce: str, document: dict[str, Any]
) -> dict[str, Any]:
    """The ID token's claims, once its signature (the provider's JWKS), issuer,
    audience, expiry, issue time and nonce are right."""
    keys = _open(document["jwks_uri"])
    refused = "The identity provider's answer could not be verified."
    try:
        key_set = jwk.KeySet.import_key_set(keys)
        token = jwt.decode(id_token, key_set, algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=settings.HELPLINE_OIDC_LEEWAY,
            iss={"essential": True, "value": settings.HELPLINE_OIDC_ISSUER},
            aud={"essential": True, "value": settings.HELPLINE_OIDC_CLIENT_ID},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(token.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise OidcError(refused, f"ID token refused: {exc!r}") from exc
    claims = dict(token.claims)
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != settings.HELPLINE_OIDC_CLIENT_ID:
        raise OidcError(refused, "ID token for several audiences, azp not ours")
    return claims


def identity_of(claims: dict[str, Any]) -> Identity:
    def text(name: str) -> str:
        value = claims.get(name) if name else None
        return value.strip() if isinstance(value, str) else ""

    groups_claim = settings.HELPLINE_OIDC_GROUPS_CLAIM
    raw = claims.get(groups_claim, []) if groups_claim else []
    groups = frozenset(
        g for g in (raw if isinstance(raw, list) else []) if isinstance(g, str)
    )
    amr = claims.get("amr")
    methods = [m for m in amr if isinstance(m, str)] if isinstance(amr, list) else []
    if isinstance(claims.get("acr"), str):
        methods.append(claims["acr"])
    wanted = set(settings.HELPLINE_OIDC_MFA_VALUES)
    return Identity(
        login=text(settings.HELPLINE_OIDC_LOGIN_CLAIM),
        email=text(settings.HELPLINE_OIDC_EMAIL_CLAIM),
        name=text(settings.HELPLINE_OIDC_NAME_CLAIM),
        groups=groups,
        second_factor=bool(wanted.intersection(methods)),
    )


def logout_url(id_token: str, post_logout_redirect_uri: str) -> str | None:
    """Where to send the browser to end the provider's session too (None: nowhere)."""
    try:
        endpoint = metadata().get("end_session_endpoint")
    except OidcError as exc:
        log.warning("single sign-on logout: %s", exc.detail)
        return None
    if not isinstance(endpoint, str):
        return None
    query = urllib.parse.urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "client_id": settings.HELPLINE_OIDC_CLIENT_ID,
        }
    )
    return f"{endpoint}?{query}"
