"""Answer texts: templates, salutations, signatures and auto-responses."""

from __future__ import annotations

from django.db import models


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
