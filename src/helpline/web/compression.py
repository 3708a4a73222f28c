"""Compressed responses: Django's ``GZipMiddleware``, for text only.

A zoom of a long ticket is hundreds of kilobytes of HTML; gzip makes it a tenth.
Django's middleware (since 4.2) pads each compressed response with a random number
of bytes in the gzip header, which together with Django's per-response masking of
the CSRF token mitigates BREACH.  Attachments and raw mail sent for download are
mostly compressed already (images, PDF, ZIP) or large: compressing them costs CPU
for nothing, so only text types are compressed (``COMPRESSIBLE``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware

COMPRESSIBLE = (
    "text/html",
    "text/plain",
    "text/css",
    "text/csv",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/problem+json",
    "application/xml",
    "image/svg+xml",
)


class TextGZipMiddleware(GZipMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in COMPRESSIBLE or response.has_header(
            "Content-Disposition"
        ):
            return response
        return super().process_response(request, response)
