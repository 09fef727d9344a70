"""Post bodies as feeds carry them: absolute URLs, XML-safe text, and the summary."""

from __future__ import annotations

import unicodedata

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc.markup import clean_text, cut, render

POST = "https://blog.example.com/2024/02/03/post/"


def html(body: str, summary: str = "", length: int = 200) -> str:
    return render(body, "html", POST, summary, length).content_html


def test_relative_href_src_and_srcset_become_absolute_against_the_post() -> None:
    out = html(
        '<a href="/about/">a</a> <a href="next/">b</a> <img src="../pic.png">'
        '<img srcset="small.jpg 1x, /big.jpg 2x" src="https://cdn.example.net/x.jpg">'
        '<a href="#top">c</a> <a href="mailto:me@example.com">d</a>'
    )
    doc = lxml.html.fragment_fromstring(out, create_parent="div")
    assert [a.get("href") for a in doc.iter("a")] == [
        "https://blog.example.com/about/",
        "https://blog.example.com/2024/02/03/post/next/",
        "#top",
        "mailto:me@example.com",
    ]
    imgs = list(doc.iter("img"))
    assert imgs[0].get("src") == "https://blog.example.com/2024/02/03/pic.png"
    assert imgs[1].get("srcset") == (
        "https://blog.example.com/2024/02/03/post/small.jpg 1x, https://blog.example.com/big.jpg 2x"
    )
    assert imgs[1].get("src") == "https://cdn.example.net/x.jpg"


def test_markdown_links_and_images_are_made_absolute_too() -> None:
    out = render("See [the docs](/docs/).\n\n![d](img/d.png)\n", "markdown", POST, "", 200)
    assert 'href="https://blog.example.com/docs/"' in out.content_html
    assert 'src="https://blog.example.com/2024/02/03/post/img/d.png"' in out.content_html
    assert out.first_image == "https://blog.example.com/2024/02/03/post/img/d.png"


def test_markdown_may_mix_raw_html_as_hexo_posts_do() -> None:
    out = render(
        'Intro *em*\n\n<div class="note">raw <b>html</b></div>\n', "markdown", POST, "", 200
    )
    assert "<em>em</em>" in out.content_html
    assert '<div class="note">raw <b>html</b></div>' in out.content_html


@pytest.mark.parametrize("lazy", ["data-src", "data-original", "data-lazy-src"])
def test_lazy_load_image_source_is_promoted_over_a_placeholder(lazy: str) -> None:
    out = render(
        f'<img src="data:image/gif;base64,R0lGODlh" {lazy}="/real.jpg?w=770&amp;h=1">',
        "html",
        POST,
        "",
        200,
    )
    img = lxml.html.fragment_fromstring(out.content_html, create_parent="div").find("img")
    assert img is not None
    assert img.get("src") == "https://blog.example.com/real.jpg?w=770&h=1"
    assert out.first_image == "https://blog.example.com/real.jpg?w=770&h=1"


def test_a_real_image_source_is_not_replaced_by_data_src() -> None:
    out = html('<img src="/real.jpg" data-src="/other.jpg">')
    assert 'src="https://blog.example.com/real.jpg"' in out


def test_characters_xml_forbids_are_removed_but_tab_newline_and_cr_kept() -> None:
    assert clean_text("a\x00b\x01c\x0bd\x1fe\ufffef\ud800g\th\ni\rj") == "abcdef" + "g\th\ni\rj"
    out = html("<p>bell\x07 and nul\x00 and form feed\x0c</p>")
    assert out == "<p>bell and nul and form feed</p>"


def test_cdata_end_marker_in_a_body_is_plain_text() -> None:
    out = render("<p>Write ]]> in CDATA and it ends early.</p>", "html", POST, "", 200)
    assert "]]&gt;" in out.content_html
    assert out.summary_text == "Write ]]> in CDATA and it ends early."


def test_scripts_and_event_handlers_are_removed() -> None:
    out = html('<p onclick="steal()">hi</p><script>alert(1)</script>')
    assert "script" not in out and "onclick" not in out and "hi" in out


def test_summary_is_the_part_before_the_more_mark() -> None:
    out = render(
        "First *paragraph*.\n\n<!-- more -->\n\nSecond paragraph.\n",
        "markdown",
        POST,
        "an excerpt that loses to the more mark",
        200,
    )
    assert out.summary_html == "<p>First <em>paragraph</em>.</p>"
    assert out.summary_text == "First paragraph."
    assert "Second paragraph." in out.content_html


@pytest.mark.parametrize("mark", ["<!--more-->", "<!-- more -->", "<!--   MORE   -->"])
def test_more_mark_spacing_and_case_do_not_matter(mark: str) -> None:
    out = render(f"<p>Head.</p>{mark}<p>Tail.</p>", "html", POST, "", 200)
    assert out.summary_text == "Head."


