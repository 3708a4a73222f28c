"""The organisation phases against the database the real Znuny wrote: counts and
names as Znuny's, every agent's permissions as Znuny stored them, a re-run that
changes nothing."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.contrib.auth.models import User

from helpline.blobstore import read_blob
from helpline.importers.znuny import org, runner
from helpline.importers.znuny.org_permissions import PERMISSIONS
from helpline.importers.znuny.source import Source
from helpline.models import (
    AgentProfile,
    AutoResponse,
    Customer,
    Grant,
    Group,
    ImportedObject,
    Queue,
    Role,
    Salutation,
    Signature,
    SystemAddress,
    Template,
    TemplateAttachment,
    TicketState,
)

ORG = [name for name, _fn in org.PHASES]


def import_org(url: str):
    source = Source(url)
    try:
        report, _record = runner.run(source, only=ORG)
    finally:
        source.close()
    return report


@pytest.fixture
def znuny(znuny_db):
    """The source, read with plain SQL for the expectations."""
    source = Source(znuny_db.url)
    yield source
    source.close()


def names(source: Source, sql: str) -> set[str]:
    return {source.text(r["name"]) for r in source.rows(sql)}


def znuny_grants(source: Source) -> dict[str, set[tuple[str, str]]]:
    """Per agent login: (group name, permission) from its own and its roles' grants,
    as Znuny computes them (group_user, group_role through role_user; valid only)."""
    grants: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in source.rows(
        "SELECT u.login, g.name, gu.permission_key FROM group_user gu "
        "JOIN users u ON u.id = gu.user_id JOIN permission_groups g ON g.id = gu.group_id "
        "WHERE g.valid_id = 1"
    ):
        grants[r["login"]].add((r["name"], r["permission_key"]))
    for r in source.rows(
        "SELECT u.login, g.name, gr.permission_key FROM group_role gr "
        "JOIN role_user ru ON ru.role_id = gr.role_id "
        "JOIN roles ro ON ro.id = gr.role_id AND ro.valid_id = 1 "
        "JOIN users u ON u.id = ru.user_id "
        "JOIN permission_groups g ON g.id = gr.group_id "
        "WHERE gr.permission_value = 1 AND g.valid_id = 1"
    ):
        grants[r["login"]].add((r["name"], r["permission_key"]))
    return grants


def helpline_grants(agent: User) -> set[tuple[str, str]]:
    return {
        (g.group.name, g.permission)
        for g in Grant.objects.held_by(agent).select_related("group")
    }


@pytest.mark.django_db
def test_the_organisation_comes_across_by_name(znuny_db, znuny):
    report = import_org(znuny_db.url)

    assert names(znuny, "SELECT name FROM permission_groups") <= set(
        Group.objects.values_list("name", flat=True)
    )
    assert names(znuny, "SELECT name FROM roles") == set(
        Role.objects.values_list("name", flat=True)
    )
    znuny_queues = names(znuny, "SELECT name FROM queue")
    assert znuny_queues == set(Queue.objects.values_list("name", flat=True))
    assert any("::" in name for name in znuny_queues)
    for r in znuny.rows(
        "SELECT q.name, g.name AS grp, q.unlock_timeout, q.follow_up_lock, "
        "f.name AS follow_up, sa.value0, s.name AS salutation, si.name AS signature "
        "FROM queue q JOIN permission_groups g ON g.id = q.group_id "
        "JOIN follow_up_possible f ON f.id = q.follow_up_id "
        "JOIN system_address sa ON sa.id = q.system_address_id "
        "JOIN salutation s ON s.id = q.salutation_id "
        "JOIN signature si ON si.id = q.signature_id"
    ):
        queue = Queue.objects.get(name=r["name"])
        assert queue.group.name == r["grp"]
        assert queue.unlock_timeout == (r["unlock_timeout"] or 0)
        assert queue.follow_up_lock == bool(r["follow_up_lock"])
        assert queue.follow_up == r["follow_up"].replace(" ", "_")
        assert queue.system_address is not None
        assert queue.system_address.email == r["value0"].lower()
        assert queue.salutation is not None and queue.salutation.name == r["salutation"]
        assert queue.signature is not None and queue.signature.name == r["signature"]
        assert queue.search_group_id == queue.group_id

    assert {
        r["value0"].lower() for r in znuny.rows("SELECT value0 FROM system_address")
    } == set(SystemAddress.objects.values_list("email", flat=True))
    assert names(znuny, "SELECT name FROM salutation") == set(
        Salutation.objects.values_list("name", flat=True)
    )
    assert names(znuny, "SELECT name FROM signature") == set(
        Signature.objects.values_list("name", flat=True)
    )
    assert names(
        znuny,
        "SELECT name FROM standard_template WHERE template_type <> 'ProcessDialog'",
    ) == set(Template.objects.values_list("name", flat=True))
    assert names(
        znuny,
        "SELECT ar.name FROM auto_response ar JOIN auto_response_type t "
        "ON t.id = ar.type_id WHERE t.name <> 'auto remove'",
    ) == set(AutoResponse.objects.values_list("name", flat=True))
    assert {
        r["email"].lower() for r in znuny.rows("SELECT email FROM customer_user")
    } == set(Customer.objects.values_list("email", flat=True))
    assert names(znuny, "SELECT name FROM ticket_state") <= set(
        TicketState.objects.values_list("name", flat=True)
    )
    for kind, table in [
        ("group", "permission_groups"),
        ("role", "roles"),
        ("agent", "users"),
        ("queue", "queue"),
        ("system_address", "system_address"),
        ("salutation", "salutation"),
        ("signature", "signature"),
        ("template", "standard_template"),
        ("auto_response", "auto_response"),
        ("state", "ticket_state"),
        ("priority", "ticket_priority"),
        ("role_member", "role_user"),
    ]:
        assert report[kind].source == znuny.count(table), kind
        assert report[kind].source == (
            report[kind].imported
            + report[kind].updated
            + report[kind].unchanged
            + report[kind].skipped
        ), kind
    after = {
        s.name: s.next_state.name
        for s in TicketState.objects.filter(type="pending_auto").select_related(
            "next_state"
        )
    }
    assert after == {
        "pending auto close+": "closed successful",
        "pending auto close-": "closed unsuccessful",
    }
    assert report["customer"].source == znuny.count("customer_user")
    assert report["customer_company"].skipped == znuny.count("customer_company")


@pytest.mark.django_db
def test_agents_and_their_profiles(znuny_db, znuny):
    import_org(znuny_db.url)
    preferences = {
        (r["user_id"], r["preferences_key"]): r["preferences_value"]
        for r in znuny.rows("SELECT * FROM user_preferences")
    }
    rows = znuny.all("SELECT id, login, first_name, last_name, valid_id FROM users")
    assert User.objects.filter(username__in=[r["login"] for r in rows]).count() == len(
        rows
    )
    for r in rows:
        user = User.objects.get(username=r["login"])
        assert (user.first_name, user.last_name) == (r["first_name"], r["last_name"])
        assert user.email == preferences.get((r["id"], "UserEmail"), "")
        assert user.is_active == (r["valid_id"] == 1 and r["id"] != 1)
        language = preferences.get((r["id"], "UserLanguage"))
        if language:
            profile = AgentProfile.objects.get(user=user)
            assert profile.language == language.lower().replace("_", "-")
    system = User.objects.get(username="root@localhost")
    assert not system.is_active
    assert not system.has_usable_password()


@pytest.mark.django_db
def test_every_agent_has_the_permissions_znuny_gave_it(znuny_db, znuny):
    import_org(znuny_db.url)
    expected = znuny_grants(znuny)
    assert expected, "the Znuny database grants nothing"
    assert any(
        perm not in ("ro", "rw") for grants in expected.values() for _g, perm in grants
    ), "the database exercises only ro/rw"
    for r in znuny.rows("SELECT login FROM users"):
        agent = User.objects.get(username=r["login"])
        want = {(g, PERMISSIONS[p].value) for g, p in expected.get(r["login"], set())}
        assert helpline_grants(agent) == want, r["login"]
    # Through roles: each role's grants are Znuny's.
    for r in znuny.rows("SELECT name FROM roles"):
        role = Role.objects.get(name=r["name"])
        members = set(role.members.values_list("username", flat=True))
        assert members == {
            m["login"]
            for m in znuny.rows(
                "SELECT u.login FROM role_user ru JOIN users u ON u.id = ru.user_id "
                "JOIN roles ro ON ro.id = ru.role_id WHERE ro.name = %s",
                (r["name"],),
            )
        }
    # rw on "admin": a Helpline administrator.
    admins = {login for login, grants in expected.items() if ("admin", "rw") in grants}
    assert admins == set(
        User.objects.filter(is_superuser=True, is_staff=True).values_list(
            "username", flat=True
        )
    )


@pytest.mark.django_db
def test_texts_are_plain_with_helpline_placeholders(znuny_db, znuny):
    report = import_org(znuny_db.url)
    for text in (
        list(Salutation.objects.values_list("text", flat=True))
        + list(Template.objects.values_list("text", flat=True))
        + list(AutoResponse.objects.values_list("text", flat=True))
    ):
        assert "<p>" not in text
        assert "<OTRS_CUSTOMER_REALNAME>" not in text
    html = znuny.one(
        "SELECT name FROM salutation WHERE content_type LIKE 'text/html%%'"
    )
    assert html is not None
    assert "{{ customer.name }}" in Salutation.objects.get(name=html["name"]).text
    subject = AutoResponse.objects.exclude(subject="").first()
    assert subject is not None and "{{ original.subject:24 }}" in "".join(
        AutoResponse.objects.values_list("subject", flat=True)
    )
    assert report["auto_response"].skipped == znuny.scalar(
        "SELECT COUNT(*) FROM auto_response ar JOIN auto_response_type t "
        "ON t.id = ar.type_id WHERE t.name = 'auto remove'"
    )
    # Every template's queues and attachments, byte for byte.
    for r in znuny.rows(
        "SELECT t.name, sa.filename, sa.content FROM standard_template_attachment sta "
        "JOIN standard_template t ON t.id = sta.standard_template_id "
        "JOIN standard_attachment sa ON sa.id = sta.standard_attachment_id"
    ):
        attachment = TemplateAttachment.objects.get(
            template__name=r["name"], filename=r["filename"]
        )
        assert read_blob(attachment.blob) == znuny.blob(r["content"])
    for r in znuny.rows(
        "SELECT t.name, q.name AS queue FROM queue_standard_template qt "
        "JOIN standard_template t ON t.id = qt.standard_template_id "
        "JOIN queue q ON q.id = qt.queue_id"
    ):
        assert (
            Template.objects.get(name=r["name"]).queues.filter(name=r["queue"]).exists()
        )


@pytest.mark.django_db
def test_a_second_run_changes_nothing(znuny_db):
    import_org(znuny_db.url)
    before = {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (
            User,
            Group,
            Role,
            Queue,
            SystemAddress,
            Template,
            TicketState,
            Grant,
        )
    }
    mapped = ImportedObject.objects.count()
    report = import_org(znuny_db.url)
    after = {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (
            User,
            Group,
            Role,
            Queue,
            SystemAddress,
            Template,
            TicketState,
            Grant,
        )
    }
    assert before == after
    assert ImportedObject.objects.count() == mapped
    for kind in ("group", "role", "agent", "queue", "template", "customer", "state"):
        assert report[kind].imported == 0, kind
        assert report[kind].updated == 0, kind
    assert report["permission"].imported == report["permission"].updated == 0


CHANGES = r"""
my $QueueObject = $Kernel::OM->Get('Kernel::System::Queue');
my %Queue = $QueueObject->QueueGet(Name => 'Support::Hardware');
$QueueObject->QueueUpdate(
    %Queue, Name => 'Support::Devices', FollowUpLock => 1, UnlockTimeout => 15,
    UserID => 1,
) or die 'QueueUpdate';
my $UserObject = $Kernel::OM->Get('Kernel::System::User');
my %User = $UserObject->GetUserData(User => 'erin');
$UserObject->UserUpdate(%User, ValidID => 2, ChangeUserID => 1) or die 'UserUpdate';
my $GroupObject = $Kernel::OM->Get('Kernel::System::Group');
my %All = map { $_ => 0 } qw(ro move_into create note owner priority rw);
my $Ops = $GroupObject->GroupLookup(Group => 'ops');
my $Carol = $UserObject->UserLookup(UserLogin => 'carol');
$GroupObject->PermissionGroupUserAdd(
    GID => $Ops, UID => $Carol, Permission => { %All, ro => 1 }, UserID => 1,
) or die 'PermissionGroupUserAdd';
my %Role = reverse $GroupObject->RoleList(Valid => 0);
my $RoleID = (grep { $_ } map {
    my %P = $GroupObject->PermissionRoleGroupGet(RoleID => $Role{$_}, Type => 'priority');
    $P{$Ops} ? $Role{$_} : undef } sort keys %Role)[0] or die 'no role with priority';
