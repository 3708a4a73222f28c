"""Templates in several languages: the reply uses the translation in the language the
customer wrote in (detected offline, overridable), the template itself otherwise."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpline.models import Template
from helpline.responses import replies
from helpline.responses.language import detect_language, in_language, own_words
from tests.web import build_world, email_ticket, web_settings

GERMAN = (
    "Guten Tag, ich habe das Foto des Rathauses selbst aufgenommen und möchte es "
    "unter einer freien Lizenz veröffentlichen. Was muss ich dafür tun?"
)
ENGLISH_QUOTE = "> " + "I am writing to you about the photo of the town hall. " * 8


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (GERMAN, "de"),
        ("Hello, I took the photo of the town hall myself. May I license it?", "en"),
        (
            "Bonjour, j'ai pris cette photo moi-même. Puis-je la publier librement ?",
            "fr",
        ),
        ("Hola, tomé la foto del ayuntamiento yo mismo. ¿Puedo publicarla?", "es"),
        ("您好，这张照片是我自己拍的，我想用自由许可证发布它。", "zh"),
        ("Здравствуйте, я сам сделал эту фотографию и хочу её опубликовать.", "ru"),
        ("مرحبا، لقد التقطت هذه الصورة بنفسي وأريد نشرها بترخيص حر.", "ar"),
        # Too little to tell, and nothing at all.
        ("OK", ""),
        ("", ""),
        ("12345 !!! ???", ""),
        # The customer's words count, not the quoted mail below them.
        (GERMAN + "\n\n" + ENGLISH_QUOTE, "de"),
        # Nor a signature.
        (
            "Merci beaucoup pour votre aide rapide !\n-- \n"
            + "Sent from my phone " * 9,
            "fr",
        ),
    ],
)
def test_the_language_the_customer_wrote_in(text, language):
    assert detect_language(text) == language


def test_own_words_leave_quotes_and_signature_out():
    text = "Mine here.\r\n> quoted\r\n  > also quoted\r\nmore\r\n-- \r\nsig"
    assert own_words(text) == "Mine here. more"


@pytest.fixture
def world(db, settings):
    web_settings(settings)
    world = build_world()
    thanks = Template.objects.create(name="thanks", type="answer", text="Thank you.")
    thanks.queues.add(world.info)
    Template.objects.create(
        name="thanks (de)",
        type="answer",
        text="Vielen Dank.",
        language="de",
        translation_of=thanks,
    )
    Template.objects.create(
        name="thanks (pt-BR)",
        type="answer",
        text="Obrigado.",
        language="pt-BR",
        translation_of=thanks,
    )
    Template.objects.create(
        name="thanks (fr, off)",
        type="answer",
        text="Merci.",
        language="fr",
        translation_of=thanks,
        valid=False,
    )
    world.german = email_ticket(world.info, title="Rathaus", body=GERMAN)
    return world


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("de", "Vielen Dank."),
        ("de-AT", "Vielen Dank."),  # the same primary language
        ("pt-BR", "Obrigado."),
        ("pt", "Obrigado."),
        ("fr", "Thank you."),  # only an invalid translation: the template itself
        ("ja", "Thank you."),
        ("", "Thank you."),
    ],
)
def test_a_template_in_a_language(world, language, text):
    thanks = Template.objects.get(name="thanks")
    assert in_language(thanks, language).text == text


def test_translations_are_not_offered_but_found_through_their_template(world):
    offered = replies.offered_templates(world.info, ("answer",))
    assert [t.name for t in offered] == ["thanks"]
    assert replies.get_template("thanks (de)", world.info, types=("answer",))
    # Not through another queue.
    assert replies.find_template(world.secret, ("answer",), name="thanks (de)") is None
    assert replies.template_languages(world.info, ("answer",)) == ["de", "pt-BR"]


def test_a_reply_uses_the_translation_in_the_customers_language(world):
    article = replies.reply(world.alice, world.german.pk, template="thanks")
    assert article.body_text.startswith("Vielen Dank.\n")
    # Overridden: the template itself.
    article = replies.reply(
        world.alice, world.german.pk, template="thanks", language="en"
    )
    assert article.body_text.startswith("Thank you.\n")
    # An English mail gets the template itself.
    article = replies.reply(world.alice, world.ticket.pk, template="thanks")
    assert article.body_text.startswith("Thank you.\n")


def test_the_reply_form_offers_the_languages_and_names_the_detected_one(world, client):
    client.force_login(world.alice)
    url = reverse("reply", args=[world.german.number])
    thanks = Template.objects.get(name="thanks")
    page = client.get(url, {"template": thanks.pk})
    assert page.context["form"].initial["body"].startswith("Vielen Dank.")
    assert page.context["languages"] == [
        ("de", "German"),
        ("pt-BR", "Brazilian Portuguese"),
    ]
    assert "the customer's language (German)" in page.content.decode()
    # The hidden field names the translation used: its attachments go with the reply.
    de = Template.objects.get(name="thanks (de)")
    assert page.context["template"] == de
    english = client.get(url, {"template": thanks.pk, "lang": "en"})
    assert english.context["form"].initial["body"].startswith("Thank you.")


def test_the_template_endpoint_follows_the_language(world, client):
    client.force_login(world.alice)
    thanks = Template.objects.get(name="thanks")
    url = reverse("reply-template", args=[world.german.number])
    assert client.get(url, {"template": thanks.pk}).json()["text"] == "Vielen Dank."
    answer = client.get(url, {"template": thanks.pk, "lang": "pt"}).json()
    assert (answer["text"], answer["language"]) == ("Obrigado.", "pt-BR")
    # Anything but a language code is ignored: the detected language.
    answer = client.get(url, {"template": thanks.pk, "lang": "<script>"}).json()
    assert answer["text"] == "Vielen Dank."
