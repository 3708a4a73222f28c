"""Ticket states, as the administration screens change them (docs/administration.md,
"Ticket states"): create, rename, deactivate — never a state Helpline or the
configuration still needs.  Only site administrators may (``mail_admin.may_edit``);
every change is in the administration log (``admin.save_ticket_state``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count
from django.utils.translation import gettext as _

from helpline.actions import admin
from helpline.actions.mail_admin import require_site_admin
from helpline.errors import Conflict, InvalidInput, NotFound
from helpline.models import PostmasterFilter, StateType, Ticket, TicketState

if TYPE_CHECKING:
    from django.contrib.auth.models import User as Agent
else:
    Agent = Any

# The states Helpline's own code asks for by name (actions.tickets.get_state): a new
# ticket, a reopened one, closing from the ticket screen and automation, merging.
REQUIRED = frozenset({"new", "open", "closed successful", "merged"})


@dataclass
class StateRow:
    state: TicketState
    tickets: int


def list_states(actor: Agent | None) -> list[StateRow]:
    """Every state with the number of tickets in it (two queries, however many)."""
    require_site_admin(actor, "ticketstate")
    counts = dict(
        Ticket.objects.values_list("state_id").annotate(n=Count("id")).order_by()
    )
    states = TicketState.objects.select_related("next_state").order_by("name")
    return [StateRow(state, counts.get(state.pk, 0)) for state in states]


def get_state(actor: Agent | None, state_id: int) -> TicketState:
    require_site_admin(actor, "ticketstate")
    found = TicketState.objects.filter(pk=state_id).first()
    if found is None:
        raise NotFound(_("No such state."))
    return found


def _filters_setting(name: str) -> list[str]:
    return [
        f.name
        for f in PostmasterFilter.objects.filter(valid=True).only("name", "sets")
        if isinstance(f.sets, dict) and f.sets.get("state") == name
    ]


def why_needed(state: TicketState) -> str:
    """Why ``state`` must stay valid ('' when it need not)."""
    if state.name in REQUIRED:
        return _("Helpline itself uses the state %(name)s.") % {"name": state.name}
    pointing = list(
        TicketState.objects.filter(next_state=state, valid=True).values_list(
            "name", flat=True
        )
    )
    if pointing:
        return _("The state(s) %(states)s go to it when their time has passed.") % {
            "states": ", ".join(pointing)
        }
    filters = _filters_setting(state.name)
    if filters:
        return _("The postmaster filter(s) %(filters)s set it.") % {
            "filters": ", ".join(filters)
        }
    if state.is_open:
        waiting = Ticket.objects.filter(state=state).count()
        if waiting:
            return _("%(n)d ticket(s) are in it: move them to another state first.") % {
                "n": waiting
            }
    return ""


def save_state(
    actor: Agent | None,
    state: TicketState | None,
    *,
    name: str,
    type: str,  # noqa: A002 - the model's field
    next_state: TicketState | None = None,
    comment: str = "",
    valid: bool = True,
) -> TicketState:
    """Create (``state`` None) or change a state; renaming or deactivating a state
    still needed is ``Conflict`` with the reason, and nothing is saved."""
    require_site_admin(actor, "ticketstate")
    name = name.strip()
    if not name:
        raise InvalidInput(_("A state needs a name."))
    if type not in StateType.values:
        raise InvalidInput(_("Choose a type."))
    others = TicketState.objects.filter(name=name)
    if state is not None:
        others = others.exclude(pk=state.pk)
    if others.exists():
        raise Conflict(_("A state %(name)s exists already.") % {"name": name})
    target = state or TicketState()
    if state is not None and state.name != name:
        if state.name in REQUIRED:
            raise Conflict(
                _("Helpline itself uses the state %(name)s: it keeps its name.")
                % {"name": state.name}
            )
        filters = _filters_setting(state.name)
        if filters:
            raise Conflict(
                _(
                    "The postmaster filter(s) %(filters)s set this state by its name: "
                    "change them first."
                )
                % {"filters": ", ".join(filters)}
            )
    if state is not None and state.valid and not valid:
        reason = why_needed(state)
        if reason:
            raise Conflict(
                _("%(name)s stays valid. %(reason)s")
                % {"name": state.name, "reason": reason}
            )
    target.name, target.type, target.next_state = name, type, next_state
    target.comment, target.valid = comment.strip(), valid
    try:
        return admin.save_ticket_state(
            actor,
            target,
            changed=["name", "type", "next_state", "comment", "valid"],
        )
    except Conflict as exc:
        if state is not None:
            raise Conflict(
                _(
                    "Tickets are in state %(name)s: its type cannot change. Create a "
                    "new state and move the tickets instead."
                )
                % {"name": state.name}
            ) from exc
        raise
    except InvalidInput as exc:
        raise InvalidInput(
            _("Only a pending-auto state has a next state, and never itself.")
        ) from exc
