"""The rights of data protection are held only by name: a superuser without them
has neither, an auth group can carry them, and the command line gives, lists and
withdraws them (in the administration log)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.models import Permission as DjangoPermission
from django.core.management import call_command

from helpline.actions import privacy_rights
from helpline.models import AdminAuditEntry
from tests.support import make_agent

pytestmark = pytest.mark.django_db


def test_a_superuser_holds_neither_right_by_being_one():
    root = make_agent("root")
    root.is_superuser = root.is_staff = True
    root.save()
    assert root.has_perm("helpline.audit_reads")  # Django's answer for a superuser
    assert not privacy_rights.may_audit(root)
    assert not privacy_rights.may_handle_personal_data(root)


def test_given_directly_or_through_an_auth_group():
    alice, bob = make_agent("alice"), make_agent("bob")
    privacy_rights.give(alice, privacy_rights.AUDIT_READS)
    auditors = AuthGroup.objects.create(name="auditors")
    auditors.permissions.add(
        DjangoPermission.objects.get(codename=privacy_rights.HANDLE_PERSONAL_DATA)
    )
    bob.groups.add(auditors)
    assert privacy_rights.may_audit(alice)
    assert not privacy_rights.may_handle_personal_data(alice)
    assert privacy_rights.may_handle_personal_data(bob)
    assert not privacy_rights.may_audit(bob)
    bob.is_active = False
    bob.save()
    assert not privacy_rights.may_handle_personal_data(bob)


def test_the_command_gives_lists_and_withdraws():
    make_agent("carol")
    out = StringIO()
    call_command("right", "give", "audit_reads", "carol", stdout=out)
    call_command("right", "list", "audit_reads", stdout=out)
    assert out.getvalue().splitlines() == ["Gave audit_reads to carol.", "carol"]
    call_command("right", "withdraw", "audit_reads", "carol", stdout=out)
    assert privacy_rights.holders("audit_reads") == []
    actions = list(
        AdminAuditEntry.objects.filter(object_repr="carol").values_list(
            "action", flat=True
        )
    )
    assert "gave right audit_reads" in actions
    assert "withdrew right audit_reads" in actions
