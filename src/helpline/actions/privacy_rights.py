"""The two rights of data protection, which no account holds by being a superuser.

``helpline.audit_reads``: search and export the read audit (who read what).
``helpline.handle_personal_data``: answer a person's access or erasure request, set
retention and legal holds, see what retention will remove.

Both give sight of what agents did or of everything about a person across queues,
so an organisation grants them to a few named people (a data-protection officer, an
auditor); being an administrator is not enough.  They are Django permissions, given
to the account directly or through a Django auth group (``helpline right``); Django's ``has_perm`` is not used here because it
answers yes for every superuser.  docs/data-protection.md.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission as DjangoPermission
from django.db.models import Q

from helpline.errors import PermissionDenied

AUDIT_READS = "audit_reads"
HANDLE_PERSONAL_DATA = "handle_personal_data"
RIGHTS = (AUDIT_READS, HANDLE_PERSONAL_DATA)


def holds(agent: Any, codename: str) -> bool:
    """Does ``agent`` hold the right itself (directly or through an auth group)?"""
    if codename not in RIGHTS:
        raise ValueError(f"unknown right {codename!r}")
    if agent is None or not getattr(agent, "is_active", False) or agent.pk is None:
        return False
    return (
        DjangoPermission.objects.filter(
            content_type__app_label="helpline", codename=codename
        )
        .filter(Q(user=agent) | Q(group__user=agent))
        .exists()
    )


def may_audit(agent: Any) -> bool:
    return holds(agent, AUDIT_READS)


def may_handle_personal_data(agent: Any) -> bool:
    return holds(agent, HANDLE_PERSONAL_DATA)


def require(agent: Any, codename: str) -> None:
    if not holds(agent, codename):
        raise PermissionDenied(
            f"You need the '{codename}' right, which an administrator gives by name "
            "(being an administrator is not enough)."
        )


def _permission(codename: str) -> DjangoPermission:
    if codename not in RIGHTS:
        raise ValueError(f"unknown right {codename!r}")
    return DjangoPermission.objects.get(
        content_type__app_label="helpline", codename=codename
    )


def give(agent: Any, codename: str, *, actor: Any = None) -> None:
    """Give ``agent`` the right, in the administration log."""
    from helpline.actions import admin

    agent.user_permissions.add(_permission(codename))
    admin.record(actor, f"gave right {codename}", agent, object_type="agent")


def withdraw(agent: Any, codename: str, *, actor: Any = None) -> None:
    """Withdraw the right given to ``agent`` itself (one held through an auth group
    stays: withdraw the group membership)."""
    from helpline.actions import admin

    agent.user_permissions.remove(_permission(codename))
    admin.record(actor, f"withdrew right {codename}", agent, object_type="agent")


def holders(codename: str) -> list[Any]:
    """The active accounts that hold the right, directly or through an auth group."""
    from django.contrib.auth import get_user_model

    permission = _permission(codename)
    return list(
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(user_permissions=permission) | Q(groups__permissions=permission))
        .distinct()
        .order_by("username")
    )
