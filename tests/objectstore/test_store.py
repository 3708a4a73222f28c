"""With HELPLINE_BLOB_STORE=s3 every byte past the inline limit lives in the bucket:
intake, attachments, inline images, raw sources, the API, outgoing mail; a missing
object or an unreachable store is a clear answer, never a 500."""

from __future__ import annotations

import hashlib
import os
from email.message import EmailMessage

import pytest
from django.test import Client
from django.urls import reverse

from helpline import blobstore
from helpline.actions.api_tokens import create_token
from helpline.actions.articles import NewAttachment
from helpline.blobstore import BlobStoreUnavailable, read_blob, store_blob
from helpline.mail import outbound
from helpline.mail.intake import receive, receive_and_dispatch
from helpline.mail.postmaster import process_inbound, process_waiting
from helpline.models import InboundStatus, OutboxMessage, OutboxStatus
from helpline.responses.replies import Draft, reply
from tests.objectstore.conftest import INLINE
from tests.smtp_sink import free_port
from tests.web import png

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n" + os.urandom(3000)
INFO = "info-en@helpline.localhost"


def mail_with_parts(subject: str = "Documents") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Doe <jane@example.net>"
    msg["To"] = INFO
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{os.urandom(6).hex()}@example.net>"
    msg.set_content("Please see the report and the photo.")
    msg.add_alternative(
        '<p>The photo:</p><img src="cid:photo@example.net">', subtype="html"
    )
    html = msg.get_payload()[1]
    html.add_related(png(40, 30), "image", "png", cid="<photo@example.net>")
    msg.add_attachment(PDF, "application", "pdf", filename="report.pdf")
    return msg.as_bytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def take_store_down(settings) -> None:
    """Point the store at a port nothing listens on: every request is refused."""
    settings.HELPLINE_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.HELPLINE_S3_TIMEOUT = 1


@pytest.fixture
def ticket(s3, org):
    message = receive_and_dispatch(
        mail_with_parts(), transport="pipe", envelope_recipients=[INFO]
    )
    assert message.status == InboundStatus.PROCESSED, message.error
    return message.ticket


def test_intake_writes_the_raw_mail_and_every_part_to_the_bucket_only(
    s3, org, ticket, settings
):
    article = ticket.articles.get()
    objects = s3.objects()
    parts = {a.filename: a for a in article.attachments.select_related("blob")}
    assert {p.blob.size > INLINE for p in parts.values()} == {True}
    for blob in [article.raw, *(p.blob for p in parts.values())]:
        assert blob.data is None  # not in the row
        assert sha(objects[blob.path]) == blob.sha256
        assert read_blob(blob) == objects[blob.path]
    assert read_blob(parts["report.pdf"].blob) == PDF
    # Nothing of it on the local disk.
    assert not os.path.exists(settings.MEDIA_ROOT)


def test_an_attachment_downloads_as_a_stream_from_the_store(s3, org, ticket):
    client = Client()
    client.force_login(org.agent)
    item = ticket.articles.get().attachments.get(filename="report.pdf")
    response = client.get(reverse("attachment", args=[ticket.number, item.pk]))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Length"] == str(len(PDF))
    assert b"".join(response.streaming_content) == PDF


