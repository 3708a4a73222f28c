"""Collected static files with a gzip copy beside each text file.

``collectstatic`` (which ``helpline serve`` runs as it starts) writes ``app.css`` and
``app.css.gz``; ``helpline.web.static_files`` sends the ``.gz`` copy, with
``Content-Encoding: gzip``, to a browser that accepts it.  Compressed once at
deployment, not per request.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

from django.contrib.staticfiles.storage import StaticFilesStorage
from django.core.files.base import ContentFile

# Text formats gain from gzip; images and fonts are compressed already.
COMPRESSIBLE_SUFFIXES = (".css", ".js", ".svg", ".txt", ".json", ".html", ".map")
MIN_BYTES = 512


class GzipStaticFilesStorage(StaticFilesStorage):
    def post_process(
        self, paths: dict[str, Any], dry_run: bool = False, **options: Any
    ) -> Iterator[tuple[str, str, bool]]:
        if dry_run:
            return
        for name in sorted(paths):
            if not name.endswith(COMPRESSIBLE_SUFFIXES):
                continue
            with self.open(name) as source:
                data = source.read()
            if len(data) < MIN_BYTES:
                continue
            # mtime=0: the same file gives the same bytes at every deployment.
            packed = gzip.compress(data, compresslevel=9, mtime=0)
            if len(packed) >= len(data):
                continue
            target = name + ".gz"
            if self.exists(target):
                self.delete(target)
            self.save(target, ContentFile(packed))
            yield name, target, True
