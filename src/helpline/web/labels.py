"""Translatable names for values stored in English: default states, priorities, history.

The rows and choices keep their English names (they are data, shared with the API and
the CLI); the interface shows them through ``{% translate value %}``.  Marking them here
puts them in the message catalogue.  A name an administrator invented (a new state)
has no entry and is shown as it is.
"""

from django.utils.translation import gettext_noop as _

STATE_NAMES = [
    _("new"),
    _("open"),
    _("closed successful"),
    _("closed unsuccessful"),
    _("pending reminder"),
    _("pending auto close+"),
    _("pending auto close-"),
    _("merged"),
    _("removed"),
]

PRIORITY_NAMES = [
    _("1 very low"),
    _("2 low"),
    _("3 normal"),
    _("4 high"),
    _("5 very high"),
]

CHANNEL_NAMES = [_("email"), _("phone"), _("internal note")]
SENDER_NAMES = [_("agent"), _("customer"), _("system")]
LINK_NAMES = [_("normal"), _("parent / child")]

HISTORY_NAMES = [
    _("ticket created"),
    _("article added"),
    _("follow-up received"),
    _("moved"),
    _("locked"),
    _("unlocked"),
    _("owner set"),
    _("responsible set"),
    _("priority set"),
    _("state set"),
    _("pending time set"),
    _("title set"),
    _("customer set"),
    _("merge undone"),
    _("split"),
    _("link added"),
    _("link removed"),
    _("archived"),
    _("unarchived"),
    _("watch started"),
    _("watch ended"),
    _("email queued"),
    _("auto-response queued"),
    _("delivery failed"),
    _("bounced"),
]

OUTBOX_NAMES = [_("queued"), _("being sent"), _("sent"), _("failed")]

NOTIFICATION_NAMES = {
    "new_ticket": _("New ticket in a queue I follow"),
    "follow_up": _("Follow-up to my ticket or in a queue I follow"),
    "moved": _("Ticket moved into a queue I follow"),
    "lock_timeout": _("My lock timed out"),
    "owner": _("I was made owner"),
    "responsible": _("I was made responsible"),
    "pending_reminder": _("A reminder of mine was reached"),
    "delivery_failed": _("An email could not be delivered"),
    "escalation_warning": _("A ticket of mine nears its service-level target"),
    "escalation": _("A ticket of mine reached its service-level target"),
}
