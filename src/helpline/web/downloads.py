"""Headers for files the interface hands out: a download, never rendered.

The one exception is a raster image shown inside an e-mail's HTML (``inline_image``):
the caller has checked that the bytes are PNG, JPEG, GIF or WebP.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from urllib.parse import quote

from django.http import HttpResponse, StreamingHttpResponse

from helpline.web.middleware import DOWNLOAD_POLICY

_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
# Types a browser would render as active content if it ever displayed them.
_ACTIVE = {
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
}


def safe_filename(name: str) -> str:
    """The last path segment of ``name`` without control characters, or 'attachment'."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return name.strip().strip(".") or "attachment"


def content_disposition(filename: str, *, disposition: str = "attachment") -> str:
    """``attachment`` (or ``inline``) with an ASCII fallback name and the RFC 5987
    UTF-8 name."""
    name = safe_filename(filename)
    # Accents are dropped (é -> e), anything else non-ASCII becomes "_".
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_name = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    ascii_name = re.sub(r"[^A-Za-z0-9._ ()+-]", "_", ascii_name).strip(" .")
    ascii_name = ascii_name or "attachment"
    header = f'{disposition}; filename="{ascii_name}"'
    if ascii_name != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


def download_type(content_type: str) -> str:
    kind = content_type.split(";", 1)[0].strip().lower()
    if not _MIME.match(kind) or kind in _ACTIVE:
        return "application/octet-stream"
    return kind


def _file(
    data: bytes | Iterator[bytes],
    *,
    filename: str,
    content_type: str,
    disposition: str,
    size: int | None = None,
) -> HttpResponse | StreamingHttpResponse:
    response: HttpResponse | StreamingHttpResponse
    if isinstance(data, bytes):
        response = HttpResponse(data, content_type=content_type)
    else:  # a large blob streamed from the store (helpline/blobstore.py)
        response = StreamingHttpResponse(data, content_type=content_type)
        if size is not None:
            response["Content-Length"] = str(size)
    response["Content-Disposition"] = content_disposition(
        filename, disposition=disposition
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_POLICY
    response["Cache-Control"] = "private, no-store"
    return response


def download(
    data: bytes | Iterator[bytes],
    *,
    filename: str,
    content_type: str,
    size: int | None = None,
) -> HttpResponse | StreamingHttpResponse:
    return _file(
        data,
        filename=filename,
        content_type=download_type(content_type),
        disposition="attachment",
        size=size,
    )


def inline_image(
    data: bytes, *, filename: str, content_type: str
) -> HttpResponse | StreamingHttpResponse:
    """A raster image (``content_type`` already checked against the bytes) to show."""
    return _file(
        data, filename=filename, content_type=content_type, disposition="inline"
    )
