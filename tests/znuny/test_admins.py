"""Administrator rights: ``rw`` on Znuny's group ``admin`` makes a Helpline
administrator; a later run takes away exactly those the import gave, never those
given in Helpline."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from helpline.models import ImportedObject
from tests.znuny import sources
from tests.znuny.test_org import import_org

pytestmark = pytest.mark.django_db

# rw on admin: given to bob, taken from alice and carol (directly; whatever roles
# they have lose it too).
SWAP = r"""
my $GroupObject = $Kernel::OM->Get('Kernel::System::Group');
my $UserObject = $Kernel::OM->Get('Kernel::System::User');
my $Admin = $GroupObject->GroupLookup(Group => 'admin');
my %None = map { $_ => 0 } qw(ro move_into create note owner priority rw);
my %All = map { $_ => 1 } qw(ro move_into create note owner priority rw);
for my $Login (qw(alice carol)) {
    $GroupObject->PermissionGroupUserAdd(
        GID => $Admin, UID => $UserObject->UserLookup(UserLogin => $Login),
        Permission => {%None}, UserID => 1,
    ) or die "PermissionGroupUserAdd $Login";
}
for my $RoleID (keys %{{ $GroupObject->RoleList(Valid => 0) }}) {
    $GroupObject->PermissionGroupRoleAdd(
        GID => $Admin, RID => $RoleID, Permission => {%None}, UserID => 1,
    ) or die 'PermissionGroupRoleAdd';
}
$GroupObject->PermissionGroupUserAdd(
    GID => $Admin, UID => $UserObject->UserLookup(UserLogin => 'bob'),
    Permission => {%All}, UserID => 1,
) or die 'PermissionGroupUserAdd bob';
print "done\n";
"""
GIVE = r"""
my $GroupObject = $Kernel::OM->Get('Kernel::System::Group');
my $UserObject = $Kernel::OM->Get('Kernel::System::User');
my %All = map { $_ => 1 } qw(ro move_into create note owner priority rw);
for my $Login (qw(alice carol)) {
    $GroupObject->PermissionGroupUserAdd(
        GID => $GroupObject->GroupLookup(Group => 'admin'),
        UID => $UserObject->UserLookup(UserLogin => $Login),
        Permission => {%All}, UserID => 1,
    ) or die "PermissionGroupUserAdd $Login";
}
print "done\n";
"""


def admin(login: str) -> bool:
    user = User.objects.get(username=login)
    assert user.is_staff == user.is_superuser, login
    return user.is_superuser


def test_administrator_rights_follow_znuny_but_only_those_the_import_gave(
    znuny_copy,
):
    """alice and carol get rw on admin in Znuny; carol was an administrator in
    Helpline before the import, dave is made one in Helpline by hand.  Znuny then
    gives rw on admin to bob and takes it from alice and carol: the next run makes
    bob an administrator, takes the rights from alice (the import gave them), and
    leaves carol's and dave's (given in Helpline).  Recorded in the agents'
    mapping, so the run after changes nothing."""
    assert sources.perl(znuny_copy, GIVE).strip() == "done"
    User.objects.create_user("carol", is_staff=True, is_superuser=True)
    import_org(znuny_copy.url)
    assert admin("alice") and admin("carol") and not admin("bob")
    User.objects.filter(username="dave").update(is_staff=True, is_superuser=True)
    given = set(
        User.objects.filter(
            pk__in=[
                e.target_id
                for e in ImportedObject.objects.filter(kind="agent")
                if e.cursor.get("admin")
            ]
        ).values_list("username", flat=True)
    )
    # carol was one before; Znuny's own admin (user 1, inactive here) is one too.
    assert given == {"alice", "root@localhost"}

    assert sources.perl(znuny_copy, SWAP).strip() == "done"
    report = import_org(znuny_copy.url)

    assert admin("bob")
    assert not admin("alice")
    assert admin("carol") and admin("dave")
    assert (report["admin"].imported, report["admin"].updated) == (1, 1)
    again = import_org(znuny_copy.url)
    assert (again["admin"].imported, again["admin"].updated) == (0, 0)
    assert admin("bob") and not admin("alice")
