"""Django password hashers for the hashes Znuny and OTRS keep in ``users.pw``.

Znuny writes the agent password with the format named by its setting
``AuthModule::DB::CryptType`` (``Kernel/System/User.pm``, ``SetPassword``) and checks
it by recognising the stored value's shape (``Kernel/System/Auth/DB.pm``), so a
database holds a mix when the setting changed over the years:

=========================  ====================================  ====================
stored value               Znuny's CryptType                     Helpline hasher
=========================  ====================================  ====================
64 hex digits              ``sha2`` (the default): SHA-256       ``znuny_sha256``
128 hex digits             ``sha512``                            ``znuny_sha512``
40 hex digits              ``sha1``                              ``znuny_sha1``
``$apr1$salt$hash``        ``apr1`` (Apache MD5, salt = login)   ``znuny_md5_crypt``
``$1$salt$hash``           ``md5`` (unix MD5-crypt)              ``znuny_md5_crypt``
``BCRYPT:cost:salt:hash``  ``bcrypt`` (16-character salt)        ``znuny_bcrypt``
13 characters              ``crypt`` (DES crypt, salt = login)   ``znuny_crypt``
the password itself        ``plain``                             hashed with Argon2 at
                                                                 import (never kept)
=========================  ====================================  ====================

The importer stores ``<algorithm>$<Znuny's value>`` as the Django password.  These
hashers come after Argon2 in ``PASSWORD_HASHERS``: on the first successful login
Django's ``check_password`` sees that the hasher is not the preferred one and
stores the password again with Argon2.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import warnings
from typing import Any

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.translation import gettext_noop as _

BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
STD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_BCRYPT = str.maketrans(STD_ALPHABET, BCRYPT_ALPHABET)
CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

DJANGO_PASSWORD_LENGTH = 128  # auth_user.password
BCRYPT_RE = re.compile(r"\ABCRYPT:(\d+):(.{16}):(.*)\Z", re.S)
MD5_CRYPT_RE = re.compile(r"\A\$.+?\$.+?\$.*\Z", re.S)


def algorithm_for(stored: str) -> str | None:
    """The hasher for a value of Znuny's ``users.pw`` (recognised as Znuny's
    ``Auth::DB`` does), or None when no hasher can verify it."""
    if not stored:
        return None
    if len(stored) == 13:
        return ZnunyCryptHasher.algorithm
    if MD5_CRYPT_RE.match(stored):
        return ZnunyMD5CryptHasher.algorithm
    if re.fullmatch(r"[0-9a-fA-F]{64}", stored):
        return ZnunySHA256Hasher.algorithm
    if re.fullmatch(r"[0-9a-fA-F]{128}", stored):
        return ZnunySHA512Hasher.algorithm
    if BCRYPT_RE.match(stored):
        return ZnunyBcryptHasher.algorithm
    if re.fullmatch(r"[0-9a-fA-F]{40}", stored):
        return ZnunySHA1Hasher.algorithm
    return None


def django_password(stored: str) -> str | None:
    """The Django ``password`` value for Znuny's stored hash (None: not verifiable).

    Django's column holds 128 characters: a SHA-512 digest (128 hex digits) is kept
    in base64 (88)."""
    algorithm = algorithm_for(stored)
    if algorithm is None:
        return None
    if algorithm == ZnunySHA512Hasher.algorithm:
        stored = base64.b64encode(bytes.fromhex(stored)).decode("ascii")
    encoded = f"{algorithm}${stored}"
    return encoded if len(encoded) <= DJANGO_PASSWORD_LENGTH else None


class _ZnunyHasher(BasePasswordHasher):
    """Verifies one Znuny format; makes no new hashes of it (Argon2 does that)."""

    def _stored(self, encoded: str) -> str:
        algorithm, _sep, stored = encoded.partition("$")
        if algorithm != self.algorithm:
            raise ValueError(f"not a {self.algorithm} hash")
        return stored

    def compute(self, password: str, stored: str) -> str:
        raise NotImplementedError

    def verify(self, password: str, encoded: str) -> bool:
        stored = self._stored(encoded)
        try:
            computed = self.compute(password, stored)
        except (ValueError, TypeError, ImportError):
            return False
        return hmac.compare_digest(
            computed.encode("utf-8", "surrogateescape"),
            stored.encode("utf-8", "surrogateescape"),
        )

    def encode(self, password: str, salt: str) -> str:
        raise NotImplementedError(
            f"{self.algorithm} only verifies passwords imported from Znuny"
        )

    def decode(self, encoded: str) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "hash": self._stored(encoded), "salt": ""}

    def safe_summary(self, encoded: str) -> dict[Any, Any]:
        return {
            _("algorithm"): self.algorithm,
            _("hash"): mask_hash(self._stored(encoded)),
        }

    def must_update(self, encoded: str) -> bool:
        return True

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass


class _HexDigestHasher(_ZnunyHasher):
    digest = "sha256"

    def compute(self, password: str, stored: str) -> str:
        digest = hashlib.new(self.digest, password.encode("utf-8")).hexdigest()
        # Znuny compares as stored; hexdigest is lower case, and so is what it wrote.
        return digest if stored == stored.lower() else digest.upper()

    def encode(self, password: str, salt: str) -> str:
        return f"{self.algorithm}${hashlib.new(self.digest, password.encode()).hexdigest()}"

    def salt(self) -> str:
        return ""


class ZnunySHA256Hasher(_HexDigestHasher):
    """Znuny's default (``sha2``): unsalted SHA-256 in hex."""

    algorithm = "znuny_sha256"
    digest = "sha256"


