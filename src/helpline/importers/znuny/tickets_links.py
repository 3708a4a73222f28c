"""Links between tickets (``link_relation``, objects, types and states joined BY
NAME) and merges, after every ticket is in (a link may join two batches).

Znuny's ``Normal`` link becomes ``LinkType.NORMAL`` (stored once, the lower id as
source), ``ParentChild`` becomes ``LinkType.PARENT_CHILD`` (the parent as source); a
link of another type is reported and skipped.  A link gone from the source since the
last run is removed.  A ticket Znuny merged (state type ``merged``) gets
``merged_into`` from its ``Merged`` history row (``%%MergedTN%%MergedID%%MainTN%%MainID``),
or else from its link to the ticket it was merged into.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from helpline.importers.znuny.runner import Context
from helpline.importers.znuny.tickets_history import NO_TIME
from helpline.models import LinkType, Ticket, TicketLink

LINK_SQL = """
SELECT lr.source_key, lr.target_key, lt.name AS type, lr.create_time, lr.create_by
FROM link_relation lr
JOIN link_object so ON so.id = lr.source_object_id
JOIN link_object tg ON tg.id = lr.target_object_id
JOIN link_type lt ON lt.id = lr.type_id
JOIN link_state ls ON ls.id = lr.state_id
WHERE so.name = 'Ticket' AND tg.name = 'Ticket' AND ls.name = 'Valid'
"""
MERGED_SQL = """
SELECT h.ticket_id, h.name
FROM ticket_history h
JOIN ticket_history_type ht ON ht.id = h.history_type_id
WHERE ht.name = 'Merged'
ORDER BY h.id
"""
MERGED_TICKETS_SQL = """
SELECT t.id
FROM ticket t
JOIN ticket_state s ON s.id = t.ticket_state_id
JOIN ticket_state_type st ON st.id = s.type_id
WHERE st.name = 'merged'
"""
TYPES = {"Normal": LinkType.NORMAL, "ParentChild": LinkType.PARENT_CHILD}


def import_links(ctx: Context) -> None:
    rows = ctx.source.all(LINK_SQL)
    ctx.report["link"].source = len(rows)
    with transaction.atomic():
        partners = _links(ctx, rows)
        _merges(ctx, partners)


def _links(ctx: Context, rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    mapping, report = ctx.mapping, ctx.report
    known = mapping.kind("link")
    # Only the links not imported yet need their tickets looked up.
    mapping.load(
        "ticket",
        {
            str(r[end])
            for r in rows
            if f"{r['source_key']}-{r['target_key']}-{r['type']}" not in known
            for end in ("source_key", "target_key")
        },
    )
    seen: set[str] = set()
    new: list[tuple[str, TicketLink]] = []
    partners: dict[str, list[str]] = {}
    for row in rows:
        source_key, target_key = str(row["source_key"]), str(row["target_key"])
        key = f"{source_key}-{target_key}-{row['type']}"
        partners.setdefault(target_key, []).append(source_key)
        partners.setdefault(source_key, []).append(target_key)
        link_type = TYPES.get(str(row["type"]))
        if link_type is None:
            report.skip("link", key, f"link type {row['type']} has no equivalent")
            continue
        seen.add(key)
        if key in known:
            report["link"].unchanged += 1
            continue
        ends = (
            mapping.target("ticket", source_key),
            mapping.target("ticket", target_key),
        )
        if ends[0] is None or ends[1] is None or ends[0] == ends[1]:
            report.skip("link", key, "a linked ticket was not imported")
            continue
        first, second = ends[0], ends[1]
        if link_type == LinkType.NORMAL:
            first, second = min(first, second), max(first, second)
        link = TicketLink(
            source_id=first,
            target_id=second,
            type=link_type,
            created_by_id=mapping.target("agent", row["create_by"]),
        )
        try:
            link.created = ctx.source.when(row["create_time"]) or NO_TIME
        except ValueError:
            ctx.report.problem("link", key, "unreadable time: left out")
            link.created = NO_TIME
        new.append((key, link))
    existing = {
        (link.source_id, link.target_id, link.type): link.pk
        for link in TicketLink.objects.filter(
            source_id__in=[x.source_id for _, x in new]
        )
    }
    fresh = [
        (k, x) for k, x in new if (x.source_id, x.target_id, x.type) not in existing
    ]
    whens = [x.created for _, x in fresh]  # bulk_create sets it to now
    TicketLink.objects.bulk_create([x for _, x in fresh])
    for (_, link), when in zip(fresh, whens, strict=True):
        link.created = when
    TicketLink.objects.bulk_update([x for _, x in fresh], ["created"])
    mapping.remember_many(
        "link",
        [
            (k, existing.get((x.source_id, x.target_id, x.type)) or x.pk, "", {}, "")
            for k, x in new
        ],
    )
    report["link"].imported += len(fresh)
    gone = [k for k in list(known) if k not in seen]
    if gone:
        TicketLink.objects.filter(
            pk__in=[known[k].target_id for k in gone if known[k].target_id]
        ).delete()
        mapping.forget("link", gone)
    return partners


def _merges(ctx: Context, partners: dict[str, list[str]]) -> None:
    mapping = ctx.mapping
    merged = {str(r["id"]) for r in ctx.source.rows(MERGED_TICKETS_SQL)}
    into: dict[str, str] = {}
    for row in ctx.source.rows(MERGED_SQL):
        parts = [p for p in ctx.source.text(row["name"]).split("%%") if p]
        if len(parts) >= 4 and parts[1] in merged:
            into[parts[1]] = parts[3]
    for ticket_id in merged - set(into):
        if len(partners.get(ticket_id, [])) == 1:
            into[ticket_id] = partners[ticket_id][0]
        else:
            ctx.report.problem("ticket", ticket_id, "merged, but into which ticket?")
    mapping.load("ticket", [*into, *into.values()])
    updates = []
    for merged_id, main_id in into.items():
        pk, main = (
            mapping.target("ticket", merged_id),
            mapping.target("ticket", main_id),
        )
        if pk is None or main is None or pk == main:
            continue
        updates.append(Ticket(pk=pk, merged_into_id=main))
    current = dict(
        Ticket.objects.filter(pk__in=[t.pk for t in updates]).values_list(
            "pk", "merged_into_id"
        )
    )
    changed = [t for t in updates if current.get(t.pk) != t.merged_into_id]
    Ticket.objects.bulk_update(changed, ["merged_into_id"])
    ctx.report["merge"].source = len(merged)
    ctx.report["merge"].imported += len(changed)
    mapping.drop("ticket")
