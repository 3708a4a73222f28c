"""``helpline check`` on the single sign-on settings."""

from __future__ import annotations

from helpline.sso.checks import check_sso_issuer_https, check_sso_settings


def ids(messages) -> list[str]:
    return [m.id for m in messages]


def test_defaults_pass(settings):
    settings.HELPLINE_OIDC_ISSUER = ""
    settings.HELPLINE_PASSWORD_LOGIN = "on"
    assert check_sso_settings() == []
    assert check_sso_issuer_https() == []


def test_unknown_password_login_mode(settings):
    settings.HELPLINE_PASSWORD_LOGIN = "of"
    assert ids(check_sso_settings()) == ["helpline.E060"]


def test_issuer_without_client(settings):
    settings.HELPLINE_OIDC_ISSUER = "https://id.example.org"
    settings.HELPLINE_OIDC_CLIENT_ID = "helpline"
    settings.HELPLINE_OIDC_CLIENT_SECRET = ""
    assert ids(check_sso_settings()) == ["helpline.E061"]


def test_nobody_could_log_in(settings):
    settings.HELPLINE_OIDC_ISSUER = ""
    settings.HELPLINE_PASSWORD_LOGIN = "breakglass"
    settings.HELPLINE_BREAKGLASS_LOGINS = []
    assert ids(check_sso_settings()) == ["helpline.E062"]
    settings.HELPLINE_BREAKGLASS_LOGINS = ["root"]
    assert check_sso_settings() == []
    settings.HELPLINE_PASSWORD_LOGIN = "off"
    assert ids(check_sso_settings()) == ["helpline.E062"]
    settings.HELPLINE_OIDC_ISSUER = "https://id.example.org"
    settings.HELPLINE_OIDC_CLIENT_ID = "helpline"
    settings.HELPLINE_OIDC_CLIENT_SECRET = "s3cret"  # noqa: S105
    assert check_sso_settings() == []


def test_plain_http_issuer_warns_for_deploy(settings):
    settings.HELPLINE_OIDC_ISSUER = "http://id.example.org"
    assert ids(check_sso_issuer_https()) == ["helpline.W063"]
