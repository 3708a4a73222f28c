"""Answer texts: templates, salutations, signatures and auto-responses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from helpline.models.fields import DefaultedCharField

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable


class Salutation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    text = models.TextField()
    valid = models.BooleanField(default=True)

    class Meta:
        db_table = "helpline_salutation"

    def __str__(self) -> str:
        return self.name


class Signature(models.Model):
    name = models.CharField(max_length=200, unique=True)
    text = models.TextField()
    valid = models.BooleanField(default=True)

    class Meta:
        db_table = "helpline_signature"

    def __str__(self) -> str:
        return self.name


class TemplateType(models.TextChoices):
    ANSWER = "answer", "answer"
    CREATE = "create", "create"
    FORWARD = "forward", "forward"
    NOTE = "note", "note"
    PHONE = "phone", "phone call"
    EMAIL = "email", "new email"


class Template(models.Model):
    name = models.CharField(max_length=200, unique=True)
    type = models.CharField(max_length=20, choices=TemplateType.choices)
    subject = models.CharField(max_length=255, blank=True)
    text = models.TextField()
    queues = models.ManyToManyField(
        "helpline.Queue", blank=True, related_name="templates"
    )
    valid = models.BooleanField(default=True)
    comment = models.TextField(blank=True)
    # A template in several languages: one template is offered (its queues, its
    # name); its translations name it here, each with its language.  The reply uses
    # the translation in the customer's language (docs/web.md "Composing").
    language: models.CharField[str | Combinable, str] = DefaultedCharField(
        max_length=16,
        blank=True,
        null=True,
        db_default=models.Value(""),
        help_text="Language code (en, de, pt-BR…); empty: not set.",
    )
    translation_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="translations",
        # A small table: no index (the migration adds no lock-taking CREATE INDEX).
        db_index=False,
        help_text="The template this one translates (it is offered in its place).",
    )

    class Meta:
        db_table = "helpline_template"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateAttachment(models.Model):
    """A file that goes with every use of a template (a licence form, say)."""

    template = models.ForeignKey(
        Template, on_delete=models.CASCADE, related_name="attachments"
    )
    blob = models.ForeignKey(
        "helpline.Blob", on_delete=models.PROTECT, related_name="+"
    )
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")

    class Meta:
        db_table = "helpline_template_attachment"

    def __str__(self) -> str:
        return self.filename


class AutoResponseType(models.TextChoices):
    REPLY = "reply", "auto reply (new ticket)"
    REJECT = "reject", "auto reject (follow-up to a closed ticket, rejected)"
    FOLLOW_UP = "follow_up", "auto follow up"
    REPLY_NEW_TICKET = "reply_new_ticket", "auto reply/new ticket (old one closed)"


class AutoResponse(models.Model):
    name = models.CharField(max_length=200, unique=True)
    type = models.CharField(max_length=20, choices=AutoResponseType.choices)
    subject = models.CharField(max_length=255)
    text = models.TextField()
    queues = models.ManyToManyField(
        "helpline.Queue", blank=True, related_name="auto_responses"
    )
    valid = models.BooleanField(default=True)

    class Meta:
        db_table = "helpline_auto_response"

    def __str__(self) -> str:
        return self.name
