"""Two-factor policies, and resetting an agent's second factor (a lost device).

django-otp's own device screens are taken away: they show secrets and write around
``helpline.actions.twofactor``.  An agent's devices are only reset, from the agents
screen (or ``helpline agent 2fa-reset``), which writes the administration log.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpline.actions import twofactor
from helpline.admin.agents import AgentAdmin
from helpline.admin.base import ActionAdmin, ActionForm, actor_of
from helpline.errors import HelplineError
from helpline.models import AgentAccount, TwoFactorPolicy, WebAuthnCredential

for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class PolicyForm(ActionForm):
    class Meta:
        model = TwoFactorPolicy
        fields = ("name", "valid", "role", "group", "permission", "administrators")

    def check(self, instance: Any) -> None:
        twofactor.check_policy(instance)


@admin.register(TwoFactorPolicy)
class TwoFactorPolicyAdmin(ActionAdmin):
    """Who must log in with a second factor: members of a role, everyone with a
    permission on a group, or the administrators."""

    form = PolicyForm
    list_display = ("name", "describe", "valid")
    list_filter = ("valid",)

    @admin.display(description="applies to")
    def describe(self, obj: TwoFactorPolicy) -> str:
        return obj.describe()


@admin.action(description="Reset two-factor authentication (lost device)")
def reset_two_factor(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[AgentAccount]
) -> None:
    done = 0
    for agent in queryset:
        try:
            if twofactor.reset_two_factor(actor_of(request), agent):
                done += 1
        except HelplineError as exc:
            modeladmin.message_user(request, exc.message, messages.ERROR)
            return
    modeladmin.message_user(
        request,
        f"Two-factor authentication reset for {done} agent(s); their next login "
        "takes the password alone (and asks them to set it up again where a policy "
        "requires it).",
    )


@admin.display(description="two-factor", boolean=True, ordering="has_two_factor")
def two_factor_column(obj: Any) -> bool:
    return bool(getattr(obj, "has_two_factor", False))


_agent_queryset = AgentAdmin.get_queryset


def _agents_with_two_factor(self: Any, request: HttpRequest) -> QuerySet[Any]:
    """The agents list says who has a second factor (one subquery, not one a row)."""
    return _agent_queryset(self, request).annotate(
        has_two_factor=Exists(
            TOTPDevice.objects.filter(user_id=OuterRef("pk"), confirmed=True)
        )
        | Exists(WebAuthnCredential.objects.filter(agent_id=OuterRef("pk")))
    )


# The agents screen (admin/agents.py) gains the reset and the column here, beside
# the rest of two-factor administration.
AgentAdmin.actions = [*AgentAdmin.actions, reset_two_factor]
AgentAdmin.list_display = (*AgentAdmin.list_display, two_factor_column)  # type: ignore[assignment]
AgentAdmin.get_queryset = _agents_with_two_factor  # type: ignore[method-assign]
