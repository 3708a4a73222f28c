"""What earlier runs brought across: source keys to Helpline ids (``ImportedObject``).

``Mapping`` writes new keys in bulk, in the caller's transaction: a phase commits its
rows and their mapping together, so a run killed at any point leaves either both or
neither.

The small kinds (groups, queues, agents, states, ...) are loaded whole on first use.
The kinds that grow with the site (``PER_BATCH``: tickets, articles, attachments,
customers) are never loaded whole by a look-up: a batch asks for the keys it needs
(``load``: one ``source_id IN (...)`` query per 500 keys) and lets go of them when it
is done (``drop``), so neither the memory nor the time a batch takes grows with what
earlier batches and runs imported.  A key of such a kind looked up without ``load``
costs one query (correct, but slow: ``load`` first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from helpline.models import ImportedObject

# Kinds looked up by the keys a batch needs, never loaded whole by a look-up.
PER_BATCH = frozenset({"ticket", "article", "attachment", "customer"})
IN_QUERY = 500  # keys per IN (...) list


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
        # kind -> the entries known so far; a kind in _whole holds all of them.
        self._kinds: dict[str, dict[str, Entry]] = {}
        self._whole: set[str] = set()
        # kind -> keys looked up and not found (PER_BATCH kinds).
        self._absent: dict[str, set[str]] = {}

    def _cache(self, kind: str) -> dict[str, Entry]:
        return self._kinds.setdefault(kind, {})

    def kind(self, kind: str) -> dict[str, Entry]:
        """Every entry of ``kind`` (loaded whole: for the small kinds)."""
        if kind not in self._whole:
            known = self._cache(kind)
            for (
                pk,
                source_id,
                target_id,
                stamp,
                cursor,
            ) in ImportedObject.objects.filter(
                source=self.source, kind=kind
            ).values_list("pk", "source_id", "target_id", "stamp", "cursor"):
                if source_id not in known:  # what this run changed stays
                    known[source_id] = Entry(target_id, stamp, cursor, pk)
            self._whole.add(kind)
            self._absent.pop(kind, None)
        return self._kinds[kind]

    def load(self, kind: str, source_ids: Iterable[object]) -> None:
        """Look up these keys of ``kind`` now, in one query per ``IN_QUERY`` keys."""
        if kind in self._whole:
            return
        known = self._cache(kind)
        absent = self._absent.setdefault(kind, set())
        wanted = sorted(
            {str(s) for s in source_ids} - known.keys() - absent,
        )
        for start in range(0, len(wanted), IN_QUERY):
            part = wanted[start : start + IN_QUERY]
            for (
                pk,
                source_id,
                target_id,
                stamp,
                cursor,
            ) in ImportedObject.objects.filter(
                source=self.source, kind=kind, source_id__in=part
            ).values_list("pk", "source_id", "target_id", "stamp", "cursor"):
                known[source_id] = Entry(target_id, stamp, cursor, pk)
            absent.update(key for key in part if key not in known)

    def drop(self, kind: str) -> None:
        """Let go of what is cached of ``kind`` (it is read again when needed).  A
        dry run keeps it: nothing it remembered was written."""
        if self.dry_run:
            return
        self._kinds.pop(kind, None)
        self._whole.discard(kind)
        self._absent.pop(kind, None)

    def cached(self, kind: str) -> int:
        """How many entries of ``kind`` are held in memory."""
        return len(self._kinds.get(kind, ()))

    def reset(self) -> None:
        """Forget everything cached (after a rolled-back transaction)."""
        self._kinds.clear()
        self._whole.clear()
        self._absent.clear()

    def get(self, kind: str, source_id: object) -> Entry | None:
        key = str(source_id)
        if kind not in PER_BATCH:
            return self.kind(kind).get(key)
        known = self._cache(kind)
        if key not in known and kind not in self._whole:
            self.load(kind, [key])
        return known.get(key)

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
        *,
        fresh: bool = False,
    ) -> None:
        """Record many (source_id, target_id, stamp, cursor, note) at once.  ``fresh``:
        the caller knows that none of these keys was recorded (they are not looked
        up first; one that was makes the insert fail)."""
        rows = list(rows)
        if fresh and kind in PER_BATCH:
            known = self._cache(kind)
        elif kind in PER_BATCH:
            self.load(kind, [row[0] for row in rows])
            known = self._cache(kind)
        else:
            known = self.kind(kind)
        absent = self._absent.get(kind, set())
        new: list[tuple[str, int | None, str, dict[str, Any], str]] = []
        changed: list[ImportedObject] = []
        for source_id, target_id, stamp, cursor, note in rows:
            key = str(source_id)
            entry = known.get(key)
            if entry is None:
                absent.discard(key)
                known[key] = Entry(target_id, stamp, dict(cursor))
                new.append((key, target_id, stamp, cursor, note[:300]))
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
            from helpline.importers.znuny.tickets_copy import fast, insert_mapping

            if kind in PER_BATCH and fast():
                # The kinds looked up per batch need no ids back: an entry without
                # one is updated by its key (above), and the batch lets go of it
                # anyway.  Written as they are, without a model instance each.
                insert_mapping(self.source, kind, new)
                new = []
            objects = [
                ImportedObject(
                    source=self.source,
                    kind=kind,
                    source_id=key,
                    target_id=target_id,
                    stamp=stamp,
                    cursor=cursor,
                    note=note,
                )
                for key, target_id, stamp, cursor, note in new
            ]
            ImportedObject.objects.bulk_create(objects, batch_size=1000)
            for obj in objects:
                if obj.pk is not None:
                    known[obj.source_id].pk = obj.pk
        self._update(changed)

    def _update(self, changed: list[ImportedObject]) -> None:
        if changed:
            ImportedObject.objects.bulk_update(
                changed, ["target_id", "stamp", "cursor", "note"], batch_size=1000
            )

    def forget(self, kind: str, source_ids: Iterable[object]) -> None:
        keys = [str(s) for s in source_ids]
        known = self._cache(kind)
        absent = self._absent.setdefault(kind, set())
        for key in keys:
            known.pop(key, None)
            absent.add(key)
        if not self.dry_run and keys:
            ImportedObject.objects.filter(
                source=self.source, kind=kind, source_id__in=keys
            ).delete()
