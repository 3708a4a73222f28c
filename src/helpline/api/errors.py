"""Every failure the API answers with: ``{"error": {"code": ..., "message": ...}}``.

Domain errors keep their ``code`` and ``http_status``, except that the domain's
refusal of a value (``http_status`` 400: an unknown state, a reply without text) is 422
here, as is a schema violation: 400 is kept for requests that are not even readable
(a body that is not JSON), so a request the document calls valid is never 400.  The
codes are a contract (listed in docs/api.md) and never change meaning.  Anything unexpected is logged with its
traceback and answered with a bare 500 ``internal``: no traceback ever leaves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

from helpline.errors import HelplineError, InvalidInput, NotFound, TicketNotFound

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger("helpline.api")

Handler = Callable[[HttpRequest, Any], HttpResponse]

# Codes for the HTTP errors Django Ninja raises itself.
CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class ApiError(Exception):
    """An error of the API layer itself (authentication, preconditions, limits)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


@contextmanager
def names_in_content() -> Iterator[None]:
    """Names and ids in the request's content that name nothing are invalid input.

    ``{"queue": "Nope"}`` in a PATCH is 422 ``invalid`` ("No queue named 'Nope'"), not
    404: the ticket the URL names exists, and a 404 would tell the client it is gone.
    Tickets named in the content keep their 404 ``ticket_not_found``, which must look
    the same whether the ticket does not exist or may not be seen.
    """
    try:
        yield
    except TicketNotFound:
        raise
    except NotFound as exc:
        raise InvalidInput(exc.message) from exc


def domain_status(exc: HelplineError) -> int:
    """The domain's refusal of a value is 422, as a schema violation is."""
    return 422 if exc.http_status == 400 else exc.http_status


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _respond(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    body: dict[str, Any],
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    response = api.create_response(request, body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _location(loc: tuple[Any, ...] | list[Any]) -> list[str]:
    parts = [str(part) for part in loc]
    # Django Ninja puts the view's argument name after "body": not the client's concern.
    if len(parts) > 1 and parts[0] == "body":
        del parts[1]
    return parts


def _issues(exc: ValidationError) -> list[dict[str, Any]]:
    """Where and what, without echoing the input (it may be large or secret)."""
    return [
        {
            "location": _location(error.get("loc", ())),
            "message": str(error.get("msg", "invalid")),
        }
        for error in exc.errors
    ]


def install(api: NinjaAPI) -> None:
    """Register the handlers that turn every exception into a JSON error."""

    def on_domain_error(request: HttpRequest, exc: HelplineError) -> HttpResponse:
        return _respond(
            api, request, domain_status(exc), error_body(exc.code, exc.message)
        )

    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        body = error_body(exc.code, exc.message)
        return _respond(api, request, exc.status, body, exc.headers)

    def on_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        issues = _issues(exc)
        summary = "; ".join(
            f"{'.'.join(i['location'])}: {i['message']}" for i in issues[:5]
        )
        body = error_body(
            "invalid", summary or "The request is not valid.", details=issues
        )
        return _respond(api, request, 422, body)

    def on_unauthenticated(
        request: HttpRequest, exc: AuthenticationError
    ) -> HttpResponse:
        body = error_body(
            "unauthenticated",
            "Send 'Authorization: Bearer <token>', or use a logged-in browser session.",
        )
        return _respond(api, request, 401, body, {"WWW-Authenticate": "Bearer"})

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = CODES_BY_STATUS.get(exc.status_code, "error")
        if exc.status_code == 403 and "csrf" in str(exc).lower():
            code = "csrf_failed"
        return _respond(api, request, exc.status_code, error_body(code, str(exc)))

    def on_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        body = error_body(
            "too_large",
            "The request body is larger than this server takes "
            "(DATA_UPLOAD_MAX_MEMORY_SIZE).",
        )
        return _respond(api, request, 413, body)

    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _respond(api, request, 404, error_body("not_found", "Not found."))

    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("API error in %s %s", request.method, request.path)
        body = error_body(
            "internal", "Something went wrong on the server; it has been logged."
        )
        return _respond(api, request, 500, body)

    handlers: list[tuple[type[Exception], Handler]] = [
        (HelplineError, on_domain_error),
        (ApiError, on_api_error),
        (ValidationError, on_invalid),
        (AuthenticationError, on_unauthenticated),
        (HttpError, on_http_error),
        (RequestDataTooBig, on_too_large),
        (Http404, on_not_found),
        (Exception, on_unexpected),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)