def test_summary_falls_back_to_the_excerpt_or_description_field() -> None:
    out = render("<p>The whole body.</p>", "html", POST, "Given <summary> & text", 200)
    assert out.summary_text == "Given <summary> & text"
    assert out.summary_html == "Given &lt;summary&gt; &amp; text"


def test_summary_is_cut_from_the_text_at_about_200_characters_never_inside_a_tag() -> None:
    words = " ".join(f'<a href="/w{i}">word{i}</a>' for i in range(100))
    out = render(f"<p>{words}</p>", "html", POST, "", 200)
    assert out.summary_text.endswith("…")
    assert 150 <= len(out.summary_text) <= 201
    assert "<" not in out.summary_text and "href" not in out.summary_text
    assert out.summary_text.startswith("word0 word1 word2")
    assert " ".join(out.summary_text[:-1].split()[:-1]) in " ".join(
        f"word{i}" for i in range(100)
    ), "cut at a word boundary"
    parsed = lxml.html.fragment_fromstring(out.summary_html, create_parent="div")
    assert parsed.text_content() == out.summary_text


def test_short_text_is_the_summary_whole() -> None:
    assert render("<p>Short <b>and</b> sweet.</p>", "html", POST, "", 200).summary_text == (
        "Short and sweet."
    )


def test_summary_length_is_a_setting() -> None:
    out = render("<p>" + "word " * 100 + "</p>", "html", POST, "", 50)
    assert len(out.summary_text) <= 51


def test_cut_never_separates_a_letter_from_its_combining_mark() -> None:
    decomposed = "e\u0301" * 300  # "é" as two code points, no spaces to cut at
    text = cut(decomposed, 201)
    assert text.endswith("…")
    kept = text[:-1]
    assert len(kept) % 2 == 0
    assert not unicodedata.combining(kept[0])
    assert unicodedata.normalize("NFC", kept) == "é" * (len(kept) // 2)


def test_cut_keeps_cjk_text_whole_characters() -> None:
    text = cut("北极航道夏季通航期预计延长至四个月" * 30, 200)
    assert text == ("北极航道夏季通航期预计延长至四个月" * 30)[:200] + "…"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("x</div>y", "xy"),
        ("<div>a</div></div><div>b</div>", "a b"),
        ("lead</div><p>p</p>tail", "lead p tail"),
        ("<p>a</p></div></div> and more", "a and more"),
    ],
)
def test_stray_closing_tags_do_not_break_rendering(body: str, text: str) -> None:
    out = render(body, "html", POST, "", 200)
    assert out.summary_text == text


def test_character_references_to_forbidden_characters_are_dropped() -> None:
    out = render(
        '<p title="t&#2;">a&#1;b&#x0B;c&#9;d&#xFFFE;e&#55296;f &#1</p>'
        '<img data-src="/lazy&#1;.jpg" src="data:,"><img src="/x&#x1F;y.png">',
        "html",
        POST,
        "",
        200,
    )
    assert clean_text(out.content_html) == out.content_html
    assert "abc\tdef" in out.content_html
    assert out.summary_text == "abc def"
    assert out.first_image == "https://blog.example.com/lazy.jpg"


def test_character_references_in_markdown_code_stay_literal() -> None:
    out = render("Write `&#1;` to mean U+0001.\n", "markdown", POST, "", 200)
    assert "<code>&amp;#1;</code>" in out.content_html


PIECES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "<p>",
            "</p>",
            "<div>",
            "</div>",
            '<img src="',
            '<a href="',
            '">',
            "</a>",
            "<!-- more -->",
            "]]>",
            "<![CDATA[",
            "&#1;",
            "&#0;",
            "&#xD800;",
            "&nbsp;",
            "&",
            "<",
            ">",
            "<script>",
            "</body>",
            "<table><td>",
            ' data-src="/l.jpg"',
            ' srcset="a.png 1x, /b.png 2x"',
            "<svg>",
            "<!--",
            "-->",
            "<?pi?>",
            "\x0c",
            "\ud800",
            "\U0001f600",
            "e\u0301",
            "\n\n",
            "* ",
            "`",
        ]
    ),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    body=st.lists(PIECES, max_size=25).map("".join),
    markup=st.sampled_from(["html", "markdown"]),
    summary=st.text(max_size=30),
)
def test_any_body_renders_to_xml_safe_text_without_raising(
    body: str, markup: str, summary: str
) -> None:
    out = render(body, markup, POST, summary, 20)
    for value in (out.content_html, out.summary_html, out.summary_text, out.first_image):
        assert clean_text(value) == value
    assert out.first_image == "" or out.first_image.startswith(("http://", "https://"))
