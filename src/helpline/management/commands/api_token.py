"""``helpline api-token``: create, list and revoke agents' REST API tokens."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from helpline.actions import admin, api_tokens
from helpline.actions.api_tokens import MAX_EXPIRY_DAYS
from helpline.management.base import HelplineCommand, positive_int, show_time
from helpline.models import ApiToken


def status_of(token: ApiToken) -> str:
    if token.revoked is not None:
        return "revoked"
    if token.expires is not None and token.expires <= timezone.now():
        return "expired"
    return "active"


class Command(HelplineCommand):
    help = (
        "Create, list and revoke the bearer tokens agents use for the REST API "
        "(/api/v1/). A token acts with exactly the agent's permissions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        create = verbs.add_parser(
            "create",
            help="Create a token and print it (it is shown this once).",
            description=(
                "Create a token for LOGIN and print it on standard output. Only its "
                "hash is kept: store it now, it cannot be shown again."
            ),
        )
        create.add_argument("login", metavar="LOGIN")
        create.add_argument("--name", default="", help="What the token is for.")
        create.add_argument(
            "--expires",
            type=positive_int,
            metavar="DAYS",
            help=f"Expire after DAYS days (at most {MAX_EXPIRY_DAYS}); default never.",
        )
        create.add_argument(
            "--scope",
            choices=["read", "write"],
            default="write",
            help="read: GET requests only; write (default): all its agent may do.",
        )
        self.add_json_flag(create)
        create.set_defaults(handler=self.create)

        listing = verbs.add_parser("list", help="List an agent's tokens.")
        listing.add_argument("login", metavar="LOGIN")
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_tokens)

        revoke = verbs.add_parser("revoke", help="Revoke a token for good.")
        revoke.add_argument("token_id", type=positive_int, metavar="ID")
        revoke.set_defaults(handler=self.revoke)

    def create(self, options: dict[str, Any]) -> None:
        agent = admin.get_agent(options["login"])
        issued = api_tokens.create_token(
            agent,
            name=options["name"],
            expires_in_days=options["expires"],
            scope=options["scope"],
        )
        token = issued.token
        if options["json"]:
            self.emit_json({**self._row(token), "token": issued.secret})
            return
        self.stdout.write(issued.secret)
        until = f"expires {show_time(token.expires)}" if token.expires else "no expiry"
        self.stderr.write(
            f"Token {token.pk} ({token.name}, {until}) for {agent.get_username()}. "
            "Store it now: it is not shown again."
        )

    def list_tokens(self, options: dict[str, Any]) -> None:
        agent = admin.get_agent(options["login"])
        rows = [self._row(t) for t in api_tokens.get_tokens(agent)]
        if options["json"]:
            self.emit_json(rows)
            return
        self.emit_table(
            ["ID", "NAME", "PREFIX", "CREATED", "EXPIRES", "LAST USED", "STATUS"],
            [
                (
                    r["id"],
                    r["name"],
                    r["prefix"],
                    show_time(r["created"]),
                    show_time(r["expires"]) or "never",
                    show_time(r["last_used"]) or "never",
                    r["status"],
                )
                for r in rows
            ],
            empty=f"{agent.get_username()} has no API tokens.",
        )

    def revoke(self, options: dict[str, Any]) -> None:
        token = api_tokens.revoke_token(options["token_id"])
        self.stdout.write(
            f"Token {token.pk} ({token.prefix}...) of "
            f"{token.agent.get_username()} revoked."
        )

    @staticmethod
    def _row(token: ApiToken) -> dict[str, Any]:
        return {
            "id": token.pk,
            "name": token.name,
            "prefix": token.prefix,
            "created": token.created,
            "expires": token.expires,
            "last_used": token.last_used,
            "scope": token.scope or "write",
            "status": status_of(token),
        }
