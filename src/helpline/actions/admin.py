"""Administration: queues, system addresses, agents, groups, roles and grants, and the
rest of the configuration the administration screens edit.

Called by the CLI, the administration screens and the demo seeding alike.  Every change
made here is written to the administration log (``AdminAuditEntry``, in the same
transaction as the change; secrets never) and to the ``helpline.audit`` logger.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from helpline.actions.access import check_registered
from helpline.actions.sessions import EndReason, do_end_all
from helpline.actions.withdrawal import (
    Revocation,
    Withdrawn,
    collecting,
    role_member_ids,
    withdraw_lost_access,
)
from helpline.errors import Conflict, InvalidInput, NotFound
from helpline.models import (
    AdminAuditEntry,
    AgentProfile,
    FollowUpOption,
    Grant,
    Group,
    MailAccount,
    Permission,
    Queue,
    Role,
    StateType,
    SystemAddress,
    Ticket,
    TicketState,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

audit = logging.getLogger("helpline.audit")

# Fields whose values never reach the administration log, a page or a form's initial
# data: the log only says that they changed.
SECRET_FIELDS = frozenset({"password"})
CHANGED = "(changed)"


def _model_field(obj: models.Model, name: str) -> models.Field[Any, Any] | None:
    try:
        field = obj._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, models.Field) else None


def summary(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of ``obj`` as short text, for the log; secrets masked."""
    result: dict[str, Any] = {}
    for name in fields:
        if name in SECRET_FIELDS:
            result[name] = CHANGED
            continue
        field = _model_field(obj, name)
        if field is None:  # not a model field (a form-only one): nothing to show
            continue
        if field.many_to_many:
            value: Any = (
                sorted(str(o) for o in getattr(obj, name).all()) if obj.pk else []
            )
        elif field.is_relation:
            value = str(getattr(obj, name) or "")
        else:
            value = getattr(obj, field.attname)
            if not isinstance(value, (str, int, float, bool, list, dict, type(None))):
                value = str(value)
        if isinstance(value, str) and len(value) > 500:
            value = value[:500] + "…"
        result[name] = value
    return result


