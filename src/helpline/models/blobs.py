"""Content-addressed storage for raw mail and attachments.

Every byte string Helpline keeps (the raw source of an inbound or outbound message, an
attachment) is stored once, named by its SHA-256; rows refer to it.  The same attachment
sent to a thousand tickets is stored once.  Small blobs are kept in the database row,
larger ones as files through Django's storage API (filesystem or object storage).
"""

from __future__ import annotations

from django.db import models


class Blob(models.Model):
    sha256 = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    # Small blobs (most mail) live in the row itself: the database commit is then the
    # one durable write.  Larger ones are files in the storage, ``data`` stays null.
    data = models.BinaryField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "helpline_blob"

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.size} bytes)"

    @property
    def path(self) -> str:
        """Storage name: two levels of fan-out so no directory grows past 65,536 files."""
        return f"blobs/{self.sha256[:2]}/{self.sha256[2:4]}/{self.sha256}"
