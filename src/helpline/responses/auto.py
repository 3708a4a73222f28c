"""Auto-responses (BEHAVIOUR.md s. 6) and the loop protection that keeps them safe.

Runs after an inbound message was committed (``helpline.mail.hooks``).  The PostMaster
already decided which type fits (none for automatic mail, looping mail or a filter's
"no auto-response"); here the queue's response of that type is rendered and queued —
unless the recipient is automatic or our own, or has had its daily ration.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from helpline.addresses import addresses_in, normalize, normalize_all
from helpline.mail import snapshot
from helpline.models import (
    Article,
    AutoResponse,
    AutoResponseLog,
    HistoryType,
    SenderType,
    SystemAddress,
    Ticket,
)
from helpline.numbers import build_subject
from helpline.responses.render import Context, render
from helpline.responses.replies import Draft, do_send_email

log = logging.getLogger(__name__)
audit = logging.getLogger("helpline.audit")

NEVER_ANSWER = ("mailer-daemon@", "postmaster@", "abuse@", "noreply@", "no-reply@")


def _recipient(article: Article) -> str:
    """The canonical address an automatic answer to ``article`` goes to."""
    for value in (article.reply_to, article.from_addr):
        found = addresses_in(value)
        if found:
            return found[0]
    return ""


def may_answer(address: str) -> tuple[bool, str]:
    """May an automatic mail go to ``address``?  Also counts it (loop protection).

    Compared in canonical form (``helpline.addresses``): ``"Info"@Helpline.example``
    is our ``info@helpline.example`` and is never answered."""
    address = normalize(address)
    if not address:
        return False, "no address"
    if address.startswith(NEVER_ANSWER):
        return False, f"{address} is an automatic address"
    own = normalize_all(SystemAddress.objects.values_list("email", flat=True))
    if address in own:
        return False, f"{address} is one of our own addresses"
    today = timezone.localdate()
    limit = settings.HELPLINE_LOOP_LIMIT
    with transaction.atomic():
        try:
            with transaction.atomic():
                AutoResponseLog.objects.create(address=address, day=today, count=0)
        except IntegrityError:
            pass
        entry = AutoResponseLog.objects.select_for_update().get(
            address=address, day=today
        )
        if entry.count >= limit:
            if entry.count == limit:
                _tell_admins(address, limit)
                AutoResponseLog.objects.filter(pk=entry.pk).update(count=F("count") + 1)
            return False, f"loop protection: {limit} automatic mails to {address} today"
        AutoResponseLog.objects.filter(pk=entry.pk).update(count=F("count") + 1)
    return True, ""


def _tell_admins(address: str, limit: int) -> None:
    admins = list(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .values_list("username", flat=True)
    )
    audit.warning(
        "loop protection: %s reached %d automatic mails today; no more go there "
        "until tomorrow (admins: %s)",
        address,
        limit,
        ", ".join(admins),
    )


def send_auto_response(
    *,
    message_id: int | None = None,
    ticket_id: int | None,
    article_id: int | None,
    auto_response: str,
    queue_id: int | None = None,
    spam: bool = False,
    **_: object,
) -> Article | None:
    """Queue the queue's auto-response of type ``auto_response`` for this article
    (none for mail judged spam: docs/spam.md)."""
    if spam or not auto_response or ticket_id is None or article_id is None:
        return None
    # A cheap check first: most queues have no response of most types.
    if queue_id is not None:  # the ticket's queue, from the pipeline
        if not snapshot.current().has_auto_response(auto_response, queue_id):
            return None
    elif not AutoResponse.objects.filter(
        type=auto_response, valid=True, queues__tickets__id=ticket_id
    ).exists():
        return None
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("queue__system_address", "customer", "state", "owner")
            .get(pk=ticket_id)
        )
        if auto_response == "reply" and not ticket.is_open:
            return None
        response = AutoResponse.objects.filter(
            type=auto_response, valid=True, queues=ticket.queue
        ).first()
        if response is None or ticket.queue.system_address is None:
            return None
        original = Article.objects.get(pk=article_id)
        to = _recipient(original)
        allowed, why = may_answer(to)
        if not allowed:
            log.info("no auto-response on ticket %s: %s", ticket.number, why)
            return None
        context = Context(ticket=ticket, customer=ticket.customer, original=original)
        draft = Draft(
            to=[to],
            cc=[],
            subject=build_subject(ticket.number, render(response.subject, context)),
            body=render(response.text, context),
            in_reply_to=original,
        )
        return do_send_email(
            None,
            ticket,
            draft,
            sender_type=SenderType.SYSTEM,
            auto_submitted="auto-replied",
            history_type=HistoryType.AUTO_RESPONSE,
        )
