"""html_to_text: HTML -> readable plain text."""

from __future__ import annotations

from helpline.mail.htmltext import html_to_text


def test_paragraphs_are_separated_by_blank_lines_and_br_breaks_lines() -> None:
    assert html_to_text("<p>one</p><p>two<br>three</p>") == "one\n\ntwo\nthree"


def test_block_elements_start_new_lines() -> None:
    assert html_to_text("<div>a<div>b</div>c</div><h2>Title</h2>d") == (
        "a\nb\nc\n\nTitle\n\nd"
    )


def test_whitespace_is_collapsed_and_entities_decoded() -> None:
    html = "<p>  many\n\n   spaces&nbsp;&amp; &lt;tags&gt; &#8364;5 &eacute;</p>"
    assert html_to_text(html) == "many spaces & <tags> €5 é"


def test_script_style_title_and_head_metadata_are_skipped() -> None:
    html = (
        "<html><head><title>T</title><meta charset=utf-8><style>p{}</style>"
        "<script>var x = '<p>no</p>';</script></head><body>shown</body></html>"
    )
    assert html_to_text(html) == "shown"


def test_unordered_ordered_and_nested_lists() -> None:
    html = (
        "<ul><li>a</li><li>b<ul><li>b1</li></ul></li></ul>"
        "<ol start='3'><li>three</li><li>four</li></ol>"
    )
    assert html_to_text(html) == "- a\n- b\n  - b1\n\n3. three\n4. four"


def test_links_show_their_url_when_it_differs_from_the_text() -> None:
    html = (
        '<a href="https://example.org/a">read</a> '
        '<a href="https://example.org/">https://example.org</a> '
        '<a href="mailto:x@example.org">x@example.org</a> '
        '<a href="javascript:void(0)">js</a>'
    )
    assert html_to_text(html) == (
        "read <https://example.org/a> https://example.org x@example.org js"
    )


def test_table_rows_are_lines_with_cells_joined_by_bars() -> None:
    html = (
        "<table><tr><th>Name</th><th>Qty</th></tr>"
        "<tr><td>Apple</td><td></td><td>3</td></tr></table>"
    )
    assert html_to_text(html) == "Name | Qty\nApple | 3"


def test_blockquote_lines_are_prefixed_and_nest() -> None:
    html = (
        "<p>reply</p><blockquote><p>q1</p><blockquote>q2</blockquote></blockquote>end"
    )
    assert html_to_text(html) == "reply\n\n> q1\n>\n> > q2\n\nend"


def test_pre_keeps_whitespace() -> None:
    assert html_to_text("<pre>  a\n    b</pre>x") == "  a\n    b\n\nx"


def test_broken_markup_never_raises() -> None:
    assert html_to_text("<![foo[ x ]]>text") == "text"
    assert html_to_text("</p></div>text<li>orphan") == "text\n- orphan"
    assert html_to_text("<a href='x'>unclosed") == "unclosed"
    assert html_to_text("") == ""
