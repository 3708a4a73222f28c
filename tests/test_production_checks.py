"""``helpline check --deploy``: Helpline's own production checks
(helpline/production_checks.py) and the HSTS settings (helpline/settings.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.checks import run_checks

from helpline.production_checks import is_reserved_domain

PRODUCTION = {
    "HELPLINE_BASE_URL": "https://helpline.example.net",
    "ALLOWED_HOSTS": ["helpline.example.net"],
    "HELPLINE_MAIL_DOMAIN": "helpline.wikimedia.org",
    "HELPLINE_NOTIFY_FROM": "helpline@wikimedia.org",
}


def helpline_warnings(settings, **overrides) -> dict[str, str]:
    """The helpline.W01x warnings of a deployment check run, id -> message."""
    for name, value in {**PRODUCTION, **overrides}.items():
        setattr(settings, name, value)
    messages = run_checks(include_deployment_checks=True, tags=["security"])
    return {m.id: m.msg for m in messages if str(m.id).startswith("helpline.W01")}


def test_production_settings_raise_no_helpline_warning(settings):
    assert helpline_warnings(settings) == {}


def test_a_plain_http_base_url_is_reported(settings):
    found = helpline_warnings(settings, HELPLINE_BASE_URL="http://helpline.example.net")
    assert set(found) == {"helpline.W010"}
    assert "http://helpline.example.net" in found["helpline.W010"]


def test_a_base_url_host_that_is_not_allowed_is_reported(settings):
    found = helpline_warnings(settings, ALLOWED_HOSTS=["tickets.example.net"])
    assert set(found) == {"helpline.W011"}
    assert "helpline.example.net" in found["helpline.W011"]


def test_an_allowed_hosts_wildcard_covers_the_base_url(settings):
    assert helpline_warnings(settings, ALLOWED_HOSTS=[".example.net"]) == {}


def test_the_development_defaults_are_reported(settings):
    found = helpline_warnings(
        settings,
        HELPLINE_BASE_URL="http://127.0.0.1:8000",
        ALLOWED_HOSTS=["localhost"],
        HELPLINE_MAIL_DOMAIN="helpline.localhost",
        HELPLINE_NOTIFY_FROM="",
    )
    assert set(found) == {"helpline.W010", "helpline.W011", "helpline.W012"}
    assert "helpline.localhost" in found["helpline.W012"]


def test_a_reserved_notification_sender_is_reported(settings):
    found = helpline_warnings(settings, HELPLINE_NOTIFY_FROM="noreply@example.org")
    assert set(found) == {"helpline.W012"}
    assert "HELPLINE_NOTIFY_FROM" in found["helpline.W012"]


@pytest.mark.parametrize(
    ("domain", "reserved"),
    [
        ("example.org", True),
        ("mail.example.com", True),
        ("helpline.localhost", True),
        ("localhost", True),
        ("tickets.test", True),
        ("x.invalid.", True),
        ("printer.local", True),
        ("intranet", True),
        ("", True),
        ("wikimedia.org", False),
        ("notexample.org", False),
        ("example.org.uk", False),
    ],
)
def test_reserved_domains(domain, reserved):
    assert is_reserved_domain(domain) is reserved


def test_the_checks_run_only_for_deployment(settings):
    settings.HELPLINE_BASE_URL = "http://127.0.0.1:8000"
    messages = run_checks(include_deployment_checks=False)
    assert not [m for m in messages if str(m.id).startswith("helpline.W01")]


def hsts_settings(tmp_path, **env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
    environment.update(HELPLINE_DATA_DIR=str(tmp_path), **env)
    code = (
        "import json, helpline.settings as s; print(json.dumps({n: getattr(s, n, None)"
        " for n in ('SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS',"
        " 'SECURE_HSTS_PRELOAD', 'SILENCED_SYSTEM_CHECKS')}))"
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


def test_behind_the_proxy_hsts_covers_subdomains_without_preloading(tmp_path):
    assert hsts_settings(tmp_path, HELPLINE_BEHIND_HTTPS_PROXY="true") == {
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SILENCED_SYSTEM_CHECKS": ["security.W021"],
    }


def test_hsts_subdomains_and_preload_are_settings(tmp_path):
    found = hsts_settings(
        tmp_path,
        HELPLINE_BEHIND_HTTPS_PROXY="true",
        HELPLINE_HSTS_INCLUDE_SUBDOMAINS="false",
        HELPLINE_HSTS_PRELOAD="true",
    )
    assert found["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert found["SECURE_HSTS_PRELOAD"] is True
    assert found["SILENCED_SYSTEM_CHECKS"] == []


def test_without_the_proxy_no_hsts_is_sent(tmp_path):
    found = hsts_settings(tmp_path, HELPLINE_HSTS_PRELOAD="true")
    assert found["SECURE_HSTS_SECONDS"] is None
    assert found["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert found["SECURE_HSTS_PRELOAD"] is False