my %Keep = map { $_ => 1 } qw(ro move_into create note owner);
$GroupObject->PermissionGroupRoleAdd(
    GID => $Ops, RID => $RoleID, Permission => { %All, %Keep }, UserID => 1,
) or die 'PermissionGroupRoleAdd';
my $Admin = $GroupObject->GroupLookup(Group => 'admin');
my $Alice = $UserObject->UserLookup(UserLogin => 'alice');
$GroupObject->PermissionGroupUserAdd(
    GID => $Admin, UID => $Alice, Permission => {%All}, UserID => 1,
) or die 'PermissionGroupUserAdd admin';
my $StateObject = $Kernel::OM->Get('Kernel::System::State');
my %State = $StateObject->StateGet(Name => 'pending reminder');
$StateObject->StateUpdate(%State, Name => 'waiting for customer', UserID => 1)
    or die 'StateUpdate';
my %Closed = reverse $StateObject->StateTypeList(UserID => 1);
$StateObject->StateAdd(
    Name => 'closed as spam', TypeID => $Closed{closed}, ValidID => 1, UserID => 1,
) or die 'StateAdd';
print "done\n";
"""


@pytest.mark.django_db
def test_changes_made_in_znuny_come_across(znuny_copy):
    from tests.znuny import sources

    import_org(znuny_copy.url)
    hardware = Queue.objects.get(name="Support::Hardware")
    carol = User.objects.get(username="carol")
    assert ("ops", "rw") in helpline_grants(carol)
    waiting = TicketState.objects.get(name="pending reminder")
    assert User.objects.get(username="alice").is_superuser
    priority_before = Grant.objects.filter(
        role__isnull=False, group__name="ops", permission="priority"
    ).count()
    assert priority_before == 1

    assert sources.perl(znuny_copy, CHANGES).strip() == "done"
    sources.console(
        znuny_copy,
        "Admin::User::Add",
        "--user-name",
        "frank",
        "--first-name",
        "Frank",
        "--last-name",
        "Fischer",
        "--email-address",
        "frank@helpdesk.example.com",
        "--password",
        "frank-Secret-1",
    )

    report = import_org(znuny_copy.url)
    hardware.refresh_from_db()
    assert hardware.name == "Support::Devices"  # the same queue, renamed
    assert (hardware.follow_up_lock, hardware.unlock_timeout) == (True, 15)
    assert report["queue"].updated == 1
    assert report["queue"].imported == 0
    assert not User.objects.get(username="erin").is_active
    assert report["agent"].imported == 1  # frank
    frank = User.objects.get(username="frank")
    assert (frank.first_name, frank.email) == ("Frank", "frank@helpdesk.example.com")
    from django.contrib.auth import authenticate

    assert authenticate(username="frank", password="frank-Secret-1") == frank

    # Withdrawn in Znuny, withdrawn here: directly and from a role.
    source = Source(znuny_copy.url)
    try:
        expected = znuny_grants(source)
        for login in ("carol", "alice", "bob", "dave", "frank"):
            agent = User.objects.get(username=login)
            want = {(g, PERMISSIONS[p].value) for g, p in expected.get(login, set())}
            assert helpline_grants(agent) == want, login
    finally:
        source.close()
    assert ("ops", "rw") not in helpline_grants(carol)
    assert ("ops", "ro") in helpline_grants(carol)
    assert not Grant.objects.filter(
        role__isnull=False, group__name="ops", permission="priority"
    ).exists()
    assert report["permission"].updated >= 2  # rows withdrawn
    # Administrator rights the import gave are taken away with Znuny's rw on admin.
    alice = User.objects.get(username="alice")
    assert ("admin", "rw") not in helpline_grants(alice)
    assert not alice.is_superuser and not alice.is_staff
    assert report["admin"].updated == 1
    # States: renamed (the same row), and a new one with its type.
    assert TicketState.objects.get(pk=waiting.pk).name == "waiting for customer"
    assert TicketState.objects.get(name="closed as spam").type == "closed"


@pytest.mark.django_db
def test_a_dry_run_writes_nothing(znuny_db):
    source = Source(znuny_db.url)
    try:
        report, record = runner.run(source, only=ORG, dry_run=True)
    finally:
        source.close()
    assert record is None
    assert report["queue"].imported == report["queue"].source > 0
    assert not Queue.objects.exists()
    assert not User.objects.exists()
    assert not ImportedObject.objects.exists()


MORE = r"""
my $UserObject = $Kernel::OM->Get('Kernel::System::User');
my $CustomerUserObject = $Kernel::OM->Get('Kernel::System::CustomerUser');
my $GroupObject = $Kernel::OM->Get('Kernel::System::Group');
for my $N (1 .. 12) {
    my $UID = $UserObject->UserAdd(
        UserFirstname => 'Agent', UserLastname => "No $N", UserLogin => "agent$N",
        UserEmail => "agent$N\@helpdesk.example.com", ValidID => 1, ChangeUserID => 1,
    ) or die "UserAdd $N";
    $CustomerUserObject->CustomerUserAdd(
        Source => 'CustomerUser', UserFirstname => 'Customer', UserLastname => "No $N",
        UserCustomerID => 'ACME', UserLogin => "customer$N",
        UserEmail => "customer$N\@acme.example", ValidID => 1, UserID => 1,
    ) or die "CustomerUserAdd $N";
    my $GID = $GroupObject->GroupAdd(Name => "team$N", ValidID => 1, UserID => 1)
        or die "GroupAdd $N";
    $GroupObject->PermissionGroupUserAdd(
        GID => $GID, UID => $UID, Permission => { ro => 1, note => 1 }, UserID => 1,
    ) or die "PermissionGroupUserAdd $N";
}
print "done\n";
"""


def queries_of_import(url: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        import_org(url)
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_the_rows(znuny_db, znuny_copy):
    from tests.znuny import sources

    few = queries_of_import(znuny_db.url)
    # The same import into an empty Helpline, from a source with 12 more agents,
    # customers, groups and grants.
    from django.contrib.auth.models import User as Users

    for model in (ImportedObject, Grant, TemplateAttachment, Template, AutoResponse):
        model.objects.all().delete()
    Queue.objects.update(system_address=None)
    for model in (SystemAddress, Queue, Group, Role, Customer, Salutation, Signature):
        model.objects.all().delete()
    Users.objects.all().delete()
    assert sources.perl(znuny_copy, MORE).strip() == "done"
    more = queries_of_import(znuny_copy.url)
    assert Users.objects.filter(username__startswith="agent").count() == 12
    assert Grant.objects.filter(group__name__startswith="team").count() == 24
    # The first import also stored the template attachment's blob and updated the
    # comments of Helpline's default states; the second found both done.
    assert len(more) <= len(few)


SKIPPED = r"""
my $TemplateObject = $Kernel::OM->Get('Kernel::System::StandardTemplate');
$TemplateObject->StandardTemplateAdd(
    Name => 'Dialog text', Template => 'Choose', TemplateType => 'ProcessDialog',
    ContentType => 'text/plain; charset=utf-8', ValidID => 1, UserID => 1,
) or die 'StandardTemplateAdd dialog';
$TemplateObject->StandardTemplateAdd(
    Name => 'Portal link', TemplateType => 'Answer', ValidID => 1, UserID => 1,
    ContentType => 'text/html; charset=utf-8',
    Template => '<p>Dear &lt;OTRS_CUSTOMER_REALNAME&gt;,</p>'
        . '<p>see <a href="https://portal.example.com/">the portal</a>'
        . '<br/>or <OTRS_CONFIG_FQDN></p>',
) or die 'StandardTemplateAdd answer';
my $AutoResponseObject = $Kernel::OM->Get('Kernel::System::AutoResponse');
my %Types = reverse $AutoResponseObject->AutoResponseTypeList(Valid => 0);
$AutoResponseObject->AutoResponseAdd(
    Name => 'Request removed', Subject => 'Removed', Response => 'Your request was removed.',
    ContentType => 'text/plain', AddressID => 1, TypeID => $Types{'auto remove'},
    ValidID => 1, UserID => 1,
) or die 'AutoResponseAdd';
print "done\n";
"""


@pytest.mark.django_db
def test_what_helpline_has_no_place_for_is_skipped_with_a_reason(znuny_copy):
    from tests.znuny import sources

    assert sources.perl(znuny_copy, SKIPPED).strip() == "done"
    report = import_org(znuny_copy.url)
    assert not Template.objects.filter(name="Dialog text").exists()
    assert report["template"].reasons["template type ProcessDialog"] == 1
    assert not AutoResponse.objects.filter(name="Request removed").exists()
    assert report["auto_response"].reasons["auto-response type 'auto remove'"] == 1
    text = Template.objects.get(name="Portal link").text
    # Plain text, the link and line break kept; a placeholder without a Helpline
    # equivalent kept verbatim and counted.
    assert text == (
        "Dear {{ customer.name }},\n\n"
        "see the portal <https://portal.example.com/>\nor <OTRS_CONFIG_FQDN>"
    )
    assert report["template"].reasons["placeholder kept: <OTRS_CONFIG_FQDN>"] == 1


@pytest.mark.parametrize(
    ("text", "content_type", "converted", "problems"),
    [
        (
            "Hi <OTRS_CUSTOMER_DATA_UserFullname>, re <OTRS_CUSTOMER_SUBJECT[20]>:\r\n"
            "<OTRS_CUSTOMER_EMAIL[5]>\r\n-- <OTRS_CURRENT_UserFirstname>",
            "text/plain; charset=utf-8",
            "Hi {{ customer.name }}, re {{ original.subject:20 }}:\n"
            "{{ original.quote:5 }}\n-- {{ agent.first_name }}",
            [],
        ),
        (
            "<p>Ticket &lt;OTRS_TICKET_TicketNumber&gt; in <OTRS_TICKET_Queue>,"
            " <OTRS_TICKET_DynamicField_X></p>",
            "text/html",
            "Ticket {{ ticket.number }} in {{ ticket.queue }}, <OTRS_TICKET_DynamicField_X>",
            ["placeholder kept: <OTRS_TICKET_DynamicField_X>"],
        ),
        (
            "Write {{ name }} here",
            None,
            "Write {{ name }} here",
            ["text has {{ }} that is no placeholder"],
        ),
    ],
)
def test_znuny_texts_become_helpline_texts(text, content_type, converted, problems):
    from helpline.importers.znuny.org_texts import convert
    from helpline.importers.znuny.report import Progress, Report

    ctx = runner.Context(
        source=None,  # type: ignore[arg-type]
        mapping=None,  # type: ignore[arg-type]
        report=Report(),
        progress=Progress(enabled=False),
    )
    assert convert(ctx, "template", 1, text, content_type) == converted
    assert list(ctx.report["template"].reasons) == problems


@pytest.mark.django_db
def test_an_agent_helpline_had_before_is_joined_by_login_and_that_is_reported(znuny):
    """A same-named account takes on the Znuny agent's permissions: never silently."""
    login = sorted(names(znuny, "SELECT login AS name FROM users WHERE id > 1"))[0]
    from tests.support import make_agent

    make_agent(login)
    report, _ = runner.run(znuny, only=ORG)
    examples = report.as_dict()["agent"]["examples"]
    joined = [e for e in examples if "Helpline had before the import" in e]
    assert len(joined) == 1 and repr(login) in joined[0]
    assert User.objects.filter(username=login).count() == 1
