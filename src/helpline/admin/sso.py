"""Single sign-on in the administration: which provider group gives which role."""

from __future__ import annotations

from django.contrib import admin

from helpline.admin.base import ActionAdmin
from helpline.models import IdpGroupMapping


@admin.register(IdpGroupMapping)
class IdpGroupMappingAdmin(ActionAdmin):
    """Saved and deleted through ``actions.admin`` (audited); members follow at each
    agent's next sign-in (``actions.sso.sync_idp_groups``)."""

    list_display = ("idp_group", "role")
    list_filter = ("role",)
    search_fields = ("idp_group", "role__name")
