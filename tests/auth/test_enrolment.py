"""Setting up, regenerating and switching off the second factor (preferences)."""

from __future__ import annotations

from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpline.actions import twofactor
from helpline.models import AdminAuditEntry
from tests.auth import code_step, enrol, fresh_code, password_step
from tests.web import PASSWORD


def test_set_up_scan_confirm_and_see_ten_codes_once(client, world):
    client.force_login(world.alice)
    page = client.get(reverse("two-factor-setup"))
    assert page.status_code == 200
    assert b'src="data:image/svg+xml;base64,' in page.content
    assert b'alt="QR code of your two-factor secret"' in page.content
    device = TOTPDevice.objects.get(user=world.alice)
    assert not device.confirmed
    assert "otpauth://totp/Helpline%3Aalice?" in device.config_url
    # The secret for typing in, in groups of four.
    import base64

    secret = base64.b32encode(device.bin_key).decode()
    assert secret[:4] + " " + secret[4:8] in page.content.decode()

    wrong = client.post(reverse("two-factor-setup"), {"code": "12345"})
    assert b"That code is not right." in wrong.content
    assert not twofactor.has_two_factor(world.alice)

    done = client.post(reverse("two-factor-setup"), {"code": fresh_code(world.alice)})
    assert done["Location"] == reverse("two-factor-codes")
    assert twofactor.has_two_factor(world.alice)
    shown = client.get(reverse("two-factor-codes"))
    codes = StaticToken.objects.filter(device__user=world.alice)
    assert codes.count() == 10
    for token in codes:
        assert f"{token.token[:4]}-{token.token[4:]}".encode() in shown.content
    # Shown once.
    assert client.get(reverse("two-factor-codes"))["Location"] == reverse("two-factor")
    assert AdminAuditEntry.objects.filter(action="two-factor enabled").count() == 1
    # This session proved the code: it stays logged in.
    assert client.get(reverse("dashboard")).status_code == 200


def test_reloading_the_set_up_keeps_the_same_secret(client, world):
    client.force_login(world.alice)
    client.get(reverse("two-factor-setup"))
    first = TOTPDevice.objects.get(user=world.alice).key
    client.get(reverse("two-factor-setup"))
    assert TOTPDevice.objects.get(user=world.alice).key == first


def test_new_recovery_codes_need_password_and_code_and_replace_the_old(client, world):
    old = enrol(world.alice)
    password_step(client, "alice", PASSWORD)
    code_step(client, fresh_code(world.alice))
    url = reverse("two-factor-regenerate")
    refused = client.post(url, {"password": "wrong", "code": fresh_code(world.alice)})
    assert refused["Location"] == reverse("two-factor")
    assert set(
        StaticToken.objects.filter(device__user=world.alice).values_list(
            "token", flat=True
        )
    ) == set(old)
    response = client.post(url, {"password": PASSWORD, "code": fresh_code(world.alice)})
    assert response["Location"] == reverse("two-factor-codes")
    new = set(
        StaticToken.objects.filter(device__user=world.alice).values_list(
            "token", flat=True
        )
    )
    assert len(new) == 10 and not new & set(old)


def test_switching_off_needs_password_and_code(client, world):
    enrol(world.alice)
    password_step(client, "alice", PASSWORD)
    code_step(client, fresh_code(world.alice))
    url = reverse("two-factor-disable")
    client.post(url, {"password": PASSWORD, "code": "000001"})
    assert twofactor.has_two_factor(world.alice)
    client.post(url, {"password": PASSWORD, "code": fresh_code(world.alice)})
    assert not twofactor.has_two_factor(world.alice)
    assert not StaticToken.objects.filter(device__user=world.alice).exists()
    assert AdminAuditEntry.objects.filter(action="two-factor disabled").exists()


def test_the_overview_says_whether_it_is_on(client, world):
    client.force_login(world.alice)
    off = client.get(reverse("two-factor"))
    assert b"Two-factor authentication is off" in off.content
    assert (
        b'href="/preferences/two-factor/"' in client.get(reverse("preferences")).content
    )
    enrol(world.alice)
    # A session opened with the password alone, before the second factor existed,
    # ends at its next request.
    response = client.get(reverse("two-factor"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
