"""Attachments in and out: base64 uploads, and downloads that a browser never renders.

A download is always ``Content-Disposition: attachment`` with a cleaned file name, sent
with ``X-Content-Type-Options: nosniff`` and a sandboxing CSP; types a browser would
execute or render as a page (HTML, SVG, XML, scripts) are sent as
``application/octet-stream``.  Customers send hostile files; agents open them.
"""

from __future__ import annotations

import base64
import re
import unicodedata

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from helpline.actions.articles import NewAttachment
from helpline.api.schemas import AttachmentIn
from helpline.blobstore import blob_chunks
from helpline.models import Attachment

SAFE_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
# Rendered or run by browsers (a page, an image with script, a style sheet...).
ACTIVE_TYPES = {
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
    "application/ecmascript",
    "text/css",
    "application/x-shockwave-flash",
    "text/xsl",
    "multipart/x-mixed-replace",
}
FALLBACK_NAME = "attachment"


def decode_attachments(uploads: list[AttachmentIn]) -> list[NewAttachment]:
    """The uploads as the domain takes them (the schema has validated the base64)."""
    return [
        NewAttachment(
            filename=upload.filename,
            content_type=upload.content_type.lower(),
            content=base64.b64decode(upload.content_base64, validate=True),
        )
        for upload in uploads
    ]


def safe_filename(name: str) -> str:
    """A file name without directories, control characters or leading dots."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in '"<>|:*?'
    )
    name = " ".join(name.split()).lstrip(".").strip()
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[:140]}.{ext[:9]}" if dot and len(ext) <= 9 else name[:150]
    return name or FALLBACK_NAME


def safe_media_type(content_type: str) -> str:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not SAFE_MEDIA_TYPE.match(media_type) or media_type in ACTIVE_TYPES:
        return "application/octet-stream"
    if media_type.endswith(("+xml", "/xml")):
        return "application/octet-stream"
    return media_type


def download(attachment: Attachment) -> HttpResponse | StreamingHttpResponse:
    """The attachment's bytes; a large one streams from the blob store."""
    data = blob_chunks(attachment.blob)
    content_type = safe_media_type(attachment.content_type)
    response: HttpResponse | StreamingHttpResponse
    if isinstance(data, bytes):
        response = HttpResponse(data, content_type=content_type)
    else:
        response = StreamingHttpResponse(data, content_type=content_type)
        response["Content-Length"] = str(attachment.blob.size)
    response["Content-Disposition"] = (
        content_disposition_header(
            as_attachment=True, filename=safe_filename(attachment.filename)
        )
        or f'attachment; filename="{FALLBACK_NAME}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
