"""Administration screens (Django admin, customised).

Configuration lives here: queues, system addresses, agents, groups, roles, the
permission grid, answer texts, auto-responses, mail accounts, filters, the quarantine,
the outbox and the administration log.  Tickets and articles are deliberately absent:
they are reached only through the agent interface, where per-queue permissions apply.

Two rules hold on every screen here:

- No implicit access to tickets (docs/permissions.md): mail on a ticket (the inbound
  log, the outbox) shows its content only to an administrator who may read the ticket
  (``actions.access``); mail on no ticket (the quarantine) needs the
  ``helpline.handle_unrouted_mail`` permission, and its raw bytes are only downloaded.
  Delete confirmations name no related tickets, only count them.
- Every write goes through ``helpline.actions.admin`` (validated, and written to the
  administration log); validation errors are form errors.  Django's own user and group
  screens are replaced by the agents screen.
"""

from django.contrib import admin
from django.contrib.auth import admin as auth_admin  # noqa: F401  (registered first)
from django.contrib.auth.models import Group as DjangoGroup
from django.contrib.auth.models import User

admin.site.site_header = "Helpline administration"
admin.site.site_title = "Helpline"
admin.site.index_title = "Configuration"

# Django's user and group screens write around the domain layer (and a Django group is
# not a Helpline group): the agents screen (agents.py) replaces them.
for _model in (User, DjangoGroup):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)

# The screens register themselves.
from helpline.admin import agents, automation, configuration, grid, mail, sso  # noqa: E402, F401
from helpline.admin import service_levels as _service_levels  # noqa: E402, F401, I001
from helpline.admin import twofactor as _twofactor  # noqa: E402, F401, I001
