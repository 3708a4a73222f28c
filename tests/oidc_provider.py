"""A real OpenID Connect provider for the tests: panva's ``oidc-provider`` from the npm
registry, run by node with the configuration in ``tests/oidc/provider.mjs``.

The package is installed once into a cache directory named after its version
(``$HELPLINE_TEST_CACHE`` or ``~/.cache/helpline-tests``); node and npm must be on the
PATH (CI installs them: .ci/system-packages)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OIDC_PROVIDER_VERSION = "9.13.3"
SCRIPT = Path(__file__).parent / "oidc" / "provider.mjs"
CLIENT_ID = "helpline-tests"
CLIENT_SECRET = "helpline-tests-secret-0123456789abcdef"  # noqa: S105 (test client)


def _cache() -> Path:
    base = (
        os.environ.get("HELPLINE_TEST_CACHE") or Path.home() / ".cache/helpline-tests"
    )
    return Path(base) / f"oidc-provider-{OIDC_PROVIDER_VERSION}"


def install() -> Path:
    """The directory whose node_modules holds oidc-provider (installed if missing)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is missing: install Debian's nodejs and npm")
    home = _cache()
    home.parent.mkdir(parents=True, exist_ok=True)
    # pytest-xdist's workers may get here together: one installs, the others wait.
    with open(home.parent / f"{home.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / "node_modules/oidc-provider/package.json").exists():
            home.mkdir(exist_ok=True)
            subprocess.run(  # noqa: S603
                [  # noqa: S607
                    "npm",
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(home),
                    f"oidc-provider@{OIDC_PROVIDER_VERSION}",
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
    return home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OidcProvider:
    """One running provider; ``accounts`` maps a login to its claims."""

    def __init__(self, accounts: dict[str, dict], redirect_uri: str, logout_uri: str):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.accounts = accounts
        self.redirect_uri = redirect_uri
        self.logout_uri = logout_uri
        self.process: subprocess.Popen[bytes] | None = None
        self.script: Path | None = None

    def start(self) -> None:
        home = install()
        # The script is copied beside node_modules so that its imports resolve there;
        # a copy of its own per provider, since test workers start theirs at once.
        script = home / f"provider-{os.getpid()}-{self.port}.mjs"
        shutil.copyfile(SCRIPT, script)
        self.script = script
        client = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [self.redirect_uri],
            "post_logout_redirect_uris": [self.logout_uri],
        }
        env = dict(
            os.environ,
            OP_PORT=str(self.port),
            OP_ISSUER=self.issuer,
            OP_CLIENT=json.dumps(client),
            OP_ACCOUNTS=json.dumps(self.accounts),
            NODE_ENV="test",
        )
        self.process = subprocess.Popen(  # noqa: S603
            ["node", str(script)],  # noqa: S607
            env=env,
            cwd=home,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError as exc:
                if self.process.poll() is not None:
                    out = self.process.stdout.read() if self.process.stdout else b""
                    raise RuntimeError(
                        f"oidc-provider exited: {out.decode()[-2000:]}"
                    ) from exc
                time.sleep(0.1)
        raise RuntimeError("oidc-provider did not start within 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self.script is not None:
            self.script.unlink(missing_ok=True)
            self.script = None


ACCOUNTS: dict[str, dict] = {
    "alice": {
        "email": "alice@example.org",
        "email_verified": True,
        "name": "Alice Example",
        "groups": ["helpline-agents", "staff"],
    },
    "carol": {
        "email": "carol@example.org",
        "name": "Carol Example",
        "groups": [],
        "_amr": ["pwd", "otp"],
    },
    "bob": {"email": "bob@example.org", "name": "Bob Example", "groups": []},
    "mallory": {
        "email": "mallory@example.org",
        "name": "Mallory",
        "groups": [],
        "_misbehave": "tamper",
    },
    "ivan": {"email": "ivan@example.org", "name": "Ivan", "_misbehave": "issuer"},
    "eve": {"email": "eve@example.org", "name": "Eve", "_misbehave": "expired"},
}


@contextmanager
def running_provider(
    redirect_uri: str = "http://testserver/sso/callback/",
    logout_uri: str = "http://testserver/login/",
) -> Iterator[OidcProvider]:
    provider = OidcProvider(ACCOUNTS, redirect_uri=redirect_uri, logout_uri=logout_uri)
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


def configure(settings, provider: OidcProvider, **more) -> None:
    settings.HELPLINE_OIDC_ISSUER = provider.issuer
    settings.HELPLINE_OIDC_CLIENT_ID = CLIENT_ID
    settings.HELPLINE_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.HELPLINE_OIDC_SCOPES = "openid email profile groups"
    settings.HELPLINE_OIDC_GROUPS_CLAIM = "groups"
    settings.HELPLINE_OIDC_CREATE_AGENTS = True
    for name, value in more.items():
        setattr(settings, name, value)


class Browser:
    """The person's side of the flow, without a browser: follows the provider's
    redirects and fills its sign-in form (oidc-provider's own pages)."""

    def __init__(self) -> None:
        import requests

        self.http = requests.Session()

    def authorize(self, url: str, login: str) -> str:
        """From the provider's authorisation URL to the callback URL it sends back."""
        import re

        answer = self.http.get(url, allow_redirects=False, timeout=10)
        for _hop in range(10):
            location = answer.headers.get("Location", "")
            if answer.status_code in (302, 303) and location.startswith(
                "http://testserver"
            ):
                return location
            if answer.status_code in (302, 303):
                answer = self.http.get(
                    _absolute(answer.url, location), allow_redirects=False, timeout=10
                )
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
            if answer.status_code != 200 or form is None:
                raise AssertionError(
                    f"provider said {answer.status_code}: {answer.text}"
                )
            data = {"prompt": "login", "login": login, "password": "any"}
            if 'value="consent"' in answer.text:
                data = {"prompt": "consent"}
            answer = self.http.post(
                _absolute(answer.url, form.group(1)),
                data=data,
                allow_redirects=False,
                timeout=10,
            )
        raise AssertionError("the provider never sent the browser back")


def _absolute(base: str, location: str) -> str:
    from urllib.parse import urljoin

    return urljoin(base, location)


def sign_in(client, login: str, browser: Browser | None = None):
    """The whole flow through Django's test client; returns the callback's response."""
    start = client.get("/sso/login/")
    assert start.status_code == 302, start.content
    callback = (browser or Browser()).authorize(start["Location"], login)
    return client.get(callback.removeprefix("http://testserver"))
