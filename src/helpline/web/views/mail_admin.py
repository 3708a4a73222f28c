"""Mail and states for site administrators (docs/administration.md, "Mail and
states"): system addresses, mail accounts (with a connection test), postmaster
filters as a form, ticket states.  Each view reads the form, calls the domain layer
(``actions.mail_admin``, ``actions.state_admin``, ``mail.filter_admin``,
``mail.transports.probe``) and renders; a refused or bad input is shown on the form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from helpline.actions import mail_admin, state_admin
from helpline.actions.mail_admin import AccountSettings
from helpline.errors import HelplineError, InvalidInput, PermissionDenied
from helpline.mail.transports import probe
from helpline.models import MailAccount, Queue, StateType, TicketState
from helpline.web.views.decorators import AgentRequest, agent_view


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value and value.strip() else None
    except ValueError:
        return None


def _only(request: AgentRequest) -> HttpResponse | None:
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    return None


@agent_view
def index(request: AgentRequest) -> HttpResponse:
    """The entries of this part of the administration the agent may open."""
    screens = mail_admin.screens_for(request.user)
    if not screens:
        raise PermissionDenied(
            _("Only site administrators may change this part of the configuration.")
        )
    return render(request, "helpline/administration/mail.html", {"screens": screens})


# --- system addresses -------------------------------------------------------------------


@agent_view
def addresses(request: AgentRequest) -> HttpResponse:
    return render(
        request,
        "helpline/administration/addresses.html",
        {"addresses": mail_admin.list_addresses(request.user)},
    )


@agent_view
def address_edit(request: AgentRequest, address_id: int | None = None) -> HttpResponse:
    if (wrong := _only(request)) is not None:
        return wrong
    mail_admin.require_site_admin(request.user, "systemaddress")
    address = (
        mail_admin.get_address(request.user, address_id)
        if address_id is not None
        else None
    )
    queues = list(Queue.objects.order_by("name").only("pk", "name", "valid"))
    if address is not None:
        values: dict[str, Any] = {
            "email": address.email,
            "display_name": address.display_name,
            "queue": address.queue_id,
            "valid": address.valid,
        }
    else:
        values = {"email": "", "display_name": "", "queue": None, "valid": True}
    error, status = "", 200
    if request.method == "POST":
        values = {
            "email": request.POST.get("email", ""),
            "display_name": request.POST.get("display_name", ""),
            "queue": _int(request.POST.get("queue")),
            "valid": request.POST.get("valid") == "on",
        }
        queue = next((q for q in queues if q.pk == values["queue"]), None)
        try:
            if queue is None:
                raise InvalidInput(_("Choose the queue mail to this address opens in."))
            mail_admin.save_address(
                request.user,
                address,
                email=values["email"],
                display_name=values["display_name"],
                queue=queue,
                valid=values["valid"],
            )
        except HelplineError as exc:
            error, status = exc.message, exc.http_status
        else:
            messages.success(request, _("System address saved."))
            return HttpResponseRedirect(reverse("admin-addresses"))
    return render(
        request,
        "helpline/administration/address.html",
        {"address": address, "values": values, "queues": queues, "error": error},
        status=status,
    )


# --- mail accounts ----------------------------------------------------------------------


@agent_view
def accounts(request: AgentRequest) -> HttpResponse:
    return render(
        request,
        "helpline/administration/accounts.html",
        {"accounts": mail_admin.list_accounts(request.user)},
    )


def _account_values(request: AgentRequest, queues: list[Queue]) -> AccountSettings:
    post = request.POST
    queue_id = _int(post.get("queue"))
    return AccountSettings(
        name=post.get("name", "").strip(),
        protocol=post.get("protocol", ""),
        host=post.get("host", "").strip(),
        username=post.get("username", "").strip(),
        password=post.get("password", ""),
        port=_int(post.get("port")),
        folder=post.get("folder", "").strip() or "INBOX",
        move_to=post.get("move_to", "").strip(),
        queue=next((q for q in queues if q.pk == queue_id), None),
        trust_headers=post.get("trust_headers") == "on",
        verify_tls=post.get("verify_tls") == "on",
        valid=post.get("valid") == "on",
    )


@agent_view
def account_edit(request: AgentRequest, account_id: int | None = None) -> HttpResponse:
    if (wrong := _only(request)) is not None:
        return wrong
    mail_admin.require_site_admin(request.user, "mailaccount")
    account = (
        mail_admin.get_account(request.user, account_id)
        if account_id is not None
        else None
    )
    queues = list(Queue.objects.filter(valid=True).order_by("name").only("pk", "name"))
    if account is not None:
        values = AccountSettings(
            **{name: getattr(account, name) for name in AccountSettings.FIELDS}
        )
    else:
        values = AccountSettings(name="", protocol="imaps", host="", username="")
    error, status, tested = "", 200, None
    if request.method == "POST":
        port_text = request.POST.get("port", "").strip()
        values = _account_values(request, queues)
        try:
            if port_text and values.port is None:
                raise InvalidInput(_("The port is a number."))
            if "test" in request.POST:
                tested = probe.test_connection(request.user, values, account=account)
            else:
                mail_admin.save_account(request.user, account, values)
        except HelplineError as exc:
            error, status = exc.message, exc.http_status
        else:
            if tested is None:
                messages.success(request, _("Mail account saved."))
                return HttpResponseRedirect(reverse("admin-accounts"))
    values.password = ""  # write-only: never sent back to the browser
    return render(
        request,
        "helpline/administration/account.html",
        {
            "account": account,
            "values": values,
            "queues": queues,
            "protocols": MailAccount.Protocol.choices,
            "error": error,
            "tested": tested,
        },
        status=status,
    )


# --- ticket states ----------------------------------------------------------------------


@agent_view
def states(request: AgentRequest) -> HttpResponse:
    return render(
        request,
        "helpline/administration/states.html",
        {
            "rows": state_admin.list_states(request.user),
            "required": state_admin.REQUIRED,
        },
    )


@agent_view
def state_edit(request: AgentRequest, state_id: int | None = None) -> HttpResponse:
    if (wrong := _only(request)) is not None:
        return wrong
    mail_admin.require_site_admin(request.user, "ticketstate")
    state = (
        state_admin.get_state(request.user, state_id) if state_id is not None else None
    )
    others = [s for s in TicketState.objects.order_by("name") if s != state]
    if state is not None:
        values: dict[str, Any] = {
            "name": state.name,
            "type": state.type,
            "next_state": state.next_state_id,
            "comment": state.comment,
            "valid": state.valid,
        }
    else:
        values = {
            "name": "",
            "type": StateType.OPEN,
            "next_state": None,
            "comment": "",
            "valid": True,
        }
    error, status = "", 200
    if request.method == "POST":
        values = {
            "name": request.POST.get("name", ""),
            "type": request.POST.get("type", ""),
            "next_state": _int(request.POST.get("next_state")),
            "comment": request.POST.get("comment", ""),
            "valid": request.POST.get("valid") == "on",
        }
        try:
            state_admin.save_state(
                request.user,
                state,
                name=values["name"],
                type=values["type"],
                next_state=next(
                    (s for s in others if s.pk == values["next_state"]), None
                ),
                comment=values["comment"],
                valid=values["valid"],
            )
        except HelplineError as exc:
            error, status = exc.message, exc.http_status
        else:
            messages.success(request, _("State saved."))
            return HttpResponseRedirect(reverse("admin-states"))
    return render(
        request,
        "helpline/administration/state.html",
        {
            "state": state,
            "values": values,
            "types": StateType.choices,
            "others": others,
            "needed": state_admin.why_needed(state) if state and state.valid else "",
            "error": error,
        },
        status=status,
    )
