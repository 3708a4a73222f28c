"""Continuity after the move: the old system's numbers, replies and links keep working.

Two phases, run last (``runner.phases``):

- ``subject hook``: Znuny's ``Ticket::Hook``, ``Ticket::HookDivider``, ``SystemID``
  and number generator, read from its SysConfig tables as they are in effect, are
  stored as an ``ImportedObject`` of kind ``ticket_hook`` (``cursor``: the fields of
  ``helpline.numbers.LegacyHook``).  The mail pipeline reads them with its
  configuration (``Snapshot.legacy_hooks``): a reply whose subject carries
  ``[Ticket#2026...]`` as the old system wrote it finds the imported ticket, which
  kept its number.
- ``ticket counters``: every imported number that Helpline's own generator could also
  make raises that generator's counter (``helpline.numbers.advance_counters``), so new
  tickets continue above them; numbers that collide anyway (another format that
  happens to look alike) are skipped when drawn (``numbers._free_numbers``).

Old agent links (``index.pl?Action=AgentTicketZoom;TicketID=...``) are answered by the
``legacy-link`` route (``helpline.web.views.legacy``) with ``imported_target``.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from helpline.importers.znuny.runner import Context, Phase
from helpline.importers.znuny.source import Source
from helpline.mail import snapshot
from helpline.models import ImportedObject
from helpline.numbers import (
    LEGACY_GENERATORS,
    LEGACY_HOOK_KIND,
    LegacyHook,
    advance_counters,
    position,
)

HOOK_SOURCE_ID = "subject"
COUNTER_KIND = "ticket_counter"

# The SysConfig settings that make Znuny's subject hook and its numbers.
SETTINGS = (
    "SystemID",
    "Ticket::Hook",
    "Ticket::HookDivider",
    "Ticket::NumberGenerator",
    "Ticket::NumberGenerator::CheckSystemID",
    "Ticket::NumberGenerator::MinCounterSize",
    "Ticket::NumberGenerator::AutoIncrement::MinCounterSize",
)


def yaml_scalar(text: str | None) -> str | None:
    """A SysConfig ``effective_value`` holding one scalar (``--- 'x'``, ``--- x``,
    ``--- "x"``) as a string; None for anything else (a list or a hash)."""
    if text is None:
        return None
    value = str(text).strip()
    value = value.removeprefix("---").strip()
    if "\n" in value or value.startswith(("-", "{", "[")):
        return None
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return str(json.loads(value))
        except ValueError:
            return value[1:-1]
    if value in ("~", "null"):
        return None
    return value


def effective_settings(
    source: Source, names: tuple[str, ...] = SETTINGS
) -> dict[str, str | None]:
    """The values of ``names`` as Znuny uses them: the system-wide modification that
    is deployed, else the last deployed version of a modification not yet deployed
    again, else the default.  (A ``SystemID`` set in ``Kernel/Config.pm`` is not in
    the database: set HELPLINE_LEGACY_TICKET_HOOKS then.)"""
    marks = ", ".join(["%s"] * len(names))
    found: dict[str, str | None] = {}
    for row in source.rows(
        f"SELECT name, effective_value FROM sysconfig_default WHERE name IN ({marks})",  # noqa: S608
        names,
    ):
        found[row["name"]] = yaml_scalar(source.text(row["effective_value"]))
    dirty: list[str] = []
    for row in source.rows(
        "SELECT name, effective_value, is_dirty FROM sysconfig_modified "  # noqa: S608
        f"WHERE user_id IS NULL AND name IN ({marks})",
        names,
    ):
        if int(row["is_dirty"] or 0):
            dirty.append(row["name"])
        else:
            found[row["name"]] = yaml_scalar(source.text(row["effective_value"]))
    if dirty:
        marks = ", ".join(["%s"] * len(dirty))
        for row in source.rows(
            "SELECT name, effective_value FROM sysconfig_modified_version "  # noqa: S608
            f"WHERE user_id IS NULL AND name IN ({marks}) ORDER BY id",
            dirty,
        ):
            found[row["name"]] = yaml_scalar(source.text(row["effective_value"]))
    return found


def legacy_hook(values: dict[str, str | None]) -> LegacyHook:
    """The hook the settings describe; ValueError for a generator Helpline does not
    know (a site's own module)."""
    module = values.get("Ticket::NumberGenerator") or "DateChecksum"
    generator = module.rsplit("::", 1)[-1]
    if generator not in LEGACY_GENERATORS:
        raise ValueError(f"unknown ticket number generator {module}")
    size = (
        values.get("Ticket::NumberGenerator::AutoIncrement::MinCounterSize")
        if generator == "AutoIncrement"
        else None
    ) or values.get("Ticket::NumberGenerator::MinCounterSize")
    return LegacyHook(
        hook=values.get("Ticket::Hook") or "Ticket#",
        divider=values.get("Ticket::HookDivider") or "",
        system_id=values.get("SystemID") or "10",
        generator=generator,
        min_counter_size=int(size) if size and size.isdigit() else 5,
        check_system_id=(values.get("Ticket::NumberGenerator::CheckSystemID") or "1")
        not in ("0", ""),
    )


def _read_settings(source: Source) -> dict[str, str | None] | None:
    try:
        return effective_settings(source)
    except Exception:  # OTRS before 6: no SysConfig tables
        source._rollback()  # noqa: SLF001 - on MySQL: a new consistent snapshot
        return None


def subject_hook(ctx: Context) -> None:
    """Store the source's subject hook for the mail pipeline."""
    report = ctx.report[LEGACY_HOOK_KIND]
    report.source += 1
    values = _read_settings(ctx.source)
    if values is None:
        ctx.report.skip(
            LEGACY_HOOK_KIND,
            HOOK_SOURCE_ID,
            "no SysConfig tables (OTRS before 6): set HELPLINE_LEGACY_TICKET_HOOKS",
        )
        return
    try:
        hook = legacy_hook(values)
    except ValueError as exc:
        ctx.report.skip(
            LEGACY_HOOK_KIND,
            HOOK_SOURCE_ID,
            f"{exc}: set HELPLINE_LEGACY_TICKET_HOOKS",
        )
        return
    cursor = hook.as_dict()
    stamp = json.dumps(cursor, sort_keys=True)[:100]
    known = ctx.mapping.get(LEGACY_HOOK_KIND, HOOK_SOURCE_ID)
    if known is not None and known.cursor == cursor:
        report.unchanged += 1
        return
    with transaction.atomic():
        ctx.mapping.remember(
            LEGACY_HOOK_KIND,
            HOOK_SOURCE_ID,
            None,
            stamp=stamp,
            cursor=cursor,
            note=f"replies with {hook.hook}{hook.divider}<number> find imported tickets",
        )
        # Every process's mail configuration reads the new hook (now, and again
        # after the commit: a process that re-read in between saw the old rows).
        snapshot.invalidate()
        transaction.on_commit(snapshot.invalidate)
    if known is None:
        report.imported += 1
    else:
        report.updated += 1
    ctx.say(
        f"subject hook: {hook.hook}{hook.divider} ({hook.generator}, {hook.system_id})"
    )


def ticket_counters(ctx: Context) -> None:
    """Raise Helpline's counters above every imported number of its own format."""
    since = ctx.changed_since()
    sql = "SELECT tn FROM ticket"
    params: list[Any] = []
    if since is not None:
        sql += " WHERE change_time >= %s"
        params.append(since)
    highest: dict[str, int] = {}
    for row in ctx.source.rows(sql, params):
        where = position(ctx.source.text(row["tn"]).strip())
        if where is not None:
            key, value = where
            highest[key] = max(value, highest.get(key, 0))
    moved = advance_counters(highest) if highest else 0
    report = ctx.report[COUNTER_KIND]
    report.source += len(highest)
    report.updated += moved
    report.unchanged += len(highest) - moved


def imported_target(
    kind: str, source_id: str, *, source: str | None = None
) -> int | None:
    """The Helpline id an imported row became, if one source (or ``source``) says so;
    None when none does, or when several sources disagree (ambiguous)."""
    qs = ImportedObject.objects.filter(
        kind=kind, source_id=source_id, target_id__isnull=False
    )
    if source is not None:
        qs = qs.filter(source=source)
    targets = set(qs.values_list("target_id", flat=True)[:2])
    return targets.pop() if len(targets) == 1 else None


CONTINUITY_PHASES: list[Phase] = [
    ("subject hook", subject_hook),
    ("ticket counters", ticket_counters),
]