class ZnunySHA512Hasher(_HexDigestHasher):
    """SHA-512, its digest kept in base64 (the hex form is longer than Django's
    password column)."""

    algorithm = "znuny_sha512"
    digest = "sha512"

    def compute(self, password: str, stored: str) -> str:
        return base64.b64encode(
            hashlib.sha512(password.encode("utf-8")).digest()
        ).decode("ascii")

    def encode(self, password: str, salt: str) -> str:
        return f"{self.algorithm}${self.compute(password, '')}"


class ZnunySHA1Hasher(_HexDigestHasher):
    algorithm = "znuny_sha1"
    digest = "sha1"


class ZnunyMD5CryptHasher(_ZnunyHasher):
    """``$1$salt$hash`` (unix MD5-crypt) and ``$apr1$salt$hash`` (Apache's)."""

    algorithm = "znuny_md5_crypt"

    def compute(self, password: str, stored: str) -> str:
        magic, _sep, rest = stored[1:].partition("$")
        salt = rest.split("$", 1)[0]
        return md5_crypt(password.encode("utf-8"), salt.encode("utf-8"), f"${magic}$")


class ZnunyBcryptHasher(_ZnunyHasher):
    """``BCRYPT:cost:salt:hash``: bcrypt ($2a$) with a 16-character salt taken as its
    16 bytes, the hash (23 bytes) in bcrypt's base64 (Crypt::Eksblowfish::Bcrypt)."""

    algorithm = "znuny_bcrypt"

    def compute(self, password: str, stored: str) -> str:
        import bcrypt

        match = BCRYPT_RE.match(stored)
        if match is None:
            raise ValueError("not a Znuny bcrypt hash")
        cost, salt = int(match.group(1)), match.group(2).encode("utf-8")
        if len(salt) != 16:
            raise ValueError("bcrypt salt must be 16 bytes")
        salt22 = bcrypt_b64(salt)[:22]
        # Eksblowfish takes at most 72 octets (with the trailing NUL): as bcrypt does.
        key = password.encode("utf-8")[:72]
        setting = f"$2a${cost:02d}${salt22}".encode("ascii")
        digest = bcrypt.hashpw(key, setting).decode("ascii")[-31:]
        return f"BCRYPT:{match.group(1)}:{match.group(2)}:{digest}"


class ZnunyCryptHasher(_ZnunyHasher):
    """13 characters: traditional DES crypt, salt = its first two characters."""

    algorithm = "znuny_crypt"

    def compute(self, password: str, stored: str) -> str:
        salt = stored if re.match(r"\$\d\$", stored) else stored[:2]
        return des_crypt(password, salt)


def bcrypt_b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii").rstrip("=").translate(_TO_BCRYPT)


def md5_crypt(password: bytes, salt: bytes, magic: str = "$1$") -> str:
    """Poul-Henning Kamp's MD5-crypt (``$1$``; Apache's ``$apr1$`` differs only in
    the magic string); the salt is cut to 8 bytes as the algorithm does."""
    salt = salt[:8]
    magic_b = magic.encode("ascii")
    alternate = hashlib.md5(password + salt + password).digest()  # noqa: S324
    ctx = hashlib.md5(password + magic_b + salt)  # noqa: S324
    for i in range(len(password), 0, -16):
        ctx.update(alternate[: min(16, i)])
    i = len(password)
    while i:
        ctx.update(b"\x00" if i & 1 else password[:1])
        i >>= 1
    final = ctx.digest()
    for i in range(1000):
        step = hashlib.md5(password if i & 1 else final)  # noqa: S324
        if i % 3:
            step.update(salt)
        if i % 7:
            step.update(password)
        step.update(final if i & 1 else password)
        final = step.digest()
    out = []
    for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)):
        value = (final[a] << 16) | (final[b] << 8) | final[c]
        out.append(_crypt64(value, 4))
    out.append(_crypt64(final[11], 2))
    return magic + salt.decode("utf-8", "surrogateescape") + "$" + "".join(out)


def _crypt64(value: int, n: int) -> str:
    chars = []
    for _i in range(n):
        chars.append(CRYPT_ALPHABET[value & 0x3F])
        value >>= 6
    return "".join(chars)


def des_crypt(password: str, salt: str) -> str:
    """The C library's ``crypt(3)`` (traditional DES for a two-character salt)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt as crypt_module  # Python <= 3.12
        except ImportError:  # pragma: no cover - Python 3.13 dropped it
            import legacycrypt as crypt_module  # type: ignore[no-redef]
    result = crypt_module.crypt(password, salt)
    if not result:
        raise ValueError("crypt(3) refused the salt")
    return str(result)
