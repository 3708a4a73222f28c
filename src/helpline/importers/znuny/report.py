"""The run's account: per kind, rows in the source, imported, updated, skipped (and
why), and a progress line with counts and an ETA."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

MAX_REASONS_LISTED = 50


@dataclass
class KindReport:
    source: int = 0
    imported: int = 0  # new in Helpline in this run
    updated: int = 0  # existed, changed in the source since the last run
    unchanged: int = 0  # existed, nothing to do
    skipped: int = 0
    problems: int = 0  # imported, but something in the row had to be mended
    deleted: int = 0  # imported before, deleted in the source since: deleted here
    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "problems": self.problems,
            "deleted": self.deleted,
            "reasons": dict(self.reasons.most_common()),
            "examples": self.examples[:MAX_REASONS_LISTED],
        }


class Report:
    """Counts per kind of object, and what was skipped or mended, with reasons."""

    def __init__(self) -> None:
        self.kinds: dict[str, KindReport] = {}

    def __getitem__(self, kind: str) -> KindReport:
        return self.kinds.setdefault(kind, KindReport())

    def skip(self, kind: str, source_id: object, reason: str) -> None:
        """A source row that was not imported, and why."""
        entry = self[kind]
        entry.skipped += 1
        entry.reasons[reason] += 1
        if len(entry.examples) < MAX_REASONS_LISTED:
            entry.examples.append(f"{kind} {source_id}: {reason}")

    def problem(self, kind: str, source_id: object, reason: str) -> None:
        """A source row imported as far as it could be: something was mended."""
        entry = self[kind]
        entry.problems += 1
        entry.reasons[reason] += 1
        if len(entry.examples) < MAX_REASONS_LISTED:
            entry.examples.append(f"{kind} {source_id}: {reason}")

    def as_dict(self) -> dict[str, Any]:
        return {kind: rep.as_dict() for kind, rep in self.kinds.items()}

    def table(self) -> str:
        lines = [
            f"{'kind':<22}{'source':>10}{'imported':>10}{'updated':>9}{'same':>9}{'skipped':>9}{'mended':>8}{'deleted':>9}"
        ]
        for kind, rep in self.kinds.items():
            lines.append(
                f"{kind:<22}{rep.source:>10}{rep.imported:>10}{rep.updated:>9}"
                f"{rep.unchanged:>9}{rep.skipped:>9}{rep.problems:>8}{rep.deleted:>9}"
            )
        reasons = [
            f"  {kind}: {reason} ({n})"
            for kind, rep in self.kinds.items()
            for reason, n in rep.reasons.most_common()
        ]
        if reasons:
            lines.append("skipped or mended, by reason:")
            lines.extend(reasons)
        return "\n".join(lines)


class Progress:
    """Phase, done/total, rate and ETA: one line on a terminal, rewritten in place;
    into a log (stderr not a terminal, e.g. a cut-over run under nohup) a plain line
    every ``LOG_EVERY`` seconds and at the end of each phase."""

    LOG_EVERY = 30.0

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.terminal = enabled and self.stream.isatty()
        self.phase = ""
        self.total = 0
        self.done = 0
        self.started = time.monotonic()
        self._last = 0.0

    def start(self, phase: str, total: int) -> None:
        self.finish()
        self.phase, self.total, self.done = phase, total, 0
        self.started = time.monotonic()
        self._last = 0.0
        self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def finish(self) -> None:
        if self.phase:
            self._draw(force=True)
            if self.terminal:
                self.stream.write("\n")
                self.stream.flush()
        self.phase = ""

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        if self.total and self.done and rate > 0:
            eta = f"ETA {int((self.total - self.done) / rate)} s"
        else:
            eta = ""
        share = f" {100 * self.done // self.total:3d}%" if self.total else ""
        return f"{self.phase}: {self.done}/{self.total}{share} {rate:,.0f}/s {eta}".rstrip()

    def _draw(self, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < (0.5 if self.terminal else self.LOG_EVERY):
            return
        self._last = now
        if self.terminal:
            self.stream.write("\r\x1b[K" + self.line())
        elif self.done or not self.total:
            self.stream.write(self.line() + "\n")
        self.stream.flush()
