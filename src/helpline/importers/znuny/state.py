"""What earlier runs brought across: source keys to Helpline ids (``ImportedObject``).

``Mapping`` loads one kind's keys once per run and writes new ones in bulk, in the
caller's transaction: a phase commits its rows and their mapping together, so a run
killed at any point leaves either both or neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from helpline.models import ImportedObject


@dataclass
class Entry:
    target_id: int | None
    stamp: str = ""
    cursor: dict[str, Any] = field(default_factory=dict)
    pk: int | None = None


class Mapping:
    """The ``ImportedObject`` rows of one source, loaded per kind on first use."""

    def __init__(self, source: str, *, dry_run: bool = False) -> None:
        self.source = source
        self.dry_run = dry_run
        self._kinds: dict[str, dict[str, Entry]] = {}

    def kind(self, kind: str) -> dict[str, Entry]:
        if kind not in self._kinds:
            self._kinds[kind] = {
                source_id: Entry(target_id, stamp, cursor, pk)
                for pk, source_id, target_id, stamp, cursor in ImportedObject.objects.filter(
                    source=self.source, kind=kind
                ).values_list("pk", "source_id", "target_id", "stamp", "cursor")
            }
        return self._kinds[kind]

    def get(self, kind: str, source_id: object) -> Entry | None:
        return self.kind(kind).get(str(source_id))

    def target(self, kind: str, source_id: object) -> int | None:
        entry = self.get(kind, source_id)
        return None if entry is None else entry.target_id

    def source_ids(self, kind: str) -> Iterable[str]:
        return self.kind(kind).keys()

    def remember(
        self,
        kind: str,
        source_id: object,
        target_id: int | None,
        *,
        stamp: str = "",
        cursor: dict[str, Any] | None = None,
        note: str = "",
    ) -> None:
        """Record (or update) one source row's target, now."""
        self.remember_many(kind, [(source_id, target_id, stamp, cursor or {}, note)])

    def remember_many(
        self,
        kind: str,
        rows: Iterable[tuple[object, int | None, str, dict[str, Any], str]],
    ) -> None:
        """Record many (source_id, target_id, stamp, cursor, note) at once."""
        known = self.kind(kind)
        new: list[ImportedObject] = []
        changed: list[ImportedObject] = []
        for source_id, target_id, stamp, cursor, note in rows:
            key = str(source_id)
            entry = known.get(key)
            if entry is None:
                known[key] = Entry(target_id, stamp, dict(cursor))
                new.append(
                    ImportedObject(
                        source=self.source,
                        kind=kind,
                        source_id=key,
                        target_id=target_id,
                        stamp=stamp,
                        cursor=cursor,
                        note=note[:300],
                    )
                )
            elif (entry.target_id, entry.stamp, entry.cursor) != (
                target_id,
                stamp,
                cursor,
            ):
                entry.target_id, entry.stamp, entry.cursor = (
                    target_id,
                    stamp,
                    dict(cursor),
                )
                if entry.pk is not None:
                    changed.append(
                        ImportedObject(
                            pk=entry.pk,
                            target_id=target_id,
                            stamp=stamp,
                            cursor=cursor,
                            note=note[:300],
                        )
                    )
                else:
                    # Recorded earlier in this run: update by key.
                    changed.extend(
                        ImportedObject.objects.filter(
                            source=self.source, kind=kind, source_id=key
                        ).only("pk")
                    )
                    for obj in changed[-1:]:
                        obj.target_id, obj.stamp, obj.cursor, obj.note = (
                            target_id,
                            stamp,
                            cursor,
                            note[:300],
                        )
        if self.dry_run:
            return
        if new:
            created = ImportedObject.objects.bulk_create(new, batch_size=1000)
            for obj in created:
                if obj.pk is not None:
                    known[obj.source_id].pk = obj.pk
        if changed:
            ImportedObject.objects.bulk_update(
                changed, ["target_id", "stamp", "cursor", "note"], batch_size=1000
            )

    def forget(self, kind: str, source_ids: Iterable[object]) -> None:
        keys = [str(s) for s in source_ids]
        known = self.kind(kind)
        for key in keys:
            known.pop(key, None)
        if not self.dry_run and keys:
            ImportedObject.objects.filter(
                source=self.source, kind=kind, source_id__in=keys
            ).delete()
