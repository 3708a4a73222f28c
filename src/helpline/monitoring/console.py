"""The console log handler: writes to whatever ``sys.stderr`` is when a line is logged.

``logging.StreamHandler`` keeps the stream it was given when logging was configured.
A process that replaces ``sys.stderr`` later (a daemon redirecting its output, a test
runner capturing it, then closing its capture file) leaves such a handler writing to a
closed file: every later line is lost and logging prints its own traceback instead.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO


class ConsoleHandler(logging.StreamHandler[TextIO]):
    """A ``StreamHandler`` bound to the current ``sys.stderr``, not to a stream."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""