def record(
    actor: Agent | None,
    action: str,
    obj: models.Model | None = None,
    *,
    object_type: str = "",
    object_repr: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AdminAuditEntry:
    """Write one administration log entry (and a line on ``helpline.audit``)."""
    if obj is not None:
        object_type = object_type or str(obj._meta.verbose_name)
        object_repr = object_repr or str(obj)
    entry = AdminAuditEntry.objects.create(
        created=timezone.now(),
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        action=action,
        object_type=str(object_type),
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=object_repr[:300],
        before=before or {},
        after=after or {},
    )
    audit.info(
        "%s: %s %s %s",
        entry.actor_name or "system",
        action,
        object_type,
        object_repr,
    )
    return entry


def _unique(model: Any, **lookup: Any) -> None:
    if model.objects.filter(**lookup).exists():
        label = model._meta.verbose_name
        raise Conflict(f"A {label} {next(iter(lookup.values()))!r} exists already.")


def get_group(name: str) -> Group:
    group = Group.objects.filter(name=name).first()
    if group is None:
        raise NotFound(f"No group named {name!r}.")
    return group


def get_queue(name: str) -> Queue:
    queue = Queue.objects.filter(name=name).first()
    if queue is None:
        raise NotFound(f"No queue named {name!r}.")
    return queue


def get_role(name: str) -> Role:
    role = Role.objects.filter(name=name).first()
    if role is None:
        raise NotFound(f"No role named {name!r}.")
    return role


def get_agent(login: str) -> Any:
    user = get_user_model().objects.filter(username=login).first()
    if user is None:
        raise NotFound(f"No agent with login {login!r}.")
    return user


def create_group(name: str, *, comment: str = "", actor: Agent | None = None) -> Group:
    name = name.strip()
    if not name:
        raise InvalidInput("A group needs a name.")
    _unique(Group, name=name)
    with transaction.atomic():
        group = Group.objects.create(name=name, comment=comment)
        record(actor, "created", group, after=summary(group, ["name", "comment"]))
    return group


def check_queue_name(name: str, *, queue: Queue | None = None) -> str:
    """The queue name normalised, or an error: text on each side of every ``::``,
    unique, and (for ``Parent::Child``) an existing parent that is neither the queue
    itself nor below it."""
    name = "::".join(part.strip() for part in name.split("::"))
    if not name or "" in name.split("::"):
        raise InvalidInput("A queue name needs text on each side of '::'.")
    others = Queue.objects.exclude(pk=queue.pk) if queue is not None else Queue.objects
    if others.filter(name=name).exists():
        raise Conflict(f"A queue {name!r} exists already.")
    parent, sep, _ = name.rpartition("::")
    if sep:
        if queue is not None and (
            parent == queue.name or parent.startswith(f"{queue.name}::")
        ):
            raise InvalidInput("A queue cannot be moved below itself.")
        if not Queue.objects.filter(name=parent).exists():
            raise NotFound(f"Create the parent queue {parent!r} first.")
    return name


def create_queue(
    name: str,
    *,
    group: Group,
    follow_up: str = FollowUpOption.POSSIBLE,
    follow_up_lock: bool = False,
    unlock_timeout: int = 0,
    comment: str = "",
    email: str = "",
    display_name: str = "",
    actor: Agent | None = None,
) -> Queue:
    """Create a queue (``Parent::Child`` names; the parent must exist)."""
    name = check_queue_name(name)
    if follow_up not in FollowUpOption.values:
        raise InvalidInput(f"Follow-up option must be one of {FollowUpOption.values}.")
    with transaction.atomic():
        queue = Queue.objects.create(
            name=name,
            group=group,
            follow_up=follow_up,
            follow_up_lock=follow_up_lock,
            unlock_timeout=unlock_timeout,
            comment=comment,
        )
        if email:
            queue.system_address = create_system_address(
                email, queue=queue, display_name=display_name, actor=actor
            )
            queue.save(update_fields=["system_address"])
        record(actor, "created", queue, after=summary(queue, ["name", "group"]))
    return queue


def rename_queue(queue: Queue, new_name: str, *, actor: Agent | None = None) -> Queue:
    """Rename a queue and, as OTRS does, every queue below it."""
    old = Queue.objects.get(pk=queue.pk).name
    new_name = check_queue_name(new_name, queue=Queue(pk=queue.pk, name=old))
    if new_name == old:
        return queue
    with transaction.atomic():
        children = list(Queue.objects.filter(name__startswith=f"{old}::"))
        queue.name = new_name
        queue.save(update_fields=["name"])
        for child in children:
            child.name = new_name + child.name[len(old) :]
            child.save(update_fields=["name"])
        record(actor, "renamed", queue, before={"name": old}, after={"name": new_name})
    return queue


def save_queue(actor: Agent | None, queue: Queue, *, changed: Iterable[str]) -> Queue:
    """Create or change a queue from the administration screens: the name is checked
    (``check_queue_name``), a rename renames the queues below it, and its retention
    is set only by a holder of ``handle_personal_data`` (``actions.retention``)."""
    # Imported here: retention writes this module's log.
    from helpline.actions.retention import require_may_set

    changed = list(changed)
    require_may_set(actor, queue, changed)
    with transaction.atomic():
        if queue.pk is None:
            queue.name = check_queue_name(queue.name)
            queue.save()
            record(actor, "created", queue, after=summary(queue, changed))
            return queue
        old = Queue.objects.select_for_update().get(pk=queue.pk)
        new_name = check_queue_name(queue.name, queue=old)
        queue.name = old.name
        if new_name != old.name:
            rename_queue(queue, new_name, actor=actor)
        fields = [f for f in changed if f != "name"]
        if fields:
            queue.save(update_fields=fields)
            record(
                actor,
                "changed",
                queue,
                before=summary(old, fields),
                after=summary(queue, fields),
            )
    return queue


def check_system_address(email: str, *, address: SystemAddress | None = None) -> str:
    """The address normalised (lower case), or an error: valid and unique."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidInput(f"{email!r} is not an email address.") from exc
    others = SystemAddress.objects.all()
    if address is not None and address.pk is not None:
        others = others.exclude(pk=address.pk)
    if others.filter(email=email).exists():
        raise Conflict(f"A system address {email!r} exists already.")
    return email


def create_system_address(
    email: str, *, queue: Queue, display_name: str = "", actor: Agent | None = None
) -> SystemAddress:
    email = check_system_address(email)
    with transaction.atomic():
        address = SystemAddress.objects.create(
            email=email, queue=queue, display_name=display_name
        )
        record(actor, "created", address, after=summary(address, ["email", "queue"]))
    return address


def save_system_address(
    actor: Agent | None, address: SystemAddress, *, changed: Iterable[str]
) -> SystemAddress:
    """Create or change a system address (checked by ``check_system_address``)."""
    address.email = check_system_address(address.email, address=address)
    return save_configuration(actor, address, changed=changed)


def check_agent_email(email: str) -> str:
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidInput(f"{email!r} is not an email address.") from exc
    return email


def check_new_password(password: str, agent: Agent | None = None) -> None:
    """Django's password validators, as a domain error."""
    try:
        validate_password(password, agent)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages)) from exc


