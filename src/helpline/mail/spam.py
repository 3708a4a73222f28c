"""The spam stage of the pipeline (docs/spam.md): a verdict on each message, from
the headers of a trusted MTA's filter or from spamd, and where a ticket judged spam
goes.

- Headers of a filter (``X-Spam-Flag``, ``X-Spam-Score``, ``X-Spam-Status``,
  ``X-Spam``, ``X-Rspamd-Score``, ``X-Rspamd-Action``) count only when they stand
  above a ``Received`` line added by one of ``HELPLINE_SPAM_TRUSTED_HOPS`` (its
  ``by`` host), with only trusted hops' ``Received`` lines above them: what the
  sender wrote stands below the first hop's line and is ignored.
- Without such headers, the mail of the transports in ``HELPLINE_SPAM_CHECK`` is
  checked by spamd, before the batch's transaction begins (``judged_first``): a slow
  filter then holds no lock (on SQLite, the database's write lock).  A filter that is
  down or slow (``HELPLINE_SPAM_TIMEOUT``) leaves the message unscored: it is
  processed as if there were no filter, and why is recorded in its decisions.  Mail
  is never held back for the filter.
- A new ticket judged spam goes to its routed queue's junk queue; spam gets no
  auto-response and tells no agent (``chain``, ``responses.notify``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from django.conf import settings

from helpline.actions.spam import is_junk
from helpline.blobstore import read_blob
from helpline.mail.filters import Outcome, apply_filters
from helpline.mail.parse import parse_message
from helpline.mail.routing import route
from helpline.mail.snapshot import Snapshot, current
from helpline.models import InboundMessage, InboundStatus, Queue, Ticket
from helpline.spam import spamd
from helpline.spam.spamd import Verdict

log = logging.getLogger(__name__)

_BY = re.compile(r"\bby\s+\[?([^\s;()\]]+)", re.IGNORECASE)
_STATUS = re.compile(
    r"^\s*(yes|no)\b.*?\bscore=(-?[\d.]+)(?:.*?\brequired=(-?[\d.]+))?"
    # SpamAssassin folds the list of tests after its commas.
    r"(?:.*?\btests=((?:[\w.-]+,\s*)*[\w.-]+))?",
    re.IGNORECASE | re.DOTALL,
)
_SPAM_ACTIONS = {"add header", "rewrite subject", "reject", "soft reject"}


def _by_host(received: str) -> str:
    found = _BY.search(received)
    return found.group(1).lower().rstrip(".") if found else ""


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def trusted_headers(raw: bytes, hops: list[str]) -> dict[str, str]:
    """The filter headers (lower-cased names) that a trusted hop vouches for."""
    if not hops:
        return {}
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw, headersonly=True)
    pending: dict[str, str] = {}
    trusted: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key == "received":
            if _by_host(" ".join(str(value).split())) not in hops:
                break
            # Everything above a trusted hop's line was added by it or after it.
            for k, v in pending.items():
                trusted.setdefault(k, v)
            pending = {}
        elif key.startswith(("x-spam", "x-rspamd")):
            pending.setdefault(key, " ".join(str(value).split()))
    return trusted


def header_verdict(headers: dict[str, str]) -> Verdict | None:
    """A verdict from a trusted filter's headers, or None when they hold none."""
    status = _STATUS.match(headers.get("x-spam-status", ""))
    if status:
        return Verdict(
            score=float(status.group(2)),
            threshold=_float(status.group(3)) or 0.0,
            spam=status.group(1).lower() == "yes",
            symbols=[s.strip() for s in (status.group(4) or "").split(",") if s],
            source="header X-Spam-Status",
        )
    flag = headers.get("x-spam-flag") or headers.get("x-spam")
    action = headers.get("x-rspamd-action", "").strip().lower()
    score = _float(headers.get("x-spam-score") or headers.get("x-rspamd-score"))
    if flag is None and not action and score is None:
        return None
    spam = (flag or "").strip().lower() in ("yes", "true") or action in _SPAM_ACTIONS
    source = next(
        h
        for h in ("x-spam-flag", "x-spam", "x-rspamd-action", "x-spam-score")
        if h in headers or (h == "x-spam-score" and "x-rspamd-score" in headers)
    )
    return Verdict(
        score=score or 0.0, threshold=0.0, spam=spam, source=f"header {source}"
    )


