"""Password hashing: Argon2id with parameters sized for a login, not for a key.

Django's ``Argon2PasswordHasher`` uses 100 MiB of memory and 8 lanes, which cost
about 200 ms of CPU a hash on a 2-core host (docs/configuration.md): 100 agents
starting a shift at once queue behind it.  ``HelplineArgon2PasswordHasher`` uses
OWASP's recommended minimum for Argon2id (Password Storage Cheat Sheet: 19 MiB,
2 iterations, 1 lane) by default, about 20 ms of CPU, and reads the parameters from
the settings ``HELPLINE_ARGON2_TIME_COST``, ``HELPLINE_ARGON2_MEMORY_KIB`` and
``HELPLINE_ARGON2_PARALLELISM``.

It keeps Django's algorithm name ``argon2``, so hashes made with other parameters
(Django's defaults, or an earlier setting) still verify; Django's ``must_update``
compares a stored hash's parameters with these, and ``check_password`` rehashes the
password with these on the next successful login.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class HelplineArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with the parameters of the settings (read at each use, so a test or
    an operator's change applies without a restart of the class)."""

    @property
    def time_cost(self) -> int:  # type: ignore[override]
        return int(settings.HELPLINE_ARGON2_TIME_COST)

    @property
    def memory_cost(self) -> int:  # type: ignore[override]
        return int(settings.HELPLINE_ARGON2_MEMORY_KIB)

    @property
    def parallelism(self) -> int:  # type: ignore[override]
        return int(settings.HELPLINE_ARGON2_PARALLELISM)
