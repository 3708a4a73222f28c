"""The ticket zoom and what it hands out: articles, HTML parts, attachments, sources."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpline.actions import admin, merge, tickets
from helpline.actions.articles import NewArticle, NewAttachment, add_article, add_note
from helpline.models import AgentProfile, ArticleChannel, HistoryType
from tests.web import build_world, email_ticket, web_settings


@pytest.fixture(autouse=True)
def _web(settings):
    web_settings(settings)


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def alice_client(client, world):
    client.force_login(world.alice)
    return client


def zoom(client, ticket):
    response = client.get(reverse("zoom", args=[ticket.number]))
    assert response.status_code == 200
    return response


def test_zoom_shows_the_header_and_the_article(alice_client, world):
    response = zoom(alice_client, world.ticket)
    html = response.content.decode()
    assert world.ticket.number in html
    assert "Question about an article" in html
    assert "customer@example.net" in html
    assert "Hello, I have a question." in html
    assert "report.pdf" in html
    assert "Info" in html


def test_plain_bodies_are_escaped(alice_client, world):
    ticket = email_ticket(world.info, body="<script>alert(1)</script><b>bold</b>")
    html = zoom(alice_client, ticket).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_article_order_follows_the_agents_preference(alice_client, world):
    add_note(world.alice, world.ticket.pk, "Second, a note")
    articles = zoom(alice_client, world.ticket).context["articles"]
    assert articles[0].body_text == "Second, a note"
    AgentProfile.objects.filter(user=world.alice).update(article_order="oldest")
    articles = zoom(alice_client, world.ticket).context["articles"]
    assert articles[0].body_text == "Hello, I have a question."


def test_html_is_only_shown_in_a_sandboxed_frame_without_scripts(alice_client, world):
    ticket = email_ticket(world.info, html="<p>Rich <b>text</b></p>")
    html = zoom(alice_client, ticket).content.decode()
    assert "<p>Rich <b>text</b></p>" not in html
    article = ticket.articles.get()
    frame_url = reverse("article-html", args=[ticket.number, article.pk])
    assert f'src="{frame_url}"' in html
    tag = html[html.index("<iframe") : html.index("</iframe>")]
    assert "sandbox=" in tag
    assert "allow-scripts" not in tag
    assert "allow-same-origin" not in tag


def test_the_html_part_has_its_own_strict_policy(alice_client, world):
    ticket = email_ticket(
        world.info,
        html=(
            '<p onclick="x()">Hi</p><script>alert(1)</script>'
            '<img src="http://127.0.0.2:9/x.png"><a href="javascript:alert(2)">l</a>'
        ),
    )
    article = ticket.articles.get()
    response = alice_client.get(
        reverse("article-html", args=[ticket.number, article.pk])
    )
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "img-src 'self' data:;" in csp
    assert "script-src" not in csp
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    body = response.content.decode()
    assert "Hi" in body
    for bad in ("<script", "onclick", "127.0.0.2", "javascript:"):
        assert bad not in body


def test_attachments_are_downloads_with_safe_headers(alice_client, world):
    item = world.ticket.articles.get().attachments.get()
    response = alice_client.get(
        reverse("attachment", args=[world.ticket.number, item.pk])
    )
    assert response.status_code == 200
    assert response.content == b"%PDF-1.4 test"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_unicode_and_dangerous_attachment_names_and_types(alice_client, world):
    ticket = email_ticket(
        world.info,
        attachments=[
            NewAttachment('../../Grüße "x".html', "text/html", b"<script>x</script>"),
        ],
    )
    item = ticket.articles.get().attachments.get()
    response = alice_client.get(reverse("attachment", args=[ticket.number, item.pk]))
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Gru_e _x_.html"')
    assert "filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%22x%22.html" in disposition
    assert "/" not in disposition.split("filename*=")[0]
    # Active content is never sent with a type a browser would render.
    assert response["Content-Type"] == "application/octet-stream"


def test_an_attachment_of_another_ticket_is_not_served(alice_client, world):
    hidden = world.hidden.articles.get().attachments.get()
    response = alice_client.get(
        reverse("attachment", args=[world.ticket.number, hidden.pk])
    )
    assert response.status_code == 404
    assert b"TOP SECRET" not in response.content


def test_the_raw_source_is_a_plain_text_download(alice_client, world):
    article = world.ticket.articles.get()
    response = alice_client.get(
        reverse("article-raw", args=[world.ticket.number, article.pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response.content.startswith(b"From: customer@example.net")


def test_history_links_and_merges_are_shown(alice_client, world):
    other = email_ticket(world.info, title="Other ticket")
    merge.link_tickets(world.alice, world.ticket.pk, other.pk)
    duplicate = email_ticket(world.info, title="A duplicate")
    merge.merge_tickets(world.alice, duplicate.pk, world.ticket.pk)
    response = zoom(alice_client, world.ticket)
    html = response.content.decode()
    assert other.number in html
    assert "A duplicate" in html
    types = {row.entry.type for row in response.context["history"]}
    assert {HistoryType.CREATED, HistoryType.MERGED, HistoryType.LINK_ADDED} <= types
    merged = zoom(alice_client, duplicate)
    assert merged.context["merged_into"].number == world.ticket.number


def test_links_never_reveal_a_ticket_the_agent_may_not_see(alice_client, world):
    # Linked by someone who may see both (a lead with access to both queues).
    admin.grant(world.secret.group, ["ro"], agent=world.bob)
    merge.link_tickets(world.bob, world.ticket.pk, world.hidden.pk)
    html = zoom(alice_client, world.ticket).content.decode()
    assert world.hidden.number not in html
    assert "Secret matter" not in html


def test_the_zoom_of_a_hidden_ticket_is_not_found(alice_client, world):
    response = alice_client.get(reverse("zoom", args=[world.hidden.number]))
    assert response.status_code == 404
    assert b"Secret matter" not in response.content


def test_zoom_costs_the_same_queries_for_2_and_30_articles(
    alice_client, world, django_assert_num_queries
):
    url = reverse("zoom", args=[world.ticket.number])
    add_note(world.alice, world.ticket.pk, "one more")
    # One link from the start: linked tickets cost one query, however many (below).
    merge.link_tickets(world.alice, world.ticket.pk, email_ticket(world.info).pk)
    alice_client.get(url)  # the first visit records the agent's presence
    with CaptureQueriesContext(connection) as few:
        assert alice_client.get(url).status_code == 200
    for i in range(28):
        if i % 2:
            add_note(world.alice, world.ticket.pk, f"note {i}")
        else:
            email = email_ticket(
                world.info,
                title=f"dup {i}",
                attachments=[NewAttachment(f"f{i}.txt", "text/plain", b"x")],
            )
            tickets.set_priority(world.alice, email.pk, 4)
            merge.merge_tickets(world.alice, email.pk, world.ticket.pk)
    # Merges add "merged here" rows and history, but not queries.
    with django_assert_num_queries(len(few)):
        assert alice_client.get(url).status_code == 200


def notes(world, count, *, start=0):
    return [
        add_note(world.alice, world.ticket.pk, f"Body of note {k}").pk
        for k in range(start, start + count)
    ]


def test_the_newest_articles_are_shown_in_full_and_older_ones_collapsed(
    alice_client, world, settings
):
    settings.HELPLINE_ZOOM_ARTICLES = 3
    first = world.ticket.articles.get().pk
    ids = notes(world, 7)
    response = zoom(alice_client, world.ticket)
    html = response.content.decode()
    assert [a.pk for a in response.context["articles"]] == ids[::-1][:3]
    for k in (4, 5, 6):
        assert f"Body of note {k}" in html
    for k in (0, 1, 2, 3):
        assert f"Body of note {k}" not in html
        assert (
            f'<details class="article collapsed ch-internal" id="article-{ids[k]}">'
            in html
        )
        partial = reverse("article", args=[world.ticket.number, ids[k]])
        assert f'hx-get="{partial}"' in html
    assert "Hello, I have a question." not in html  # the first, collapsed too
    assert f'id="article-{first}"' in html
    # Without JavaScript: a link to the zoom with every article, at the one wanted.
    everything = reverse("zoom", args=[world.ticket.number]) + "?all=1"
    assert f'href="{everything}#article-{ids[0]}"' in html
    html = alice_client.get(everything).content.decode()
    assert "collapsed" not in html
    for k in range(7):
        assert f"Body of note {k}" in html
    assert "Hello, I have a question." in html


def test_oldest_first_puts_the_collapsed_articles_first(alice_client, world, settings):
    settings.HELPLINE_ZOOM_ARTICLES = 2
    ids = notes(world, 4)
    AgentProfile.objects.filter(user=world.alice).update(article_order="oldest")
    response = zoom(alice_client, world.ticket)
    html = response.content.decode()
    assert [a.pk for a in response.context["articles"]] == ids[2:]
    positions = [html.index(f'id="article-{pk}"') for pk in ids]
    assert positions == sorted(positions)
    assert html.index("collapsed") < html.index("Body of note 2")


def test_a_collapsed_article_loads_in_full_on_demand(alice_client, world, settings):
    settings.HELPLINE_ZOOM_ARTICLES = 1
    ids = notes(world, 2)
    url = reverse("article", args=[world.ticket.number, ids[0]])
    response = alice_client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<article class="article')
    assert "Body of note 0" in html
    assert reverse("split", args=[world.ticket.number, ids[0]]) in html
    assert "<html" not in html
    # Asked for directly (no JavaScript): the zoom with every article, at this one.
    response = alice_client.get(url)
    assert response.status_code == 302
    assert response["Location"].endswith(f"?all=1#article-{ids[0]}")


def test_the_article_partial_refuses_what_the_agent_may_not_see(client, world):
    client.force_login(world.eve)
    article = world.ticket.articles.get()
    url = reverse("article", args=[world.ticket.number, article.pk])
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert b"Hello, I have a question." not in response.content
    # An article of another ticket, asked for through a ticket the agent may see.
    client.force_login(world.alice)
    other = world.hidden.articles.get()
    url = reverse("article", args=[world.ticket.number, other.pk])
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert b"TOP SECRET" not in response.content


def test_the_history_shows_the_newest_entries_and_links_to_all(
    alice_client, world, settings
):
    settings.HELPLINE_ZOOM_ARTICLES = 1
    notes(world, 40)
    entries = world.ticket.history.count()
    assert entries > 40
    response = zoom(alice_client, world.ticket)
    assert len(response.context["history"]) == 30
    everything = reverse("zoom", args=[world.ticket.number]) + "?all=1"
    assert f'<a href="{everything}">' in response.content.decode()
    response = alice_client.get(everything)
    assert len(response.context["history"]) == entries


def test_zoom_of_400_articles_costs_the_queries_of_2(
    alice_client, world, django_assert_num_queries
):
    """400 articles, 40 of them mails with an inline image: the same queries."""
    url = reverse("zoom", args=[world.ticket.number])
    add_note(world.alice, world.ticket.pk, "one more")
    alice_client.get(url)  # the first visit records the agent's presence
    with CaptureQueriesContext(connection) as few:
        assert alice_client.get(url).status_code == 200
    for k in range(398):
        if k % 10:
            add_note(world.alice, world.ticket.pk, f"note {k}")
        else:
            image = NewAttachment(
                "i.png", "image/png", b"\x89PNG", content_id=f"i{k}@x", inline=True
            )
            add_article(
                world.alice,
                world.ticket.pk,
                NewArticle(
                    channel=ArticleChannel.EMAIL,
                    body_text=f"mail {k}",
                    body_html=f'<p>mail {k}</p><img src="cid:i{k}@x">',
                    to_addr="customer@example.net",
                    attachments=[image],
                ),
            )
    assert world.ticket.articles.count() == 400
    with django_assert_num_queries(len(few)):
        response = alice_client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count('class="article collapsed') == 380