def create_agent(
    login: str,
    *,
    email: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    is_admin: bool = False,
    actor: Agent | None = None,
) -> Any:
    """Create an agent; ``is_admin`` opens the administration screens (not the queues)."""
    login = login.strip()
    if not login:
        raise InvalidInput("An agent needs a login.")
    email = check_agent_email(email)
    user_model = get_user_model()
    _unique(user_model, username=login)
    user = user_model(
        username=login,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_admin,
        is_superuser=is_admin,
    )
    if password is None:
        user.set_unusable_password()
    else:
        check_new_password(password, user)
        user.set_password(password)
    with transaction.atomic():
        user.save()
        AgentProfile.objects.create(user=user)
        record(
            actor,
            "created",
            user,
            object_type="agent",
            after={"login": login, "email": email, "admin": is_admin},
        )
    return user


def create_role(name: str, *, comment: str = "", actor: Agent | None = None) -> Role:
    name = name.strip()
    if not name:
        raise InvalidInput("A role needs a name.")
    _unique(Role, name=name)
    with transaction.atomic():
        role = Role.objects.create(name=name, comment=comment)
        record(actor, "created", role, after=summary(role, ["name", "comment"]))
    return role


def add_role_member(role: Role, agent: Any, *, actor: Agent | None = None) -> None:
    with transaction.atomic():
        role.members.add(agent)
        record(actor, "member added", role, after={"agent": agent.get_username()})


def remove_role_member(
    role: Role, agent: Any, *, actor: Agent | None = None
) -> list[Withdrawn]:
    """Take the agent out of the role; returns what the agent lost on tickets it may
    no longer read (``withdrawal.withdraw_lost_access``)."""
    # The withdrawal follows any change of a role's members (withdrawal.connect).
    with transaction.atomic(), collecting() as withdrawn:
        role.members.remove(agent)
        record(actor, "member removed", role, before={"agent": agent.get_username()})
    return withdrawn


def _subject(agent: Any | None, role: Role | None) -> dict[str, Any]:
    if (agent is None) == (role is None):
        raise InvalidInput("Grant to an agent or to a role (exactly one).")
    return {"agent": agent} if agent is not None else {"role": role}


def grant(
    group: Group,
    permissions: Iterable[str],
    *,
    agent: Any | None = None,
    role: Role | None = None,
) -> list[str]:
    """Grant permissions on a group; returns the ones that were new."""
    subject = _subject(agent, role)
    perms = [check_registered(p) for p in permissions]
    added = []
    for perm in perms:
        _, created = Grant.objects.get_or_create(
            group=group, permission=perm, **subject
        )
        if created:
            added.append(perm)
    if added:
        who = agent.get_username() if agent is not None else f"role {role}"
        audit.info("granted %s on group %s to %s", ",".join(added), group.name, who)
    return added


def revoke(
    group: Group,
    permissions: Iterable[str],
    *,
    agent: Any | None = None,
    role: Role | None = None,
) -> Revocation:
    """Revoke permissions on a group.  Whoever can then no longer read the group's
    tickets stops watching them and loses their locks, ownership and responsibility
    (``withdrawal.withdraw_lost_access``): the result lists it."""
    subject = _subject(agent, role)
    perms = [check_registered(p) for p in permissions]
    with transaction.atomic():
        deleted, _ = Grant.objects.filter(
            group=group, permission__in=perms, **subject
        ).delete()
        withdrawn: list[Withdrawn] = []
        if deleted:
            holders = [agent.pk] if agent is not None else role_member_ids(role)
            withdrawn = withdraw_lost_access(
                agent_ids=holders,
                queue_ids=Queue.objects.filter(group=group).values_list(
                    "pk", flat=True
                ),
                reason="access revoked",
            )
    if deleted:
        who = agent.get_username() if agent is not None else f"role {role}"
        audit.info("revoked %s on group %s from %s", ",".join(perms), group.name, who)
    return Revocation(deleted, withdrawn)


