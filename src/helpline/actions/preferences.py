"""An agent's own preferences: language, time zone, article order, followed queues,
notifications.

Only the agent changes them (the preferences screen; administrators use the admin).
Every change is logged on ``helpline.audit`` with the old and new values: following a
queue decides which new-ticket mails an agent gets, so it is worth being able to
explain afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from helpline.actions.access import queues_with
from helpline.actions.events import Event
from helpline.actions.out_of_office import checked_zone
from helpline.errors import InvalidInput
from helpline.models import AgentProfile, Permission

audit = logging.getLogger("helpline.audit")

ARTICLE_ORDERS = ("newest", "oldest")


@dataclass(frozen=True)
class Preferences:
    language: str
    time_zone: str  # empty: the site's (settings.TIME_ZONE)
    article_order: str
    followed_queue_ids: frozenset[int]
    notifications_off: frozenset[str]


def get_preferences(agent: Any) -> Preferences:
    """The agent's preferences; the defaults when the agent has no profile yet."""
    profile = AgentProfile.objects.filter(user=agent).first()
    if profile is None:
        return _as_preferences(AgentProfile(user=agent), frozenset())
    followed = frozenset(profile.followed_queues.values_list("pk", flat=True))
    return _as_preferences(profile, followed)


def _as_preferences(profile: AgentProfile, followed: frozenset[int]) -> Preferences:
    return Preferences(
        language=profile.language,
        time_zone=profile.time_zone or "",
        article_order=profile.article_order,
        followed_queue_ids=followed,
        notifications_off=frozenset(profile.notifications_off),
    )


def _checked_language(language: str) -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    if language not in codes:
        raise InvalidInput(
            f"Unknown language {language!r}; choose one of {', '.join(codes)}."
        )
    return language


def _checked_time_zone(name: str) -> str:
    """An IANA time zone name, or "" for the site's."""
    return checked_zone(name) if name.strip() else ""


def _checked_order(order: str) -> str:
    if order not in ARTICLE_ORDERS:
        raise InvalidInput(
            f"Unknown article order {order!r}; choose one of "
            f"{', '.join(ARTICLE_ORDERS)}."
        )
    return order


def _checked_notifications(kinds: Iterable[str]) -> list[str]:
    known = [e.value for e in Event]
    wanted = set(kinds)
    unknown = sorted(wanted.difference(known))
    if unknown:
        raise InvalidInput(f"Unknown notification kind(s): {', '.join(unknown)}.")
    return [kind for kind in known if kind in wanted]  # stored in a stable order


def _checked_queues(agent: Any, queue_ids: Iterable[int]) -> set[int]:
    """The ids, if the agent may read every one of them (one query)."""
    wanted = set(queue_ids)
    readable = set(
        queues_with(agent, Permission.RO)
        .filter(pk__in=wanted)
        .values_list("pk", flat=True)
    )
    refused = sorted(wanted - readable)
    if refused:
        raise InvalidInput(
            "You may only follow queues you may read; not: "
            + ", ".join(str(pk) for pk in refused)
            + "."
        )
    return wanted


def set_preferences(
    agent: Any,
    *,
    language: str | None = None,
    time_zone: str | None = None,
    article_order: str | None = None,
    followed_queue_ids: Iterable[int] | None = None,
    notifications_off: Iterable[str] | None = None,
) -> Preferences:
    """Change the agent's own preferences; ``None`` leaves a preference as it is.

    ``language`` is one of ``settings.LANGUAGES``, ``time_zone`` an IANA name (such
    as Europe/Berlin) or "" for the site's time zone, ``article_order`` "newest" or
    "oldest", ``followed_queue_ids`` only queues the agent may read (the whole new set),
    ``notifications_off`` the notification kinds (``Event`` values) switched off.
    Raises ``InvalidInput`` and changes nothing if any of them is not allowed.
    """
    fields: dict[str, Any] = {}
    if language is not None:
        fields["language"] = _checked_language(language)
    if time_zone is not None:
        fields["time_zone"] = _checked_time_zone(time_zone)
    if article_order is not None:
        fields["article_order"] = _checked_order(article_order)
    if notifications_off is not None:
        fields["notifications_off"] = _checked_notifications(notifications_off)
    followed = None
    if followed_queue_ids is not None:
        followed = _checked_queues(agent, followed_queue_ids)
    with transaction.atomic():
        profile, _created = AgentProfile.objects.select_for_update().get_or_create(
            user=agent
        )
        followed_now = set(profile.followed_queues.values_list("pk", flat=True))
        changes = {
            name: (getattr(profile, name), value)
            for name, value in fields.items()
            if getattr(profile, name) != value
        }
        for name, (_old, new) in changes.items():
            setattr(profile, name, new)
        if changes:
            profile.save(update_fields=list(changes))
        if followed is not None and followed != followed_now:
            profile.followed_queues.set(followed)
            changes["followed_queues"] = (sorted(followed_now), sorted(followed))
            followed_now = followed
    for name, (old, new) in changes.items():
        audit.info(
            "agent %s changed preference %s: %s -> %s",
            agent.get_username(),
            name,
            old,
            new,
        )
    return _as_preferences(profile, frozenset(followed_now))