def test_an_inline_image_and_the_raw_source_come_from_the_store(s3, org, ticket):
    client = Client()
    client.force_login(org.agent)
    article = ticket.articles.get()
    image = article.attachments.exclude(filename="report.pdf").get()
    response = client.get(reverse("attachment-image", args=[ticket.number, image.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content == png(40, 30)
    raw = client.get(reverse("article-raw", args=[ticket.number, article.pk]))
    assert raw.status_code == 200
    assert b"".join(raw.streaming_content) == read_blob(article.raw)


def test_the_api_streams_an_attachment_and_answers_json_when_the_store_is_down(
    s3, org, ticket, settings
):
    token = create_token(org.agent, name="tests").secret
    article = ticket.articles.get()
    item = article.attachments.get(filename="report.pdf")
    url = f"/api/v1/tickets/{ticket.number}/articles/{article.pk}/attachments/{item.pk}"
    headers = {"Authorization": f"Bearer {token}"}
    response = Client().get(url, headers=headers)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    take_store_down(settings)
    response = Client().get(url, headers=headers)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "blob_store_unavailable"


def test_a_missing_object_is_a_404_page_and_a_store_outage_a_503_page(
    s3, org, ticket, settings
):
    client = Client()
    client.force_login(org.agent)
    item = ticket.articles.get().attachments.get(filename="report.pdf")
    url = reverse("attachment", args=[ticket.number, item.pk])
    s3.delete(item.blob.path)
    response = client.get(url)
    assert response.status_code == 404
    assert b"missing from the blob store" in response.content
    assert b"helpline blobs verify" in response.content
    take_store_down(settings)
    response = client.get(url)
    assert response.status_code == 503
    assert b"not reachable just now" in response.content


def test_a_reply_with_an_attachment_is_sent_from_the_store(s3, org, ticket, smtp_sink):
    draft = Draft(
        to=["jane@example.net"],
        cc=[],
        subject=f"Re: {ticket.title}",
        body="Here is the signed form.",
        attachments=[NewAttachment("form.pdf", "application/pdf", PDF)],
    )
    article = reply(org.agent, ticket.pk, draft=draft)
    outbox = OutboxMessage.objects.select_related("raw").get(article=article)
    assert outbox.raw.data is None
    assert outbox.raw.path in s3.objects()
    assert outbound.send_due()["sent"] == 1
    (sent,) = smtp_sink.received
    assert sent.data.replace(b"\r\n", b"\n") == read_blob(outbox.raw).replace(
        b"\r\n", b"\n"
    )
    (part,) = [p for p in sent.message.iter_attachments()]
    assert part.get_content() == PDF


def test_outgoing_mail_waits_a_minute_for_the_store_and_goes_after_it(
    s3, org, ticket, smtp_sink, settings
):
    raw = b"From: info-en@helpline.localhost\r\nTo: jane@example.net\r\n\r\n" + (
        b"x" * 500 + b"\r\n"
    )
    row = outbound.queue_message(
        raw,
        message_id="o1@helpline.localhost",
        envelope_from=INFO,
        recipients=["jane@example.net"],
        article=None,
    )
    endpoint = settings.HELPLINE_S3_ENDPOINT_URL
    take_store_down(settings)
    assert outbound.send_due() == {"sent": 0, "retry": 1, "failed": 0}
    row.refresh_from_db()
    assert row.status == OutboxStatus.QUEUED
    assert row.attempts == 0  # a store outage does not count towards giving up
    assert "blob store unavailable" in row.last_error
    wait = (row.next_attempt - row.created).total_seconds()
    assert 55 < wait < 120
    assert smtp_sink.received == []
    settings.HELPLINE_S3_ENDPOINT_URL = endpoint
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt=row.created)
    assert outbound.send_due()["sent"] == 1
    assert smtp_sink.received[0].data.replace(b"\r\n", b"\n") == raw.replace(
        b"\r\n", b"\n"
    )


def test_a_message_stored_before_an_outage_waits_unquarantined_and_is_processed_after(
    s3, org, settings
):
    raw = mail_with_parts("During the outage")
    message, _ = receive(raw, transport="pipe", envelope_recipients=[INFO])
    endpoint = settings.HELPLINE_S3_ENDPOINT_URL
    take_store_down(settings)
    with pytest.raises(BlobStoreUnavailable):
        process_waiting(message.pk)
    message.refresh_from_db()
    assert message.status == InboundStatus.RECEIVED
    assert message.error == ""
    settings.HELPLINE_S3_ENDPOINT_URL = endpoint
    message = process_inbound(message.pk)
    assert message.status == InboundStatus.PROCESSED
    assert message.ticket.title == "During the outage"


def test_storing_with_the_store_down_fails_clearly_and_writes_no_row(s3, settings):
    take_store_down(settings)
    data = os.urandom(INLINE + 1)
    with pytest.raises(BlobStoreUnavailable):
        store_blob(data)
    from helpline.models import Blob

    assert not Blob.objects.filter(sha256=sha(data)).exists()
    # Small blobs need no store at all.
    assert read_blob(store_blob(b"tiny")) == b"tiny"


def test_the_same_bytes_are_one_object(s3):
    data = os.urandom(INLINE * 4)
    first, second = store_blob(data), store_blob(data)
    assert first.pk == second.pk
    assert list(s3.objects()) == [first.path]
    assert blobstore.current() is blobstore.current()