ALL_PERMISSIONS = [p.value for p in Permission]


def grant_as(
    actor: Agent | None,
    group: Group,
    permissions: Iterable[str],
    *,
    agent: Any | None = None,
    role: Role | None = None,
) -> list[str]:
    """``grant``, written to the administration log with who granted."""
    with transaction.atomic():
        added = grant(group, permissions, agent=agent, role=role)
        if added:
            who = agent.get_username() if agent is not None else f"role {role}"
            record(actor, "granted", group, after={"to": who, "permissions": added})
    return added


def revoke_as(
    actor: Agent | None,
    group: Group,
    permissions: Iterable[str],
    *,
    agent: Any | None = None,
    role: Role | None = None,
) -> Revocation:
    """``revoke``, written to the administration log with who revoked and what the
    revocation took back on tickets."""
    perms = list(permissions)
    with transaction.atomic():
        revocation = revoke(group, perms, agent=agent, role=role)
        if revocation:
            who = agent.get_username() if agent is not None else f"role {role}"
            record(
                actor,
                "revoked",
                group,
                before={"from": who, "permissions": perms},
                # Counted, not named: every administrator reads this log, and a
                # ticket's number is content; each ticket's history names the agent.
                after={
                    "tickets withdrawn": len(
                        {item.ticket_id for item in revocation.withdrawn}
                    )
                },
            )
    return revocation


@dataclass(frozen=True)
class GrantChange:
    """One permission on one group, for an agent or a role, to add or to remove."""

    group: Group
    permission: str
    agent: Any | None = None
    role: Role | None = None


@dataclass(frozen=True)
class GrantChanges:
    """What ``change_grants`` did: how many grants it added or removed, and what
    their holders lost on tickets they may no longer read."""

    changed: int
    withdrawn: list[Withdrawn]


def change_grants(
    actor: Agent | None,
    *,
    add: Iterable[GrantChange] = (),
    remove: Iterable[GrantChange] = (),
) -> GrantChanges:
    """Several grants added and removed as one change (the permission grid, a group's
    grants): in one transaction, the additions first, so that an agent whose ``ro`` is
    exchanged for ``rw`` never stops reading between the two and loses nothing.  The
    result counts the grants changed and lists what their holders lost."""
    changed = 0
    with transaction.atomic(), collecting() as withdrawn:
        for change in add:
            changed += len(
                grant_as(
                    actor,
                    change.group,
                    [change.permission],
                    agent=change.agent,
                    role=change.role,
                )
            )
        for change in remove:
            changed += revoke_as(
                actor,
                change.group,
                [change.permission],
                agent=change.agent,
                role=change.role,
            ).removed
    return GrantChanges(changed, withdrawn)


# --- the rest of the configuration, as the administration screens change it -----------


def save_configuration(
    actor: Agent | None, obj: models.Model, *, changed: Iterable[str]
) -> Any:
    """Save a configuration row whose fields the caller has validated (texts, filters,
    groups, roles, addresses) and log the change."""
    fields = [
        f for f in changed if (field := _model_field(obj, f)) and not field.many_to_many
    ]
    with transaction.atomic():
        if obj.pk is None:
            obj.save()
            record(actor, "created", obj, after=summary(obj, fields))
            return obj
        old = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
        if fields:
            obj.save(update_fields=fields)
            record(
                actor,
                "changed",
                obj,
                before=summary(old, fields),
                after=summary(obj, fields),
            )
    return obj


def save_relations(
    actor: Agent | None, obj: models.Model, relations: dict[str, Iterable[Any]]
) -> None:
    """Set many-to-many relations of a configuration row (a template's queues...)."""
    with transaction.atomic():
        for name, wanted in relations.items():
            manager = getattr(obj, name)
            before = sorted(str(o) for o in manager.all())
            wanted = list(wanted)
            after = sorted(str(o) for o in wanted)
            if before != after:
                manager.set(wanted)
                record(
                    actor, "changed", obj, before={name: before}, after={name: after}
                )


