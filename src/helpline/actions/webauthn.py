"""Security keys and passkeys as a second factor (WebAuthn, with py_webauthn;
docs/authentication.md).

An agent registers a key under its preferences: the server makes the options (a
fresh challenge the caller keeps in the session), the browser has the authenticator
create a credential, and ``finish_registration`` verifies the attestation against
that challenge, the relying party id and the origin before storing the credential.
At the second login step ``verify_assertion`` checks a signature made with one of
the agent's keys over a fresh challenge, and that the signature counter grew.
Removing a key needs the agent's password; every change is written to the
administration log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from helpline.actions.admin import record
from helpline.actions.twofactor import has_authenticator_app, policies_for
from helpline.errors import InvalidInput, PermissionDenied
from helpline.models import WebAuthnCredential

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

audit = logging.getLogger("helpline.audit")

RP_NAME = "Helpline"
MAX_KEYS = 20


@dataclass(frozen=True)
class RelyingParty:
    """Where the browser talks to us: the RP id (a host name) and the origin."""

    rp_id: str
    origin: str


def keys_of(agent: Agent) -> list[WebAuthnCredential]:
    return list(WebAuthnCredential.objects.filter(agent=agent))


def has_keys(agent: Agent) -> bool:
    return WebAuthnCredential.objects.filter(agent=agent).exists()


def _descriptors(agent: Agent) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=base64url_to_bytes(c))
        for c in WebAuthnCredential.objects.filter(agent=agent).values_list(
            "credential_id", flat=True
        )
    ]


def registration_options(agent: Agent, rp: RelyingParty) -> tuple[str, str]:
    """The options for ``navigator.credentials.create`` (JSON) and their challenge
    (base64url, to keep in the session)."""
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=RP_NAME,
        user_id=f"helpline-agent-{agent.pk}".encode(),
        user_name=agent.get_username(),
        user_display_name=agent.get_full_name() or agent.get_username(),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(agent),
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def finish_registration(
    agent: Agent, rp: RelyingParty, *, response: str, challenge: str, name: str
) -> WebAuthnCredential:
    """Verify the browser's answer to ``registration_options`` and store the key."""
    name = (name or "").strip()[:100] or "security key"
    if not challenge:
        raise InvalidInput("Start adding the key again: no registration waits.")
    try:
        verified = verify_registration_response(
            credential=response,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        audit.info("webauthn registration refused for %s: %s", agent.pk, exc)
        raise InvalidInput("The security key could not be registered.") from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    with transaction.atomic():
        if WebAuthnCredential.objects.filter(agent=agent).count() >= MAX_KEYS:
            raise InvalidInput(f"At most {MAX_KEYS} security keys per agent.")
        if WebAuthnCredential.objects.filter(credential_id=credential_id).exists():
            raise InvalidInput("This security key is already registered.")
        key = WebAuthnCredential.objects.create(
            agent=agent,
            name=name,
            credential_id=credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
        )
        record(
            agent,
            "security key added",
            agent,
            object_type="agent",
            after={"security key": name},
        )
    return key


def authentication_options(agent: Agent, rp: RelyingParty) -> tuple[str, str]:
    """The options for ``navigator.credentials.get`` with ``agent``'s keys (JSON)
    and their challenge (base64url)."""
    descriptors = _descriptors(agent)
    if not descriptors:
        raise InvalidInput("You have no security key.")
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        allow_credentials=descriptors,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def _credential_id_of(response: str) -> str:
    import json

    try:
        data = json.loads(response)
    except ValueError:
        return ""
    raw = data.get("rawId") or data.get("id") if isinstance(data, dict) else None
    return raw if isinstance(raw, str) else ""


def verify_assertion(
    agent: Agent, rp: RelyingParty, *, response: str, challenge: str
) -> bool:
    """Is ``response`` a valid signature over ``challenge`` by one of ``agent``'s
    keys, with a signature counter that grew (or stays 0 for keys without one)?"""
    if not challenge or not agent.is_active:
        return False
    credential_id = _credential_id_of(response)
    with transaction.atomic():
        key = (
            WebAuthnCredential.objects.select_for_update()
            .filter(agent=agent, credential_id=credential_id)
            .first()
        )
        if key is None:
            return False
        try:
            verified = verify_authentication_response(
                credential=response,
                expected_challenge=base64url_to_bytes(challenge),
                expected_rp_id=rp.rp_id,
                expected_origin=rp.origin,
                credential_public_key=bytes(key.public_key),
                credential_current_sign_count=key.sign_count,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
            audit.info("webauthn assertion refused for %s: %s", agent.pk, exc)
            return False
        key.sign_count = verified.new_sign_count
        key.last_used = timezone.now()
        key.save(update_fields=["sign_count", "last_used"])
    return True


def remove_key(agent: Agent, key_id: int, *, password: str) -> None:
    """Remove one of ``agent``'s keys (with its password)."""
    if not agent.check_password(password):
        raise PermissionDenied("The password is not right.")
    with transaction.atomic():
        key = WebAuthnCredential.objects.filter(agent=agent, pk=key_id).first()
        if key is None:
            raise InvalidInput("No such security key.")
        last = not has_authenticator_app(agent) and not (
            WebAuthnCredential.objects.filter(agent=agent).exclude(pk=key.pk).exists()
        )
        if last and policies_for(agent):
            raise PermissionDenied(
                "Two-factor authentication is required for you: add another key "
                "or an authenticator app before removing your last key."
            )
        key.delete()
        record(
            agent,
            "security key removed",
            agent,
            object_type="agent",
            before={"security key": key.name},
        )
