from __future__ import annotations

import pytest

from tests.spam import spamd as private_spamd

# The session's private spamd (tests/spam/spamd.py).
spamd = private_spamd.spamd


@pytest.fixture
def filter_on(spamd, settings):
    """Helpline talks to the private spamd."""
    settings.HELPLINE_SPAMD = spamd.address
    settings.HELPLINE_SPAM_TIMEOUT = 20
    return spamd
