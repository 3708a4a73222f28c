"""Agents' passwords keep working: for each format Znuny can store
(``AuthModule::DB::CryptType``), Znuny's own API sets a password on a copy of the
database and Znuny's own ``Auth`` accepts it; after the import the agent logs in
through Helpline's real login path (``authenticate``) with that password, and the
stored hash becomes Argon2."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User

from helpline.importers.znuny import hashers, org, runner
from helpline.importers.znuny.source import Source
from tests.znuny import sources

# Znuny's CryptType -> the Helpline hasher that must verify what it stores.
TYPES = {
    "sha2": "znuny_sha256",
    "sha1": "znuny_sha1",
    "sha512": "znuny_sha512",
    "md5": "znuny_md5_crypt",
    "apr1": "znuny_md5_crypt",
    "crypt": "znuny_crypt",
    "bcrypt": "znuny_bcrypt",
}
PASSWORD = "Grüße aus Zürich, 7 Tage!"

SET_PASSWORDS = r"""
my $UserObject = $Kernel::OM->Get('Kernel::System::User');
my $ConfigObject = $Kernel::OM->Get('Kernel::Config');
for my $Line (split /\n/, <<'END') {
%(lines)s
END
    my ($Type, $Login, $Pw) = split /\t/, $Line;
    if (!$UserObject->UserLookup(UserLogin => $Login, Silent => 1)) {
        $UserObject->UserAdd(
            UserFirstname => 'Test', UserLastname => $Type, UserLogin => $Login,
            UserEmail => "$Login\@helpdesk.example.com", ValidID => 1, ChangeUserID => 1,
        ) or die "UserAdd $Login";
    }
    $ConfigObject->Set(Key => 'AuthModule::DB::CryptType', Value => $Type);
    $ConfigObject->Set(Key => 'AuthModule::DB::bcryptCost', Value => 9);
    $UserObject->SetPassword(UserLogin => $Login, PW => $Pw) or die "SetPassword $Login";
    my $Ok = $Kernel::OM->Get('Kernel::System::Auth')->Auth(User => $Login, Pw => $Pw);
    my $Bad = $Kernel::OM->Get('Kernel::System::Auth')->Auth(User => $Login, Pw => "x$Pw");
    my %%User = $UserObject->GetUserData(User => $Login);
    print join("\t", $Login, ($Ok // ''), ($Bad // ''), $User{UserPw}), "\n";
}
"""


def set_passwords(src: sources.ZnunySource, rows: list[tuple[str, str, str]]) -> dict:
    """Znuny's SetPassword for (crypt type, login, password); Znuny's Auth checked."""
    lines = "\n".join("\t".join(row) for row in rows)
    out = sources.perl(src, SET_PASSWORDS % {"lines": lines})
    stored = {}
    for line in out.splitlines():
        login, ok, bad, pw = line.split("\t")
        assert ok == login, f"Znuny's own Auth refused {login}"
        assert bad == "", f"Znuny's own Auth took a wrong password for {login}"
        stored[login] = pw
    assert len(stored) == len(rows)
    return stored


def import_org(url: str):
    source = Source(url)
    try:
        return runner.run(source, only=[name for name, _fn in org.PHASES])[0]
    finally:
        source.close()


@pytest.mark.django_db
def test_passwords_set_by_znuny_log_in_and_become_argon2(znuny_copy, settings):
    # The console's own command (the default type, sha2) ...
    sources.console(znuny_copy, "Admin::User::SetPassword", "alice", "alice-Secret-1")
    # ... and every other format through Znuny's API.
    rows = [(t, f"pw_{t}", f"{PASSWORD} {t}") for t in TYPES]
    stored = set_passwords(znuny_copy, rows)
    for crypt_type, login, _pw in rows:
        assert hashers.algorithm_for(stored[login]) == TYPES[crypt_type], crypt_type
    assert stored["pw_bcrypt"].startswith("BCRYPT:9:")
    assert stored["pw_apr1"].startswith("$apr1$")
    assert stored["pw_md5"].startswith("$1$")
    assert len(stored["pw_crypt"]) == 13

    report = import_org(znuny_copy.url)
    assert report["password"].problems == 0

    for crypt_type, login, password in [
        *rows,
        ("sha2", "alice", "alice-Secret-1"),
    ]:
        user = User.objects.get(username=login)
        assert user.password.startswith(TYPES[crypt_type] + "$"), login
        assert len(user.password) <= 128, login  # Django's column (PostgreSQL cuts)
        assert authenticate(username=login, password="wrong " + password) is None
        assert authenticate(username=login, password=password) == user, login
        user.refresh_from_db()
        assert user.password.startswith("argon2$"), login
        assert authenticate(username=login, password=password) == user

    # A second import keeps the Argon2 hashes: the Znuny values did not change.
    report = import_org(znuny_copy.url)
    assert report["password"].imported == report["password"].updated == 0
    assert User.objects.get(username="alice").password.startswith("argon2$")

    # A password changed in Znuny afterwards comes across again.
    set_passwords(znuny_copy, [("sha512", "alice", "a new one, 2")])
    report = import_org(znuny_copy.url)
    assert report["password"].updated == 1
    assert authenticate(username="alice", password="alice-Secret-1") is None
    assert authenticate(username="alice", password="a new one, 2") is not None


@pytest.mark.django_db
def test_plain_text_passwords_are_hashed_with_argon2_at_import(znuny_copy):
    # CryptType "plain" as a site sets it in Kernel/Config.pm (not in the database).
    stored = set_passwords(znuny_copy, [("plain", "pw_plain", PASSWORD)])
    assert stored["pw_plain"] == PASSWORD  # what Znuny keeps with "plain"

    report = import_org(znuny_copy.url)
    assert report["password"].reasons["plain-text password hashed with Argon2"] == 1
    user = User.objects.get(username="pw_plain")
    assert user.password.startswith("argon2$")
    assert PASSWORD not in user.password
    assert authenticate(username="pw_plain", password=PASSWORD) == user


@pytest.mark.django_db
def test_the_system_agent_cannot_log_in(znuny_db):
    import_org(znuny_db.url)
    system = User.objects.get(username="root@localhost")
    assert not system.has_usable_password()
    assert authenticate(username="root@localhost", password="root") is None
    assert hashers.django_password("a plain-text password") is None
    assert hashers.django_password("") is None


@pytest.mark.django_db
def test_an_account_helpline_had_keeps_its_password(znuny_db):
    User.objects.create_user("bob", password="Helpline's own, 1")
    report = import_org(znuny_db.url)
    assert authenticate(username="bob", password="Helpline's own, 1") is not None
    assert (
        report["password"].reasons[
            "a Helpline account of that login: its password kept"
        ]
        == 1
    )
    bob = User.objects.get(username="bob")
    assert bob.first_name == "Bob"  # the rest is Znuny's
    import_org(znuny_db.url)
    assert authenticate(username="bob", password="Helpline's own, 1") is not None
