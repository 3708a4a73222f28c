"""System addresses and mail accounts, as the administration screens change them
(docs/administration.md, "Mail and states").

Only site administrators may: staff who hold Django's add and change permissions on
the model concerned (a superuser holds them all), the same rule as the stock
administration applied to these screens.  Every change goes through
``actions.admin.save_configuration`` and so is in the administration log; a mail
account's password never is (``admin.SECRET_FIELDS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from helpline.actions import admin
from helpline.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from helpline.models import MailAccount, Queue, SystemAddress

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

# The models each screen edits, by the name Django's permissions use.
SCREENS = ("systemaddress", "mailaccount", "postmasterfilter", "ticketstate")


def may_edit(actor: Agent | None, model: str) -> bool:
    """May ``actor`` use the screen of ``model`` (one of ``SCREENS``)?"""
    return bool(
        actor is not None
        and actor.is_active
        and actor.is_staff
        and actor.has_perms([f"helpline.add_{model}", f"helpline.change_{model}"])
    )


def require_site_admin(actor: Agent | None, model: str) -> None:
    if not may_edit(actor, model):
        raise PermissionDenied(
            _("Only site administrators may change this part of the configuration.")
        )


def screens_for(actor: Agent | None) -> list[str]:
    """The screens of ``SCREENS`` that ``actor`` may use."""
    return [model for model in SCREENS if may_edit(actor, model)]


# --- system addresses -------------------------------------------------------------------


def get_address(actor: Agent | None, address_id: int) -> SystemAddress:
    require_site_admin(actor, "systemaddress")
    found = SystemAddress.objects.select_related("queue").filter(pk=address_id).first()
    if found is None:
        raise NotFound(_("No such system address."))
    return found


def list_addresses(actor: Agent | None) -> list[SystemAddress]:
    require_site_admin(actor, "systemaddress")
    return list(SystemAddress.objects.select_related("queue").order_by("email"))


def save_address(
    actor: Agent | None,
    address: SystemAddress | None,
    *,
    email: str,
    display_name: str,
    queue: Queue,
    valid: bool = True,
) -> SystemAddress:
    """Create (``address`` None) or change a system address; a bad or taken address
    is ``InvalidInput`` / ``Conflict`` and nothing is saved."""
    require_site_admin(actor, "systemaddress")
    target = address or SystemAddress()
    target.email = email
    try:
        target.email = admin.check_system_address(email, address=target)
    except InvalidInput as exc:
        raise InvalidInput(
            _("%(email)s is not an email address.") % {"email": email.strip()}
        ) from exc
    except Conflict as exc:
        raise Conflict(
            _("The system address %(email)s exists already.")
            % {"email": email.strip().lower()}
        ) from exc
    target.display_name = display_name.strip()
    target.queue = queue
    if not valid:
        check_address_deactivation(target)
    target.valid = valid
    return admin.save_system_address(
        actor, target, changed=["email", "display_name", "queue", "valid"]
    )


def check_address_deactivation(address: SystemAddress) -> None:
    """An address a valid queue sends from stays valid: its replies would go out
    from an address Helpline no longer answers."""
    if address.pk is None:
        return
    senders = list(
        Queue.objects.filter(system_address=address, valid=True)
        .order_by("name")
        .values_list("name", flat=True)[:5]
    )
    if senders:
        raise Conflict(
            _(
                "%(email)s is the sending address of the queue(s) %(queues)s: "
                "give them another one first."
            )
            % {"email": address.email, "queues": ", ".join(senders)}
        )


# --- mail accounts ----------------------------------------------------------------------


def get_account(actor: Agent | None, account_id: int) -> MailAccount:
    require_site_admin(actor, "mailaccount")
    found = MailAccount.objects.select_related("queue").filter(pk=account_id).first()
    if found is None:
        raise NotFound(_("No such mail account."))
    return found


def list_accounts(actor: Agent | None) -> list[MailAccount]:
    require_site_admin(actor, "mailaccount")
    return list(MailAccount.objects.select_related("queue").order_by("name"))


@dataclass
class AccountSettings:
    """What the account form holds; ``password`` empty keeps the stored one."""

    name: str
    protocol: str
    host: str
    username: str
    password: str = ""
    port: int | None = None
    folder: str = "INBOX"
    move_to: str = ""
    queue: Queue | None = None
    trust_headers: bool = False
    verify_tls: bool = True
    valid: bool = True

    FIELDS = (
        "name",
        "protocol",
        "host",
        "port",
        "username",
        "folder",
        "move_to",
        "queue",
        "trust_headers",
        "verify_tls",
        "valid",
    )


def check_account(values: AccountSettings, *, account: MailAccount | None) -> None:
    """The rules ``transports.accounts.create_account`` keeps, for a change too."""
    pop3 = values.protocol.startswith("pop3")
    if values.protocol not in MailAccount.Protocol.values:
        raise InvalidInput(_("Choose a protocol."))
    if not values.name.strip() or not values.host.strip() or not values.username:
        raise InvalidInput(_("A mail account needs a name, a host and a user name."))
    if pop3 and (values.move_to or (values.folder or "INBOX") != "INBOX"):
        raise InvalidInput(
            _("POP3 has no folders: the folder and the move-to folder are IMAP only.")
        )
    if values.port is not None and not 0 < values.port < 65536:
        raise InvalidInput(_("%(port)s is not a TCP port.") % {"port": values.port})
    others = MailAccount.objects.filter(name=values.name.strip())
    if account is not None and account.pk is not None:
        others = others.exclude(pk=account.pk)
    if others.exists():
        raise Conflict(
            _("A mail account %(name)s exists already.") % {"name": values.name}
        )
    if account is None and not values.password:
        raise InvalidInput(_("A new mail account needs a password."))


def apply_settings(account: MailAccount, values: AccountSettings) -> None:
    for name in AccountSettings.FIELDS:
        value = getattr(values, name)
        setattr(account, name, value.strip() if isinstance(value, str) else value)
    account.folder = account.folder or "INBOX"


def save_account(
    actor: Agent | None, account: MailAccount | None, values: AccountSettings
) -> MailAccount:
    """Create (``account`` None) or change a mail account; the password is only
    replaced when one is given."""
    require_site_admin(actor, "mailaccount")
    check_account(values, account=account)
    target = account or MailAccount()
    apply_settings(target, values)
    with transaction.atomic():
        return admin.save_mail_account(
            actor,
            target,
            changed=list(AccountSettings.FIELDS),
            password=values.password or None,
        )
