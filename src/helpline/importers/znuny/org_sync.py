"""How an organisation phase brings one kind of named row across.

A Znuny row is found in Helpline by the mapping of an earlier run (its id), else by
its name (the identity: a group "support" that Helpline has already is that group),
else it is created.  Its fields are compared with what Helpline holds; only rows that
differ are written, in bulk, with the mapping, in one transaction per phase.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction

from helpline.importers.znuny.runner import Context


@dataclass
class Wanted:
    """One source row: its key, its identity (name) and the target's fields."""

    source_id: object
    name: str
    values: dict[str, Any]
    stamp: str = ""


@dataclass
class Synced:
    """What ``sync_named`` did: source key -> target object."""

    objects: dict[str, Any] = field(default_factory=dict)
    created: list[Any] = field(default_factory=list)
    updated: list[Any] = field(default_factory=list)


def valid_ids(ctx: Context) -> set[int]:
    """Znuny's ``valid`` ids meaning "valid" (others: invalid, invalid-temporarily)."""
    if "valid_ids" not in ctx.shared:
        ctx.shared["valid_ids"] = {
            int(r["id"])
            for r in ctx.source.rows("SELECT id, name FROM valid")
            if r["name"] == "valid"
        } or {1}
    return set(ctx.shared["valid_ids"])


def sync_named(
    ctx: Context,
    kind: str,
    model: type[models.Model],
    wanted: Iterable[Wanted],
    *,
    name_field: str = "name",
    normalise: Callable[[str], str] = lambda s: s,
    after_create: Callable[[list[Any]], None] | None = None,
) -> Synced:
    """Create or update one target row per wanted row; count into the report."""
    rows = list(wanted)
    report = ctx.report[kind]
    report.source += len(rows)
    ctx.progress.start(kind, len(rows))
    mapped_ids = {
        e.target_id for e in ctx.mapping.kind(kind).values() if e.target_id is not None
    }
    names = [normalise(w.name) for w in rows]
    manager = model._default_manager
    by_pk = {obj.pk: obj for obj in manager.filter(pk__in=mapped_ids)}
    by_name = {
        normalise(getattr(obj, name_field)): obj
        for obj in manager.filter(**{f"{name_field}__in": names})
    }
    result = Synced()
    to_create: list[tuple[Wanted, Any]] = []
    to_update: list[Any] = []
    fields: set[str] = set()
    taken: set[str] = set()
    for w in rows:
        key = normalise(w.name)
        target = by_pk.get(ctx.mapping.target(kind, w.source_id))
        if target is None:
            target = by_name.get(key)
            if target is not None and kind in ADOPTION_REPORTED:
                # A Helpline account or group that existed before the import takes
                # on the Znuny one's permissions: the operator should know.
                ctx.report.problem(
                    kind,
                    w.source_id,
                    f"joined with the {kind} {w.name!r} Helpline had before the import",
                )
        if key in taken:
            ctx.report.skip(kind, w.source_id, f"a second row named {w.name!r}")
            continue
        taken.add(key)
        values = {name_field: w.name, **w.values}
        if target is None:
            to_create.append((w, model(**values)))
            continue
        clash = by_name.get(key)
        if clash is not None and clash.pk != target.pk:
            # Renamed onto a name that another Helpline row has: keep the old name.
            ctx.report.problem(
                kind, w.source_id, f"renamed to {w.name!r}, which Helpline has already"
            )
            values.pop(name_field)
        changed = [f for f, v in values.items() if getattr(target, f) != v]
        for f in changed:
            setattr(target, f, values[f])
        if changed:
            fields.update(changed)
            to_update.append(target)
            report.updated += 1
        else:
            report.unchanged += 1
        result.objects[str(w.source_id)] = target
    with transaction.atomic():
        if to_create:
            created = manager.bulk_create(
                [obj for _w, obj in to_create], batch_size=500
            )
            for (w, _obj), obj in zip(to_create, created, strict=True):
                result.objects[str(w.source_id)] = obj
            result.created = created
            report.imported += len(created)
            if after_create is not None:
                after_create(created)
        if to_update:
            manager.bulk_update(to_update, sorted(fields), batch_size=500)
            result.updated = to_update
        remember(ctx, kind, rows, result)
    ctx.progress.advance(len(rows))
    return result


# Kinds whose rows carry access: joining one by name is reported (a problem line).
ADOPTION_REPORTED = frozenset({"agent", "group", "role"})


def remember(ctx: Context, kind: str, rows: list[Wanted], result: Synced) -> None:
    """Record source key -> target pk for every row brought across (cursor kept)."""
    entries = ctx.mapping.kind(kind)
    ctx.mapping.remember_many(
        kind,
        [
            (
                w.source_id,
                result.objects[str(w.source_id)].pk,
                w.stamp,
                entries[str(w.source_id)].cursor if str(w.source_id) in entries else {},
                "",
            )
            for w in rows
            if str(w.source_id) in result.objects
        ],
    )


def sync_links(
    through: type[models.Model],
    left: str,
    right: str,
    wanted: set[tuple[int, int]],
    *,
    scope: models.Q,
) -> tuple[int, int]:
    """Make the rows of a many-to-many table within ``scope`` exactly ``wanted``
    ((left_id, right_id) pairs): add the missing, delete the others. Returns
    (added, removed)."""
    manager = through._default_manager
    have = {
        (a, b): pk
        for pk, a, b in manager.filter(scope).values_list(
            "pk", f"{left}_id", f"{right}_id"
        )
    }
    missing = wanted - have.keys()
    extra = [pk for pair, pk in have.items() if pair not in wanted]
    if missing:
        manager.bulk_create(
            [
                through(**{f"{left}_id": a, f"{right}_id": b})
                for a, b in sorted(missing)
            ],
            batch_size=1000,
        )
    if extra:
        manager.filter(pk__in=extra).delete()
    return len(missing), len(extra)
