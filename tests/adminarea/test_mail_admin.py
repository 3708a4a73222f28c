"""Mail and states in the administration (docs/administration.md, "Mail and states"):
system addresses, mail accounts, postmaster filters as a form, ticket states — who
may, the administration log, bad input as form errors, and the pages over HTTP."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission as DjangoPermission
from django.urls import reverse

from helpline.actions import admin, mail_admin, state_admin
from helpline.actions.mail_admin import AccountSettings
from helpline.errors import Conflict, InvalidInput, PermissionDenied
from helpline.mail import filter_admin as fa
from helpline.models import (
    AdminAuditEntry,
    PostmasterFilter,
    StateType,
    SystemAddress,
    TicketState,
)
from tests.support import make_agent, make_queue, make_ticket
from tests.web import PASSWORD, web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def boss():
    return admin.create_agent(
        "boss", email="boss@example.org", password=PASSWORD, is_admin=True
    )


@pytest.fixture
def boss_client(client, boss):
    client.force_login(boss)
    return client


def staff_with(*codenames: str):
    """Staff (not a superuser) holding exactly these Django permissions."""
    agent = make_agent(password=PASSWORD)
    agent.is_staff = True
    agent.save(update_fields=["is_staff"])
    agent.user_permissions.set(DjangoPermission.objects.filter(codename__in=codenames))
    return type(agent).objects.get(pk=agent.pk)  # fresh permission cache


# --- who may ----------------------------------------------------------------------------


def test_only_site_administrators_may_and_each_screen_asks_its_own_right(boss):
    queue = make_queue("Info")
    plain = make_agent("plain")
    staff = staff_with("add_systemaddress", "change_systemaddress")
    assert mail_admin.screens_for(boss) == list(mail_admin.SCREENS)
    assert mail_admin.screens_for(plain) == []
    assert mail_admin.screens_for(staff) == ["systemaddress"]
    with pytest.raises(PermissionDenied):
        mail_admin.save_address(
            plain, None, email="a@example.org", display_name="", queue=queue
        )
    with pytest.raises(PermissionDenied):
        mail_admin.save_account(
            staff, None, AccountSettings("x", "imap", "h", "u", "p")
        )
    with pytest.raises(PermissionDenied):
        fa.list_filters(staff)
    with pytest.raises(PermissionDenied):
        state_admin.save_state(staff, None, name="waiting", type=StateType.OPEN)
    mail_admin.save_address(
        staff, None, email="a@example.org", display_name="", queue=queue
    )
    assert not AdminAuditEntry.objects.filter(actor_name=plain.username).exists()


def test_the_pages_refuse_other_agents(client):
    make_queue("Info")
    client.force_login(make_agent("plain", password=PASSWORD))
    for name in (
        "admin-mail",
        "admin-addresses",
        "admin-accounts",
        "admin-filters",
        "admin-states",
        "admin-address-new",
        "admin-account-new",
        "admin-filter-new",
        "admin-state-new",
    ):
        response = client.get(reverse(name))
        assert response.status_code == 403, name
    response = client.post(
        reverse("admin-state-new"), {"name": "sneaky", "type": "open", "valid": "on"}
    )
    assert response.status_code == 403
    assert not TicketState.objects.filter(name="sneaky").exists()


# --- system addresses -------------------------------------------------------------------


def test_a_system_address_is_created_changed_and_deactivated_with_the_log(boss):
    queue, other = make_queue("Info"), make_queue("Press")
    address = mail_admin.save_address(
        boss, None, email=" Info@Example.ORG ", display_name="Info desk", queue=queue
    )
    assert address.email == "info@example.org"
    mail_admin.save_address(
        boss,
        address,
        email="info@example.org",
        display_name="Info",
        queue=other,
        valid=False,
    )
    address.refresh_from_db()
    assert (address.display_name, address.queue, address.valid) == (
        "Info",
        other,
        False,
    )
    entries = AdminAuditEntry.objects.filter(
        actor_name="boss", object_type="system address"
    )
    assert [e.action for e in entries.order_by("pk")] == ["created", "changed"]
    assert entries.order_by("pk").last().after["valid"] is False


def test_a_bad_or_taken_address_is_refused(boss):
    queue = make_queue("Info")
    with pytest.raises(InvalidInput, match="not an email address"):
        mail_admin.save_address(
            boss, None, email="not an address", display_name="", queue=queue
        )
    mail_admin.save_address(
        boss, None, email="info@example.org", display_name="", queue=queue
    )
    with pytest.raises(Conflict, match="exists already"):
        mail_admin.save_address(
            boss, None, email="INFO@example.org", display_name="", queue=queue
        )


def test_a_queues_sending_address_stays_active(boss):
    queue = make_queue("Info", email="info@example.org")
    address = SystemAddress.objects.get(email="info@example.org")
    queue.system_address = address
    queue.save(update_fields=["system_address"])
    with pytest.raises(Conflict, match="sending address of the queue"):
        mail_admin.save_address(
            boss,
            address,
            email=address.email,
            display_name="",
            queue=queue,
            valid=False,
        )
    assert SystemAddress.objects.get(pk=address.pk).valid


def test_the_address_pages(boss_client):
    queue = make_queue("Info")
    response = boss_client.post(
        reverse("admin-address-new"),
        {
            "email": "bad@@example",
            "display_name": "x",
            "queue": queue.pk,
            "valid": "on",
        },
    )
    assert response.status_code == 400
    assert "not an email address" in response.content.decode()
    assert 'value="bad@@example"' in response.content.decode()  # kept to correct
    response = boss_client.post(
        reverse("admin-address-new"),
        {
            "email": "help@example.org",
            "display_name": "Help",
            "queue": queue.pk,
            "valid": "on",
        },
    )
    assert response.status_code == 302
    address = SystemAddress.objects.get(email="help@example.org")
    page = boss_client.get(reverse("admin-addresses")).content.decode()
    assert "help@example.org" in page and "Info" in page
    response = boss_client.post(
        reverse("admin-address", args=[address.pk]),
        {"email": "help@example.org", "display_name": "Help", "queue": queue.pk},
    )
    assert response.status_code == 302
    assert not SystemAddress.objects.get(pk=address.pk).valid


def test_the_address_list_takes_the_same_queries_for_many(
    boss_client, django_assert_max_num_queries
):
    queue = make_queue("Info")
    for i in range(3):
        admin.create_system_address(f"a{i}@example.org", queue=queue)
    boss_client.get(reverse("admin-addresses"))
    with django_assert_max_num_queries(12) as few:
        boss_client.get(reverse("admin-addresses"))
    for i in range(3, 40):
        admin.create_system_address(f"a{i}@example.org", queue=make_queue())
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = boss_client.get(reverse("admin-addresses"))
    assert response.content.decode().count("@example.org</a>") == 40


# --- mail accounts ----------------------------------------------------------------------


def settings_for(name="Support mailbox", **kw):
    values = {"protocol": "imap", "host": "mail.example.org", "username": "support"}
    values.update(kw)
    return AccountSettings(name=name, **values)


def test_a_mail_account_keeps_its_password_when_the_field_is_empty(boss):
    with pytest.raises(InvalidInput, match="needs a password"):
        mail_admin.save_account(boss, None, settings_for())
    account = mail_admin.save_account(boss, None, settings_for(password="s3cret-pw"))
    mail_admin.save_account(boss, account, settings_for(folder="Support", valid=False))
    account.refresh_from_db()
    assert (account.folder, account.password, account.valid) == (
        "Support",
        "s3cret-pw",
        False,
    )
    # Another server takes the password typed again, never the stored one
    # (tests/transports/test_account_admin.py).
    with pytest.raises(InvalidInput, match="Type the password again"):
        mail_admin.save_account(boss, account, settings_for(host="imap.example.org"))
    mail_admin.save_account(boss, account, settings_for(password="new-secret"))
    account.refresh_from_db()
    assert account.password == "new-secret"
    log = AdminAuditEntry.objects.filter(object_type="mail account")
    assert [e.action for e in log.order_by("pk")] == ["created", "changed", "changed"]
    assert "s3cret-pw" not in str([(e.before, e.after) for e in log])
    assert "new-secret" not in str([(e.before, e.after) for e in log])


def test_bad_account_settings_are_refused(boss):
    with pytest.raises(InvalidInput, match="POP3 has no folders"):
        mail_admin.save_account(
            boss, None, settings_for(protocol="pop3", move_to="Done", password="x")
        )
    with pytest.raises(InvalidInput, match="not a TCP port"):
        mail_admin.save_account(boss, None, settings_for(port=70000, password="x"))
    with pytest.raises(InvalidInput, match="Choose a protocol"):
        mail_admin.save_account(boss, None, settings_for(protocol="smtp", password="x"))
    mail_admin.save_account(boss, None, settings_for(password="x"))
    with pytest.raises(Conflict):
        mail_admin.save_account(boss, None, settings_for(password="x"))


def test_the_account_page_never_shows_the_password(boss, boss_client):
    account = mail_admin.save_account(
        boss, None, settings_for(password="very-secret-word")
    )
    page = boss_client.get(reverse("admin-account", args=[account.pk])).content.decode()
    assert "very-secret-word" not in page
    response = boss_client.post(
        reverse("admin-account", args=[account.pk]),
        {
            "name": account.name,
            "protocol": "imap",
            "host": "h.example.org",
            "username": "u",
            "port": "abc",
            "folder": "INBOX",
            "valid": "on",
            "verify_tls": "on",
        },
    )
    assert response.status_code == 400
    assert "The port is a number" in response.content.decode()
    form = {
        "name": account.name,
        "protocol": "imap",
        "host": "h.example.org",
        "username": "u",
        "port": "",
        "folder": "INBOX",
        "valid": "on",
        "verify_tls": "on",
    }
    response = boss_client.post(reverse("admin-account", args=[account.pk]), form)
    assert response.status_code == 400  # another server: the password typed again
    assert "Type the password again" in response.content.decode()
    form.update(host="mail.example.org", username="support", folder="Archive")
    response = boss_client.post(reverse("admin-account", args=[account.pk]), form)
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.folder, account.password) == ("Archive", "very-secret-word")


# --- postmaster filters -----------------------------------------------------------------


def form(name="Spam", rows=None, texts=None, **kw):
    return fa.FilterForm(
        name=name,
        order=kw.pop("order", 0),
        rows=rows
        if rows is not None
        else [fa.Condition("X-Spam-Flag", "contains", "YES")],
        texts={
            **{k: "" for k in fa.SETTABLE},
            **(texts if texts is not None else {"queue": "Junk"}),
        },
        **kw,
    )


def test_a_filter_is_built_from_the_form(boss):
    make_queue("Junk")
    flt = fa.save_filter(
        boss,
        None,
        form(
            rows=[
                fa.Condition("Subject", "contains", "[spam] offer"),
                fa.Condition("From", "not_regex", r"@(example|partner)\.org$"),
                fa.Condition("", "address", "abuse@example.org"),
                fa.Condition("", "contains", ""),  # the empty row
            ],
            texts={
                "queue": "Junk",
                "priority": "1",
                "ignore": "no",
                "no_auto_response": "yes",
            },
            stop=True,
        ),
    )
    assert flt.matches == [
        {"header": "Subject", "regex": re.escape("[spam] offer")},
        {"header": "From", "regex": r"@(example|partner)\.org$", "negate": True},
        {"header": "EMAILADDRESS:abuse@example.org", "regex": ""},
    ]
    assert flt.sets == {
        "queue": "Junk",
        "priority": 1,
        "ignore": False,
        "no_auto_response": True,
    }
    assert flt.stop
    assert AdminAuditEntry.objects.filter(
        action="created", object_type="postmaster filter"
    ).exists()


@pytest.mark.parametrize(
    ("rows", "texts", "message"),
    [
        (
            [fa.Condition("Subject", "regex", "(unclosed")],
            {"queue": "Junk"},
            "not a valid regular expression",
        ),
        ([fa.Condition("", "regex", "x")], {"queue": "Junk"}, "needs a header"),
        ([], {"queue": "Junk"}, "at least one condition"),
        ([fa.Condition("Subject", "contains", "x")], {}, "something to set"),
        (
            [fa.Condition("Subject", "contains", "x")],
            {"queue": "Nowhere"},
            "no valid queue named Nowhere",
        ),
        (
            [fa.Condition("Subject", "contains", "x")],
            {"state": "sleeping"},
            "no valid state named sleeping",
        ),
        (
            [fa.Condition("Subject", "contains", "x")],
            {"priority": "9"},
            "Priority must be 1 to 5",
        ),
        (
            [fa.Condition("", "address", "nobody")],
            {"queue": "Junk"},
            "not an email address",
        ),
    ],
)
def test_bad_filters_are_refused_with_the_reason(boss, rows, texts, message):
    make_queue("Junk")
    with pytest.raises(InvalidInput, match=message):
        fa.save_filter(boss, None, form(rows=rows, texts=texts))
    assert not PostmasterFilter.objects.exists()


# Filters as they were written in JSON in the Django administration (and the CLI).
JSON_FILTERS = [
    (
        [{"header": "X-Spam-Flag", "regex": "YES"}],
        {"queue": "Junk", "ignore": "yes", "priority": "2"},
    ),
    (
        [
            {
                "header": "from",
                "regex": "^(.+)@partner\\.org$",
                "negate": False,
                "note": "kept",
            },
            {
                "header": "emailaddress:Boss@Example.org",
                "regex": "ignored",
                "negate": 1,
            },
        ],
        {
            "queue": "Partners::[***]",
            "title": "",
            "no_auto_response": True,
            "state": "open",
        },
    ),
    (
        [
            {"header": "Subject", "regex": "a.b", "negate": True},
            {"header": "To", "regex": ""},
        ],
        {"priority": 5, "customer": "[***]", "ignore": False},
    ),
]


@pytest.mark.parametrize(("matches", "sets"), JSON_FILTERS)
def test_a_json_filter_shows_in_the_form_and_saves_back_unchanged(
    boss_client, matches, sets
):
    make_queue("Junk")
    flt = PostmasterFilter.objects.create(
        name="old", order=3, matches=matches, sets=sets, comment="from the CLI"
    )
    page = boss_client.get(reverse("admin-filter", args=[flt.pk])).content.decode()
    data = {"name": "old", "order": "3", "comment": "from the CLI", "valid": "on"}
    rows = fa.conditions_of(flt)
    data["rows"] = str(len(rows) + 1)  # the page's empty row
    for i, row in enumerate(rows):
        data.update(
            {
                f"c{i}-index": str(i),
                f"c{i}-header": row.header,
                f"c{i}-kind": row.kind,
                f"c{i}-value": row.value,
            }
        )
        assert f'name="c{i}-value" value="' in page
    texts = fa.texts_of(flt)
    data.update({f"set-{k}": v for k, v in texts.items()})
    response = boss_client.post(reverse("admin-filter", args=[flt.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    flt.refresh_from_db()
    assert flt.matches == matches
    assert flt.sets == sets


def test_the_form_shows_a_json_filter_in_words(boss_client):
    flt = PostmasterFilter.objects.create(
        name="spam",
        matches=[
            {"header": "X-Spam-Flag", "regex": "YES"},
            {"header": "EMAILADDRESS:a@example.org", "regex": "", "negate": True},
        ],
        sets={"queue": "Junk", "ignore": True},
    )
    page = boss_client.get(reverse("admin-filter", args=[flt.pk])).content.decode()
    assert 'name="c0-header" value="X-Spam-Flag"' in page
    assert '<option value="contains" selected>' in page
    assert 'name="c1-value" value="a@example.org"' in page
    assert '<option value="not_address" selected>' in page
    assert 'name="set-queue" value="Junk"' in page
    assert '<option value="yes" selected>' in page
    listing = boss_client.get(reverse("admin-filters")).content.decode()
    assert "address is not among From, To and Cc" in listing


def test_the_filter_page_adds_rows_and_shows_errors(boss_client):
    make_queue("Junk")
    data = {
        "name": "f",
        "order": "0",
        "rows": "1",
        "c0-header": "Subject",
        "c0-kind": "regex",
        "c0-value": "([a-z",
        "set-queue": "Junk",
        "valid": "on",
    }
    response = boss_client.post(reverse("admin-filter-new"), {**data, "more": "1"})
    assert response.status_code == 200
    assert 'name="c1-header"' in response.content.decode()
    assert not PostmasterFilter.objects.exists()
    response = boss_client.post(reverse("admin-filter-new"), data)
    assert response.status_code == 400
    assert "not a valid regular expression" in response.content.decode()
    assert 'value="([a-z"' in response.content.decode()
    data["c0-value"] = "[a-z]+"
    assert boss_client.post(reverse("admin-filter-new"), data).status_code == 302
    assert PostmasterFilter.objects.get().matches == [
        {"header": "Subject", "regex": "[a-z]+"}
    ]


def test_a_removed_condition_is_left_out(boss):
    make_queue("Junk")
    flt = PostmasterFilter.objects.create(
        name="two",
        matches=[{"header": "A", "regex": "1"}, {"header": "B", "regex": "2", "x": 1}],
        sets={"queue": "Junk"},
    )
    rows = fa.conditions_of(flt)
    rows[0].remove = True
    fa.save_filter(boss, flt, form(name="two", rows=rows))
    assert PostmasterFilter.objects.get().matches == [
        {"header": "B", "regex": "2", "x": 1}
    ]


# --- ticket states ----------------------------------------------------------------------


def test_a_state_is_created_renamed_and_deactivated(boss):
    state = state_admin.save_state(
        boss, None, name="waiting for parts", type=StateType.PENDING_REMINDER
    )
    state_admin.save_state(
        boss, state, name="waiting for a part", type=StateType.PENDING_REMINDER
    )
    state_admin.save_state(
        boss,
        state,
        name="waiting for a part",
        type=StateType.PENDING_REMINDER,
        valid=False,
    )
    state.refresh_from_db()
    assert (state.name, state.valid) == ("waiting for a part", False)
    log = AdminAuditEntry.objects.filter(object_type="ticket state").order_by("pk")
    assert [e.action for e in log] == ["created", "changed", "changed"]
    assert log[1].before["name"] == "waiting for parts"


def test_a_state_still_needed_is_not_deactivated_and_says_why(boss):
    queue = make_queue("Info")
    new = TicketState.objects.get(name="new")
    with pytest.raises(Conflict, match="Helpline itself uses the state new"):
        state_admin.save_state(boss, new, name="new", type=new.type, valid=False)
    with pytest.raises(Conflict, match="keeps its name"):
        state_admin.save_state(boss, new, name="fresh", type=new.type)
    target = state_admin.save_state(boss, None, name="parked", type=StateType.OPEN)
    auto = state_admin.save_state(
        boss, None, name="auto close", type=StateType.PENDING_AUTO, next_state=target
    )
    with pytest.raises(Conflict, match="auto close"):
        state_admin.save_state(
            boss, target, name="parked", type=StateType.OPEN, valid=False
        )
    state_admin.save_state(
        boss, auto, name="auto close", type=StateType.PENDING_AUTO, valid=False
    )
    PostmasterFilter.objects.create(
        name="park", matches=[{"header": "A", "regex": "x"}], sets={"state": "parked"}
    )
    with pytest.raises(Conflict, match="park"):
        state_admin.save_state(
            boss, target, name="parked", type=StateType.OPEN, valid=False
        )
    with pytest.raises(Conflict, match="set this state by its name"):
        state_admin.save_state(boss, target, name="on hold", type=StateType.OPEN)
    PostmasterFilter.objects.all().delete()
    ticket = make_ticket(queue)
    ticket.state = target
    ticket.save(update_fields=["state"])
    with pytest.raises(Conflict, match="1 ticket"):
        state_admin.save_state(
            boss, target, name="parked", type=StateType.OPEN, valid=False
        )
    assert TicketState.objects.get(pk=target.pk).valid


def test_a_states_type_stays_while_tickets_are_in_it(boss):
    queue = make_queue("Info")
    state = state_admin.save_state(boss, None, name="parked", type=StateType.OPEN)
    ticket = make_ticket(queue)
    ticket.state = state
    ticket.save(update_fields=["state"])
    with pytest.raises(Conflict, match="its type cannot change"):
        state_admin.save_state(boss, state, name="parked", type=StateType.CLOSED)
    with pytest.raises(InvalidInput, match="Only a pending-auto state"):
        state_admin.save_state(
            boss, None, name="odd", type=StateType.OPEN, next_state=state
        )


def test_the_state_pages(boss_client, django_assert_max_num_queries):
    response = boss_client.post(
        reverse("admin-state-new"), {"name": "", "type": "open", "valid": "on"}
    )
    assert response.status_code == 400
    assert "needs a name" in response.content.decode()
    response = boss_client.post(
        reverse("admin-state-new"), {"name": "parked", "type": "open", "valid": "on"}
    )
    assert response.status_code == 302
    new = TicketState.objects.get(name="new")
    page = boss_client.get(reverse("admin-state", args=[new.pk])).content.decode()
    assert "cannot be deactivated" in page
    response = boss_client.post(
        reverse("admin-state", args=[new.pk]), {"name": "new", "type": new.type}
    )
    assert response.status_code == 409
    assert "Helpline itself uses the state new" in response.content.decode()
    with django_assert_max_num_queries(12):
        listing = boss_client.get(reverse("admin-states")).content.decode()
    assert "parked" in listing


def test_the_screens_speak_german(boss_client, settings):
    boss_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    page = boss_client.get(reverse("admin-mail")).content.decode()
    assert "Mail und Status" in page and "Postmaster-Filter" in page
    response = boss_client.post(
        reverse("admin-state-new"), {"name": "", "type": "open", "valid": "on"}
    )
    assert "Ein Status braucht einen Namen." in response.content.decode()
