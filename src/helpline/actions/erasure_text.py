"""Finding and replacing a person's address and names in stored text (an erasure).

The address is matched as a whole address in any case (``Jane.Roe@Example.NET``),
never inside a longer one (``mary.jane.roe@example.net``, ``jane.roe@example.network``);
a display name as whole words in any case, with any spacing between them.  Names
shorter than ``MIN_NAME`` characters are not replaced (an initial would take every
"J" with it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses

from helpline.addresses import addresses_in, format_address, normalize

MIN_NAME = 3


def _name_pattern(name: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in name.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


class Rewriter:
    """Finds and replaces one person's ``address`` and display ``names``."""

    def __init__(
        self, address: str, names: Iterable[str], erased_address: str, erased_name: str
    ) -> None:
        self.address = normalize(address) or address.strip().lower()
        self.erased_address = erased_address
        self.erased_name = erased_name
        self._address = re.compile(
            r"(?<![\w.+-])" + re.escape(self.address) + r"(?![\w-]|\.\w)",
            re.IGNORECASE,
        )
        usable = {
            " ".join(n.split())
            for n in names
            if len(n.strip()) >= MIN_NAME and any(c.isalpha() for c in n)
        }
        # The longest first: "Jane Roe" before a "Jane Roe-Smith"'s part of it.
        self._names = [_name_pattern(n) for n in sorted(usable, key=len, reverse=True)]

    # --- finding ---------------------------------------------------------------------
    def display_names(self, headers: Iterable[str]) -> set[str]:
        """The display names given to the address in these header values."""
        found: set[str] = set()
        for value in headers:
            for name, addr in _pairs(value):
                if name.strip() and normalize(addr) == self.address:
                    found.add(" ".join(name.split()))
        return found

    def is_sender(self, from_addr: str, reply_to: str) -> bool:
        """Did the person write it (the From or the Reply-To is theirs)?"""
        return self.address in {*addresses_in(from_addr), *addresses_in(reply_to)}

    def names_address(self, *texts: str) -> bool:
        """Does any of the texts have the address?"""
        return any(t and self._address.search(t) for t in texts)

    def mentions(self, text: str) -> bool:
        """Does the text have the address or one of the names?"""
        return bool(text) and (
            bool(self._address.search(text)) or any(p.search(text) for p in self._names)
        )

    def mentions_mail(self, raw: bytes) -> bool:
        """Does the mail have the address or a name, in its headers or in the decoded
        text of any part (a base64 body hides them from a look at the bytes)?"""
        if self.address.encode() in raw.lower():
            return True
        message = BytesParser(policy=policy.default).parsebytes(raw)
        texts = [str(v) for _, v in message.items()]
        for part in message.walk():
            if part.get_content_maintype() == "text":
                try:
                    texts.append(part.get_content())
                except (LookupError, UnicodeError):
                    payload = part.get_payload(decode=True)
                    if isinstance(payload, bytes):
                        texts.append(payload.decode("latin-1"))
        return any(self.mentions(t) for t in texts)

    # --- replacing -------------------------------------------------------------------
    def text(self, value: str) -> str:
        """``value`` with the address and the names replaced."""
        if not value:
            return value
        value = self._address.sub(self.erased_address, value)
        for pattern in self._names:
            value = pattern.sub(self.erased_name, value)
        return value

    def header(self, value: str) -> str:
        """An address-list header value with the person's mailbox replaced by the
        erased address (no display name), and the names gone from the others."""
        if not value or not self.mentions(value):
            return value
        pairs = _pairs(value)
        if not any(normalize(addr) == self.address for _, addr in pairs):
            return self.text(value)
        rebuilt = [
            self.erased_address
            if normalize(addr) == self.address
            else format_address(self.text(name), addr)
            for name, addr in pairs
            if addr
        ]
        return self.text(", ".join(rebuilt))


def _pairs(value: str) -> list[tuple[str, str]]:
    if not value:
        return []
    try:
        return getaddresses([value])
    except Exception:  # noqa: BLE001 - the stdlib parser has crashed on odd input
        return []
