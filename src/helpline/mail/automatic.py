"""Recognise automatic mail: bounces, delivery reports, auto-replies, abuse
reports and mailing-list mail.

``classify(raw)`` is a pure function of the message bytes: no Django, no
database, and it never raises.  Headers are checked first; the body is only
parsed when the headers say the message may be a report (most mail is decided by
its header alone, which is several times cheaper to parse).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses
from enum import StrEnum
from functools import cached_property

from helpline.addresses import normalize, normalize_all
from helpline.mail.bounce import (
    BouncedRecipient,
    Report,
    clean_addr,
    collect_parts,
    make_recipient,
    parse_fields,
    parse_report,
)

__all__ = ["AutoKind", "BouncedRecipient", "Classification", "classify"]


class AutoKind(StrEnum):
    NONE = ""  # a person wrote it
    BOUNCE = "bounce"  # delivery failure (failed or delayed)
    DELIVERED = "delivered"  # success / relayed / expanded DSN
    AUTO_REPLY = "auto_reply"  # vacation, out-of-office, RFC 3834 auto-reply
    FEEDBACK = "feedback"  # ARF abuse/feedback report, unsubscribe report
    LIST = "list"  # mailing-list or bulk mail


@dataclass
class Classification:
    kind: AutoKind
    loop: bool  # must never receive an auto-response
    reasons: list[str] = field(default_factory=list)  # the signals that fired
    original_message_ids: list[str] = field(default_factory=list)  # without <>
    recipients: list[BouncedRecipient] = field(default_factory=list)


_DAEMON_LOCAL = re.compile(
    r"^(?:mailer[-_]?daemon|postmaster|post_master|mail[-_]?daemon|mdaemon)$", re.I
)
_DAEMON_NAME = re.compile(
    r"mail(?:er)? ?deliver(?:y)? ?(?:sub)?system|mailer[- ]daemon|"
    r"mail delivery service|internet mail delivery|mail administrator",
    re.I,
)
_LIST_OWNER = re.compile(r"(?:-admin|-owner|-bounces?|-request)$|^owner-", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver(?:ed|able)|returned mail|mail delivery (?:failed|failure)|"
    r"delivery (?:status notification|failure|failed|notification|report|"
    r"has failed|problem|status)|failure notice|non[- ]?delivery|"
    r"could not (?:be )?(?:deliver|sen[dt])|mail system error|failed delivery|"
    r"returned to sender|unable to deliver|not delivered|delayed mail|"
    r"warning: could not send|delivery delayed|mail failure|postmaster notify|"
    r"message delivery has failed|nicht zustellbar|unzustellbar|non remis|"
    r"no entregado|non recapitabile|onbestelbaar|olevererbart|returned message|"
    r"не доставлено|недоставленное|配信エラー|送信エラー|エラー通知|メールエラー|"
    r"未送達|送信できません",
    re.I,
)
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?(?:reply|response|answer|antwort)|auto:|"
    r"autoreply|out of (?:the )?office|away from (?:the )?office|"
    r"abwesenheit(?:snotiz)?|automatische antwort|abwesend|autosvar|"
    r"fraværsmelding|frånvaro|r[ée]ponse automatique|absence|"
    r"respuesta autom[áa]tica|fuera de la oficina|risposta automatica|"
    r"fuori sede|automatisch antwoord|afwezig|resposta autom[áa]tica|"
    r"automaattinen vastaus|automatick[áa] odpov[ěe]ď|"
    r"automatyczna odpowied[źz]|автоответ|自動応答|自動返信|不在)"
    r"|\b(?:out of (?:the )?office|on vacation|away until|vacation reply|"
    r"abwesenheitsnotiz)\b",
    re.I,
)
_MSGID = re.compile(r"<([^<>\s]+)>")
# "Re:", "Fwd:", "AW:", ... : a person answering or passing on a message.
_REPLY_PREFIX = re.compile(r"^\s*(?:re|fwd?|aw|wg|sv|vs|tr|rv|odp|antw)\s*:", re.I)


def _header(msg: Message, name: str) -> str:
    """A header's decoded value with whitespace collapsed; '' when absent."""
    try:
        value = msg.get(name)
        if value is None:
            return ""
        text = str(value)
    except Exception:  # noqa: BLE001 - malformed header values
        return ""
    if "=?" in text:
        with contextlib.suppress(Exception):  # keep the undecoded text
            text = str(make_header(decode_header(text)))
    return " ".join(text.split())


