"""Articles (the messages and notes of a ticket) and their attachments."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ArticleChannel(models.TextChoices):
    EMAIL = "email", "email"
    PHONE = "phone", "phone"
    INTERNAL = "internal", "internal note"


class SenderType(models.TextChoices):
    AGENT = "agent", "agent"
    CUSTOMER = "customer", "customer"
    SYSTEM = "system", "system"


class Article(models.Model):
    ticket = models.ForeignKey(
        "helpline.Ticket", on_delete=models.PROTECT, related_name="articles"
    )
    channel = models.CharField(max_length=10, choices=ArticleChannel.choices)
    sender_type = models.CharField(max_length=10, choices=SenderType.choices)
    visible_to_customer = models.BooleanField(default=False)
    incoming = models.BooleanField(
        default=False, help_text="Received by Helpline (as opposed to written in it)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created = models.DateTimeField()
    from_addr = models.TextField(blank=True)
    to_addr = models.TextField(blank=True)
    cc_addr = models.TextField(blank=True)
    bcc_addr = models.TextField(blank=True)
    reply_to = models.TextField(blank=True)
    subject = models.CharField(max_length=998, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True, help_text="Sanitised HTML, or empty.")
    # Message-IDs without angle brackets.
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    in_reply_to = models.TextField(blank=True)
    references = models.TextField(blank=True)
    # The exact bytes received or sent, for email articles.
    raw = models.ForeignKey(
        "helpline.Blob",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Ids of the merge that moved this article here, so a merge can be undone.
    merged_from = models.ForeignKey(
        "helpline.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        db_table = "helpline_article"
        indexes = [
            models.Index(fields=["ticket", "created", "id"], name="article_ticket")
        ]

    def __str__(self) -> str:
        return f"article {self.pk} of ticket {self.ticket_id}"


class Attachment(models.Model):
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="attachments"
    )
    blob = models.ForeignKey(
        "helpline.Blob", on_delete=models.PROTECT, related_name="+"
    )
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    content_id = models.CharField(max_length=255, blank=True)
    inline = models.BooleanField(default=False)
    size = models.BigIntegerField()

    class Meta:
        db_table = "helpline_attachment"
        indexes = [models.Index(fields=["filename"])]

    def __str__(self) -> str:
        return self.filename
