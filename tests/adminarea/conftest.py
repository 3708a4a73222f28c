"""The browser fixtures (tests/browser/conftest.py) for the administration tests."""

from tests.browser.conftest import (  # noqa: F401
    _web_settings_for_live_server,
    chromium,
    new_page,
    page,
    server,
)
