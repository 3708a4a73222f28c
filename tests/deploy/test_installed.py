"""Helpline installed from its wheel, as docs/deployment.md installs it.

The wheel is built from a copy of the sources and installed into a fresh virtualenv in
a temporary directory outside the checkout (pip takes the dependencies from the package
index or its cache).  With the settings of deploy/helpline.env.example (its example.org
names replaced), through deploy/helpline-admin: ``helpline migrate``, ``helpline check
--deploy`` (no issue), an administrator, then ``helpline serve`` behind nginx with
deploy/nginx-helpline.conf, a self-signed certificate (openssl) and a private Redis:
a login over HTTPS, a page and a static file; and ``helpline mail listen`` with
``helpline worker``: a message over LMTP becomes a ticket.

As root, helpline-admin drops to the user ``nobody``; the server, the listener and the
worker run under the kernel's memory-deny-write-execute rule, as
``MemoryDenyWriteExecute=yes`` in the units has it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gzip
import http.client
import json
import os
import pwd
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

# One installation for the module: under `pytest -n 2 --dist loadgroup` (make test) all
# its tests run in one worker, which builds and installs once.
pytestmark = pytest.mark.xdist_group("installed-wheel")

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PACKAGE = ROOT / "src" / "helpline"
HOST = "helpline.deploy-test.net"
ADMIN_PASSWORD = "a long pass phrase for the first admin"
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1


def need(program: str, package: str) -> str:
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail(f"{program} is missing: install Debian's {package} package")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=1),
        ):
            return
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"nothing listens on {port}:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile (and helpline-admin) read them."""
    env = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_]\w*", key), raw
        env[key] = value
    return env


# --- the wheel ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """A directory outside the checkout that the user ``nobody`` may enter."""
    # In memory when the machine has it: a virtualenv is ~11,000 files, which took
    # 41 s to delete on an ext4 disk mounted with `discard`, and a second on tmpfs.
    shm = Path("/dev/shm")
    memory = shm.is_dir() and os.access(shm, os.W_OK | os.X_OK)
    path = Path(
        tempfile.mkdtemp(prefix="helpline-installed-", dir=shm if memory else None)
    )
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def wheel(workdir) -> Path:
    """The wheel, built from a copy of the sources (the build writes into its tree)."""
    source = workdir / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    out = workdir / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, source],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (found,) = out.glob("helpline-*.whl")
    return found


