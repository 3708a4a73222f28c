"""Mail in and out as administrators see it: content only on tickets they may read,
mail on no ticket (the quarantine) with ``helpline.handle_unrouted_mail``."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin
from django.contrib.auth import admin as auth_admin  # noqa: F401  (registered first)
from django.db.models import BooleanField, Case, QuerySet, When
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from helpline.actions import admin as admin_actions
from helpline.actions import read_audit
from helpline.admin.base import (
    ReadOnlyAdmin,
    actor_of,
)
from helpline.mail import operations as mail_operations
from helpline.models import (
    InboundMessage,
    OutboxMessage,
    ReadKind,
)


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    """The quarantine and the log of everything received: only what the administrator
    may read (``actions.admin.inbound_readable_q``); the raw message is a download."""

    list_display = (
        "id",
        "received",
        "status",
        "transport",
        "reason_short",
        "message_id",
    )
    list_filter = ("status", "transport")
    search_fields = ("message_id", "reason", "sha256")
    readonly_fields = [
        f.name for f in InboundMessage._meta.fields if f.name != "raw"
    ] + ["raw_link"]
    actions = ["replay"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundMessage]:
        return (
            super()
            .get_queryset(request)
            .filter(admin_actions.inbound_readable_q(actor_of(request)))
        )

    @admin.display(description="reason")
    def reason_short(self, obj: InboundMessage) -> str:
        return obj.reason[:80]

    @admin.display(description="raw message")
    def raw_link(self, obj: InboundMessage) -> str:
        url = reverse("admin:helpline_inboundmessage_raw", args=[obj.pk])
        return format_html('<a href="{}">download the raw message</a>', url)

    @admin.action(description="Process again (replay)")
    def replay(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        done = mail_operations.replay_inbound(
            actor_of(request), queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"{done} message(s) processed.")

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/raw/",
                self.admin_site.admin_view(self.raw_view),
                name="helpline_inboundmessage_raw",
            ),
            *super().get_urls(),
        ]

    def raw_view(
        self, request: HttpRequest, object_id: str
    ) -> HttpResponse | StreamingHttpResponse:
        """The raw bytes as a download (never shown as a page), of a message the
        administrator may read; any other id is "not found"."""
        from helpline.blobstore import blob_chunks
        from helpline.errors import HelplineError

        message = self.get_object(request, object_id)
        if message is None or not self.has_view_permission(request, message):
            raise Http404("No such message.")
        response: HttpResponse | StreamingHttpResponse
        try:
            data = blob_chunks(message.raw)
        except HelplineError as exc:  # a missing object, the blob store down
            return HttpResponse(
                exc.message, status=exc.http_status, content_type="text/plain"
            )
        if message.ticket_id is not None:  # mail of a ticket: its content
            read_audit.record(
                request.user,
                message.ticket,
                ReadKind.RAW,
                article_id=message.article_id,
            )
        if isinstance(data, bytes):
            response = HttpResponse(data, content_type="application/octet-stream")
        else:
            response = StreamingHttpResponse(
                data, content_type="application/octet-stream"
            )
        response["Content-Disposition"] = (
            f'attachment; filename="inbound-{message.pk}.eml"'
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


# Anything shaped like an address in an SMTP error ("refused: <jane@example.net>: 550
# ...", "5.1.1 <jane@...>: Recipient address rejected").
ADDRESS = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")


@admin.register(OutboxMessage)
class OutboxAdmin(ReadOnlyAdmin):
    """Outgoing mail: its state (status, attempts, last error) for everyone running
    the system; its content (sender, recipients, message, article) only where the
    administrator may read the ticket (``actions.admin.outbox_readable_q``)."""

    list_display = (
        "id",
        "created",
        "status",
        "attempts",
        "recipients_shown",
        "last_error_short",
    )
    list_filter = ("status",)
    search_fields = ("message_id",)
    state_fields = [
        "status",
        "attempts",
        "next_attempt",
        "claimed_until",
        "created",
        "sent",
        "error_shown",
    ]
    content_fields = ["message_id", "envelope_from", "recipients", "article"]
    actions = ["retry"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboxMessage]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                content_visible=Case(
                    When(admin_actions.outbox_readable_q(actor_of(request)), then=True),
                    default=False,
                    output_field=BooleanField(),
                )
            )
        )

    def get_search_results(
        self, request: HttpRequest, queryset: Any, search_term: str
    ) -> Any:
        if search_term:  # searching by content: among readable messages only
            queryset = queryset.filter(content_visible=True)
        return super().get_search_results(request, queryset, search_term)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        shown = obj is not None and getattr(obj, "content_visible", False)
        return self.state_fields + (self.content_fields if shown else [])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)

    @admin.display(description="recipients")
    def recipients_shown(self, obj: OutboxMessage) -> str:
        if not getattr(obj, "content_visible", False):
            return "(not shown: no access to the ticket)"
        return ", ".join(obj.recipients)

    @admin.display(description="last error")
    def error_shown(self, obj: OutboxMessage) -> str:
        """The last error, with the addresses in it (a refused recipient, the
        server's echo of it) masked where the ticket's content is not shown."""
        if getattr(obj, "content_visible", False):
            return obj.last_error
        return ADDRESS.sub("(address)", obj.last_error)

    @admin.display(description="last error")
    def last_error_short(self, obj: OutboxMessage) -> str:
        return self.error_shown(obj)[:80]

    @admin.action(description="Send again")
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        n = mail_operations.retry_outbox(
            actor_of(request), queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"{n} message(s) queued again.")