def checks_transport(transport: str) -> bool:
    wanted = settings.HELPLINE_SPAM_CHECK
    return "all" in wanted or transport.lower() in wanted


def judge(message: InboundMessage, raw: bytes) -> tuple[Verdict | None, dict[str, Any]]:
    """The verdict on a message and what to record of it (its decisions' ``spam``)."""
    verdict = header_verdict(trusted_headers(raw, settings.HELPLINE_SPAM_TRUSTED_HOPS))
    if verdict is None and checks_transport(message.transport):
        try:
            verdict = spamd.check(raw)
        except spamd.SpamFilterUnavailable as exc:
            log.warning("inbound message %s not scored: %s", message.pk, exc)
            return None, {"unscored": str(exc)}
    if verdict is None:
        return None, {}
    return verdict, {
        "spam": verdict.spam,
        "score": verdict.score,
        "threshold": verdict.threshold,
        "by": verdict.source,
    }


Judged = tuple[Verdict | None, dict[str, Any]]
# The verdicts ``judged_first`` obtained for the batch being processed, by message id.
_judged: ContextVar[dict[int, Judged] | None] = ContextVar("spam_judged", default=None)


@contextmanager
def judged_first(ids: Sequence[int]) -> Iterator[None]:
    """Ask spamd about these stored messages now, outside the transaction that will
    process them, so that waiting for the filter holds no lock; ``apply`` takes the
    verdicts from here.  Nothing to ask when no transport is checked."""
    verdicts: dict[int, Judged] = {}
    if settings.HELPLINE_SPAM_CHECK:
        waiting = (
            InboundMessage.objects.filter(pk__in=ids)
            .exclude(status__in=(InboundStatus.PROCESSED, InboundStatus.REJECTED))
            .select_related("raw")
        )
        for message in waiting:
            if checks_transport(message.transport):
                # A blob store that is down fails here as it would in the batch.
                verdicts[message.pk] = judge(message, read_blob(message.raw))
    token = _judged.set(verdicts)
    try:
        yield
    finally:
        _judged.reset(token)


def apply(message: InboundMessage, raw: bytes, outcome: Outcome) -> dict[str, Any]:
    """Judge the message (or take the verdict ``judged_first`` obtained): its score
    and symbols set on it (saved with its outcome), and, when spam, ``outcome`` told
    to send it to junk without an auto-response."""
    early = (_judged.get() or {}).get(message.pk)
    verdict, recorded = early if early is not None else judge(message, raw)
    if verdict is not None:
        message.spam_score = verdict.score
        message.spam_symbols = verdict.symbols
        if verdict.spam:
            outcome.sets["junk"] = True
            outcome.sets["no_auto_response"] = True
            outcome.fired.append(f"spam ({verdict.source}, score {verdict.score})")
    return recorded


def junk_for(queue: Queue, snapshot: Snapshot) -> Queue | None:
    """The junk queue of a routed queue (``actions.spam.junk_queue_for``, from the
    snapshot): the queue itself when it holds junk."""
    if is_junk(queue):
        return queue
    junk = snapshot.queue(queue.junk_queue_id) if queue.junk_queue_id else None
    if junk is None or not junk.valid:
        junk = snapshot.queue_named(settings.HELPLINE_JUNK_QUEUE)
    return junk if junk is not None and junk.valid else None


def route_again(ticket: Ticket) -> Queue | None:
    """Where routing would put the mail that opened ``ticket`` now, leaving out the
    spam verdict and any filter that sends it to a junk queue ("Not spam")."""
    message = (
        InboundMessage.objects.filter(ticket=ticket)
        .select_related("raw")
        .order_by("pk")
        .first()
    )
    if message is None:
        return None
    parsed = parse_message(read_blob(message.raw))
    snapshot = current()
    outcome = apply_filters(
        parsed, trust_headers=message.trust_headers, filters=snapshot.filters
    )
    wanted = outcome.sets.get("queue")
    chosen = snapshot.queue_named(wanted) if wanted else None
    junk = chosen is not None and is_junk(chosen)
    queue, _ = route(
        message,
        parsed.recipients_for_routing,
        snapshot,
        filter_queue=None if chosen is None or junk else wanted,
    )
    return queue
