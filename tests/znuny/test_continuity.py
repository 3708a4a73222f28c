"""Continuity after the move, against the database the real Znuny wrote: its subject
hook and number generator are read from its SysConfig, Helpline's counters continue
above its numbers, replies to its mail thread onto the imported tickets (by
In-Reply-To and by the old subject hook) and its agent links redirect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.db import transaction
from django.urls import reverse

from helpline import numbers
from helpline.actions import admin
from helpline.importers.znuny import continuity, runner
from helpline.importers.znuny.source import Source
from helpline.mail import snapshot
from helpline.mail.intake import receive
from helpline.mail.postmaster import process_inbound
from helpline.models import (
    ImportedObject,
    ImportRunStatus,
    InboundStatus,
    Ticket,
    TicketCounter,
)
from tests.mail.messages import mail
from tests.support import make_agent
from tests.web import web_settings

pytestmark = pytest.mark.django_db

CONTINUITY = ["subject hook", "ticket counters"]


@pytest.fixture
def source(znuny_db):
    opened = Source(znuny_db.url)
    yield opened
    opened.close()


def _run(source: Source) -> runner.ImportRun:
    report, record = runner.run(source, only=CONTINUITY)
    assert record is not None and record.status == ImportRunStatus.PARTIAL
    return report


# --- subject hook ------------------------------------------------------------------------


def test_the_hook_is_read_from_znunys_sysconfig_as_in_effect(source):
    values = continuity.effective_settings(source)
    # Defaults of Znuny 7 (sysconfig_default): what the test database runs with.
    assert values["Ticket::Hook"] == "Ticket#"
    assert values["Ticket::HookDivider"] == ""
    assert values["SystemID"] == "10"
    assert values["Ticket::NumberGenerator"].endswith("::DateChecksum")
    assert continuity.legacy_hook(values) == numbers.LegacyHook(
        hook="Ticket#", divider="", system_id="10", generator="DateChecksum"
    )


def test_the_phase_stores_the_hook_once_and_the_mail_pipeline_reads_it(source):
    report = _run(source)
    stored = ImportedObject.objects.get(kind=numbers.LEGACY_HOOK_KIND)
    assert stored.source == source.name
    assert numbers.LegacyHook.from_dict(stored.cursor).system_id == "10"
    assert report["ticket_hook"].imported == 1
    snapshot.invalidate()
    assert numbers.LegacyHook(system_id="10") in snapshot.current().legacy_hooks

    again = _run(source)
    assert again["ticket_hook"].unchanged == 1
    assert ImportedObject.objects.filter(kind=numbers.LEGACY_HOOK_KIND).count() == 1


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("--- '10'\n", "10"),
        ("--- Ticket#\n", "Ticket#"),
        ("--- ''\n", ""),
        ("--- 'It''s'\n", "It's"),
        ('--- "Call#"\n', "Call#"),
        ("---\n- a\n- b\n", None),
    ],
)
def test_sysconfig_values_are_read_as_yaml_scalars(text, value):
    assert continuity.yaml_scalar(text) == value


def test_a_generator_helpline_does_not_know_is_reported_not_guessed():
    with pytest.raises(ValueError, match="unknown ticket number generator"):
        continuity.legacy_hook(
            {"Ticket::NumberGenerator": "Kernel::System::Ticket::Number::Mine"}
        )


# --- ticket counters ---------------------------------------------------------------------


def test_new_numbers_continue_above_every_imported_number(source, settings):
    settings.HELPLINE_TICKET_NUMBER_GENERATOR = "DateChecksum"
    settings.HELPLINE_SYSTEM_ID = "10"  # as the Znuny database: the same format
    tns = [row["tn"] for row in source.rows("SELECT tn FROM ticket")]
    positions = [p for p in map(numbers.position, tns) if p is not None]
    assert len(positions) >= len(tns) - 1  # all but Znuny's welcome ticket
    report = _run(source)
    highest: dict[str, int] = {}
    for key, value in positions:
        highest[key] = max(value, highest.get(key, 0))
    counters = dict(TicketCounter.objects.values_list("key", "value"))
    assert {k: counters[k] for k in highest} == highest
    assert report["ticket_counter"].updated == len(highest)

    day, top = max(highest.items())
    when = datetime.strptime(day, "%Y%m%d").replace(hour=12, tzinfo=UTC)
    with transaction.atomic():
        fresh = numbers.next_ticket_number(when)
    assert numbers.position(fresh) == (day, top + 1)
    assert fresh not in tns


# --- threading and links on imported tickets ---------------------------------------------


@dataclass
class Imported:
    znuny_id: int
    tn: str
    message_id: str  # as Znuny stored it, with angle brackets
    customer: str
    ticket: Ticket


def _import_all_but_continuity(source: Source) -> Imported:
    """The real import (organisation, tickets, links) without the continuity phases,
    so a test can show what they add; then one imported customer ticket whose first
    article has a Message-ID as Znuny stored it."""
    everything_else = [name for name, _ in runner.phases() if name not in CONTINUITY]
    runner.run(source, only=everything_else)
    row = source.one(
        "SELECT t.id, t.tn, a.id AS article_id, m.a_message_id, m.a_from "
        "FROM ticket t JOIN article a ON a.ticket_id = t.id "
        "JOIN article_data_mime m ON m.article_id = a.id "
        "JOIN article_sender_type s ON s.id = a.article_sender_type_id "
        "JOIN ticket_state st ON st.id = t.ticket_state_id "
        "JOIN ticket_state_type stt ON stt.id = st.type_id "
        "WHERE s.name = 'customer' AND m.a_message_id LIKE '<%%' "
        "AND m.a_from LIKE '%%@%%' AND stt.name NOT IN ('merged', 'removed') "
        "AND t.id > 1 ORDER BY t.id"
    )
    assert row is not None
    customer = row["a_from"].split("<")[-1].strip(">").strip()
    mapped = ImportedObject.objects.get(
        source=source.name, kind="ticket", source_id=row["id"]
    )
    ticket = Ticket.objects.get(pk=mapped.target_id)
    assert ticket.number == row["tn"]
    return Imported(row["id"], row["tn"], row["a_message_id"], customer, ticket)


@pytest.fixture
def imported(source):
    return _import_all_but_continuity(source)


def _deliver(raw: bytes):
    message, created = receive(raw, transport="test")
    assert created
    message = process_inbound(message.pk)
    assert message.status == InboundStatus.PROCESSED, message.error
    return message


def test_a_reply_to_an_imported_article_threads_by_in_reply_to(imported):
    bare = imported.message_id.strip("<>")
    for header in (imported.message_id, f"<{bare}>"):
        message = _deliver(
            mail(
                subject="Re: no number here",
                in_reply_to=header,
                sender=f"Customer <{imported.customer}>",
            )
        )
        assert message.ticket_id == imported.ticket.pk
        assert message.decisions["follow_up"] == "references"
    # Znuny's Message-IDs can be guessed: from someone not on the ticket, a new one.
    stranger = _deliver(mail(sender="x@evil.example", in_reply_to=imported.message_id))
    assert stranger.ticket_id != imported.ticket.pk
    assert stranger.decisions["follow_up"] == "references (sender not a participant)"


def test_a_reply_with_the_old_subject_hook_threads_when_the_system_ids_differ(
    source, imported, settings
):
    """Helpline runs with its own SystemID: only the hook stored from Znuny's
    SysConfig recognises the imported ticket's number."""
    settings.HELPLINE_SYSTEM_ID = "77"
    raw = mail(
        subject=f"Re: [Ticket#{imported.tn}] still broken",
        sender=f"Customer <{imported.customer}>",
    )
    before = _deliver(raw.replace(b"Message-ID: <", b"Message-ID: <a"))
    assert before.ticket_id != imported.ticket.pk  # not recognised yet: a new ticket

    _run(source)
    after = _deliver(raw.replace(b"Message-ID: <", b"Message-ID: <b"))
    assert after.ticket_id == imported.ticket.pk
    assert after.decisions["follow_up"] == "subject"


def test_an_old_agent_link_redirects_to_the_imported_ticket_after_the_access_check(
    client, settings, imported
):
    web_settings(settings)
    reader = make_agent("reader")
    admin.grant(imported.ticket.queue.group, ["rw"], agent=reader)
    stranger = make_agent("stranger")
    url = f"/otrs/index.pl?Action=AgentTicketZoom;TicketID={imported.znuny_id}"

    client.force_login(reader)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("zoom", args=[imported.tn])

    client.force_login(stranger)
    assert client.get(url).status_code == 404
