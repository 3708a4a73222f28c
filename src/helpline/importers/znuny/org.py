"""The organisation: agents, groups, roles, permissions, queues, addresses, texts,
customers, states and priorities (phases run before the tickets)."""

from __future__ import annotations

from helpline.importers.znuny.runner import Phase

PHASES: list[Phase] = []
