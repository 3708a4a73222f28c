"""Queues (the hierarchy is in the names, "Parent::Child", as in Znuny) and the
system addresses.

A queue names its system address and an address names its queue: the queues are
brought first without an address, then the addresses, then each queue's address.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from helpline.importers.znuny.org_sync import Wanted, sync_named, valid_ids
from helpline.importers.znuny.runner import Context
from helpline.models import FollowUpOption, Queue, SystemAddress

FOLLOW_UP = {
    "possible": FollowUpOption.POSSIBLE,
    "reject": FollowUpOption.REJECT,
    "new ticket": FollowUpOption.NEW_TICKET,
}


def _targets(ctx: Context, kind: str) -> dict[str, int]:
    return {
        k: e.target_id
        for k, e in ctx.mapping.kind(kind).items()
        if e.target_id is not None
    }


def import_queues(ctx: Context) -> None:
    kind = "queue"
    valid = valid_ids(ctx)
    groups = _targets(ctx, "group")
    salutations = _targets(ctx, "salutation")
    signatures = _targets(ctx, "signature")
    wanted = []
    for r in ctx.source.rows(
        "SELECT q.id, q.name, q.group_id, q.unlock_timeout, q.salutation_id, "
        "q.signature_id, q.follow_up_lock, q.comments, q.valid_id, "
        "f.name AS follow_up FROM queue q "
        "LEFT JOIN follow_up_possible f ON f.id = q.follow_up_id ORDER BY q.id"
    ):
        group = groups.get(str(r["group_id"]))
        if group is None:
            ctx.report[kind].source += 1
            ctx.report.skip(kind, r["id"], "its group was not imported")
            continue
        follow_up = FOLLOW_UP.get(ctx.source.text(r["follow_up"]))
        if follow_up is None:
            ctx.report.problem(
                kind, r["id"], f"follow-up option {r['follow_up']!r}: 'possible'"
            )
            follow_up = FollowUpOption.POSSIBLE
        wanted.append(
            Wanted(
                r["id"],
                ctx.source.text(r["name"]),
                {
                    "group_id": group,
                    "salutation_id": salutations.get(str(r["salutation_id"])),
                    "signature_id": signatures.get(str(r["signature_id"])),
                    "follow_up": follow_up.value,
                    "follow_up_lock": bool(r["follow_up_lock"]),
                    "unlock_timeout": max(int(r["unlock_timeout"] or 0), 0),
                    "comment": ctx.source.text(r["comments"]),
                    "valid": r["valid_id"] in valid,
                },
            )
        )
    _regroup(ctx, wanted)

    def new_queues(created: list[Any]) -> None:
        for queue in created:
            queue.search_group_id = queue.group_id  # no tickets, no index entries yet
        Queue.objects.bulk_update(created, ["search_group_id"])

    sync_named(ctx, kind, Queue, wanted, after_create=new_queues)


def _regroup(ctx: Context, wanted: list[Wanted]) -> None:
    """A queue given to another group in Znuny is saved one by one, so that the
    search index entries of its tickets are rebuilt (``search.indexer.queue_saved``)."""
    mapped = {w.source_id: ctx.mapping.target("queue", w.source_id) for w in wanted}
    queues = Queue.objects.in_bulk([pk for pk in mapped.values() if pk is not None])
    with transaction.atomic():
        for w in wanted:
            queue = queues.get(mapped[w.source_id] or 0)
            if queue is not None and queue.group_id != w.values["group_id"]:
                queue.group_id = w.values["group_id"]
                queue.save(update_fields=["group"])


def import_system_addresses(ctx: Context) -> None:
    """Each address (e-mail, display name, queue), then each queue's address."""
    kind = "system_address"
    valid = valid_ids(ctx)
    queues = _targets(ctx, "queue")
    wanted = []
    for r in ctx.source.rows(
        "SELECT id, value0, value1, queue_id, valid_id FROM system_address ORDER BY id"
    ):
        queue = queues.get(str(r["queue_id"]))
        email = ctx.source.text(r["value0"]).strip().lower()
        if queue is None or not email:
            ctx.report[kind].source += 1
            ctx.report.skip(
                kind,
                r["id"],
                "no address" if not email else "its queue was not imported",
            )
            continue
        wanted.append(
            Wanted(
                r["id"],
                email,
                {
                    "display_name": ctx.source.text(r["value1"])[:200],
                    "queue_id": queue,
                    "valid": r["valid_id"] in valid,
                },
            )
        )
    synced = sync_named(ctx, kind, SystemAddress, wanted, name_field="email")
    addresses = {k: obj.pk for k, obj in synced.objects.items()}
    changed: list[Queue] = []
    by_pk = Queue.objects.in_bulk(list(queues.values()))
    for r in ctx.source.rows("SELECT id, system_address_id FROM queue"):
        target = by_pk.get(queues.get(str(r["id"]), 0))
        address = addresses.get(str(r["system_address_id"]))
        if target is not None and target.system_address_id != address:
            target.system_address_id = address
            changed.append(target)
    with transaction.atomic():
        Queue.objects.bulk_update(changed, ["system_address_id"])
