"""A client of SpamAssassin's spamd (the SPAMC protocol, through aiospamc).

``check`` scores a message (SYMBOLS: the score, the threshold and the rules that
fired); ``learn`` hands it to the Bayes learner as spam or ham (TELL, which spamd
answers only when started with ``--allow-tell``).  Learning a message as ham that was
learned as spam unlearns it: SpamAssassin keeps one class per message (its
``bayes_seen``), as ``sa-learn --ham`` would.

Every call is bounded by ``HELPLINE_SPAM_TIMEOUT`` seconds; a filter that is not
configured, down or slow raises ``SpamFilterUnavailable``, which the callers turn
into "unscored" (the pipeline) or "not learned" (the actions): nothing is lost.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiospamc
from django.conf import settings
from loguru import logger

# aiospamc logs every request through loguru, whose default sink is stderr.
logger.disable("aiospamc")


class SpamFilterUnavailable(Exception):
    """spamd is not configured, cannot be reached, or failed to answer."""


@dataclass(frozen=True)
class Verdict:
    """A filter's judgement of one message."""

    score: float
    threshold: float
    spam: bool
    symbols: list[str] = field(default_factory=list)
    source: str = "spamd"  # or the header it was read from


def address() -> tuple[str, int]:
    """spamd's host and port from ``HELPLINE_SPAMD`` (``host:port``, default port
    783); raises ``SpamFilterUnavailable`` when it is not set."""
    value = (settings.HELPLINE_SPAMD or "").strip()
    if not value:
        raise SpamFilterUnavailable("no spam filter configured (HELPLINE_SPAMD)")
    host, _, port = value.rpartition(":") if ":" in value else (value, "", "783")
    host = host.strip("[]") or "127.0.0.1"
    try:
        return host, int(port)
    except ValueError as exc:
        raise SpamFilterUnavailable(
            f"HELPLINE_SPAMD={value!r} is not host:port"
        ) from exc


def _run(call: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to its end from synchronous code, also from a thread that
    already runs an event loop (the listener's)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(call)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, call).result()


def _options() -> dict[str, Any]:
    host, port = address()
    return {
        "host": host,
        "port": port,
        "timeout": aiospamc.Timeout(total=float(settings.HELPLINE_SPAM_TIMEOUT)),
    }


def check(raw: bytes) -> Verdict:
    """spamd's verdict on these bytes."""
    options = _options()
    try:
        response = _run(aiospamc.symbols(raw, **options))
    except Exception as exc:  # aiospamc's errors share no base but Exception
        raise SpamFilterUnavailable(f"spamd: {type(exc).__name__}: {exc}") from exc
    spam = response.headers.get("Spam")
    if spam is None:
        raise SpamFilterUnavailable("spamd answered without a verdict")
    body = bytes(response.body).decode("ascii", "replace").strip()
    return Verdict(
        score=float(spam.score),
        threshold=float(spam.threshold),
        spam=bool(spam.value),
        symbols=[s for s in body.split(",") if s],
    )


def learn(raw: bytes, *, spam: bool) -> None:
    """Teach spamd's Bayes learner that these bytes are spam (or ham)."""
    options = _options()
    try:
        _run(
            aiospamc.tell(raw, "spam" if spam else "ham", set_action="local", **options)
        )
    except Exception as exc:
        raise SpamFilterUnavailable(f"spamd: {type(exc).__name__}: {exc}") from exc
