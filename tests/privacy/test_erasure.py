"""The erasure of a person: afterwards their address, their name and what they wrote
are found nowhere (search, a dump of the database, the blob store's files, any mail
kept or queued), while other people's tickets, the bytes those share, the read
audit and history without content stay; the preview names what the run does."""

from __future__ import annotations

import pytest

from helpline.actions import erasure, legal_hold, read_audit, tickets
from helpline.actions.articles import add_note
from helpline.blobstore import read_blob
from helpline.mail.intake import receive_and_dispatch
from helpline.models import (
    Article,
    Attachment,
    Customer,
    HistoryType,
    InboundStatus,
    PostmasterFilter,
    PrivacyRun,
    ReadEvent,
    Ticket,
)
from helpline.responses import replies
from tests.privacy import traces
from tests.privacy.conftest import attachment_bytes
from tests.privacy.removing import (  # noqa: F401 - the clean_index fixture
    clean_index,
    following,
    holder,
    in_mail,
    mail,
    receive,
)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("clean_index"),
]

JANE = "Jane Roe <jane.roe@example.net>"
BOB = "Bob Stone <bob@example.org>"


def world(org):
    """Jane's own ticket; Bob's ticket where Jane is in Cc, wrote a follow-up, is
    in the Cc of the agent's answer and is named in a note; Carol's ticket with the
    very file Jane sent."""
    following(org.agent, org.info)
    passport = attachment_bytes("Qworpassport")
    own = receive(
        mail(
            sender=JANE,
            subject="Zorbly complaint",
            body="My account Krumpelstilz-88 was charged twice.",
            attachments={"passport.pdf": passport},
        )
    )
    replies.reply(org.agent, own.pk, text="We are looking into it.")
    other = receive(
        mail(sender=BOB, cc=JANE, subject="Team outing", body="Meet at Blumentopf.")
    )
    first = other.articles.get()
    receive(
        mail(
            sender=JANE,
            subject=f"Re: [Ticket#{other.number}] Team outing",
            body="I bring Schnitzelbrot.",
        )
    )
    replies.reply(
        org.agent, other.pk, article_id=first.pk, text="Fine.", reply_all=True
    )
    add_note(org.agent, other.pk, "Called Jane Roe (jane.roe@example.net) today.")
    # For a while the ticket was Jane's: its history names her.
    tickets.set_customer(org.agent, other.pk, "jane.roe@example.net", "Jane Roe")
    tickets.set_customer(org.agent, other.pk, "bob@example.org")
    carol = receive(
        mail(
            sender="Carol <carol@example.com>",
            subject="Same form",
            body="Attached.",
            attachments={"form.pdf": passport},
        )
    )
    return own, other, carol, passport


SECRETS = [
    "jane.roe@example.net",
    "Quallenfest",
    "Jane Roe",
    "Zorbly",
    "Krumpelstilz",
    "Schnitzelbrot",
]


def test_after_an_erasure_the_person_is_found_nowhere(org):
    own, other, carol, passport = world(org)
    # And a mail of hers that a filter ignored: kept, in no ticket.
    PostmasterFilter.objects.create(
        name="newsletters",
        matches=[{"header": "Subject", "regex": "^Newsletter"}],
        sets={"ignore": True},
    )
    ignored = receive_and_dispatch(
        mail(sender=JANE, subject="Newsletter Quallenfest"), transport="pipe"
    )
    assert ignored.status == InboundStatus.REJECTED
    assert Ticket.objects.get(pk=other.pk).articles.count() == 4
    read_audit.record(org.agent, own, "ticket")
    before = traces.find(SECRETS, searcher=org.agent)
    assert "search: 'Schnitzelbrot'" in before and "database: 'Jane Roe'" in before
    assert in_mail(SECRETS) == SECRETS
    dpo = holder()

    run = erasure.request_erasure(dpo, "Jane.Roe@EXAMPLE.net")
    assert erasure.run_erasure(run.pk) is not None
    run.refresh_from_db()

    assert run.status == "done", run.errors
    assert run.report["inbound"] == 1
    assert traces.find(SECRETS, searcher=org.agent) == []
    assert in_mail(SECRETS) == []
    # Her ticket stays as a row without content; Bob's stays with Bob's words.
    kept = Ticket.objects.get(pk=own.pk)
    assert (kept.title, kept.customer_id) == ("Anonymised ticket", None)
    assert run.report["anonymised"] == [own.number]
    assert run.report["changed"] == [other.number]
    bob = Ticket.objects.get(pk=other.pk)
    assert bob.articles.count() == 4 and bob.title == "Team outing"
    assert traces.find(["Blumentopf"], searcher=org.agent) == [
        "database: 'Blumentopf'",
        "search: 'Blumentopf'",
    ]
    her_article = Article.objects.get(ticket=bob, incoming=True, from_addr="")
    assert (her_article.body_text, her_article.raw_id) == ("", None)
    note = bob.articles.get(channel="internal")
    assert note.body_text == "Called [erased] (erased@erased.invalid) today."
    # Carol's file is untouched; the read audit still names Jane's ticket.
    assert read_blob(Attachment.objects.get(article__ticket=carol).blob) == passport
    assert ReadEvent.objects.filter(ticket_number=own.number).exists()
    assert run.subject == erasure.privacy_runs.subject_hash("jane.roe@example.net")
    assert not Customer.objects.filter(email__contains="jane").exists()
    assert kept.history.filter(type=HistoryType.ANONYMISED).count() == 1


