"""Failed-login throttling: limits per login, per client and over all logins.

Four counters, each a fixed window of ``HELPLINE_LOGIN_WINDOW`` seconds in Django's
cache (shared between processes: the file cache or Redis; helpline.counters makes the
counting atomic):

- per login and client address: a typo-prone agent on one machine does not lock out
  a colleague elsewhere;
- per login from any address: guessing one agent's password from many addresses;
- per client address over all logins: one password tried against many logins;
- all failures over all logins and addresses: the same, from many addresses.

The login is normalised as Django's login form and authentication backend see it
(``AbstractBaseUser.normalize_username``: NFKC, after the form field's stripping), then
case-folded, so every spelling that logs in as one account shares its counters
(folding more than the backend does can only make two logins share a counter, never
split one).  IPv6 clients are counted per /64 network, the block one subscriber gets.

An attempt is counted *before* its password is checked, and given back when it
succeeds or is refused: parallel attempts each take their place in the counters, so
of forty at once only as many are checked as the limits allow, never forty while the
counters still read zero.  An attempt over a limit is refused without checking the
password, with the same answer whether the login exists or not; the global limit
holds every login off while it is reached, so it is set well above what the agents
mistype in a window.
"""

from __future__ import annotations

import hashlib
import ipaddress
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from helpline import counters

DEFAULT_WINDOW = 15 * 60
DEFAULT_LIMITS = {
    "login_client": 5,
    "login": 20,
    "client": 20,
    "total": 300,
}
# The default per login and address (the tests and the message refer to it).
MAX_FAILURES = DEFAULT_LIMITS["login_client"]
_SETTINGS = {
    "login_client": "HELPLINE_LOGIN_FAILURES_PER_LOGIN_AND_CLIENT",
    "login": "HELPLINE_LOGIN_FAILURES_PER_LOGIN",
    "client": "HELPLINE_LOGIN_FAILURES_PER_CLIENT",
    "total": "HELPLINE_LOGIN_FAILURES_TOTAL",
}
# Counters a successful login clears; the others only get this attempt back, so an
# attacker with one valid login cannot wipe its address's count by logging in.
_CLEARED_ON_SUCCESS = ("login_client", "login")


def normalise_login(login: str) -> str:
    """The login as the authentication backend sees it, case-folded."""
    name = AbstractBaseUser.normalize_username(login.strip())
    return unicodedata.normalize("NFKC", name.casefold())


def client_ip(request: HttpRequest) -> str:
    """The client's address as it connected.

    Behind the HTTPS proxy of HELPLINE_BEHIND_HTTPS_PROXY the last address of
    X-Forwarded-For, the one the proxy added; otherwise the peer of the connection.
    """
    address = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "HELPLINE_BEHIND_HTTPS_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            address = hops[-1]
    return str(address)


def client_address(request: HttpRequest) -> str:
    """The client's address (``client_ip``) as counted: its /64 network for IPv6."""
    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def window() -> int:
    return max(1, int(getattr(settings, "HELPLINE_LOGIN_WINDOW", DEFAULT_WINDOW)))


def limit(name: str) -> int:
    return int(getattr(settings, _SETTINGS[name], DEFAULT_LIMITS[name]))


def _key(name: str, *parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return f"helpline:login-failures:{name}:{digest}"


@dataclass(frozen=True)
class Attempt:
    """A login attempt that was counted; ``allowed`` False: refuse it unchecked."""

    keys: dict[str, str]
    allowed: bool


def begin(login: str, request: HttpRequest) -> Attempt:
    """Count an attempt against every limit, before its password is checked."""
    name, client = normalise_login(login), client_address(request)
    keys = {
        "login_client": _key("login_client", name, client),
        "login": _key("login", name),
        "client": _key("client", client),
        "total": _key("total"),
    }
    seconds = window()
    counted = [c for c in keys if limit(c) > 0]  # 0 switches a limit off
    taken: list[str] = []
    for counter in counted:
        taken.append(counter)
        if counters.hit(keys[counter], window=seconds) > limit(counter):
            # Refused unchecked, so not a failure: only checked passwords (and those
            # being checked) stay counted, and hammering a blocked login fills no
            # other counter.
            for done in taken:
                counters.give_back(keys[done], window=seconds)
            return Attempt(keys=keys, allowed=False)
    return Attempt(keys=keys, allowed=True)


def succeeded(attempt: Attempt) -> None:
    """The password was right: this attempt was no failure."""
    seconds = window()
    for counter, key in attempt.keys.items():
        if counter in _CLEARED_ON_SUCCESS:
            counters.forget(key, window=seconds)
        elif limit(counter) > 0:
            counters.give_back(key, window=seconds)


def reset_allowed(email: str, request: HttpRequest) -> bool:
    """Count a password reset request per address asked for and per client; False
    when either is over its limit (HELPLINE_PASSWORD_RESETS_PER_*).  Counted the
    same whether the address belongs to an agent or not."""
    seconds = max(1, int(getattr(settings, "HELPLINE_PASSWORD_RESET_WINDOW", 3600)))
    limits = {
        _key("reset_address", email.strip().casefold()): int(
            getattr(settings, "HELPLINE_PASSWORD_RESETS_PER_ADDRESS", 3)
        ),
        _key("reset_client", client_address(request)): int(
            getattr(settings, "HELPLINE_PASSWORD_RESETS_PER_CLIENT", 10)
        ),
    }
    allowed = True
    for key, most in limits.items():
        if most > 0 and counters.hit(key, window=seconds) > most:
            allowed = False
    return allowed


def passed_first_step(attempt: Attempt) -> None:
    """The password was right but a second factor is still to come: this attempt
    was no failure, yet nothing is cleared (else every right password would wipe
    the failed codes that an attacker who knows it has counted)."""
    seconds = window()
    for counter, key in attempt.keys.items():
        if limit(counter) > 0:
            counters.give_back(key, window=seconds)
