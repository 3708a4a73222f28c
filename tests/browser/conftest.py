"""The browser tests' helpers, for ``from tests.browser.conftest import log_in``.

The fixtures themselves are in tests/browser/fixtures.py, registered once by
tests/conftest.py (why: that module's docstring).
"""

from tests.browser.fixtures import CHROMIUM, TIMEOUT_MS, log_in

__all__ = ["CHROMIUM", "TIMEOUT_MS", "log_in"]
