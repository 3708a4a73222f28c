"""Subject-access exports (GDPR Art. 15), the domain: what the zip holds, byte for
byte; what it leaves out; that it is audited; what it costs in queries and memory;
and that its files are private and purged.

The person, Jane Roe, wrote an HTML mail with an inline image and an attachment (her
ticket), got a reply, and is the subject of an internal note; John copied her on a
mail of his ticket; Mallory's address only looks like hers.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tracemalloc
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpline.actions import (
    privacy_rights,
    read_audit,
    subject_access,
    subject_access_content,
)
from helpline.actions.articles import NewArticle, NewAttachment, add_article, add_note
from helpline.blobstore import read_blob
from helpline.errors import InvalidInput, PermissionDenied
from helpline.models import (
    AdminAuditEntry,
    Article,
    ArticleChannel,
    PrivacyRun,
    ReadEvent,
    SenderType,
    Ticket,
)
from helpline.responses import replies
from tests.privacy.conftest import INFO, attachment_bytes, mail, receive
from tests.support import make_agent

pytestmark = pytest.mark.django_db

JANE = "jane.roe@example.net"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(64)


@dataclass
class World:
    holder: Any  # holds handle_personal_data, reads no queue
    agent: Any  # rw on the queue: answers and notes
    own: Ticket  # Jane's
    copied: Ticket  # John's, Jane in Cc of its first mail
    other: Ticket  # Mallory's, nothing of Jane's
    raw: bytes  # Jane's first mail as sent
    receipt: bytes  # its attachment (in the blob store: over the inline limit)
    invite: bytes  # the attachment of John's mail to her


def jane_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Roe <Jane.Roe@Example.NET>"
    msg["To"] = INFO
    msg["Subject"] = "Broken lamp"
    msg["Message-ID"] = "<lamp-1@example.net>"
    msg.set_content("My lamp is broken. Customer number Quorblex 4711.")
    msg.add_alternative('<p>My lamp <img src="cid:lamp@example.net"></p>', "html")
    html = msg.get_payload()[1]
    html.add_related(PNG, "image", "png", cid="<lamp@example.net>", filename="lamp.png")
    msg.add_attachment(
        attachment_bytes("Receipt"), "application", "pdf", filename="receipt.pdf"
    )
    return msg.as_bytes()


@pytest.fixture
def world(org, settings, tmp_path, django_capture_on_commit_callbacks) -> World:
    return build_world(org, settings, tmp_path, django_capture_on_commit_callbacks)


def build_world(org, settings, tmp_path, django_capture_on_commit_callbacks) -> World:
    settings.DATA_DIR = tmp_path / "data"
    holder = make_agent("dpo", first_name="Dana", last_name="Protector")
    privacy_rights.give(holder, privacy_rights.HANDLE_PERSONAL_DATA)
    raw = jane_mail()
    invite = attachment_bytes("Invitation", 2048)
    # The index follows changes after their commit: let the commits happen.
    with django_capture_on_commit_callbacks(execute=True):
        own = receive(raw)
        replies.reply(org.agent, own.pk, text="We send you a new lamp.")
        add_note(org.agent, own.pk, "Jane sounded upset: Zanzibarian remark.")
        copied = receive(
            mail(
                sender="John Doe <john@example.org>",
                subject="Office party",
                body="Dear all, see the invitation.",
                cc="Jane Roe <jane.roe@example.net>",
                attachments={"invite.pdf": invite},
            )
        )
        replies.reply(org.agent, copied.pk, text="Thanks John, Glimmerquatsch.")
        other = receive(
            mail(
                sender="Mallory <jane.roe@example.net.evil.test>",
                subject="Not Jane",
                body="Secret of Mallory: Plovdivian.",
            )
        )
    receipt = Article.objects.get(ticket=own, incoming=True).attachments.get(
        filename="receipt.pdf"
    )
    return World(
        holder=holder,
        agent=org.agent,
        own=own,
        copied=copied,
        other=other,
        raw=raw,
        receipt=read_blob(receipt.blob),
        invite=invite,
    )


def export(world: World, **options: Any) -> zipfile.ZipFile:
    """Ask for and run an export of Jane as the command line does; the zip."""
    run = subject_access.request_export(
        world.holder, "Jane.Roe@example.NET", channel="cli", **options
    )
    target = subject_access.exports_dir() / "jane.zip"
    run = subject_access.run_export(run.pk, target=target)
    assert run.status == "done", run.errors
    return zipfile.ZipFile(io.BytesIO(target.read_bytes()))


def entries(archive: zipfile.ZipFile) -> dict[str, bytes]:
    return {name: archive.read(name) for name in archive.namelist()}


def stamp(article: Article) -> str:
    return f"{timezone.localtime(article.created):%Y-%m-%d %H-%M}"


def expected_names(world: World, *, internal: bool = False) -> set[str]:
    own = list(world.own.articles.order_by("created", "id"))
    first_mail, answer, note = own
    copied_mail = world.copied.articles.order_by("created", "id").first()
    mine = f"{world.own.number} - Broken lamp/"
    theirs = f"{world.copied.number} - Office party/"
    names = {
        "README.txt",
        "summary.txt",
        "summary.html",
        "tickets.json",
        f"{mine}001 {stamp(first_mail)} incoming.eml",
        f"{mine}001 attachments/lamp.png",
        f"{mine}001 attachments/receipt.pdf",
        f"{mine}002 {stamp(answer)} outgoing.eml",
        f"{theirs}001 {stamp(copied_mail)} incoming.eml",
        f"{theirs}001 attachments/invite.pdf",
    }
    if internal:
        names.add(f"{mine}003 {stamp(note)} internal.eml")
    return names


def test_the_zip_holds_exactly_her_messages_and_files_byte_for_byte(world):
    files = entries(export(world))
    assert set(files) == expected_names(world)
    mine = f"{world.own.number} - Broken lamp/"
    first_mail, answer, _note = world.own.articles.order_by("created", "id")
    # The messages as received and sent, unchanged.
    assert files[f"{mine}001 {stamp(first_mail)} incoming.eml"] == world.raw
    assert files[f"{mine}002 {stamp(answer)} outgoing.eml"] == read_blob(answer.raw)
    assert b"We send you a new lamp." in read_blob(answer.raw)
    # The attachments, the inline image too, unchanged.
    assert files[f"{mine}001 attachments/receipt.pdf"] == world.receipt
    assert files[f"{mine}001 attachments/lamp.png"] == PNG
    theirs = f"{world.copied.number} - Office party/"
    assert files[f"{theirs}001 attachments/invite.pdf"] == world.invite


def test_what_is_not_hers_or_hidden_from_her_stays_out(world):
    everything = b"\n".join(entries(export(world)).values())
    # The internal note, John's answer to John, Mallory's ticket.
    for word in (b"Zanzibarian", b"Glimmerquatsch", b"Plovdivian", b"Mallory"):
        assert word not in everything
    assert world.other.number.encode() not in everything
    assert b"Quorblex" in everything  # what she wrote is there


def test_internal_notes_come_with_the_option_rebuilt_from_their_fields(world):
    files = entries(export(world, include_internal=True))
    assert set(files) == expected_names(world, internal=True)
    note = world.own.articles.get(channel=ArticleChannel.INTERNAL)
    eml = files[f"{world.own.number} - Broken lamp/003 {stamp(note)} internal.eml"]
    assert b"Zanzibarian" in eml
    assert b"X-Helpline-Source: rebuilt from the stored fields" in eml
    # Someone else's ticket stays someone else's, internal notes or not.
    assert b"Glimmerquatsch" not in b"".join(files.values())


def test_tickets_json_describes_every_ticket_message_and_file(world):
    data = json.loads(export(world).read("tickets.json"))
    assert data["format"] == 1
    assert data["address"] == JANE
    assert data["prepared_by"] == "Dana Protector"
    assert data["internal_notes_included"] is False
    assert data["totals"] == {
        "tickets": 2,
        "messages": 3,
        "attachments": 3,
        "hidden_messages_left_out": 1,
        "drafts": 0,  # Jane is no agent here
    }
    own, copied = data["tickets"]
    assert (own["number"], own["role"], own["title"]) == (
        world.own.number,
        "customer",
        "Broken lamp",
    )
    assert own["queue"] == "info"
    assert own["state"] and own["created"]
    assert [m["direction"] for m in own["messages"]] == ["incoming", "outgoing"]
    first, answer = own["messages"]
    assert first["you_are"] == ["from"]
    assert first["source"] == "original"
    assert first["subject"] == "Broken lamp"
    assert JANE in first["from"].lower()
    assert answer["you_are"] == ["to"]
    receipt = next(f for f in first["attachments"] if f["name"] == "receipt.pdf")
    assert receipt["size"] == len(world.receipt)
    assert receipt["sha256"] == hashlib.sha256(world.receipt).hexdigest()
    assert receipt["file"].endswith("001 attachments/receipt.pdf")
    # John's ticket: only the mail she was copied on; not John's title.
    assert (copied["role"], copied["title"]) == ("participant", None)
    assert [m["you_are"] for m in copied["messages"]] == [["cc"]]
    assert all(key in first for key in ("created", "to", "cc", "reply_to", "agent"))


def test_the_summary_and_readme_say_who_what_and_when(world):
    archive = export(world)
    text = archive.read("summary.txt").decode()
    assert JANE in text
    assert "Dana Protector" in text
    assert world.own.number in text and "Broken lamp" in text
    assert world.copied.number in text
    assert "2 tickets with 3 messages and 3 attachments" in text
    assert "1 left out" in text
    html = archive.read("summary.html").decode()
    assert html.startswith("<!doctype html>") and "Broken lamp" in html
    assert "Bcc" in archive.read("README.txt").decode()


def test_the_summary_speaks_the_language_asked_for(world):
    text = export(world, language="de").read("summary.txt").decode()
    assert "Kopie Ihrer personenbezogenen Daten" in text


def test_every_ticket_included_is_read_once_in_the_audit(world):
    export(world)
    events = ReadEvent.objects.filter(kind="export")
    assert sorted(events.values_list("ticket_number", flat=True)) == sorted(
        [world.own.number, world.copied.number]
    )
    assert set(events.values_list("agent_name", "channel")) == {("dpo", "cli")}


def test_the_records_keep_the_address_as_its_sha256_only(world):
    export(world)
    digest = hashlib.sha256(JANE.encode()).hexdigest()
    run = PrivacyRun.objects.get(kind="export")
    assert run.subject == digest
    assert run.report["tickets"] == 2
    entry = AdminAuditEntry.objects.get(action="requested subject-access export")
    assert entry.actor_name == "dpo"
    assert digest in entry.object_repr
    assert "jane" not in json.dumps([entry.object_repr, entry.after, run.report])


def test_a_superuser_without_the_right_is_refused(world):
    root = make_agent("root", is_admin=True)
    with pytest.raises(PermissionDenied):
        subject_access.request_export(root, JANE, channel="web")
    assert not PrivacyRun.objects.exists()


def test_a_right_withdrawn_before_the_worker_runs_fails_the_run(world):
    run = subject_access.request_export(world.holder, JANE, channel="web")
    privacy_rights.withdraw(world.holder, privacy_rights.HANDLE_PERSONAL_DATA)
    run = subject_access.run_export(run.pk)
    assert run.status == "failed"
    assert "handle_personal_data" in run.errors[0]
    assert list(subject_access.exports_dir().iterdir()) == []
    assert not ReadEvent.objects.exists()


def test_an_unknown_address_gives_an_empty_export_and_a_bad_one_an_error(world):
    data = json.loads(export_of(world, "nobody@example.net").read("tickets.json"))
    assert data["tickets"] == [] and data["totals"]["tickets"] == 0
    with pytest.raises(InvalidInput):
        subject_access.request_export(world.holder, "not an address", channel="cli")


def export_of(world: World, address: str) -> zipfile.ZipFile:
    run = subject_access.request_export(world.holder, address, channel="cli")
    run = subject_access.run_export(run.pk)
    path = subject_access.exports_dir() / run.report["file"]
    return zipfile.ZipFile(io.BytesIO(path.read_bytes()))


def test_messages_merged_from_her_ticket_into_another_are_hers(world, org):
    from helpline.actions.merge import merge_tickets

    john_alone = receive(
        mail(sender="john@example.org", subject="Lamp order", body="Order 77.")
    )
    merge_tickets(org.agent, world.own.pk, john_alone.pk)
    archive = export(world)
    files = entries(archive)
    merged = json.loads(archive.read("tickets.json"))["tickets"][0]
    assert (merged["number"], merged["messages"]) == (world.own.number, [])
    assert merged["merged_into"] == john_alone.number
    # Named by her subject, not John's title: his words are not hers.
    folder = f"{john_alone.number} - Broken lamp/"
    # Her mail and the answer to her moved; John's own mail did not become hers.
    hers = [name for name in files if name.startswith(folder)]
    assert sum(name.endswith(".eml") for name in hers) == 2
    assert b"Order 77." not in b"".join(files[name] for name in hers)


# --- cost ----------------------------------------------------------------------------
def more_articles(world: World, count: int) -> None:
    for i in range(count):
        add_article(
            world.agent,
            world.own.pk,
            NewArticle(
                channel=ArticleChannel.PHONE,
                sender_type=SenderType.CUSTOMER,
                body_text=f"Call {i}",
                from_addr=JANE,
                attachments=[NewAttachment(f"note{i}.txt", "text/plain", b"x" * i)],
            ),
        )


def queries_of_export(world: World) -> int:
    with (
        CaptureQueriesContext(connection) as queries,
        read_audit.reading("cli"),
    ):
        subject_access_content.write_export(
            world.holder, JANE, io.BytesIO(), workdir=subject_access.exports_dir()
        )
    return len(queries)


def test_the_queries_do_not_grow_with_the_articles(world):
    more_articles(world, 2)
    few = queries_of_export(world)
    more_articles(world, 10)
    assert queries_of_export(world) == few


def test_the_queries_do_not_grow_with_the_tickets_of_a_batch(world):
    few = queries_of_export(world)
    for i in range(5):
        receive(mail(sender=JANE, subject=f"Question {i}", body="Another one."))
    assert queries_of_export(world) == few


def test_a_large_export_is_written_with_bounded_memory(world):
    size = 6 * 1024 * 1024
    for i in range(3):
        receive(
            mail(
                sender=JANE,
                subject=f"Scan {i}",
                attachments={f"scan{i}.pdf": attachment_bytes(f"Scan{i}", size)},
            )
        )
    out = subject_access.exports_dir() / "large.zip"
    tracemalloc.start()
    try:
        with out.open("wb") as handle, read_audit.reading("cli"):
            subject_access_content.write_export(
                world.holder, JANE, handle, workdir=out.parent
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Each raw mail and each attachment is over 6 MiB (the raw mails 8 MiB, base64);
    # the export holds a few chunks of them at a time.
    assert peak < 4 * 1024 * 1024, peak
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        scans = [n for n in archive.namelist() if "/scan" in n]
        assert len(scans) == 3
        assert all(archive.getinfo(n).file_size == size for n in scans)


# --- files ---------------------------------------------------------------------------
def test_the_file_and_its_directory_are_private(world):
    run = subject_access.request_export(world.holder, JANE, channel="web")
    run = subject_access.run_export(run.pk)
    directory = subject_access.exports_dir()
    path = directory / run.report["file"]
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.parent == settings_data_dir() / "exports"
    assert zipfile.ZipFile(path).testzip() is None


def settings_data_dir():
    from pathlib import Path

    from django.conf import settings

    return Path(settings.DATA_DIR)


def test_a_file_made_meanwhile_at_the_target_is_never_overwritten(world, tmp_path):
    run = subject_access.request_export(world.holder, JANE, channel="cli")
    target = tmp_path / "out" / "jane.zip"
    target.parent.mkdir()
    target.write_bytes(b"someone else's")
    run = subject_access.run_export(run.pk, target=target)
    assert run.status == "failed"
    assert "nothing was overwritten" in run.errors[0]
    assert target.read_bytes() == b"someone else's"
    assert [p.name for p in target.parent.iterdir()] == ["jane.zip"]


def test_files_past_their_time_and_leftovers_are_purged(world, settings):
    settings.HELPLINE_SUBJECT_ACCESS_EXPORT_DAYS = 7
    kept = subject_access.run_export(
        subject_access.request_export(world.holder, JANE, channel="web").pk
    )
    old = subject_access.run_export(
        subject_access.request_export(world.holder, JANE, channel="web").pk
    )
    PrivacyRun.objects.filter(pk=old.pk).update(
        finished=timezone.now() - timedelta(days=8)
    )
    lost = subject_access.request_export(world.holder, JANE, channel="web")
    PrivacyRun.objects.filter(pk=lost.pk).update(
        created=timezone.now() - timedelta(days=2)
    )
    directory = subject_access.exports_dir()
    leftover = directory / ".9-abc.zip.1234.part"
    leftover.write_bytes(b"half a zip")
    two_days_ago = (timezone.now() - timedelta(days=2)).timestamp()
    os.utime(leftover, (two_days_ago, two_days_ago))
    fresh = directory / ".10-abc.zip.5678.part"  # being written just now
    fresh.write_bytes(b"a zip in the making")

    assert subject_access.purge_exports() == 2
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [kept.report["file"], fresh.name]
    )
    assert subject_access.get_export(world.holder, old.pk).status == "expired"
    assert subject_access.get_export(world.holder, kept.pk).status == "ready"
    lost_state = subject_access.get_export(world.holder, lost.pk)
    assert lost_state.status == "failed"
    assert "worker stopped" in lost_state.error
    assert PrivacyRun.objects.get(pk=lost.pk).subject == (
        hashlib.sha256(JANE.encode()).hexdigest()
    )


def test_hostile_names_stay_inside_their_folder_and_markup_stays_text(world):
    ticket = receive(
        mail(sender=JANE, subject="<script>alert(1)</script> 3/2026", body="Hi.")
    )
    add_article(
        world.agent,
        ticket.pk,
        NewArticle(
            channel=ArticleChannel.PHONE,
            sender_type=SenderType.CUSTOMER,
            body_text="Files.",
            from_addr=JANE,
            attachments=[
                NewAttachment("../../etc/passwd", "text/plain", b"one"),
                NewAttachment("scan.pdf", "application/pdf", b"two"),
                NewAttachment("SCAN.pdf", "application/pdf", b"three"),
                NewAttachment("CON.txt", "text/plain", b"four"),
                NewAttachment("\x07\n.hidden", "text/plain", b"five"),
            ],
        ),
    )
    archive = export(world)
    folder = f"{ticket.number} - _script_alert(1)__script_ 3_2026/"
    names = [n for n in archive.namelist() if n.startswith(folder)]
    files = sorted(n.rsplit("/", 1)[1] for n in names if "attachments/" in n)
    assert files == sorted(["passwd", "scan.pdf", "SCAN (2).pdf", "_CON.txt", "hidden"])
    assert all(".." not in n and not n.startswith("/") for n in archive.namelist())
    by_name = {n.rsplit("/", 1)[1]: archive.read(n) for n in names}
    assert (by_name["scan.pdf"], by_name["SCAN (2).pdf"]) == (b"two", b"three")
    html = archive.read("summary.html").decode()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_agents_export_has_its_own_drafts_and_nothing_of_the_ticket(world, org):
    """The agent's own unsent reply and note, with the agent's words only (no
    quoted customer message, no recipients); a colleague's draft is not there; a
    customer's export has no drafts file."""
    from helpline.actions import drafts

    drafts.do_save_draft(
        world.agent,
        world.own,
        kind="reply",
        fields={
            "to": JANE,
            "subject": "Re: Broken lamp",
            "body": "Dear Jane, a new lamp is on its way.\n\n"
            "On 2026-01-02 10:00, jane.roe@example.net wrote:\n> Quorblex 4711",
        },
    )
    drafts.do_save_draft(
        world.agent, world.copied, kind="note", fields={"text": "Ask about Wobbel."}
    )
    colleague = make_agent("colleague")
    drafts.do_save_draft(
        colleague, world.own, kind="note", fields={"text": "Colleague's Fnord."}
    )
    archive = export_of(world, world.agent.email.upper())
    data = json.loads(archive.read("drafts.json"))
    assert [(d["ticket"], d["kind"], d["text"]) for d in data["drafts"]] == [
        (world.own.number, "reply", "Dear Jane, a new lamp is on its way."),
        (world.copied.number, "note", "Ask about Wobbel."),
    ]
    assert all(d["created"] and d["updated"] for d in data["drafts"])
    everything = b"".join(entries(archive).values())
    for absent in (b"Quorblex", b"Fnord", JANE.encode()):
        assert absent not in everything
    assert json.loads(archive.read("tickets.json"))["totals"]["drafts"] == 2
    assert b"drafts.json" in archive.read("README.txt")
    assert "drafts.json" not in export(world).namelist()
