"""The errors the domain layer raises; every entry point turns them into a clear answer.

Each has a stable ``code`` (used by the API and the CLI's exit status) and a message
written for the person who caused it.
"""

from __future__ import annotations


class HelplineError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(HelplineError):
    code = "invalid"


class NotFound(HelplineError):
    code = "not_found"
    http_status = 404


class TicketNotFound(NotFound):
    """The ticket does not exist *or* the agent may not see it: the two look alike."""

    code = "ticket_not_found"


class PermissionDenied(HelplineError):
    code = "permission_denied"
    http_status = 403


class TicketLocked(HelplineError):
    code = "ticket_locked"
    http_status = 409


class Conflict(HelplineError):
    code = "conflict"
    http_status = 409
