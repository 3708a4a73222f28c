"""Serve collected static files (``STATIC_ROOT``) in front of the Django application.

``helpline serve`` wraps the WSGI application in ``StaticFiles`` so that the admin's CSS
and the agent UI's scripts work without a separate web server.  Only regular files below
the root are served: no directory listings, no dot-files, nothing outside the root (``..``
and symbolic links that lead out are refused), and only GET and HEAD.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterable, Iterator
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

CHUNK_SIZE = 64 * 1024
# Collected files keep their names across releases (no hashed names), so browsers must
# revalidate; If-Modified-Since makes that cheap.
CACHE_CONTROL = "public, max-age=3600"
TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")


class StaticFiles:
    """WSGI middleware: answer ``prefix`` paths from ``root``, pass the rest on."""

    def __init__(self, app: WSGIApp, *, root: Path | str, prefix: str) -> None:
        self.app = app
        self.root = Path(root).resolve()
        self.prefix = "/" + prefix.strip("/") + "/"

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if not path.startswith(self.prefix):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return _plain(
                start_response, "405 Method Not Allowed", [("Allow", "GET, HEAD")]
            )
        file = self.find(path[len(self.prefix) :])
        if file is None:
            return _plain(start_response, "404 Not Found")
        return _send(environ, start_response, file, head=method == "HEAD")

    def find(self, relative: str) -> Path | None:
        """The regular file ``relative`` names below the root, or None."""
        parts = relative.split("/")
        if any(
            not part or part.startswith(".") or "\\" in part or "\x00" in part
            for part in parts
        ):
            return None
        candidate = self.root.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not resolved.is_relative_to(self.root) or not resolved.is_file():
            return None
        return resolved


def content_type(file: Path) -> str:
    kind, encoding = mimetypes.guess_type(file.name)
    if kind is None or encoding is not None:  # unknown, or e.g. a .gz download
        return "application/octet-stream"
    if kind.startswith(TEXT_TYPES):
        return f"{kind}; charset=utf-8"
    return kind


def _send(
    environ: dict[str, Any], start_response: StartResponse, file: Path, *, head: bool
) -> Iterable[bytes]:
    stat = file.stat()
    last_modified = formatdate(stat.st_mtime, usegmt=True)
    headers = [
        ("Last-Modified", last_modified),
        ("Cache-Control", CACHE_CONTROL),
        ("X-Content-Type-Options", "nosniff"),
    ]
    # The gzip copy ``collectstatic`` wrote beside it (web/static_storage.py).
    packed = _gzip_copy(file, stat.st_mtime)
    if packed is not None:
        headers.append(("Vary", "Accept-Encoding"))
        if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
            kind = content_type(file)
            file, stat = packed, packed.stat()
            headers += [("Content-Encoding", "gzip"), ("Content-Type", kind)]
    if _not_modified(environ.get("HTTP_IF_MODIFIED_SINCE"), int(stat.st_mtime)):
        start_response("304 Not Modified", headers)
        return []
    if not any(name == "Content-Type" for name, _ in headers):
        headers.append(("Content-Type", content_type(file)))
    headers.append(("Content-Length", str(stat.st_size)))
    start_response("200 OK", headers)
    if head:
        return []
    handle = file.open("rb")
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is not None:
        return wrapper(handle, CHUNK_SIZE)
    return _chunks(handle)


def _gzip_copy(file: Path, mtime: float) -> Path | None:
    """``file``'s ``.gz`` sibling, if it is a regular file at least as new."""
    packed = file.with_name(file.name + ".gz")
    try:
        stat = packed.lstat()
    except OSError:
        return None
    if not packed.is_file() or packed.is_symlink() or stat.st_mtime < mtime:
        return None
    return packed


def _chunks(handle: Any) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


def _not_modified(header: str | None, mtime: int) -> bool:
    if not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    return since.timestamp() >= mtime


def _plain(
    start_response: StartResponse,
    status: str,
    extra: list[tuple[str, str]] | None = None,
) -> Iterable[bytes]:
    body = status.encode() + b"\n"
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *(extra or []),
        ],
    )
    return [body]
