"""Rewriting the cid: images of sanitised e-mail HTML (helpline.web.cid_images)."""

from __future__ import annotations

from helpline.mail.sanitize import sanitize_html
from helpline.web.cid_images import content_id_of, rewrite_cid_images

SOURCES = {"logo@example.net": "/ticket/1/attachment/7/image/?t=a:b"}


def test_a_known_content_id_points_at_its_url_and_keeps_the_other_attributes():
    html = sanitize_html(
        '<p>Hi</p><img src="cid:logo@example.net" alt="Our &quot;logo&quot;" '
        'width="20"><p>Bye</p>'
    )
    assert rewrite_cid_images(html, SOURCES) == (
        '<p>Hi</p><img src="/ticket/1/attachment/7/image/?t=a:b" '
        'alt="Our &quot;logo&quot;" width="20"><p>Bye</p>'
    )


def test_an_unknown_content_id_drops_the_image():
    html = sanitize_html('<p>a<img src="cid:other@example.net" alt="x">b</p>')
    assert rewrite_cid_images(html, SOURCES) == "<p>ab</p>"


def test_embedded_images_stay_and_images_without_a_source_go():
    data = "data:image/png;base64,iVBORw0KGgo="
    html = sanitize_html(f'<img src="{data}"><img alt="remote" src="http://x/y.png">')
    assert rewrite_cid_images(html, SOURCES) == f'<img src="{data}">'


def test_unsanitised_remote_and_relative_sources_never_survive():
    """Even if HTML reached it unsanitised, only cid: and data:image/ are kept."""
    markup = (
        '<img src="https://tracker.example/p.gif">'
        '<img src="/ticket/1/attachment/7/">'
        '<img src="data:text/html,x">'
        '<IMG SRC="CID:logo@example.net">'
    )
    assert rewrite_cid_images(markup, SOURCES) == (
        '<img src="/ticket/1/attachment/7/image/?t=a:b">'
    )


def test_percent_encoded_and_bracketed_content_ids_are_found():
    assert content_id_of("cid:logo%40example.net") == "logo@example.net"
    assert content_id_of(" cid:<logo@example.net> ") == "logo@example.net"
    assert content_id_of("https://example.net/cid:x") is None
    html = sanitize_html('<img src="cid:logo%40example.net">')
    assert "attachment/7/image" in rewrite_cid_images(html, SOURCES)


def test_text_and_attributes_that_look_like_images_are_left_alone():
    html = sanitize_html(
        '<p title="&lt;img src=&quot;cid:logo@example.net&quot;&gt;">'
        "&lt;img src=cid:logo@example.net&gt;</p>\n<pre>line\nline</pre>"
        '\n<p>after</p><img src="cid:logo@example.net">'
    )
    rewritten = rewrite_cid_images(html, SOURCES)
    assert rewritten == html.replace(
        '<img src="cid:logo@example.net">',
        '<img src="/ticket/1/attachment/7/image/?t=a:b">',
    )
    assert rewritten.count("attachment/7") == 1


def test_urls_are_escaped_in_the_attribute():
    html = sanitize_html('<img src="cid:a@b">')
    rewritten = rewrite_cid_images(html, {"a@b": '/x?t=1&u="2"'})
    assert rewritten == '<img src="/x?t=1&amp;u=&quot;2&quot;">'


def test_html_without_images_is_returned_unchanged():
    html = sanitize_html("<p>Just <b>text</b></p>")
    assert rewrite_cid_images(html, SOURCES) is html