def delete_configuration(actor: Agent | None, obj: models.Model) -> None:
    """Delete a configuration row; one still in use is refused with a clear error."""
    label = str(obj)
    try:
        with transaction.atomic():
            record(actor, "deleted", obj, before={"name": label})
            obj.delete()
    except ProtectedError as exc:
        raise Conflict(
            f"{str(obj._meta.verbose_name).capitalize()} {label!r} is still in use; "
            "mark it invalid instead."
        ) from exc


def check_ticket_state(state: TicketState) -> None:
    """A state's type cannot change while tickets are in it (tickets keep the type
    beside the state, and the queue views count by it); a next state makes sense only
    for a pending-auto state and is never the state itself."""
    if state.pk is not None:
        old_type = (
            TicketState.objects.filter(pk=state.pk)
            .values_list("type", flat=True)
            .first()
        )
        if (
            old_type is not None
            and old_type != state.type
            and Ticket.objects.filter(state_id=state.pk).exists()
        ):
            raise Conflict(
                f"Tickets are in state {state.name!r}: its type cannot change. "
                "Create a new state and move the tickets instead."
            )
    if state.next_state_id is not None:
        if state.type != StateType.PENDING_AUTO:
            raise InvalidInput("Only a pending-auto state has a next state.")
        if state.pk is not None and state.next_state_id == state.pk:
            raise InvalidInput("A state cannot be its own next state.")


def save_ticket_state(
    actor: Agent | None, state: TicketState, *, changed: Iterable[str]
) -> TicketState:
    with transaction.atomic():
        if state.pk is not None:
            TicketState.objects.select_for_update().filter(pk=state.pk).first()
        check_ticket_state(state)
        result: TicketState = save_configuration(actor, state, changed=changed)
    return result


# What a mail account's stored password was given for: it is sent to no other server,
# user or connection (an administrator who may edit the account may not read it).
MAIL_PASSWORD_SCOPE = ("protocol", "host", "port", "username", "verify_tls")


def stored_mail_password(pk: int, account: MailAccount) -> str:
    """The stored password of mail account ``pk``, for the connection ``account``
    (its settings as they are to be saved or tested) describes; refused when that
    connection is not the one the password was given for: it must be typed again."""
    stored = (
        MailAccount.objects.filter(pk=pk)
        .values("password", *MAIL_PASSWORD_SCOPE)
        .first()
    )
    if stored is None:
        raise InvalidInput(_("A new mail account needs a password."))
    if any(stored[name] != getattr(account, name) for name in MAIL_PASSWORD_SCOPE):
        raise InvalidInput(
            _(
                "Type the password again: the stored one is only ever sent to the "
                "server, user and connection it was given for."
            )
        )
    return str(stored["password"])


def save_mail_account(
    actor: Agent | None,
    account: MailAccount,
    *,
    changed: Iterable[str],
    password: str | None = None,
) -> MailAccount:
    """Create or change a mail account.  The password is write-only: ``None`` or an
    empty string keeps the stored one; the log only says that it changed."""
    fields = [f for f in changed if f != "password"]
    if password:
        account.password = password
        fields.append("password")
    elif account.pk is None:
        raise InvalidInput("A new mail account needs a password.")
    else:
        account.password = stored_mail_password(account.pk, account)
    result: MailAccount = save_configuration(actor, account, changed=fields)
    return result


def set_role_members(actor: Agent | None, role: Role, members: Iterable[Any]) -> None:
    """Make ``members`` the role's members (each addition and removal logged)."""
    wanted = {m.pk: m for m in members}
    with transaction.atomic():
        current = {m.pk: m for m in role.members.all()}
        for pk in sorted(wanted.keys() - current.keys()):
            add_role_member(role, wanted[pk], actor=actor)
        for pk in sorted(current.keys() - wanted.keys()):
            remove_role_member(role, current[pk], actor=actor)


# --- agents ------------------------------------------------------------------------------


