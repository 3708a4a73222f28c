"""Default auto-responses in a language (docs/web.md, "Languages").

Helpline seeds no auto-response: a queue answers automatically only with texts an
administrator gave it.  A team that answers in several languages usually has a queue
per language (info-en, info-de ...); ``add_default_auto_responses`` gives such a
queue the four kinds of auto-response written in its language, from the translated
texts below, for the administrator to adapt afterwards.  The texts are ordinary
messages of the catalogue, so every language of settings.LANGUAGES has them as
soon as its catalogue is complete.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from helpline.actions import admin
from helpline.errors import Conflict, InvalidInput
from helpline.models import AutoResponse, AutoResponseType, Queue

# (subject, text) of each kind, in English; the placeholders are render.py's.
TEXTS: dict[str, tuple[str, str]] = {
    AutoResponseType.REPLY: (
        gettext_noop("We have received your message"),
        gettext_noop(
            "Hello,\n\nthank you for your message. It is ticket {{ ticket.number }} "
            "now, and we will answer as soon as we can.\n\nPlease keep the ticket "
            "number in the subject when you write to us about it.\n"
        ),
    ),
    AutoResponseType.FOLLOW_UP: (
        gettext_noop("Your message was added to your request"),
        gettext_noop(
            "Hello,\n\nyour message was added to ticket {{ ticket.number }}. We will "
            "answer as soon as we can.\n"
        ),
    ),
    AutoResponseType.REJECT: (
        gettext_noop("Your message was not added: the request is closed"),
        gettext_noop(
            "Hello,\n\nticket {{ ticket.number }} is closed, so your message was not "
            "added to it. To ask something new, please write to us again without "
            "the ticket number in the subject.\n"
        ),
    ),
    AutoResponseType.REPLY_NEW_TICKET: (
        gettext_noop("Your message opened a new request"),
        gettext_noop(
            "Hello,\n\nthe request you wrote about is closed, so your message opened "
            "a new one: ticket {{ ticket.number }}. We will answer as soon as we "
            "can.\n"
        ),
    ),
}


@dataclass(frozen=True)
class DefaultText:
    type: str
    name: str
    subject: str
    text: str


def default_texts(language: str) -> list[DefaultText]:
    """The four default auto-responses written in ``language`` (a code of
    settings.LANGUAGES), named "<kind> (<language>)"."""
    codes = [code for code, _name in settings.LANGUAGES]
    if language not in codes:
        raise InvalidInput(
            f"Unknown language {language!r}; choose one of {', '.join(codes)}."
        )
    with translation.override(language):
        return [
            DefaultText(
                type=str(kind),
                name=f"{AutoResponseType(kind).label} ({language})",
                subject=_(subject),
                text=_(text),
            )
            for kind, (subject, text) in TEXTS.items()
        ]


def add_default_auto_responses(
    actor: Any | None, *, queues: Iterable[Queue], language: str
) -> list[AutoResponse]:
    """Give ``queues`` the default auto-responses in ``language``: a kind a queue
    already has an auto-response of is left alone.  The texts are created once per
    language and shared by the queues given; each creation and queue assignment is
    in the administration log (``actions.admin``).  Returns the responses the
    queues got."""
    texts = default_texts(language)
    queues = list(queues)
    given: list[AutoResponse] = []
    with transaction.atomic():
        for default in texts:
            wanting = [
                q
                for q in queues
                if not q.auto_responses.filter(type=default.type, valid=True).exists()
            ]
            if not wanting:
                continue
            response = AutoResponse.objects.filter(name=default.name).first()
            if response is None:
                response = admin.save_configuration(
                    actor,
                    AutoResponse(
                        name=default.name,
                        type=default.type,
                        subject=default.subject,
                        text=default.text,
                    ),
                    changed=["name", "type", "subject", "text"],
                )
            elif response.type != default.type:
                raise Conflict(
                    f"An auto-response named {default.name!r} is of another kind."
                )
            admin.save_relations(
                actor,
                response,
                {"queues": [*response.queues.all(), *wanting]},
            )
            given.append(response)
    return given