def _address(value: str) -> str:
    try:
        pairs = getaddresses([value])
    except Exception:  # noqa: BLE001
        return ""
    return pairs[0][1].strip().lower() if pairs else ""


class _RawHeaders(email.policy.Compat32):
    """Header values as they stand (``_header`` decodes encoded words), except raw
    8-bit bytes, read as UTF-8 as policy.default reads them."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        if not value.isascii():
            try:
                raw = value.encode("ascii", "surrogateescape")
            except UnicodeEncodeError:  # already text
                return value
            return raw.decode("utf-8", "replace")
        return value


_HEADER_PARSER = BytesParser(policy=_RawHeaders())


def _parse(raw: bytes) -> Message:
    try:
        return email.message_from_bytes(raw, policy=email.policy.default)
    except Exception:  # noqa: BLE001
        return email.message_from_bytes(raw, policy=email.policy.compat32)


def classify(
    raw: bytes,
    *,
    own_addresses: Collection[str] = (),
    loop_header: str = "X-Helpline-Loop",
) -> Classification:
    """Decide whether a message was written by a person or sent automatically."""
    try:
        return _Classifier(raw, own_addresses, loop_header).run()
    except Exception as exc:  # noqa: BLE001 - must never raise
        reason = f"could not be classified ({type(exc).__name__}); no auto-response"
        return Classification(AutoKind.NONE, True, [reason])


class _Classifier:
    def __init__(
        self, raw: bytes, own_addresses: Collection[str], loop_header: str
    ) -> None:
        self.raw = raw
        # The top-level header only, its values as they stand (``_header`` decodes
        # them): no MIME tree, no header objects, several times cheaper.
        self.msg = msg = _HEADER_PARSER.parsebytes(raw, headersonly=True)
        self.own = normalize_all(own_addresses)  # canonical: any spelling is ours
        self.loop_header = loop_header
        self.reasons: list[str] = []
        self.loop = False
        self.from_raw = _header(msg, "From")
        self.sender = _address(self.from_raw)
        self.subject = _header(msg, "Subject")
        self.ctype = msg.get_content_type()
        self.report_type = str(msg.get_param("report-type", "") or "").lower()

    @cached_property
    def body(self) -> Message:
        """The whole message, MIME parts and all: parsed only for reports."""
        return _parse(self.raw)

    def fired(self, text: str) -> None:
        self.loop = True
        if text not in self.reasons:
            self.reasons.append(text)

    def result(self, kind: AutoKind, report: Report | None = None) -> Classification:
        if report is None:
            return Classification(kind, self.loop or kind is not AutoKind.NONE,
                                  self.reasons)  # fmt: skip
        ids = report.original_message_ids or self.replied_to()
        return Classification(kind, True, self.reasons, ids, report.recipients)

    def replied_to(self) -> list[str]:
        """Message-IDs from In-Reply-To, then References (without <>)."""
        ids = _MSGID.findall(_header(self.msg, "In-Reply-To"))
        refs = _MSGID.findall(_header(self.msg, "References"))
        return ids + [i for i in refs if i not in ids]

    def run(self) -> Classification:
        msg, local = self.msg, self.sender.split("@", 1)[0]
        if self.loop_header and msg.get(self.loop_header) is not None:
            self.fired(f"header {self.loop_header} (our own loop marker)")
        if self.sender and normalize(self.sender) in self.own:
            self.fired("sent from our own address")
        for name in ("X-Loop", "X-No-Loop"):
            if msg.get(name) is not None:
                self.fired(f"header {name}")
        precedence = _header(msg, "Precedence").lower()
        if precedence:
            self.fired(f"header Precedence: {precedence}")
        unixfrom = (msg.get_unixfrom() or "").lower()
        null_sender = _header(msg, "Return-Path").replace(" ", "") == "<>" or (
            unixfrom.startswith("from mailer-daemon")
        )
        if null_sender:
            self.fired("null envelope sender (Return-Path: <>)")
        daemon = bool(_DAEMON_LOCAL.match(local) or _DAEMON_NAME.search(self.from_raw))
        daemon = daemon or (
            not self.sender and "mailer-daemon" in self.from_raw.lower()
        )
        if daemon:
            self.fired(f"From: {self.from_raw[:80]}")
        auto = self._auto_reply_signals(precedence)

        feedback = self._feedback()
        if feedback:
            return feedback
        strong = self.ctype == "multipart/report" and self.report_type in (
            "delivery-status",
            "global-delivery-status",
        )
        failed = _header(msg, "X-Failed-Recipients")
        sns = self.sender.endswith(("amazonses.com", "amazonaws.com"))
        fwd = bool(_REPLY_PREFIX.match(self.subject))
        bounce_subject = bool(_BOUNCE_SUBJECT.search(self.subject)) and not fwd
        list_owner = bool(_LIST_OWNER.search(local)) and bool(
            msg.get("X-MLServer") or msg.get("Mailing-List") or msg.get("List-Id")
        )
        if strong:
            self.fired(
                f"Content-Type: multipart/report; report-type={self.report_type}"
            )
        if failed:
            self.fired(f"header X-Failed-Recipients: {failed[:80]}")
        report_sns = _amazon_sns(self.body) if sns else None
        if report_sns:
            self.fired(report_sns.evidence[0])
            return self.result(_report_kind(report_sns, True), report_sns)
        definite = strong or daemon or bool(failed)
        weak = not auto and (bounce_subject or null_sender or list_owner)
        if definite or weak:
            exclude = {self.sender, _address(_header(msg, "To"))}
            failed_list = [a for _, a in getaddresses([failed]) if "@" in a]
            report = parse_report(self.body, exclude, [a.lower() for a in failed_list])
            kind = _report_kind(report, definite)
            if kind is not AutoKind.NONE:
                if bounce_subject:
                    self.fired(f"subject of a delivery report: {self.subject[:80]}")
                for text in report.evidence:
                    self.fired(text)
                return self.result(kind, report)
        if auto:
            ids = self.replied_to()
            rcpt = BouncedRecipient(self.sender, "", "", "vacation", False)
            return Classification(AutoKind.AUTO_REPLY, True, self.reasons, ids, [rcpt])
        listed = precedence in ("bulk", "list", "junk")
        for name in ("List-Id", "Mailing-List"):
            value = _header(msg, name)
            if value:
                listed = True
                self.fired(f"header {name}: {value[:80]}")
        if listed:
            return self.result(AutoKind.LIST)
        if _header(msg, "List-Unsubscribe"):
            self.fired("header List-Unsubscribe")
        return self.result(AutoKind.NONE)

    def _auto_reply_signals(self, precedence: str) -> bool:
        msg, auto = self.msg, False
        submitted = _header(msg, "Auto-Submitted").lower()
        if submitted and submitted.split(";")[0].strip() != "no":
            auto = True
            self.fired(f"header Auto-Submitted: {submitted}")
        for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply"):
            if msg.get(name) is not None:
                auto = True
                self.fired(f"header {name}")
        suppress = _header(msg, "X-Auto-Response-Suppress")
        if re.search(r"\b(?:oof|all)\b", suppress, re.I):
            auto = True
            self.fired(f"header X-Auto-Response-Suppress: {suppress}")
        if precedence == "auto_reply":
            auto = True
        if self.ctype == "multipart/report" and (
            self.report_type == "disposition-notification"
        ):
            auto = True
            self.fired("read receipt (report-type=disposition-notification)")
        if _AUTO_SUBJECT.search(self.subject) and not _REPLY_PREFIX.match(self.subject):
            auto = True
            self.fired(f"subject looks like an auto-reply: {self.subject[:80]}")
        return auto

    def _feedback(self) -> Classification | None:
        msg = self.msg
        if _header(msg, "X-Apple-Unsubscribe").lower() == "true":
            self.fired("header X-Apple-Unsubscribe (unsubscribe request)")
        elif self.report_type == "feedback-report":
            self.fired("abuse/feedback report (report-type=feedback-report)")
        elif self.ctype.startswith("multipart/") and self.subject.lower().startswith(
            "complaint about message from"
        ):
            self.fired("abuse complaint (Hotmail/Outlook.com JMRP)")
        else:
            return None
        parts = collect_parts(self.body)
        rcpts: list[BouncedRecipient] = []
        for block in parse_fields("\n".join(parts.feedback)):
            for key in ("original-rcpt-to", "removal-recipient"):
                if key in block:
                    addr = _address(block[key])
                    rcpts.append(BouncedRecipient(addr, "", "", "feedback", False))
        for inner in parts.originals:
            addr = _address(_header(inner, "X-HmXmrOriginalRecipient"))
            if addr:
                rcpts.append(BouncedRecipient(addr, "", "", "feedback", False))
        rcpts = rcpts or [BouncedRecipient("", "", "", "feedback", False)]
        kind = AutoKind.FEEDBACK
        return Classification(kind, True, self.reasons, parts.original_ids, rcpts)


def _report_kind(report: Report, definite: bool) -> AutoKind:
    if report.feedback:
        return AutoKind.FEEDBACK
    if report.delivered_only:
        return AutoKind.DELIVERED
    if definite:
        return AutoKind.BOUNCE
    # A weak hint (subject, null sender, list software): believe it only when
    # the body names a recipient and a recognisable failure.
    first = report.recipients[0] if report.recipients else None
    if first and first.address and first.reason not in ("onhold", "undefined"):
        return AutoKind.BOUNCE
    return AutoKind.NONE


def _amazon_sns(msg: Message) -> Report | None:
    """Amazon SES bounce/complaint/delivery notifications sent as SNS JSON."""
    text = "\n".join(collect_parts(msg).texts)
    start = text.find("{")
    if start < 0 or "notificationType" not in text:
        return None
    data: object = None
    for candidate in (text[start:], text[start:].replace("\n ", "")):
        try:  # the JSON may be folded across lines
            outer, _ = json.JSONDecoder().raw_decode(candidate)
            data = json.loads(outer["Message"]) if "Message" in outer else outer
            break
        except (ValueError, KeyError, TypeError):
            continue
    if not isinstance(data, dict):
        return None
    kind = str(data.get("notificationType", "")).lower()
    rep = Report(evidence=[f"Amazon SES {kind} notification"])
    mail = data.get("mail") or {}
    rep.original_message_ids = [
        str(h.get("value", "")).strip("<>")
        for h in mail.get("headers", [])
        if isinstance(h, dict) and str(h.get("name", "")).lower() == "message-id"
    ]
    if kind == "complaint":
        rep.feedback = True
        for r in (data.get("complaint") or {}).get("complainedRecipients", []):
            addr = clean_addr(str(r.get("emailAddress", "")))
            rep.recipients.append(BouncedRecipient(addr, "", "", "feedback", False))
        return rep
    section = data.get("bounce") or data.get("delivery") or {}
    rows = section.get("bouncedRecipients") or [
        {"emailAddress": a} for a in section.get("recipients", [])
    ]
    for r in rows:
        addr = clean_addr(str(r.get("emailAddress", "")))
        diag = str(r.get("diagnosticCode", ""))
        action = "delivered" if kind == "delivery" else str(r.get("action", "failed"))
        status = str(r.get("status", ""))
        rep.recipients.append(make_recipient(addr, status, diag, [], action))
    rep.delivered_only = kind == "delivery"
    return rep