def update_agent(
    actor: Agent | None,
    agent: Agent,
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    is_admin: bool,
    is_active: bool,
) -> Agent:
    """Change an agent's details, administration right and active flag.  Nobody
    deactivates themselves or takes their own administration right away."""
    email = check_agent_email(email)
    if actor is not None and actor.pk == agent.pk and not (is_active and is_admin):
        raise InvalidInput(
            "You cannot deactivate yourself or remove your own administration right."
        )
    fields = ["email", "first_name", "last_name", "is_staff", "is_superuser"]
    fields.append("is_active")
    with transaction.atomic():
        old = get_user_model().objects.select_for_update().get(pk=agent.pk)
        agent.email, agent.first_name, agent.last_name = email, first_name, last_name
        agent.is_staff = agent.is_superuser = is_admin
        agent.is_active = is_active
        changed = [f for f in fields if getattr(old, f) != getattr(agent, f)]
        if changed:
            agent.save(update_fields=changed)
            record(
                actor,
                "changed",
                agent,
                object_type="agent",
                before={f: getattr(old, f) for f in changed},
                after={f: getattr(agent, f) for f in changed},
            )
        if old.is_active and not is_active:
            # Its sessions end at once (its API tokens refuse while it is off).
            do_end_all(agent, reason=EndReason.DEACTIVATED)
    return agent


def set_agent_active(
    actor: Agent | None, agent: Agent, *, active: bool
) -> list[Withdrawn]:
    """Activate or deactivate an agent.  A deactivated agent sees nothing, so what it
    held on tickets is withdrawn (``withdrawal``): the result lists it."""
    with collecting() as withdrawn:
        update_agent(
            actor,
            agent,
            email=agent.email,
            first_name=agent.first_name,
            last_name=agent.last_name,
            is_admin=agent.is_superuser,
            is_active=active,
        )
    return withdrawn


def set_agent_password(actor: Agent | None, agent: Agent, password: str) -> None:
    """Set an agent's password (Django's validators apply); logged without it."""
    check_new_password(password, agent)
    with transaction.atomic():
        agent.set_password(password)
        agent.save(update_fields=["password"])
        # Django refuses its sessions from now on (their hash of the password no
        # longer matches): the list of sessions says so too.
        do_end_all(agent, reason=EndReason.PASSWORD)
        record(actor, "password set", agent, object_type="agent")


def set_agent_roles(actor: Agent | None, agent: Agent, roles: Iterable[Role]) -> None:
    """Make ``roles`` the agent's roles (each change logged on the role)."""
    wanted = {r.pk: r for r in roles}
    with transaction.atomic():
        current = {r.pk: r for r in Role.objects.filter(members=agent)}
        for pk in sorted(wanted.keys() - current.keys()):
            add_role_member(wanted[pk], agent, actor=actor)
        for pk in sorted(current.keys() - wanted.keys()):
            remove_role_member(current[pk], agent, actor=actor)


# --- mail in and out, as administrators see it ---------------------------------------

UNROUTED_MAIL = "helpline.handle_unrouted_mail"


def may_handle_unrouted_mail(actor: Agent) -> bool:
    """Received or outgoing mail on no ticket (the quarantine) is for administrators
    holding ``helpline.handle_unrouted_mail`` (superusers hold every such right)."""
    return bool(actor.is_active and actor.is_staff and actor.has_perm(UNROUTED_MAIL))


def inbound_readable_q(actor: Agent) -> Q:
    """Received messages whose content ``actor`` may see: those on a ticket the actor
    may read (``Ticket.objects.visible_to``), and those on no ticket for holders of
    ``helpline.handle_unrouted_mail``."""
    on_ticket = Q(ticket__in=Ticket.objects.visible_to(actor).values("pk"))
    if may_handle_unrouted_mail(actor):
        return on_ticket | Q(ticket__isnull=True)
    return on_ticket


def outbox_readable_q(actor: Agent) -> Q:
    """Outgoing messages whose content (recipients, sender, the message) ``actor`` may
    see, by the same rule as ``inbound_readable_q``.  Their state (status, attempts,
    last error) is operations data that every administrator sees."""
    on_ticket = Q(article__ticket__in=Ticket.objects.visible_to(actor).values("pk"))
    if may_handle_unrouted_mail(actor):
        return on_ticket | Q(article__isnull=True)
    return on_ticket
