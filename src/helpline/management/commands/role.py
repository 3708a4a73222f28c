"""``helpline role``: roles bundle grants; an agent who is a member holds them all."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser
from django.db.models import Prefetch

from helpline.actions import admin, sso
from helpline.management.base import HelplineCommand
from helpline.management.commands.revoke import write_withdrawn
from helpline.models import IdpGroupMapping, Role


class Command(HelplineCommand):
    help = (
        "Add and list roles and manage their members. Grant permissions to a role "
        "with 'helpline grant --role ROLE'; every member holds them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        add = verbs.add_parser("add", help="Create a role.")
        add.add_argument("name", metavar="NAME")
        add.add_argument("--comment", default="", help="A note for administrators.")
        add.set_defaults(handler=self.add_role)

        listing = verbs.add_parser("list", help="List roles with their members.")
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_roles)

        member = verbs.add_parser("member", help="Add or remove a role's members.")
        member_verbs = self.verbs(member, dest="member_verb")
        for verb, handler, text in (
            ("add", self.add_member, "Make an agent a member of a role."),
            ("remove", self.remove_member, "Take an agent out of a role."),
        ):
            sub = member_verbs.add_parser(verb, help=text, description=text)
            sub.add_argument("role", metavar="ROLE")
            sub.add_argument("login", metavar="LOGIN")
            sub.set_defaults(handler=handler)
        self.add_idp_group_verbs(verbs)

    def add_idp_group_verbs(self, verbs: Any) -> None:
        """Single sign-on: members of a group at the identity provider are members
        of the role, brought up to date at each sign-in (docs/authentication.md)."""
        for verb, handler, text in (
            ("map-idp-group", self.map_idp_group, "Give a provider group a role."),
            ("unmap-idp-group", self.unmap_idp_group, "Remove such a mapping."),
        ):
            sub = verbs.add_parser(verb, help=text, description=text)
            sub.add_argument("role", metavar="ROLE")
            sub.add_argument("idp_group", metavar="IDP_GROUP")
            sub.set_defaults(handler=handler)
        listing = verbs.add_parser("idp-groups", help="List provider group mappings.")
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_idp_groups)

    def map_idp_group(self, options: dict[str, Any]) -> None:
        role = admin.get_role(options["role"])
        sso.map_idp_group(options["idp_group"], role)
        self.stdout.write(
            f"Members of {options['idp_group']!r} at the identity provider "
            f"are members of role {role.name!r}."
        )

    def unmap_idp_group(self, options: dict[str, Any]) -> None:
        role = admin.get_role(options["role"])
        sso.unmap_idp_group(options["idp_group"], role)
        self.stdout.write(
            f"{options['idp_group']!r} no longer gives role {role.name!r}."
        )

    def list_idp_groups(self, options: dict[str, Any]) -> None:
        rows = [
            {"idp_group": m.idp_group, "role": m.role.name}
            for m in IdpGroupMapping.objects.select_related("role")
        ]
        if options["json"]:
            self.emit_json(rows)
            return
        self.emit_table(
            ["IDP GROUP", "ROLE"],
            [(r["idp_group"], r["role"]) for r in rows],
            empty="No identity-provider groups are mapped.",
        )

    def add_role(self, options: dict[str, Any]) -> None:
        role = admin.create_role(options["name"], comment=options["comment"])
        self.stdout.write(f"Role {role.name!r} created.")

    def add_member(self, options: dict[str, Any]) -> None:
        role = admin.get_role(options["role"])
        agent = admin.get_agent(options["login"])
        admin.add_role_member(role, agent)
        self.stdout.write(f"{agent.get_username()} is a member of role {role.name!r}.")

    def remove_member(self, options: dict[str, Any]) -> None:
        role = admin.get_role(options["role"])
        agent = admin.get_agent(options["login"])
        withdrawn = admin.remove_role_member(role, agent)
        self.stdout.write(
            f"{agent.get_username()} is not a member of role {role.name!r}."
        )
        write_withdrawn(self.stdout, withdrawn)

    def list_roles(self, options: dict[str, Any]) -> None:
        members = get_user_model().objects.order_by("username")
        roles = Role.objects.order_by("name").prefetch_related(
            Prefetch("members", queryset=members)
        )
        rows: list[dict[str, Any]] = [
            {
                "name": r.name,
                "valid": r.valid,
                "members": [m.get_username() for m in r.members.all()],
                "comment": r.comment,
            }
            for r in roles
        ]
        if options["json"]:
            self.emit_json(rows)
            return
        self.emit_table(
            ["NAME", "VALID", "MEMBERS"],
            [
                (r["name"], "yes" if r["valid"] else "no", ", ".join(r["members"]))
                for r in rows
            ],
            empty="No roles.",
        )
