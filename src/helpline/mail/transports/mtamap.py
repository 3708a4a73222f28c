"""The system addresses as tables for the MTA in front (``helpline mail addresses``).

Postfix checks recipients against ``relay_recipient_maps`` (or
``virtual_mailbox_maps``) and routes them with ``transport_maps``; both are tables
of one address and one value per line (``postmap`` builds them, or ``texthash:``
reads them as they are).  With these tables Postfix refuses an unknown recipient at
``RCPT`` (``550 5.1.1``) itself, so the mail never reaches Helpline and nobody gets a
late bounce.  See docs/mta.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpline.models import SystemAddress


@dataclass(frozen=True)
class Address:
    email: str
    queue: str
    display_name: str


def get_system_addresses() -> list[Address]:
    """Every valid system address, by address."""
    return [
        Address(email, queue, name)
        for email, queue, name in SystemAddress.objects.filter(valid=True)
        .order_by("email")
        .values_list("email", "queue__name", "display_name")
    ]


def check_nexthop(text: str) -> str:
    """A Postfix transport:nexthop (``lmtp:inet:127.0.0.1:8024``); ValueError if not."""
    transport, sep, nexthop = text.partition(":")
    if not sep or not transport or not nexthop or any(c.isspace() for c in text):
        raise ValueError(
            f"{text!r} is not TRANSPORT:NEXTHOP (for example lmtp:inet:127.0.0.1:8024)"
        )
    return text


def postfix_map(addresses: list[Address], *, nexthop: str | None = None) -> str:
    """A Postfix lookup table: ``address OK`` (recipient checks) or, with
    ``nexthop``, ``address nexthop`` (``transport_maps``)."""
    value = nexthop or "OK"
    return "".join(f"{a.email} {value}\n" for a in addresses)
