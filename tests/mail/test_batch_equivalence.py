"""A batch writes the same rows as one message at a time: the same messages, processed
one per transaction and then (on a fresh start) in batches of 20, leave the same
tickets, customers, articles, attachments, blobs, history entries and outcomes — field
by field, ids, times and ticket numbers aside (references between rows compared by
what they point to)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpline.mail import postmaster
from helpline.mail.intake import receive
from helpline.models import (
    Article,
    Attachment,
    Blob,
    Customer,
    HistoryEntry,
    InboundMessage,
    Ticket,
    TicketCounter,
    TicketLink,
)
from tests.mail.messages import mail
from tests.support import make_group, make_queue

GEN_MAIL = (
    Path(__file__).resolve().parents[2].parent / "shared" / "bench" / "gen_mail.py"
)

LOGO = (
    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the logo.\r\n"
    "--b1\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
    "Content-Disposition: inline; filename=logo.png\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
    "--b1\r\nContent-Type: application/pdf\r\n"
    'Content-Disposition: attachment; filename="form.pdf"\r\n'
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK{n}\r\n--b1--\r\n"
)


def _with_logo(n: int, **kwargs: Any) -> bytes:
    raw = mail(body="", **kwargs).decode()
    head = raw.split("\r\n\r\n", 1)[0] if "\r\n\r\n" in raw else raw.split("\n\n", 1)[0]
    head = "\r\n".join(
        line
        for line in head.splitlines()
        if not line.lower().startswith(("content-type", "content-transfer"))
    )
    return (
        head
        + '\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        + LOGO.format(n=n * 7)
    ).encode()


def _edge_cases() -> list[bytes]:
    return [
        # One customer, first without a name, then with one; an existing customer
        # without a name gets the first name given.
        mail(subject="Nameless first", sender="kim@example.net"),
        mail(subject="Named later", sender="Kim Lee <kim@example.net>"),
        mail(subject="Known, now named", sender="Old Hand <old@example.net>"),
        # Reply-To decides the customer; upper case folds.
        mail(subject="Reply elsewhere", reply_to="Desk <DESK@Example.NET>"),
        # The same logo inline in two messages: one blob; a different PDF each.
        _with_logo(1, subject="Logo one", message_id="<logo-1@example.net>"),
        _with_logo(2, subject="Logo two", message_id="<logo-2@example.net>"),
        # A reply to a new ticket of the same batch, and a repeat of one.
        mail(subject="Root", message_id="<root@example.net>", body="Root text."),
        mail(subject="Re: Root", in_reply_to="<root@example.net>"),
        mail(
            subject="Root",
            message_id="<root@example.net>",
            body="Root text.",
            headers={"X-Resent": "yes"},
        ),
        # No subject, an address Helpline cannot use, mail to an unknown address.
        mail(subject="", sender="not an address <@@>"),
        mail(subject="Lost", to="nobody@elsewhere.example"),  # no queue: quarantined
        mail(subject="Auto-Submitted", headers={"Auto-Submitted": "auto-replied"}),
    ]


@pytest.fixture
def stream(tmp_path) -> list[bytes]:
    if not GEN_MAIL.is_file():
        pytest.fail(f"the mail generator is missing at {GEN_MAIL}: check out ../shared")
    out = tmp_path / "mail"
    subprocess.run(
        [sys.executable, str(GEN_MAIL), "--n", "100", "--seed", "7", "--out", str(out)]
        + ["--quiet"],
        check=True,
    )
    generated = [p.read_bytes() for p in sorted(out.glob("*.eml"))]
    assert len(generated) == 100
    edge = _edge_cases()
    # Edge cases spread over the batches, the stream around them.
    return generated[:30] + edge[:6] + generated[30:60] + edge[6:] + generated[60:]


def _org() -> None:
    group = make_group("info")
    for address in ("info", "permissions", "press"):
        make_queue(address, group=group, email=f"{address}@example.org")
    make_queue("info-en", group=group, email="info-en@helpline.localhost")
    Customer.objects.create(email="old@example.net", name="")


def _rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row the pipeline writes, without ids, times and numbers."""
    blobs = dict(Blob.objects.values_list("pk", "sha256"))
    # A ticket or article is known by the message that made it (its first article's).
    tickets: dict[int | None, Any] = {None: None}
    articles: dict[int | None, Any] = {None: None}
    for a in Article.objects.order_by("pk"):
        articles[a.pk] = (a.message_id, a.body_text, a.subject)
        tickets.setdefault(a.ticket_id, articles[a.pk])
    customers = {c.pk: c.email for c in Customer.objects.all()} | {None: None}

    def fields(row: Any, skip: set[str]) -> tuple[Any, ...]:
        out = []
        for f in row._meta.concrete_fields:
            if f.name in skip | {"id", "created", "changed", "processed", "closed_at"}:
                continue
            value = getattr(row, f.attname)
            if f.name == "ticket":
                value = tickets[value]
            elif f.name == "article":
                value = articles[value]
            elif f.name == "customer":
                value = customers[value]
            elif f.name == "raw":
                value = blobs.get(value, value)
            elif isinstance(value, memoryview):
                value = bytes(value)
            out.append(value)
        return tuple(out)

    def rows(model: Any, skip: set[str] = frozenset()) -> list[tuple[Any, ...]]:
        return sorted(
            (fields(r, skip) for r in model.objects.all()),
            key=repr,
        )

    decisions = []
    for m in InboundMessage.objects.all():
        d = dict(m.decisions)
        d.pop("linked_to", None)  # a ticket number
        decisions.append(
            (m.sha256, m.status, m.reason, m.attempts, d, tickets.get(m.ticket_id))
            + (articles.get(m.article_id), m.processed is not None)
            # A traceback names the code that ran, one by one or in a batch.
            + ((m.error,) if m.status != "quarantined" else ())
        )
    return {
        "tickets": rows(Ticket, {"number", "search_document", "title_words"}),
        "customers": rows(Customer),
        "articles": rows(Article),
        "attachments": [
            (articles[a.article_id], a.filename, a.content_type, a.content_id)
            + (a.inline, a.size, a.blob.sha256, a.blob.size, bytes(a.blob.data or b""))
            for a in Attachment.objects.select_related("blob").order_by("pk")
        ],
        "blobs": sorted(
            (b.sha256, b.size, bytes(b.data or b"")) for b in Blob.objects.all()
        ),
        "history": rows(HistoryEntry),
        "links": sorted(
            (tickets[x.source_id], tickets[x.target_id], x.type)
            for x in TicketLink.objects.all()
        ),
        "messages": sorted(decisions, key=repr),
        "counters": list(TicketCounter.objects.values_list("value", flat=True)),
    }


def _process(raws: list[bytes], batch: int) -> dict[str, list[tuple[Any, ...]]]:
    ids = [receive(raw, transport="test")[0].pk for raw in raws]
    for start in range(0, len(ids), batch):
        postmaster.process_batch(ids[start : start + batch])
    return _rows()


def _reset() -> None:
    for model in (HistoryEntry, TicketLink, Attachment):
        model.objects.all().delete()
    InboundMessage.objects.all().delete()
    Article.objects.all().delete()
    Ticket.objects.all().delete()
    Customer.objects.exclude(email="old@example.net").delete()
    Customer.objects.update(name="")
    TicketCounter.objects.all().delete()
    Blob.objects.all().delete()


@pytest.mark.django_db
def test_batches_write_the_same_rows_as_one_message_at_a_time(stream):
    _org()
    alone = _process(stream, 1)
    _reset()
    together = _process(stream, 20)

    assert len(alone["tickets"]) > 80 and len(alone["attachments"]) >= 5
    assert any(m[1] == "quarantined" for m in alone["messages"])
    assert any(m[1] == "rejected" for m in alone["messages"])
    for kind, rows in alone.items():
        assert together[kind] == rows, kind
