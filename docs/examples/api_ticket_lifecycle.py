#!/usr/bin/env python3
"""A ticket's life through the Helpline REST API, with nothing but the standard library.

    python3 api_ticket_lifecycle.py --url https://helpline.example.org \\
        --token hlp_... --queue Support --customer jane@example.net

1. records a phone call as a new ticket,
2. replies to the customer by email (the reply goes through Helpline's outbox),
3. closes the ticket, with If-Match so that a change made meanwhile is not overwritten,

and prints the ticket's number.  Make a token with ``helpline api-token create LOGIN``;
the agent needs 'create' and 'rw' on the queue, and the queue a sending address.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


class Helpline:
    def __init__(self, url: str, token: str) -> None:
        self.base = url.rstrip("/") + "/api/v1"
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Any, dict[str, str]]:
        """(decoded JSON answer, response headers); errors raise ApiError."""
        request = urllib.request.Request(  # noqa: S310 - the URL is the user's own
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode("utf-8"),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/json",
                **({"Content-Type": "application/json"} if body is not None else {}),
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                raw = response.read()
                return (json.loads(raw) if raw else None), dict(response.headers)
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read())["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": "http_error", "message": exc.reason}
            raise ApiError(exc.code, error["code"], error["message"]) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="Helpline's address")
    parser.add_argument("--token", required=True, help="an API token (hlp_...)")
    parser.add_argument("--queue", required=True, help="queue of the new ticket")
    parser.add_argument("--customer", required=True, help="the customer's address")
    args = parser.parse_args(argv)
    api = Helpline(args.url, args.token)

    # 1. A phone call becomes a ticket (nothing is sent to the customer yet).
    ticket, _ = api.call(
        "POST",
        "/tickets",
        {
            "queue": args.queue,
            "title": "Printer on floor 3 is jammed",
            "customer_email": args.customer,
            "article": {
                "channel": "phone",
                "body": "The customer called: the printer on floor 3 jams on A3.",
            },
        },
    )
    number = ticket["number"]
    print(f"created ticket {number}", file=sys.stderr)

    # 2. Answer by email; Helpline composes (salutation, signature) and queues it.
    reply, _ = api.call(
        "POST",
        f"/tickets/{number}/articles",
        {
            "kind": "reply",
            "text": "We have sent a technician; the printer works again.",
        },
    )
    print(f"replied to {reply['to_addr']} (article {reply['id']})", file=sys.stderr)

    # 3. Close it, but only if nobody changed the ticket since we last read it.
    _, headers = api.call("GET", f"/tickets/{number}")
    etag = {k.lower(): v for k, v in headers.items()}["etag"]
    try:
        closed, _ = api.call(
            "PATCH",
            f"/tickets/{number}",
            {"state": "closed successful"},
            headers={"If-Match": etag},
        )
    except ApiError as exc:
        if exc.code == "precondition_failed":
            print("someone changed the ticket meanwhile; not closed", file=sys.stderr)
            return 1
        raise
    print(f"ticket {number} is {closed['state']}", file=sys.stderr)
    print(number)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ApiError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
