"""Unpacking Outlook's TNEF (winmail.dat, application/ms-tnef) with tnefparse."""

from __future__ import annotations

from dataclasses import dataclass, field

from helpline.mail import charsets

TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"


@dataclass
class TnefContent:
    attachments: list[tuple[str, bytes]] = field(default_factory=list)  # (name, data)
    body_text: str = ""
    body_html: str = ""


def looks_like_tnef(content: bytes) -> bool:
    return content[:4] == TNEF_SIGNATURE


def _text(value: object, codepage: str | None) -> str:
    if isinstance(value, str):
        return charsets.clean_text(value.strip("\x00"))
    if isinstance(value, bytes):
        return charsets.clean_text(
            charsets.decode_fragment(value.rstrip(b"\x00"), codepage)
        )
    return ""


def unpack_tnef(data: bytes) -> TnefContent | None:
    """The files and body inside a TNEF blob, or None if it cannot be read."""
    try:
        from tnefparse import TNEF

        tnef = TNEF(data, do_checksum=False)
    except Exception:  # tnefparse raises anything from ValueError to IndexError
        return None
    codepage = tnef.codepage if isinstance(tnef.codepage, str) else None
    content = TnefContent()
    for attachment in tnef.attachments:
        try:
            name = _text(attachment.long_filename(), codepage)
        except Exception:  # a name that does not decode
            name = ""
        if not name:
            try:
                name = _text(attachment.name, codepage)
            except Exception:  # same
                name = ""
        payload = attachment.data if isinstance(attachment.data, bytes) else b""
        if payload or name:
            content.attachments.append((name, payload))
    content.body_text = _text(tnef.body, codepage)
    content.body_html = _text(tnef.htmlbody, codepage)
    return content
