"""Email addresses as identities: one normal form, used wherever an address from mail
is compared with an address Helpline stored (participants, customers, system
addresses, auto-response and reply recipients, filters).

``normalize`` turns an addr-spec into its canonical form, or ``''`` when it is no
single valid address (then it matches nothing, not even another invalid one):

- Unicode NFC; surrounding white space and ``<>`` removed; the addr-spec parsed by the
  standard library's strict RFC 5322 parser (``email.headerregistry.Address``), so
  comments, quoting and a second ``@`` are read as mail software reads them, never
  as substrings.
- The domain: lower case, a trailing dot dropped, international names in their ASCII
  (IDNA 2008 / UTS 46, the ``idna`` package) form, so ``bücher.example`` and
  ``xn--bcher-kva.example`` are one domain. An address literal (``[192.0.2.1]``)
  stays as it is, lower-cased.
- The local part: unquoted when quoting changes nothing (``"jane"@x`` is ``jane@x``,
  RFC 5321 s. 4.1.2), then **lower-cased**. RFC 5321 lets a mail server treat
  ``Jane`` and ``jane`` as two mailboxes, but says exploiting that "impedes
  interoperability and is discouraged", and practically no server does; mail
  programs change the case of addresses freely, so a case-sensitive comparison would
  break real follow-ups. No other folding: ``jane+x@`` and ``j.ane@`` are other
  mailboxes (only some providers treat them as one).

An address is an identity claim, not a proof: anyone can write any ``From``. Exact
comparison stops strangers who do not know a participant's address (``m@example.org``
is not ``victim@example.org``); see docs/receiving-mail.md for what the follow-up check
asks of a sender.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from email.headerregistry import Address as _Address
from email.utils import getaddresses

import idna

__all__ = ["addresses_in", "format_address", "normalize", "normalize_all"]

# RFC 5322 atext: a local part made of dot-separated atoms needs no quotes.
_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\U0010ffff-]+"
                       r"(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\U0010ffff-]+)*$")  # fmt: skip
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_ESCAPES = re.compile(r'[\\"]')


def _domain(domain: str) -> str:
    domain = domain.strip().rstrip(".").lower()
    if not domain:
        return ""
    if domain.startswith("[") and domain.endswith("]"):
        return domain  # an address literal
    if domain.isascii() and "xn--" not in domain:
        return domain if re.fullmatch(r"[a-z0-9_.-]+", domain) else ""
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return ""


def _local(local: str) -> str:
    local = local.lower()
    if _DOT_ATOM.match(local):
        return local
    return '"' + _ESCAPES.sub(r"\\\g<0>", local) + '"'


def normalize(address: str | None) -> str:
    """The canonical form of the addr-spec ``address`` ('' if it is not one)."""
    if not address:
        return ""
    text = unicodedata.normalize("NFC", address).strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if not text or _CONTROLS.search(text):
        return ""
    try:
        parsed = _Address(addr_spec=text)
    except Exception:  # noqa: BLE001 - the parser raises several types on bad input
        return ""
    if not parsed.username or not parsed.domain:
        return ""
    domain = _domain(parsed.domain)
    return f"{_local(parsed.username)}@{domain}" if domain else ""


def normalize_all(addresses: Iterable[str]) -> set[str]:
    """The canonical forms of several addr-specs, without the invalid ones."""
    return {n for n in map(normalize, addresses) if n}


def addresses_in(header_value: str) -> list[str]:
    """The canonical addresses of an address-list header value, in order, without
    duplicates or invalid ones (display names and comments never count)."""
    if not header_value:
        return []
    try:
        pairs = getaddresses([header_value])
    except Exception:  # noqa: BLE001 - the stdlib parser has crashed on odd input
        return []
    found: dict[str, None] = {}
    for _, addr in pairs:
        normal = normalize(addr)
        if normal:
            found[normal] = None
    return list(found)


def format_address(name: str, email: str) -> str:
    """``"name" <email>`` for storing in an article, the name quoted and its ``"``
    and ``\\`` escaped, so that a display name (``a" <victim@example.org>, "b``) can
    never add an address to a stored header that is parsed again later."""
    if not name:
        return email
    return '"' + _ESCAPES.sub(r"\\\g<0>", name) + f'" <{email}>'
