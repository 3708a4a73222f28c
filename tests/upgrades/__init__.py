"""Upgrades: the previous release against a database migrated by this code."""

from __future__ import annotations

import os


def scratch_name(suffix: str) -> str:
    """A PostgreSQL database name of this test run's own: the test database's name
    (which names the helper whose run it is), the xdist worker, ``suffix``."""
    from django.db import connection

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return "_".join(p for p in (connection.settings_dict["NAME"], worker, suffix) if p)
