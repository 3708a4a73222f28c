"""The systemd units of deploy/: systemd's own verifier and its security assessment.

Both work without a running systemd: ``systemd-analyze verify`` loads unit files from
paths, and ``systemd-analyze security --offline=true`` scores a unit file.  The units
name /opt/helpline/bin/helpline, which ``verify`` requires to exist: the test points
copies at the ``helpline`` of this virtualenv.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES = [
    "helpline-web.service",
    "helpline-listener.service",
    "helpline-worker.service",
]
# systemd-analyze security: 0 (locked down) .. 10 (unprotected); "OK" is below 2.0.
# The services need the network (PostgreSQL, Redis, SMTP, their own port); all else
# is shut.  Measured: 1.1 each.
MAX_EXPOSURE = 1.5
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "PrivateTmp": "yes",
    "User": "helpline",
    "Group": "helpline",
    "EnvironmentFile": "/etc/helpline/helpline.env",
    "StateDirectory": "helpline",
    "StateDirectoryMode": "0700",
    "UMask": "0077",
}


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is missing: install Debian's systemd package")
    return found


@pytest.fixture(scope="module")
def units(tmp_path_factory) -> Path:
    """Copies of deploy/'s units that start this virtualenv's helpline."""
    helpline = Path(sys.executable).with_name("helpline")
    assert helpline.exists(), helpline
    directory = tmp_path_factory.mktemp("units")
    for path in DEPLOY.glob("helpline*.*"):
        if path.suffix in {".service", ".target"}:
            text = path.read_text().replace("/opt/helpline/bin/helpline", str(helpline))
            (directory / path.name).write_text(text)
    return directory


def directives(path: Path, section: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_systemd_verifies_the_units_without_a_complaint(units):
    names = [*SERVICES, "helpline.target"]
    result = subprocess.run(
        [systemd_analyze(), "verify", *(str(units / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Unknown or misspelt keys, bad values and missing programs are reported on
    # standard error (some only as warnings, with exit status 0).
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_hardened(service):
    found = directives(DEPLOY / service, "Service")
    for key, value in HARDENING.items():
        assert found.get(key) == [value], (service, key, found.get(key))
    assert found["ExecStart"][0].startswith("/opt/helpline/bin/helpline ")
    install = directives(DEPLOY / service, "Install")
    assert install["WantedBy"] == ["helpline.target"]


@pytest.mark.parametrize("service", SERVICES)
def test_systemd_rates_each_service_ok(units, service):
    result = subprocess.run(
        [systemd_analyze(), "security", "--offline=true", str(units / service)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    level = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert level, result.stdout
    assert float(level.group(1)) <= MAX_EXPOSURE, result.stdout


def test_the_target_starts_all_three_services():
    wants = directives(DEPLOY / "helpline.target", "Unit")["Wants"][0].split()
    assert sorted(wants) == sorted(SERVICES)
    for service in SERVICES:
        assert directives(DEPLOY / service, "Unit")["PartOf"] == ["helpline.target"]


def test_the_proxy_accepts_uploads_as_large_as_helpline_does(settings):
    conf = (DEPLOY / "nginx-helpline.conf").read_text()
    sizes = re.findall(r"^\s*client_max_body_size (\d+)m;", conf, re.MULTILINE)
    assert len(sizes) == 1, sizes
    limit = int(sizes[0]) * 1024 * 1024
    # The attachments of one reply plus the form, but not unlimited.
    assert (
        settings.HELPLINE_MAX_MESSAGE_BYTES
        < limit
        <= 1.2 * settings.HELPLINE_MAX_MESSAGE_BYTES
    )
    env = (DEPLOY / "helpline.env.example").read_text()
    assert f"HELPLINE_MAX_MESSAGE_BYTES={settings.HELPLINE_MAX_MESSAGE_BYTES}\n" in env


def test_the_proxy_sets_the_headers_helpline_trusts():
    conf = (DEPLOY / "nginx-helpline.conf").read_text()
    assert "proxy_set_header X-Forwarded-Proto https;" in conf
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    assert "proxy_set_header Host $host;" in conf
