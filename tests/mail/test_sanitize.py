"""sanitize_html: safe HTML for display, with nh3 and an allow-list."""

from __future__ import annotations

import re

from helpline.mail.sanitize import sanitize_html


def test_scripts_and_their_content_are_removed() -> None:
    out = sanitize_html(
        "<p>a</p><script>alert(1)</script><svg><script>x()</script></svg>"
    )
    assert out == "<p>a</p>"


def test_event_handlers_are_removed() -> None:
    out = sanitize_html('<p onclick="x()" onmouseover=y()>a</p><body onload=z()>b')
    assert "on" not in re.sub(r">[^<]*<", "><", out).replace("<p>", "")
    assert "x()" not in out and "y()" not in out and "z()" not in out


def test_javascript_and_data_links_lose_their_href() -> None:
    out = sanitize_html(
        '<a href="javascript:alert(1)">a</a><a href=" JaVaScRiPt:alert(1)">b</a>'
        '<a href="data:text/html;base64,PHNjcmlwdD4=">c</a>'
    )
    assert "href" not in out
    assert "javascript" not in out.lower() and "data:" not in out


def test_links_keep_http_urls_and_get_rel_noopener_noreferrer_nofollow() -> None:
    out = sanitize_html('<a href="https://example.org/x" target="_self">x</a>')
    assert 'href="https://example.org/x"' in out
    assert 'rel="noopener noreferrer nofollow"' in out
    assert "target" not in out


def test_remote_images_lose_src_but_cid_and_data_images_keep_it() -> None:
    out = sanitize_html(
        '<img src="https://tracker.example/p.gif" width="1">'
        '<img src="cid:logo@x"><img src="data:image/png;base64,AAAA">'
        '<img src="data:text/html,x"><img srcset="https://x/1.png 1x" src="cid:y">'
    )
    assert "tracker" not in out and "text/html" not in out and "srcset" not in out
    assert out.count("<img") == 5
    assert 'src="cid:logo@x"' in out
    assert 'src="data:image/png;base64,AAAA"' in out
    assert 'src="cid:y"' in out


def test_no_remote_content_through_styles_or_other_tags() -> None:
    out = sanitize_html(
        '<p style="color:red;background:url(https://x/bg.png)">a</p>'
        '<div style="background-image: url(https://x/i.png)">b</div>'
        '<table background="https://x/t.png"><tr><td>c</td></tr></table>'
        '<link rel=stylesheet href="https://x/s.css"><style>@import "https://x"</style>'
        '<iframe src="https://x"></iframe><object data="https://x"></object>'
        '<meta http-equiv="refresh" content="0;url=https://x"><base href="https://x/">'
        "<video poster=https://x/p.png></video><form action=https://x><input></form>"
    )
    assert "https://x" not in out
    assert 'style="color:red"' in out
    for tag in ("<link", "<style", "<iframe", "<object", "<meta", "<base", "<form"):
        assert tag not in out


def test_formatting_and_tables_are_kept() -> None:
    html = (
        '<h1>T</h1><p align="center"><b>b</b> <i>i</i> <u>u</u></p>'
        '<table border="1"><tr><td colspan="2">c</td></tr></table><ul><li>l</li></ul>'
    )
    assert sanitize_html(html) == (
        '<h1>T</h1><p align="center"><b>b</b> <i>i</i> <u>u</u></p>'
        '<table border="1"><tbody><tr><td colspan="2">c</td></tr></tbody></table>'
        "<ul><li>l</li></ul>"
    )


def test_classes_ids_and_comments_are_dropped() -> None:
    out = sanitize_html('<div class="btn hidden" id="login"><!-- x -->a</div>')
    assert out == "<div>a</div>"


def test_empty_input_gives_empty_output() -> None:
    assert sanitize_html("") == ""
