"""Articles over the API: reading, notes, phone calls, replies via the outbox, files."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy

import pytest

from helpline.actions.articles import NewArticle, NewAttachment, add_article
from helpline.blobstore import read_blob
from helpline.models import OutboxMessage, Template
from tests.api.conftest import error_code, queries_for
from tests.support import make_queue, make_ticket

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def with_file(desk, filename: str, content_type: str, content: bytes):
    ticket = make_ticket(desk.queue)
    article = add_article(
        desk.agent,
        ticket.pk,
        NewArticle(
            body_text="see attached",
            attachments=[NewAttachment(filename, content_type, content)],
        ),
    )
    attachment = article.attachments.get()
    path = f"/tickets/{ticket.number}/articles/{article.pk}/attachments/{attachment.pk}"
    return ticket, article, path


# --- reading ------------------------------------------------------------------------
def test_articles_are_listed_oldest_first_with_their_attachments_in_pages(desk):
    ticket, article, _ = with_file(desk, "a.pdf", "application/pdf", b"%PDF")
    for i in range(3):
        add_article(desk.agent, ticket.pk, NewArticle(body_text=f"note {i}"))
    first = desk.api.get(f"/tickets/{ticket.number}/articles?limit=2").json()
    rest = desk.api.get(
        f"/tickets/{ticket.number}/articles?limit=2&cursor={first['next_cursor']}"
    ).json()
    texts = [a["body_text"] for a in first["items"] + rest["items"]]
    assert texts == ["Hello, I have a question.", "see attached", "note 0", "note 1"]
    files = first["items"][1]["attachments"]
    assert files == [
        {
            "id": article.attachments.get().pk,
            "filename": "a.pdf",
            "content_type": "application/pdf",
            "size": 4,
            "inline": False,
            "content_id": "",
        }
    ]


def test_one_article_and_one_of_another_ticket(desk):
    ticket = make_ticket(desk.queue)
    other = make_ticket(desk.queue)
    article = ticket.articles.get()
    assert desk.api.get(f"/tickets/{ticket.number}/articles/{article.pk}").json()[
        "id"
    ] == (article.pk)
    response = desk.api.get(f"/tickets/{other.number}/articles/{article.pk}")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_listing_articles_costs_the_same_queries_for_2_as_for_20(
    desk, django_assert_max_num_queries
):
    ticket, _, _ = with_file(desk, "a.txt", "text/plain", b"a")
    path = f"/tickets/{ticket.number}/articles?limit=100"
    few = len(queries_for(desk.api, path))
    for i in range(18):
        add_article(
            desk.agent,
            ticket.pk,
            NewArticle(
                body_text=f"note {i}",
                attachments=[NewAttachment(f"{i}.txt", "text/plain", b"%d" % i)],
            ),
        )
    with django_assert_max_num_queries(few):
        assert len(desk.api.get(path).json()["items"]) == 20


# --- writing ------------------------------------------------------------------------
def test_a_note_is_internal_and_written_by_the_agent(desk):
    ticket = make_ticket(desk.queue)
    response = desk.api.post(
        f"/tickets/{ticket.number}/articles",
        {"kind": "note", "subject": "Checked", "text": "Looked into it."},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["channel"], body["sender_type"], body["visible_to_customer"]) == (
        "internal",
        "agent",
        False,
    )
    assert response["Location"] == (
        f"/api/v1/tickets/{ticket.number}/articles/{body['id']}"
    )


def test_a_phone_call_can_be_the_agents_own(desk):
    ticket = make_ticket(desk.queue)
    body = desk.api.post(
        f"/tickets/{ticket.number}/articles",
        {"kind": "phone", "text": "I called her back.", "sender_type": "agent"},
    ).json()
    assert (body["channel"], body["sender_type"], body["incoming"]) == (
        "phone",
        "agent",
        False,
    )


def test_fields_of_another_kind_are_refused(desk):
    ticket = make_ticket(desk.queue)
    response = desk.api.post(
        f"/tickets/{ticket.number}/articles",
        {"kind": "note", "text": "x", "template": "thanks"},
    )
    assert response.status_code == 422


def test_a_reply_goes_to_the_customer_through_the_outbox(desk):
    ticket = make_ticket(desk.queue, customer="jane@example.net")
    response = desk.api.post(
        f"/tickets/{ticket.number}/articles",
        {"kind": "reply", "text": "It is fixed.", "next_state": "closed successful"},
    )
    assert response.status_code == 201, response.content
    article = response.json()
    assert (article["channel"], article["to_addr"]) == ("email", "jane@example.net")
    queued = OutboxMessage.objects.get(article_id=article["id"])
    assert queued.recipients == ["jane@example.net"]
    sent = message_from_bytes(read_blob(queued.raw), policy=policy.default)
    assert "It is fixed." in sent.get_body().get_content()
    ticket.refresh_from_db()
    assert ticket.state.name == "closed successful"


def test_a_reply_with_a_template_and_files(desk):
    template = Template.objects.create(
        name="fixed", type="answer", text="We fixed it for you."
    )
    template.queues.add(desk.queue)
    ticket = make_ticket(desk.queue, customer="jane@example.net")
    response = desk.api.post(
        f"/tickets/{ticket.number}/articles",
        {
            "kind": "reply",
            "template": "fixed",
            "attachments": [
                {
                    "filename": "invoice.pdf",
                    "content_type": "application/pdf",
                    "content_base64": b64(b"%PDF-1.4 invoice"),
                }
            ],
        },
    )
    assert response.status_code == 201, response.content
    article = response.json()
    assert [a["filename"] for a in article["attachments"]] == ["invoice.pdf"]
    sent = message_from_bytes(
        read_blob(OutboxMessage.objects.get(article_id=article["id"]).raw),
        policy=policy.default,
    )
    assert "We fixed it for you." in sent.get_body().get_content()
    files = [part.get_filename() for part in sent.iter_attachments()]
    assert files == ["invoice.pdf"]


def test_a_reply_needs_a_text_or_a_template_and_a_sending_address(desk):
    ticket = make_ticket(desk.queue)
    response = desk.api.post(f"/tickets/{ticket.number}/articles", {"kind": "reply"})
    assert response.status_code == 422
    assert error_code(response) == "invalid"
    silent = make_ticket(make_queue("NoAddress", group=desk.queue.group))
    response = desk.api.post(
        f"/tickets/{silent.number}/articles", {"kind": "reply", "text": "Hi"}
    )
    assert response.status_code == 422
    assert "system address" in response.json()["error"]["message"]
    assert not OutboxMessage.objects.exists()


def test_a_reply_to_an_unknown_template_is_invalid_input(desk):
    ticket = make_ticket(desk.queue)
    response = desk.api.post(
        f"/tickets/{ticket.number}/articles", {"kind": "reply", "template": "nope"}
    )
    assert response.status_code == 422
    assert not OutboxMessage.objects.exists()


def test_a_body_over_the_size_limit_is_413(desk, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    ticket = make_ticket(desk.queue)
    response = desk.api.post(
        f"/tickets/{ticket.number}/articles", {"kind": "note", "text": "x" * 2000}
    )
    assert response.status_code == 413
    assert error_code(response) == "too_large"


# --- downloads ----------------------------------------------------------------------
def test_a_download_is_an_attachment_that_browsers_do_not_sniff(desk):
    _, _, path = with_file(desk, "report.pdf", "application/pdf", b"%PDF-1.4")
    response = desk.api.get(path)
    assert response.status_code == 200
    assert response.content == b"%PDF-1.4"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    "content_type",
    ["text/html", "image/svg+xml", "application/xhtml+xml", "text/xml; charset=x"],
)
def test_html_and_other_active_content_is_never_served_as_itself(desk, content_type):
    _, _, path = with_file(desk, "page.html", content_type, b"<script>1</script>")
    response = desk.api.get(path)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("stored", "served"),
    [
        ("../../etc/passwd", 'filename="passwd"'),
        ('C:\\Users\\x\\"evil".txt', 'filename="evil.txt"'),
        ("...", 'filename="attachment"'),
        ("Überweisung.pdf", "filename*=utf-8''%C3%9Cberweisung.pdf"),
    ],
)
def test_the_download_name_is_cleaned(desk, stored, served):
    _, _, path = with_file(desk, stored, "application/octet-stream", b"x")
    assert desk.api.get(path)["Content-Disposition"] == f"attachment; {served}"


def test_an_attachment_is_found_only_under_its_own_article_and_ticket(desk):
    ticket, article, path = with_file(desk, "a.txt", "text/plain", b"a")
    other = make_ticket(desk.queue)
    attachment = article.attachments.get()
    for wrong in [
        f"/tickets/{other.number}/articles/{article.pk}/attachments/{attachment.pk}",
        f"/tickets/{ticket.number}/articles/{other.articles.get().pk}"
        f"/attachments/{attachment.pk}",
    ]:
        response = desk.api.get(wrong)
        assert response.status_code == 404
        assert error_code(response) == "not_found"
