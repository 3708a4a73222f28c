"""The catalogues: one per language of settings.LANGUAGES but English, each complete,
compiled and up to date with the source; and the German one used by the pages."""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import to_locale

import helpline
from helpline.models import AgentProfile
from tests.web import build_world, web_settings

LOCALE = Path(helpline.__file__).parent / "locale"
# Every language offered but English (the language of the source) has a catalogue.
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]


def catalogue(language: str) -> Path:
    """The directory of ``language``'s catalogue (Django's locale name: zh_Hans)."""
    return LOCALE / to_locale(language) / "LC_MESSAGES"


def entries(po: str):
    """(msgid, [msgstr...], flags) of every entry but the header."""
    for block in po.split("\n\n"):
        msgid = re.search(r'^msgid "(.*)"', block, re.M)
        if not msgid or not msgid.group(1):
            continue
        strs = re.findall(r'^msgstr(?:\[\d\])? "(.*)"', block, re.M)
        yield msgid.group(1), strs, block


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_has_a_translation(language):
    po = (catalogue(language) / "django.po").read_text(encoding="utf-8")
    found = list(entries(po))
    assert len(found) > 250
    for msgid, strs, block in found:
        assert all(strs), f"untranslated ({language}): {msgid}"
        assert "#, fuzzy" not in block, f"fuzzy ({language}): {msgid}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_is_up_to_date(tmp_path, language):
    directory = catalogue(language)
    compiled = tmp_path / "django.mo"
    subprocess.run(
        ["msgfmt", "--check", "-o", str(compiled), str(directory / "django.po")],
        check=True,
    )
    with compiled.open("rb") as fresh, (directory / "django.mo").open("rb") as shipped:
        expected = gettext.GNUTranslations(fresh)._catalog
        actual = gettext.GNUTranslations(shipped)._catalog
    assert actual == expected


def test_german_is_offered():
    assert ("de", "Deutsch") in settings.LANGUAGES
    with translation.override("de"):
        assert translation.gettext("Log out") == "Abmelden"
        assert translation.gettext("closed successful") == "erfolgreich geschlossen"


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


def test_the_zoom_in_german(client, db):
    world = build_world()
    AgentProfile.objects.filter(user=world.alice).update(language="de")
    client.force_login(world.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    html = client.get(reverse("zoom", args=[world.ticket.number])).content.decode()
    for german in ("Antworten", "Zusammenfassen", "Historie", "neu", "3 normal"):
        assert german in html
    assert ">Reply<" not in html


def test_the_queue_view_in_german(client, db):
    """The rows and the queue tree are Jinja2 fragments (helpline/web/jinja.py): they
    speak the agent's language too, and escape what the mail brought."""
    world = build_world()
    world.ticket.title = "<script>alert(1)</script> Gesperrt?"
    world.ticket.save(update_fields=["title"])
    AgentProfile.objects.filter(user=world.alice).update(language="de")
    client.force_login(world.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    html = client.get(reverse("queue", args=[world.ticket.queue_id])).content.decode()
    assert f"Ticket {world.ticket.number} auswählen" in html
    assert 'title="offen"' in html  # the tree's count of open tickets
    assert ">neu<" in html  # the state of the ticket in its row
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Gesperrt?" in html
    # The age's tooltip: the date as German writes it (d.m.Y H:i).
    local = timezone.localtime(world.ticket.created).strftime("%d.%m.%Y %H:%M")
    assert f'title="{local}"' in html


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_of_the_source_is_in_the_catalogue(tmp_path, language):
    """makemessages over a copy of the package finds no text the catalogue lacks: a
    new page, button or error message without its translation fails here (for each
    language offered)."""
    package = Path(helpline.__file__).parent
    copy = tmp_path / "helpline"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    django_admin = str(Path(sys.executable).parent / "django-admin")
    subprocess.run(
        [
            django_admin,
            "makemessages",
            "--locale",
            to_locale(language),
            "--no-obsolete",
            "--no-wrap",
        ],
        cwd=copy,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "helpline.settings",
            "HELPLINE_DATA_DIR": str(tmp_path / "data"),
        },
    )
    relative = catalogue(language).relative_to(LOCALE.parent) / "django.po"
    extracted = (copy / relative).read_text(encoding="utf-8")
    # A new message close to a known one comes back "fuzzy", with the known one's
    # translation guessed in: missing all the same.
    missing = [
        msgid
        for msgid, strs, block in entries(extracted)
        if not all(strs) or "#, fuzzy" in block
    ]
    assert missing == [], f"not in the {language} catalogue: {missing}"
