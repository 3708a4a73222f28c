"""Settings read from the environment (helpline/settings.py), each in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def settings_in(tmp_path, **env: str) -> dict:
    """DATABASES["default"] as ``helpline.settings`` builds it for ``env``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
    environment.update(HELPLINE_DATA_DIR=str(tmp_path), **env)
    code = (
        "import json, helpline.settings as s;"
        "print(json.dumps(s.DATABASES['default'], default=str))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def test_postgresql_connections_persist_for_a_minute_by_default(tmp_path):
    db = settings_in(tmp_path, HELPLINE_DATABASE_URL="postgres://u@127.0.0.1/helpline")
    assert db["CONN_MAX_AGE"] == 60
    assert db["CONN_HEALTH_CHECKS"] is True


def test_the_connection_age_is_a_setting(tmp_path):
    db = settings_in(
        tmp_path,
        HELPLINE_DATABASE_URL="postgres://u@127.0.0.1/helpline",
        HELPLINE_DB_CONN_MAX_AGE="0",
    )
    assert db["CONN_MAX_AGE"] == 0
