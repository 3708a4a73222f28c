"""Images an e-mail carries as its own parts, shown inside its HTML.

The HTML part is shown in a sandboxed frame whose origin is opaque, so the browser
counts the frame's image requests as cross-site and leaves out the session cookie
(``SameSite=Lax``).  Each image URL therefore carries a short-lived signed token naming
the agent and the attachment.  The view that serves the image still fetches the ticket
with ``access_ticket`` for that agent: a token is never more than the agent's own access,
and it ends with it.

Only raster images are shown inline, and only when the bytes are what the type says:
PNG, JPEG, GIF and WebP.  SVG (which can carry script), HTML and everything else stay
downloads.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import reverse

from helpline.models import Attachment, Ticket

__all__ = [
    "TOKEN_MAX_AGE",
    "agent_from_token",
    "image_sources",
    "image_token",
    "raster_type",
]

# Long enough for a slow page to fetch its images, short enough that a copied URL is
# soon worthless.
TOKEN_MAX_AGE = 600
_SALT = "helpline.web.inline_images"
# Declared type -> the type served when the bytes agree.
_RASTER = {
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/gif": "image/gif",
    "image/webp": "image/webp",
}


def _base_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_raster(content_type: str) -> bool:
    return _base_type(content_type) in _RASTER


def _signature_type(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def raster_type(content_type: str, data: bytes) -> str | None:
    """The type to show ``data`` inline with, or None: then it is a download.

    Both the declared type and the bytes must be one of the raster formats; the bytes
    decide which (a JPEG labelled ``image/png`` is still a JPEG).
    """
    if not is_raster(content_type):
        return None
    return _signature_type(data)


def image_token(agent: Any, attachment_id: int) -> str:
    signer = signing.TimestampSigner(salt=_SALT)
    return signer.sign_object([agent.pk, attachment_id])


def agent_from_token(token: str, attachment_id: int) -> Any | None:
    """The active agent a valid, fresh token for this attachment names, else None."""
    if not token:
        return None
    signer = signing.TimestampSigner(salt=_SALT)
    try:
        agent_id, signed_id = signer.unsign_object(token, max_age=TOKEN_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if signed_id != attachment_id:
        return None
    return get_user_model().objects.filter(pk=agent_id, is_active=True).first()


def image_sources(agent: Any, ticket: Ticket, article_id: int) -> dict[str, str]:
    """{Content-ID: URL} of the article's raster attachments, for ``agent``. One query."""
    rows = (
        Attachment.objects.filter(article_id=article_id)
        .exclude(content_id="")
        .order_by("pk")
    )
    sources = {}
    for pk, content_id, content_type in rows.values_list(
        "pk", "content_id", "content_type"
    ):
        if is_raster(content_type) and content_id not in sources:
            url = reverse("attachment-image", args=[ticket.number, pk])
            query = urlencode({"t": image_token(agent, pk)})
            sources[content_id] = f"{url}?{query}"
    return sources
