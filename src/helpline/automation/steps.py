"""What a job does to each ticket it finds: its steps, one registry entry each.

A step is ``{"do": NAME, ...parameters}``.  Each ``Step`` checks its parameters when
the job is saved (``check``: a clear error, never a traceback), says in words what it
would do to a ticket (``describe``: the preview), and does it (``apply``) on the
row-locked ticket inside the run's transaction, through the ``do_*`` functions of
``helpline.actions`` with the job's account as the actor, after checking that the
job's owner holds the permission it needs on the ticket's queue (``need``).
``apply`` returns what it did, or None when there was nothing to do.

``delete`` is not here: it goes through ``actions.removal`` in its own batches
(``runner``), and must be a job's only step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpline.actions.access import may, may_in_queue
from helpline.actions.articles import NewArticle, do_add_article
from helpline.actions.locks import (
    do_lock_to,
    do_set_owner,
    do_set_responsible,
    do_unlock,
)
from helpline.actions.merge import do_link
from helpline.actions.tickets import (
    do_archive,
    do_move,
    do_set_priorities,
    do_set_priority,
    do_set_state,
    get_state,
)
from helpline.errors import InvalidInput, NotFound, PermissionDenied
from helpline.models import (
    AutomationSend,
    LinkType,
    Permission,
    Priority,
    Queue,
    SenderType,
    StateType,
    Template,
    TemplateType,
    Ticket,
)
from helpline.numbers import build_subject
from helpline.responses.agent_mail import locale_of, mail_agent, speaking_to
from helpline.responses.replies import (
    compose_reply,
    do_send_email,
    last_customer_article,
)

DELETE = "delete"
NOTIFY_ROLES = ("owner", "responsible", "followers")


@dataclass
class Context:
    """The run a step works for: the job, its owner (whose rights bound it), its
    account (the actor in the history) and the run (None in a preview)."""

    job: Any
    owner: Any
    actor: Any
    queue_ids: frozenset[int]
    run: Any | None = None


@dataclass(frozen=True)
class Step:
    name: str
    need: str
    check: Callable[[dict[str, Any], frozenset[int]], dict[str, Any]]
    describe: Callable[[dict[str, Any]], str]
    apply: Callable[[Context, Ticket, dict[str, Any]], str | None]
    # The step on a whole batch at once (a few statements, however many tickets):
    # ticket id -> what was done, for those it changed.  None: ``apply`` per ticket.
    # A domain error (``HelplineError``) must come before it changes anything, in
    # the database or on the tickets given: the runner then runs ``apply`` on each.
    bulk: Callable[[Context, list[Ticket], dict[str, Any]], dict[int, str]] | None = (
        None
    )


def _text(params: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = params.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"'{params.get('do')}' needs a text in {key!r}.")
    return value.strip()


def _agent(login: str) -> Any:
    agent = get_user_model().objects.filter(username=login, is_active=True).first()
    if agent is None:
        raise InvalidInput(f"There is no active agent {login!r}.")
    return agent


def _queue(name: str) -> Queue:
    queue = Queue.objects.filter(name=name).first()
    if queue is None:
        raise NotFound(f"There is no queue {name!r}.")
    return queue


# --- move --------------------------------------------------------------------------
def _check_move(params: dict[str, Any], queue_ids: frozenset[int]) -> dict[str, Any]:
    queue = _queue(_text(params, "queue"))
    if not queue.valid:
        raise InvalidInput(f"Queue {queue.name} is not valid.")
    if queue.pk not in queue_ids:
        raise InvalidInput(
            f"A job moves tickets only into its own queues; add {queue.name} to them."
        )
    return {"do": "move", "queue": queue.name}


def _apply_move(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    queue = _queue(params["queue"])
    if ticket.queue_id == queue.pk:
        return None
    if not may_in_queue(ctx.owner, queue, Permission.MOVE_INTO):
        raise PermissionDenied(
            f"{ctx.owner.get_username()} may not move tickets into {queue.name}."
        )
    do_move(ctx.actor, ticket, queue)
    return f"moved to {queue.name}"


# --- state, close, archive ----------------------------------------------------------
def _state_name(params: dict[str, Any], *, closed: bool = False) -> str:
    default = "closed successful" if closed else ""
    name = params.get("state", default)
    if not isinstance(name, str) or not name:
        raise InvalidInput("'state' needs the name of a state.")
    state = get_state(name)
    if state.type in (StateType.MERGED, StateType.REMOVED):
        raise InvalidInput(f"A job cannot set {state.name!r}.")
    if closed and state.type != StateType.CLOSED:
        raise InvalidInput(f"{state.name!r} is not a closed state.")
    return state.name


def _check_state(params: dict[str, Any], queue_ids: frozenset[int]) -> dict[str, Any]:
    name = _state_name(params)
    result: dict[str, Any] = {"do": "state", "state": name}
    if get_state(name).is_pending:
        days = params.get("pending_days")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
            raise InvalidInput(
                f"{name!r} is a pending state: give 'pending_days' (0 to 3650), the "
                "days from the run to the pending time."
            )
        result["pending_days"] = days
    return result


def _apply_state(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    state = get_state(params["state"])
    if ticket.state_id == state.pk:
        return None
    until = None
    if state.is_pending:
        until = timezone.now() + timedelta(days=int(params["pending_days"]))
    do_set_state(ctx.actor, ticket, state, pending_until=until)
    return f"state {state.name}"


def _check_close(params: dict[str, Any], queue_ids: frozenset[int]) -> dict[str, Any]:
    return {
        "do": "close",
        "state": _state_name(params, closed=True),
        "note": _text(params, "note"),
    }


def _apply_close(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    state = get_state(params["state"])
    if not ticket.is_open:
        return None
    do_add_article(
        ctx.actor, ticket, NewArticle(body_text=params["note"], subject="Close")
    )
    do_set_state(ctx.actor, ticket, state)
    return f"closed ({state.name})"


def _apply_archive(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    if ticket.archived:
        return None
    do_archive(ctx.actor, ticket)  # an open ticket is an error: only closed ones
    return "archived"


# --- priority, owner, responsible, lock ----------------------------------------------
def _check_priority(
    params: dict[str, Any], queue_ids: frozenset[int]
) -> dict[str, Any]:
    value = params.get("priority")
    if value not in Priority.values or isinstance(value, bool):
        raise InvalidInput(f"'priority' must be 1 to 5, not {value!r}.")
    return {"do": "priority", "priority": value}


def _apply_priority(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    if ticket.priority == params["priority"]:
        return None
    do_set_priority(ctx.actor, ticket, params["priority"])
    return f"priority {params['priority']}"


def _bulk_priority(
    ctx: Context, tickets: list[Ticket], params: dict[str, Any]
) -> dict[int, str]:
    changed = do_set_priorities(ctx.actor, tickets, params["priority"])
    return {ticket.pk: f"priority {params['priority']}" for ticket in changed}


def _check_agent(
    name: str, *, optional: bool = False
) -> Callable[[dict[str, Any], frozenset[int]], dict[str, Any]]:
    def check(params: dict[str, Any], queue_ids: frozenset[int]) -> dict[str, Any]:
        login = params.get("agent", "")
        if optional and login == "":
            return {"do": name, "agent": ""}
        if not isinstance(login, str) or not login:
            raise InvalidInput(f"'{name}' needs an agent's login in 'agent'.")
        return {"do": name, "agent": _agent(login).get_username()}

    return check


def _apply_owner(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    agent = _agent(params["agent"])
    if ticket.owner_id == agent.pk:
        return None
    if not (
        may_in_queue(agent, ticket.queue, Permission.OWNER)
        and may(agent, ticket, Permission.RO)
    ):
        raise InvalidInput(
            f"{agent.get_username()} may not own tickets in {ticket.queue.name}."
        )
    do_set_owner(ctx.actor, ticket, agent)
    return f"owner {agent.get_username()}"


def _apply_responsible(
    ctx: Context, ticket: Ticket, params: dict[str, Any]
) -> str | None:
    agent = _agent(params["agent"]) if params["agent"] else None
    if ticket.responsible_id == (agent.pk if agent else None):
        return None
    if agent is not None and not may(agent, ticket, Permission.RO):
        raise InvalidInput(
            f"{agent.get_username()} cannot read queue {ticket.queue.name}."
        )
    do_set_responsible(ctx.actor, ticket, agent)
    return f"responsible {agent.get_username() if agent else 'nobody'}"


def _no_params(name: str) -> Callable[[dict[str, Any], frozenset[int]], dict[str, Any]]:
    def check(params: dict[str, Any], queue_ids: frozenset[int]) -> dict[str, Any]:
        return {"do": name}

    return check


def _apply_lock(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    if ticket.locked or ticket.owner is None:
        return None  # locking means locking to the owner: nobody to lock it to
    do_lock_to(ctx.actor, ticket, ticket.owner)
    return f"locked to {ticket.owner.get_username()}"


def _apply_unlock(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    if not ticket.locked:
        return None
    do_unlock(ctx.actor, ticket, reason=f"job {ctx.job.name}")
    return "unlocked"


# --- note, link ------------------------------------------------------------------------
def _check_note(params: dict[str, Any], queue_ids: frozenset[int]) -> dict[str, Any]:
    return {
        "do": "note",
        "text": _text(params, "text"),
        "subject": _text(params, "subject", required=False),
    }


def _apply_note(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    do_add_article(
        ctx.actor,
        ticket,
        NewArticle(body_text=params["text"], subject=params["subject"]),
    )
    return "note added"


def _check_link(params: dict[str, Any], queue_ids: frozenset[int]) -> dict[str, Any]:
    number = _text(params, "ticket")
    type_ = params.get("type", LinkType.NORMAL)
    if type_ not in LinkType.values:
        raise InvalidInput(f"Unknown link type {type_!r}.")
    if not Ticket.objects.filter(number=number).exists():
        raise NotFound(f"There is no ticket {number}.")
    return {"do": "link", "ticket": number, "type": type_}


def _apply_link(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    other = Ticket.objects.visible_to(ctx.owner).filter(number=params["ticket"]).first()
    if other is None:
        raise NotFound(f"Ticket {params['ticket']} is not one the job may read.")
    if other.pk == ticket.pk:
        return None
    do_link(ctx.actor, ticket, other, type_=params["type"])
    return f"linked to {other.number}"


# --- send a template to the customer ------------------------------------------------
def _check_send(params: dict[str, Any], queue_ids: frozenset[int]) -> dict[str, Any]:
    name = _text(params, "template")
    if not Template.objects.filter(
        name=name, valid=True, type=TemplateType.ANSWER
    ).exists():
        raise NotFound(f"There is no valid answer template {name!r}.")
    return {"do": "send", "template": name}


def _apply_send(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    """Mail the template to the customer, once per job and ticket ever: the unique
    row is written first, in the ticket's transaction, so a second attempt (another
    run, a resumed one, a second worker) finds it and sends nothing."""
    if ticket.customer is None or not ticket.customer.email:
        raise InvalidInput(f"Ticket {ticket.number} has no customer to write to.")
    template = Template.objects.filter(
        name=params["template"],
        valid=True,
        type=TemplateType.ANSWER,
        queues=ticket.queue,
    ).first()
    if template is None:
        raise NotFound(
            f"Template {params['template']!r} is not one of queue {ticket.queue.name}."
        )
    try:
        with transaction.atomic():
            AutomationSend.objects.create(job=ctx.job, ticket_id=ticket.pk, run=ctx.run)
    except IntegrityError:
        return None  # written before: never twice
    draft = compose_reply(
        ctx.actor, ticket, last_customer_article(ticket), template=template
    )
    do_send_email(
        ctx.actor,
        ticket,
        draft,
        sender_type=SenderType.SYSTEM,
        auto_submitted="auto-generated",
    )
    return f"sent {template.name}"


# --- notify agents ----------------------------------------------------------------------
def _check_notify(params: dict[str, Any], queue_ids: frozenset[int]) -> dict[str, Any]:
    to = params.get("to", ["owner", "responsible"])
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to:
        raise InvalidInput(
            "'notify' needs 'to': owner, responsible, followers, logins."
        )
    for who in to:
        if who not in NOTIFY_ROLES:
            _agent(str(who))
    return {"do": "notify", "to": [str(w) for w in to], "text": _text(params, "text")}


def _recipients(ticket: Ticket, to: list[str]) -> list[Any]:
    people: list[Any] = []
    for who in to:
        if who == "owner" and ticket.owner is not None:
            people.append(ticket.owner)
        elif who == "responsible" and ticket.responsible is not None:
            people.append(ticket.responsible)
        elif who == "followers":
            people += list(
                get_user_model().objects.filter(
                    agent_profile__followed_queues=ticket.queue
                )
            )
        elif who not in NOTIFY_ROLES:
            people += list(get_user_model().objects.filter(username=who))
    return list({p.pk: p for p in people}.values())


def _apply_notify(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    """Mail the agents named: never one who may not read the ticket."""
    sent = []
    base = settings.HELPLINE_BASE_URL.rstrip("/")
    for agent in _recipients(ticket, params["to"]):
        if not agent.is_active or not agent.email:
            continue
        if not may(agent, ticket, Permission.RO):
            continue
        with speaking_to(locale_of(agent)):  # the recipient's language
            facts = [
                _("Job: %(job)s") % {"job": ctx.job.name},
                _("Queue: %(queue)s") % {"queue": ticket.queue.name},
                _("State: %(state)s   Priority: %(priority)s")
                % {"state": _(ticket.state.name), "priority": ticket.priority},
                _("Open it: %(link)s") % {"link": f"{base}/ticket/{ticket.number}"},
            ]
        body = f"{params['text']}\n\n" + "\n".join(facts) + "\n"
        mail_agent(
            agent,
            build_subject(ticket.number, f"{ctx.job.name}: {ticket.title}"),
            body,
            ticket_id=ticket.pk,
        )
        sent.append(agent.get_username())
    return f"notified {', '.join(sent)}" if sent else None


def _describe(params: dict[str, Any]) -> str:
    details = ", ".join(f"{k}={v}" for k, v in params.items() if k != "do")
    return f"{params['do']} {details}".strip()


def _check_delete(params: dict[str, Any], queue_ids: frozenset[int]) -> dict[str, Any]:
    return {"do": DELETE}


def _not_here(ctx: Context, ticket: Ticket, params: dict[str, Any]) -> str | None:
    raise AssertionError("delete runs through actions.removal")


STEPS: dict[str, Step] = {
    step.name: step
    for step in (
        Step("move", Permission.MOVE_INTO, _check_move, _describe, _apply_move),
        Step("state", Permission.RW, _check_state, _describe, _apply_state),
        Step("close", Permission.RW, _check_close, _describe, _apply_close),
        Step(
            "archive", Permission.RW, _no_params("archive"), _describe, _apply_archive
        ),
        Step(
            "priority",
            Permission.PRIORITY,
            _check_priority,
            _describe,
            _apply_priority,
            _bulk_priority,
        ),
        Step("owner", Permission.OWNER, _check_agent("owner"), _describe, _apply_owner),
        Step(
            "responsible",
            Permission.RW,
            _check_agent("responsible", optional=True),
            _describe,
            _apply_responsible,
        ),
        Step("lock", Permission.RW, _no_params("lock"), _describe, _apply_lock),
        Step("unlock", Permission.RW, _no_params("unlock"), _describe, _apply_unlock),
        Step("note", Permission.NOTE, _check_note, _describe, _apply_note),
        Step("send", Permission.RW, _check_send, _describe, _apply_send),
        Step("notify", Permission.RO, _check_notify, _describe, _apply_notify),
        Step("link", Permission.RW, _check_link, _describe, _apply_link),
        Step(DELETE, Permission.RW, _check_delete, _describe, _not_here),
    )
}


def check_steps(raw: Any, queue_ids: frozenset[int]) -> list[dict[str, Any]]:
    """The job's steps, checked and normalised; ``InvalidInput`` says what is wrong."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("A job needs at least one action, as a list.")
    checked = []
    for position, params in enumerate(raw, start=1):
        if not isinstance(params, dict) or params.get("do") not in STEPS:
            raise InvalidInput(
                f"Action {position}: say what to do with 'do': {', '.join(STEPS)}."
            )
        checked.append(STEPS[params["do"]].check(params, queue_ids))
    if any(p["do"] == DELETE for p in checked) and len(checked) > 1:
        raise InvalidInput("'delete' must be a job's only action.")
    return checked


def describe_steps(steps: list[dict[str, Any]]) -> list[str]:
    return [STEPS[p["do"]].describe(p) for p in steps]