def test_the_wheel_holds_every_file_of_the_package(wheel):
    """Templates, Jinja2 templates, static files, translations: what the source tree
    has, the wheel has (the administration's permission grid template once was not)."""
    in_source = {
        "helpline/" + path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {n for n in archive.namelist() if n.startswith("helpline/")}
    assert in_source - in_wheel == set()
    assert in_wheel - in_source == set()
    # Every translation is compiled.
    catalogs = {n for n in in_wheel if n.endswith(".po")}
    assert catalogs
    assert {n[:-3] + ".mo" for n in catalogs} <= in_wheel


def umask_022() -> None:
    os.umask(0o022)


# --- the installation ------------------------------------------------------------------
@dataclass
class Installation:
    admin: list[str]  # helpline-admin, ready to take a helpline command
    env_file: Path
    data: Path
    user: str


@pytest.fixture(scope="module")
def database(workdir) -> Iterator[str]:
    """A database of its own: on the PostgreSQL server of the test run, else SQLite."""
    url = os.environ.get("HELPLINE_DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{workdir / 'data' / 'helpline.sqlite3'}"
        return
    import psycopg

    name = f"helpline_installed_{os.getpid()}"
    server = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield urlsplit(url)._replace(path=f"/{name}").geturl()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def redis_url(workdir) -> Iterator[str]:
    binary = need("redis-server", "redis-server")
    port = free_port()
    log = workdir / "redis.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(workdir)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, server, log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(server)


@pytest.fixture(scope="module")
def installation(workdir, wheel, database, redis_url) -> Installation:
    venv = workdir / "venv"
    # Debian's Python, as docs/deployment.md installs it (an interpreter under a
    # private home directory could not run as the service user).
    python = "/usr/bin/python3"
    if not Path(python).exists():
        pytest.fail(
            "/usr/bin/python3 is missing: install Debian's python3-venv package"
        )
    # Readable by the service user, as /opt/helpline is (this process may run with
    # Helpline's private umask).
    subprocess.run(
        [python, "-m", "venv", venv], check=True, timeout=300, preexec_fn=umask_022
    )
    subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "-q", wheel],
        check=True,
        capture_output=True,
        timeout=900,
        preexec_fn=umask_022,
    )
    user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    data = workdir / "data"
    data.mkdir(mode=0o700)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(data, entry.pw_uid, entry.pw_gid)
    env = read_env_file(DEPLOY / "helpline.env.example")
    env = {k: v.replace("example.org", "deploy-test.net") for k, v in env.items()}
    assert env["HELPLINE_BASE_URL"] == f"https://{HOST}"
    # Where this machine has them.
    env |= {
        "HELPLINE_DATA_DIR": str(data),
        "HELPLINE_DATABASE_URL": database,
        "HELPLINE_REDIS_URL": redis_url,
    }
    env_file = workdir / "helpline.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    env_file.chmod(0o600)  # root reads it, as /etc/helpline/helpline.env (0640)
    wrapper = {
        "HELPLINE_ENV_FILE": str(env_file),
        "HELPLINE_USER": user,
        "HELPLINE_BIN": str(venv / "bin" / "helpline"),
        "HELPLINE_WORKDIR": str(data),
    }
    admin = ["env", "-i", *(f"{k}={v}" for k, v in wrapper.items())]
    admin += ["bash", str(DEPLOY / "helpline-admin")]
    installed = Installation(admin=admin, env_file=env_file, data=data, user=user)
    run(installed, "migrate", "--noinput")
    run(
        installed,
        "agent",
        "add",
        "--admin",
        "--password-stdin",
        "--email",
        "admin@deploy-test.net",
        "root",
        stdin=ADMIN_PASSWORD + "\n",
    )
    # The first group and queues (docs/deployment.md): the default queue
    # (HELPLINE_DEFAULT_QUEUE, Raw) and one with a system address.
    run(installed, "group", "add", "Support")
    run(installed, "queue", "add", "Raw", "--group", "Support")
    run(
        installed,
        "queue",
        "add",
        "Info",
        "--group",
        "Support",
        "--email",
        "info@deploy-test.net",
    )
    run(installed, "grant", "--agent", "root", "--group", "Support", "rw")
    return installed


def run(
    installed: Installation, *argv: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*installed.admin, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
    )
    assert result.returncode == 0, (argv, result.stdout, result.stderr)
    return result


def test_the_documented_production_settings_pass_the_deployment_checks(
    installation,
):
    result = run(installation, "check", "--deploy", "--fail-level", "WARNING")
    assert "System check identified no issues" in result.stdout + result.stderr


def test_the_data_directory_is_the_service_users_alone(installation):
    found = {p.name: p.stat() for p in installation.data.iterdir()}
    assert "secret_key" in found  # generated on first use
    owner = pwd.getpwnam(installation.user).pw_uid
    for name, info in found.items():
        assert info.st_uid == owner, name
        assert info.st_mode & 0o077 == 0, (name, oct(info.st_mode))


