"""helpline serve: gunicorn with the collected static files in front of Django."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpline.web.static_files import StaticFiles
from tests.cli import HELPLINE, environment, helpline

# --- the static-files wrapper, called as WSGI ----------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.status = ""
        self.headers: dict[str, str] = {}

    def __call__(self, status, headers, exc_info=None):
        self.status = status
        self.headers = dict(headers)


def django_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"from django"]


@pytest.fixture
def root(tmp_path) -> Path:
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "site.css").write_text("body { color: #123; }\n")
    (static / "app.js").write_text("console.log(1);\n")
    (static / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (static / ".env").write_text("SECRET=1\n")
    (tmp_path / "secret.txt").write_text("outside the root\n")
    (static / "escape.txt").symlink_to(tmp_path / "secret.txt")
    return static


def call(root: Path, path: str, method: str = "GET", **headers: str):
    app = StaticFiles(django_app, root=root, prefix="/static/")
    recorder = Recorder()
    environ = {"PATH_INFO": path, "REQUEST_METHOD": method, **headers}
    body = b"".join(app(environ, recorder))
    return recorder.status, recorder.headers, body


def test_a_static_file_is_served_with_its_type_and_length(root):
    status, headers, body = call(root, "/static/css/site.css")
    assert status == "200 OK"
    assert headers["Content-Type"] == "text/css; charset=utf-8"
    assert headers["Content-Length"] == str(len(body))
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert body == b"body { color: #123; }\n"
    assert call(root, "/static/logo.png")[1]["Content-Type"] == "image/png"
    assert call(root, "/static/app.js")[1]["Content-Type"].startswith(
        ("text/javascript", "application/javascript")
    )


def test_head_answers_the_headers_without_the_body(root):
    status, headers, body = call(root, "/static/css/site.css", method="HEAD")
    assert (status, body) == ("200 OK", b"")
    assert headers["Content-Length"] == "22"


def test_other_paths_reach_the_django_application(root):
    assert call(root, "/admin/login/") == (
        "200 OK",
        {"Content-Type": "text/plain"},
        b"from django",
    )
    assert call(root, "/staticky/x")[2] == b"from django"


@pytest.mark.parametrize(
    "path",
    [
        "/static/css/",
        "/static/css",
        "/static/",
        "/static/../secret.txt",
        "/static/css/../../secret.txt",
        "/static/escape.txt",
        "/static/.env",
        "/static/missing.css",
        "/static/css//site.css",
        "/static/css\\site.css",
    ],
)
def test_directories_dot_files_and_paths_out_of_the_root_are_not_found(root, path):
    status, _, body = call(root, path)
    assert status == "404 Not Found"
    assert b"outside" not in body and b"site.css" not in body


def test_only_get_and_head_are_allowed(root):
    status, headers, _ = call(root, "/static/css/site.css", method="POST")
    assert status == "405 Method Not Allowed"
    assert headers["Allow"] == "GET, HEAD"


def test_an_unchanged_file_is_answered_with_304(root):
    _, headers, _ = call(root, "/static/css/site.css")
    status, _, body = call(
        root,
        "/static/css/site.css",
        HTTP_IF_MODIFIED_SINCE=headers["Last-Modified"],
    )
    assert (status, body) == ("304 Not Modified", b"")
    status, _, _ = call(
        root,
        "/static/css/site.css",
        HTTP_IF_MODIFIED_SINCE="Mon, 01 Jan 2001 00:00:00 GMT",
    )
    assert status == "200 OK"


# --- the real server -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def wait_for(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("serve did not start listening")


def test_serve_answers_pages_and_the_admin_css(tmp_path):
    assert helpline(tmp_path, "migrate", "-v0").returncode == 0
    port = free_port()
    process = subprocess.Popen(
        [HELPLINE, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for(port, process)
        base = f"http://127.0.0.1:{port}"
        # (The admin's own login form redirects to the throttled /login/.)
        status, _, page = get(f"{base}/admin/login/")
        assert status == 200
        assert b"/static/helpline/app.css" in page
        status, headers, css = get(f"{base}/static/admin/css/base.css")
        assert status == 200
        assert headers["Content-Type"] == "text/css; charset=utf-8"
        assert css == (tmp_path / "static/admin/css/base.css").read_bytes()
        assert get(f"{base}/static/admin/css/")[0] == 404
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            out, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, _ = process.communicate()
    out = out.decode()
    assert f"Serving Helpline on 127.0.0.1:{port} with 1 workers." in out
