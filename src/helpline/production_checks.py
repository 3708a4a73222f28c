"""Deployment checks (``helpline check --deploy``): settings that work on a laptop but
not on a production host, beyond what Django's own security checks look at.

- ``helpline.W010``: ``HELPLINE_BASE_URL`` (the links in notifications) is not https.
- ``helpline.W011``: its host is not in ``HELPLINE_ALLOWED_HOSTS``: every link in a
  notification would answer 400.
- ``helpline.W012``: the mail domain or the notification sender is a reserved name
  (``helpline.localhost``, ``example.org``, ``*.test``...): Message-IDs and replies
  would name a domain nobody can deliver to.

docs/deployment.md lists the production settings that pass them all.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.http.request import validate_host

# Names that never reach anyone: RFC 2606 and RFC 6761 (the example domains and the
# .test, .example, .invalid and .localhost top-level domains), and mDNS's .local.
RESERVED_TOP_LEVEL = {"test", "example", "invalid", "localhost", "local"}
RESERVED_DOMAINS = {"example.com", "example.net", "example.org"}


def is_reserved_domain(domain: str) -> bool:
    """Whether mail to ``domain`` (or any name below it) can never be delivered."""
    name = domain.strip().rstrip(".").lower()
    if "." not in name:  # empty, "localhost", or a name only a local network knows
        return True
    if name.rsplit(".", 1)[1] in RESERVED_TOP_LEVEL:
        return True
    return any(name == d or name.endswith("." + d) for d in RESERVED_DOMAINS)


def _base_url_messages() -> list[CheckMessage]:
    base_url = str(settings.HELPLINE_BASE_URL)
    parts = urlsplit(base_url)
    messages: list[CheckMessage] = []
    if parts.scheme != "https":
        messages.append(
            Warning(
                f"HELPLINE_BASE_URL is {base_url!r}: links in notifications would "
                "not use HTTPS.",
                hint="Set HELPLINE_BASE_URL to the https:// address agents open, "
                "e.g. https://helpline.example.org.",
                id="helpline.W010",
            )
        )
    host = parts.hostname or ""
    if not validate_host(host, settings.ALLOWED_HOSTS):
        messages.append(
            Warning(
                f"The host of HELPLINE_BASE_URL ({host or 'none'}) is not in "
                f"HELPLINE_ALLOWED_HOSTS ({','.join(settings.ALLOWED_HOSTS)}): "
                "links in notifications would answer 400 Bad Request.",
                hint=f"Add {host} to HELPLINE_ALLOWED_HOSTS, or correct "
                "HELPLINE_BASE_URL.",
                id="helpline.W011",
            )
        )
    return messages


def _mail_domain_messages() -> list[CheckMessage]:
    named = {"HELPLINE_MAIL_DOMAIN": str(settings.HELPLINE_MAIL_DOMAIN)}
    sender = str(settings.HELPLINE_NOTIFY_FROM or "")
    if sender:
        named["HELPLINE_NOTIFY_FROM"] = sender.rpartition("@")[2]
    return [
        Warning(
            f"{name} uses {domain!r}, a reserved domain: mail naming it can never "
            "be delivered.",
            hint=f"Set {name} to a domain of your organisation.",
            obj=name,
            id="helpline.W012",
        )
        for name, domain in named.items()
        if is_reserved_domain(domain)
    ]


@register(Tags.security, deploy=True)
def check_production_settings(
    app_configs: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    return [*_base_url_messages(), *_mail_domain_messages()]