def test_the_example_names_left_in_place_are_reported(installation, workdir):
    """Forgetting to replace example.org is what helpline.W012 is for."""
    env = read_env_file(installation.env_file)
    env["HELPLINE_MAIL_DOMAIN"] = "helpline.example.org"
    left = workdir / "left.env"
    left.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    admin = [
        a.replace(str(installation.env_file), str(left)) for a in installation.admin
    ]
    result = subprocess.run(
        [*admin, "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "helpline.W012" in result.stderr


# --- served through nginx -------------------------------------------------------------
@dataclass
class Site:
    https_port: int
    http_port: int
    context: ssl.SSLContext

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: str | None = None,
    ) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.https_port, context=self.context, timeout=30
        )
        try:
            conn.request(
                method, path, body=body, headers={"Host": HOST, **(headers or {})}
            )
            response = conn.getresponse()
            return response, response.read()
        finally:
            conn.close()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [need("openssl", "openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "2"]
        + [
            "-subj",
            f"/CN={HOST}",
            "-addext",
            f"subjectAltName=DNS:{HOST},IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return cert, key


def nginx_site(
    web_port: int, https_port: int, http_port: int, cert: Path, key: Path
) -> str:
    """deploy/nginx-helpline.conf with this machine's ports and certificate: each
    replaced text must be there exactly once, so a change to the file shows here."""
    text = (DEPLOY / "nginx-helpline.conf").read_text()
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{web_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;\n": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;\n": "",
        "/etc/letsencrypt/live/helpline.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/helpline.example.org/privkey.pem": str(key),
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text.replace("helpline.example.org", HOST)


def no_write_execute() -> None:
    """In the child before it starts: what MemoryDenyWriteExecute=yes asks of the
    kernel (Linux 6.3+), inherited by everything it starts."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE)")


@pytest.fixture(scope="module")
def site(installation, workdir) -> Iterator[Site]:
    nginx = need("nginx", "nginx")
    web_port, https_port, http_port = free_port(), free_port(), free_port()
    web_log = workdir / "web.log"
    with web_log.open("wb") as out:
        web = subprocess.Popen(
            [*installation.admin, "serve", "--bind", f"127.0.0.1:{web_port}"]
            + ["--workers", "2"],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=no_write_execute,  # noqa: PLW1509 (no threads started here)
            cwd="/",
        )
    proxy = None
    try:
        wait_for_port(web_port, web, web_log)
        conf = workdir / "nginx"
        conf.mkdir()
        cert, key = self_signed_certificate(conf)
        (conf / "site.conf").write_text(
            nginx_site(web_port, https_port, http_port, cert, key)
        )
        (conf / "nginx.conf").write_text(
            f"daemon off;\npid {conf}/nginx.pid;\nerror_log {conf}/error.log;\n"
            "worker_processes 1;\nevents {}\nhttp {\n"
            "    include /etc/nginx/mime.types;\n"
            f"    access_log {conf}/access.log;\n"
            + "".join(
                f"    {kind}_temp_path {conf}/{kind}_temp;\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"    include {conf}/site.conf;\n}}\n"
        )
        tested = subprocess.run(
            [nginx, "-t", "-c", conf / "nginx.conf"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert tested.returncode == 0, tested.stderr
        assert "[warn]" not in tested.stderr, tested.stderr
        proxy_log = workdir / "nginx.out"
        with proxy_log.open("wb") as out:
            proxy = subprocess.Popen(
                [nginx, "-c", conf / "nginx.conf"], stdout=out, stderr=subprocess.STDOUT
            )
        wait_for_port(https_port, proxy, conf / "error.log")
        context = ssl.create_default_context(cafile=str(cert))
        yield Site(https_port=https_port, http_port=http_port, context=context)
    finally:
        if proxy is not None:
            stop(proxy)
        stop(web)


def test_plain_http_is_redirected_to_https(site):
    conn = http.client.HTTPConnection("127.0.0.1", site.http_port, timeout=30)
    conn.request("GET", "/login/?next=/", headers={"Host": HOST})
    response = conn.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == f"https://{HOST}/login/?next=/"


def test_the_login_page_is_served_over_https_with_hsts_and_secure_cookies(site):
    response, body = site.request("GET", "/login/")
    assert response.status == 200
    assert b'name="password"' in body
    assert response.getheader("Strict-Transport-Security") == (
        "max-age=31536000; includeSubDomains"
    )
    cookies = SimpleCookie(response.getheader("Set-Cookie"))
    assert cookies["csrftoken"]["secure"]


def test_a_static_file_is_served(site):
    response, body = site.request("GET", "/static/helpline/app.css")
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("text/css")
    assert body == (PACKAGE / "web" / "static" / "helpline" / "app.css").read_bytes()
    response, body = site.request(
        "GET", "/static/helpline/app.css", headers={"Accept-Encoding": "gzip"}
    )
    assert response.getheader("Content-Encoding") == "gzip"
    assert (
        gzip.decompress(body)
        == (PACKAGE / "web" / "static" / "helpline" / "app.css").read_bytes()
    )


def test_the_first_admin_logs_in_and_opens_the_permission_screen(site):
    """A POST through the proxy passes the CSRF check (the origin is https://HOST),
    and the permission screen's template, shipped in the wheel, renders."""
    response, _ = site.request("GET", "/login/")
    csrf = SimpleCookie(response.getheader("Set-Cookie"))["csrftoken"].value
    response, body = site.request(
        "POST",
        "/login/",
        body=urlencode(
            {
                "username": "root",
                "password": ADMIN_PASSWORD,
                "csrfmiddlewaretoken": csrf,
            }
        ),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Origin": f"https://{HOST}",
            "Referer": f"https://{HOST}/login/",
        },
    )
    assert response.status == 302, body[:2000]
    cookies = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    assert cookies["sessionid"]["secure"]
    session = f"sessionid={cookies['sessionid'].value}"
    response, body = site.request(
        "GET", "/admin/helpline/permissions/", headers={"Cookie": session}
    )
    # The retired grid leads to the permission screen, whose template renders.
    assert response.status == 302, body[:2000]
    assert response.getheader("Location") == "/administration/permissions/"
    response, body = site.request(
        "GET", "/administration/permissions/", headers={"Cookie": session}
    )
    assert response.status == 200, body[:2000]
    assert b'role="search"' in body


# --- mail in: the listener and the worker ----------------------------------------------
def start(installed: Installation, log: Path, *argv: str) -> subprocess.Popen:
    """A long-running ``helpline-admin`` command, as its unit runs it."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [*installed.admin, *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=no_write_execute,  # noqa: PLW1509 (no threads started here)
            cwd="/",
        )


def test_mail_delivered_to_the_listener_becomes_a_ticket(installation, workdir):
    """What helpline-listener and helpline-worker run, as the service user without
    writable code and with the job queue in Redis: a message over LMTP ends as a
    ticket."""
    port = free_port()
    listener_log, worker_log = workdir / "listener.log", workdir / "worker.log"
    listener = start(
        installation, listener_log, "mail", "listen", "--bind", f"127.0.0.1:{port}"
    )
    worker = start(installation, worker_log, "worker")
    try:
        wait_for_port(port, listener, listener_log)
        with smtplib.LMTP("127.0.0.1", port, timeout=30) as lmtp:
            refused = lmtp.sendmail(
                "jane@deploy-test.net",
                ["info@deploy-test.net"],
                b"From: jane@deploy-test.net\r\nTo: info@deploy-test.net\r\n"
                b"Message-ID: <first@deploy-test.net>\r\nSubject: Installed\r\n\r\n"
                b"Does it work?\r\n",
            )
        assert refused == {}
        deadline = time.monotonic() + 90
        while True:
            (message,) = json.loads(run(installation, "mail", "list", "--json").stdout)
            if message["status"] != "received" or time.monotonic() > deadline:
                break
            if worker.poll() is not None:
                pytest.fail(f"the worker stopped:\n{worker_log.read_text()[-3000:]}")
            time.sleep(0.5)
        assert message["status"] == "processed", (
            message,
            worker_log.read_text()[-3000:],
        )
        assert message["ticket"]
        shown = run(
            installation, "ticket", "show", "--as", "root", message["ticket"]
        ).stdout
        assert "Installed" in shown
        assert "Info" in shown
    finally:
        stop(listener)
        stop(worker)


def test_a_client_cannot_escape_the_login_throttle_by_sending_x_forwarded_for(site):
    """nginx appends the client's own address, and Helpline counts the last entry:
    five wrong passwords from one client, each claiming another address, and the
    sixth attempt is refused unchecked (HELPLINE_LOGIN_FAILURES_PER_LOGIN_AND_CLIENT,
    counted in Redis)."""
    statuses = []
    for attempt in range(6):
        response, _ = site.request("GET", "/login/")
        csrf = SimpleCookie(response.getheader("Set-Cookie"))["csrftoken"].value
        response, _ = site.request(
            "POST",
            "/login/",
            body=urlencode(
                {
                    "username": "somebody",
                    "password": f"wrong {attempt}",
                    "csrfmiddlewaretoken": csrf,
                }
            ),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={csrf}",
                "Origin": f"https://{HOST}",
                "X-Forwarded-For": f"192.0.2.{attempt + 1}",
                "X-Forwarded-Proto": "http",
            },
        )
        statuses.append(response.status)
    assert statuses == [200] * 5 + [429]
