"""Tickets with their numbers, articles, attachments, raw mail, history, watchers,
links and merges."""

from __future__ import annotations

from helpline.importers.znuny.runner import Phase

PHASES: list[Phase] = []
