"""Salutations, signatures, auto-responses and templates in the administration area
(docs/administration.md "Answer texts"): who may, the administration log, bad input
as clear errors, switching off instead of deleting."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from helpline.actions import admin
from helpline.actions import answer_texts as at
from helpline.errors import Conflict, InvalidInput, PermissionDenied
from helpline.models import (
    AdminAuditEntry,
    AgentProfile,
    AutoResponse,
    Permission,
    Salutation,
    Signature,
    Template,
)
from tests.support import make_agent, make_queue
from tests.web import web_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def boss():
    return make_agent("boss", is_admin=True)


@pytest.fixture
def boss_client(client, boss):
    client.force_login(boss)
    return client


@pytest.mark.parametrize("model", [Salutation, Signature])
def test_create_change_and_switch_off_are_audited(boss, model):
    made = at.save_text(
        boss, model, None, name=" Formal ", text="Dear {{ customer.name }},"
    )
    assert made.name == "Formal" and made.valid
    at.save_text(boss, model, made.pk, name="Formal", text=made.text, valid=False)
    made.refresh_from_db()
    assert not made.valid
    log = list(
        AdminAuditEntry.objects.filter(object_id=str(made.pk))
        .exclude(object_type="agent")
        .order_by("pk")
        .values_list("action", "after")
    )
    assert log[0][0] == "created" and log[0][1]["name"] == "Formal"
    assert log[1] == ("changed", {"valid": False})
    assert len(log) == 2
    assert AdminAuditEntry.objects.filter(actor_name="boss").count() == 2


def test_an_auto_response_has_a_subject_a_kind_and_queues(boss):
    queue = make_queue("Support")
    made = at.save_text(
        boss,
        AutoResponse,
        None,
        name="Got it",
        text="We have your mail.",
        subject="Re: {{ original.subject }}",
        type="reply",
        queues=[queue],
    )
    assert list(made.queues.all()) == [queue]
    assert AdminAuditEntry.objects.filter(
        action="changed", after={"queues": ["Support"]}
    ).exists()
    with pytest.raises(InvalidInput):
        at.save_text(
            boss, AutoResponse, None, name="X", text="t", subject="", type="reply"
        )
    with pytest.raises(InvalidInput):
        at.save_text(
            boss, AutoResponse, None, name="X", text="t", subject="s", type="no"
        )


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("", "text", InvalidInput),
        ("Taken", "text", Conflict),
        ("New", "  ", InvalidInput),
    ],
)
def test_bad_input_is_refused(boss, name, text, error):
    at.save_text(boss, Signature, None, name="Taken", text="-- \nus")
    with pytest.raises(error) as exc:
        at.save_text(boss, Signature, None, name=name, text=text)
    assert exc.value.message
    assert Signature.objects.count() == 1


def test_only_administrators_edit_texts():
    queue = make_queue("Support")
    lead = make_agent("lead")
    admin.grant(queue.group, [Permission.MANAGE], agent=lead)
    for who in (make_agent("plain"), lead, None):
        with pytest.raises(PermissionDenied):
            at.save_text(who, Salutation, None, name="Hi", text="Hi")
        with pytest.raises(PermissionDenied):
            at.list_texts(who, Signature)
        with pytest.raises(PermissionDenied):
            at.save_template(
                who,
                None,
                name="T",
                type="answer",
                subject="",
                text="t",
                valid=True,
                queues=[queue],
            )
    assert not Salutation.objects.exists() and not Template.objects.exists()
    assert not AdminAuditEntry.objects.filter(
        action="created", object_type="salutation"
    ).exists()


def test_an_administrator_creates_a_template_for_queues_and_switches_it_off(boss):
    queue = make_queue("Support")
    made = at.save_template(
        boss,
        None,
        name="Thanks",
        type="answer",
        subject="",
        text="Thanks!",
        valid=True,
        queues=[queue],
    )
    assert list(made.queues.all()) == [queue]
    at.save_template(
        boss,
        made.pk,
        name="Thanks",
        type="answer",
        subject="",
        text="Thanks!",
        valid=False,
        queues=[],
    )
    made.refresh_from_db()
    assert not made.valid and not made.queues.exists()
    assert AdminAuditEntry.objects.filter(object_repr="Thanks").count() == 4


# --- the pages ----------------------------------------------------------------------


def test_the_list_and_the_new_page_with_placeholders(boss_client):
    url = reverse("admin-text-new", args=["salutations"])
    html = boss_client.get(url).content.decode()
    assert "{{ customer.name }}" in html and "{{ ticket.number }}" in html
    response = boss_client.post(
        url, {"name": "Hi", "text": "Hi {{ customer.name }},", "valid": "on"}
    )
    assert response.status_code == 302
    listing = boss_client.get(
        reverse("admin-texts", args=["salutations"])
    ).content.decode()
    made = Salutation.objects.get(name="Hi")
    assert reverse("admin-text", args=["salutations", made.pk]) in listing


def test_an_unknown_placeholder_is_a_form_error(boss_client):
    url = reverse("admin-text-new", args=["signatures"])
    response = boss_client.post(url, {"name": "Sig", "text": "{{ ticket.nope }}"})
    assert response.status_code == 400
    assert "Unknown placeholder" in response.content.decode()
    assert not Signature.objects.exists()


def test_an_unknown_kind_is_not_found(boss_client):
    assert boss_client.get("/administration/texts/bananas/").status_code == 404


def test_a_coordinator_still_edits_only_subject_and_text(client):
    queue = make_queue("Support")
    lead = make_agent("lead")
    admin.grant(queue.group, [Permission.MANAGE], agent=lead)
    template = Template.objects.create(name="Thanks", type="answer", text="Thanks")
    template.queues.add(queue)
    client.force_login(lead)
    url = reverse("admin-template", args=[template.pk])
    html = client.get(url).content.decode()
    assert 'name="queues"' not in html and 'name="subject"' in html
    assert client.get(reverse("admin-template-new")).status_code == 403
    client.post(url, {"subject": "S", "text": "T", "valid": "", "name": "Renamed"})
    template.refresh_from_db()
    assert (template.name, template.subject, template.text, template.valid) == (
        "Thanks",
        "S",
        "T",
        True,
    )


def test_an_administrator_gets_the_full_template_form(boss_client):
    queue = make_queue("Support")
    response = boss_client.post(
        reverse("admin-template-new"),
        {
            "name": "Hello",
            "type": "answer",
            "text": "Hello",
            "queues": [queue.pk],
            "valid": "on",
        },
    )
    assert response.status_code == 302
    template = Template.objects.get(name="Hello")
    html = boss_client.get(
        reverse("admin-template", args=[template.pk])
    ).content.decode()
    assert 'name="queues"' in html and "Attachments" in html
    response = boss_client.post(
        reverse("admin-template", args=[template.pk]),
        {"name": "Hello", "type": "answer", "text": "Hello", "queues": [queue.pk]},
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert not template.valid


def test_the_pages_speak_the_agents_language(boss_client, boss, settings):
    AgentProfile.objects.filter(user=boss).update(language="de")
    boss_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    html = boss_client.get(reverse("admin-text-new", args=["signatures"])).content
    html = html.decode()
    assert "die Ticketnummer" in html and "Platzhalter" in html
    queues = boss_client.get(reverse("admin-queue-new")).content.decode()
    assert "Entsperrzeit (Minuten)" in queues


def test_an_administrator_adds_and_removes_a_template_attachment(boss_client, boss):
    template = Template.objects.create(name="Licence", type="answer", text="See file")
    add = reverse("admin-template-attachment-add", args=[template.pk])
    upload = SimpleUploadedFile("form.pdf", b"%PDF-1.4 licence", "application/pdf")
    assert boss_client.post(add, {"file": upload}).status_code == 302
    attachment = template.attachments.get()
    assert (attachment.filename, attachment.content_type) == (
        "form.pdf",
        "application/pdf",
    )
    page = boss_client.get(reverse("admin-template", args=[template.pk])).content
    assert b"form.pdf" in page
    # No file: a clear error, nothing added.
    refused = boss_client.post(add, {})
    assert refused.status_code == 400 and b"Choose a file" in refused.content
    remove = reverse(
        "admin-template-attachment-remove", args=[template.pk, attachment.pk]
    )
    assert boss_client.get(remove).status_code == 405
    assert boss_client.post(remove).status_code == 302
    assert not template.attachments.exists()
    log = AdminAuditEntry.objects.filter(object_repr="Licence", actor_name="boss")
    assert {tuple(e.after) or tuple(e.before) for e in log} == {
        ("attachment added",),
        ("attachment removed",),
    }


def test_attachments_are_for_template_administrators_only(client, settings):
    queue = make_queue("Support")
    lead = make_agent("lead")
    admin.grant(queue.group, [Permission.MANAGE], agent=lead)
    template = Template.objects.create(name="Thanks", type="answer", text="Thanks")
    template.queues.add(queue)
    with pytest.raises(PermissionDenied):
        at.add_template_attachment(
            lead, template.pk, filename="a.txt", content_type="text/plain", content=b"x"
        )
    boss = make_agent("boss", is_admin=True)
    settings.HELPLINE_MAX_MESSAGE_BYTES = 10
    with pytest.raises(InvalidInput):
        at.add_template_attachment(
            boss, template.pk, filename="big.txt", content_type="", content=b"x" * 11
        )
    client.force_login(lead)
    upload = SimpleUploadedFile("a.txt", b"x", "text/plain")
    response = client.post(
        reverse("admin-template-attachment-add", args=[template.pk]), {"file": upload}
    )
    assert response.status_code == 403
    assert not template.attachments.exists()