def test_the_preview_names_what_the_run_does(org):
    own, other, _, _ = world(org)
    dpo = holder()

    preview = erasure.preview_erasure(dpo, "jane.roe@example.net").summary()
    run = erasure.request_erasure(dpo, "jane.roe@example.net")
    erasure.run_erasure(run.pk)
    run.refresh_from_db()

    assert preview["anonymised"] == [own.number]
    assert preview["changed"] == [other.number]
    assert len(preview["authored"][other.number]) == 1
    assert len(preview["mentioned"][other.number]) == 3  # Bob's, the answer, the note
    for key in ("anonymised", "changed", "authored", "mentioned", "held"):
        assert run.report[key] == preview[key], key
    assert (preview["unattached"], run.report["inbound"]) == (0, 0)
    assert run.report["articles_rewritten"] == 3


def test_deleting_the_persons_tickets_and_keeping_held_ones(org):
    own, other, _, _ = world(org)
    held = receive(mail(sender=JANE, subject="Court matter", body="Evidence."))
    dpo = holder(reads=org.info.group)
    legal_hold.set_legal_hold(dpo, held.pk, reason="Proceedings 4 O 17/25")

    preview = erasure.preview_erasure(dpo, JANE.split("<")[1][:-1], delete=True)
    run = erasure.request_erasure(dpo, "jane.roe@example.net", delete=True)
    erasure.run_erasure(run.pk)
    run.refresh_from_db()

    assert preview.summary()["held"] == [held.number]
    assert run.report["deleted"] == [own.number]
    assert run.report["held"] == [held.number]
    assert not Ticket.objects.filter(pk=own.pk).exists()
    assert Ticket.objects.get(pk=held.pk).articles.get().body_text == "Evidence."
    # The held ticket still names her: her customer row stays for it.
    assert Customer.objects.filter(email="jane.roe@example.net").exists()
    assert traces.find(["Zorbly", "Schnitzelbrot"], searcher=org.agent) == []
    assert PrivacyRun.objects.get(pk=run.pk).subject.startswith("sha256:")


def test_drafts_that_name_the_person_go_and_others_stay(org):
    """Unsent drafts: those on her own ticket go with it, those elsewhere that
    name her (a reply addressed to her, a note with her name) are deleted, as are
    the drafts of an agent account with her address; a draft that does not name
    her and one on a ticket under legal hold stay."""
    from helpline.actions import admin, drafts
    from helpline.models import ComposeDraft

    own, other, carol, _ = world(org)
    dpo = holder(reads=org.info.group)
    held = receive(mail(sender="Hal <hal@example.com>", subject="Court", body="x"))
    legal_hold.set_legal_hold(dpo, held.pk, reason="Proceedings 4 O 17/25")
    colleague = admin.create_agent("jroe", email="Jane.Roe@example.net")

    def save(agent, ticket, kind, **fields):
        return drafts.do_save_draft(agent, ticket, kind=kind, fields=fields).pk

    gone = [
        save(org.agent, own, "reply", to="jane.roe@example.net", body="Dear Jane"),
        save(org.agent, other, "reply", to="jane.roe@example.net", body="Hi"),
        save(org.agent, carol, "note", text="Jane Roe phoned about this."),
        save(colleague, carol, "reply", to="carol@example.com", body="Hello Carol"),
    ]
    kept = [
        save(org.agent, carol, "reply", to="carol@example.com", body="Hello Carol"),
        save(org.agent, held, "note", text="Jane Roe is a witness."),
    ]

    run = erasure.request_erasure(dpo, "jane.roe@example.net")
    erasure.run_erasure(run.pk)
    run.refresh_from_db()

    assert run.status == "done", run.errors
    assert sorted(ComposeDraft.objects.values_list("pk", flat=True)) == sorted(kept)
    # The own ticket's draft went with the ticket, the three others here.
    assert run.report["drafts"] == len(gone) - 1
