"""The OPML subscription list and the HTML index: every feed written, nothing else."""

from __future__ import annotations

from urllib.parse import unquote

from lxml import etree

from tests.conftest import FEED_FILES, ExampleSite, feed_folders

BASE = "http://localhost:8000/"  # base_url in config/feedsvc.toml
SITE = "https://example.com/"  # site_url there


def test_opml_is_version_2_with_a_title(example_site: ExampleSite) -> None:
    opml = example_site.docs["opml.xml"]
    assert opml.tag == "opml" and opml.get("version") == "2.0"
    assert opml.findtext("head/title") == "feedsvc example feeds"
    assert opml.find("body") is not None


def test_opml_lists_exactly_the_feeds_written_once_each(example_site: ExampleSite) -> None:
    opml = example_site.docs["opml.xml"]
    urls = [o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")]
    assert len(urls) == len(set(urls))
    listed = {unquote(url).removeprefix(BASE).removesuffix("atom.xml") for url in urls}
    assert listed == feed_folders(example_site.out)
    assert all(url.startswith(BASE) and url.endswith("/atom.xml") for url in urls)


def test_every_opml_feed_outline_has_what_readers_read(example_site: ExampleSite) -> None:
    opml = example_site.docs["opml.xml"]
    for outline in opml.iter("outline"):
        assert outline.get("text") and outline.get("title"), etree.tostring(outline)
        if outline.get("xmlUrl"):
            assert outline.get("type") == "rss"
            html = outline.get("htmlUrl")
            assert html is not None and html.startswith(SITE)


def test_opml_nests_category_feeds_by_hierarchy(example_site: ExampleSite) -> None:
    opml = example_site.docs["opml.xml"]
    body = opml.find("body")
    assert body is not None
    for outline in body.iter("outline"):
        url = outline.get("xmlUrl")
        if not url:
            continue
        folder = unquote(url).removeprefix(BASE + "categories/").removesuffix("atom.xml")
        ancestors = [a.get("text") for a in outline.iterancestors("outline") if not a.get("xmlUrl")]
        if url == BASE + "atom.xml":
            assert ancestors == [], "the site feed is at the top"
            continue
        title = outline.get("title") or ""
        names = title.split(" › ")
        # a feed sits inside one folder outline per ancestor category (and its own if it
        # has children), innermost first
        assert list(reversed(ancestors)) == names[: len(ancestors)], (title, ancestors)
        assert len(ancestors) >= len(names) - 1, (title, ancestors)
        assert len(folder.strip("/").split("/")) == len(names)


def test_opml_of_the_examples_has_the_expected_tree(example_site: ExampleSite) -> None:
    body = example_site.docs["opml.xml"].find("body")

    def shape(el: etree._Element) -> list[object]:
        out: list[object] = []
        for child in el.iterfind("outline"):
            if child.get("xmlUrl"):
                out.append(child.get("title"))
            else:
                out.append({child.get("title"): shape(child)})
        return out

    assert shape(body) == [
        "feedsvc example",
        {
            "Engineering": [
                "Engineering",
                "Engineering › Databases",
                "Engineering › Python",
                "Engineering › 订阅格式",
            ]
        },
        "Notes",
        {
            "新媒体": [
                "新媒体",
                {
                    "Tech Daily 科技日报": [
                        "新媒体 › Tech Daily 科技日报",
                        "新媒体 › Tech Daily 科技日报 › 新闻",
                    ]
                },
                {
                    "环球观察 Global Watch": [
                        "新媒体 › 环球观察 Global Watch",
                        "新媒体 › 环球观察 Global Watch › 新闻",
                        "新媒体 › 环球观察 Global Watch › 评论",
                    ]
                },
            ]
        },
    ]


def test_index_advertises_every_feed_for_autodiscovery(example_site: ExampleSite) -> None:
    page = example_site.docs["index.html"]
    links = {
        (link.get("type"), unquote(link.get("href") or ""))
        for link in page.iterfind("head/link")
        if link.get("rel") == "alternate"
    }
    types = {
        "atom.xml": "application/atom+xml",
        "rss.xml": "application/rss+xml",
        "feed.json": "application/feed+json",
    }
    expected = {
        (types[name], BASE + folder + name)
        for folder in feed_folders(example_site.out)
        for name in FEED_FILES
    }
    assert links == expected
    for link in page.iterfind("head/link"):
        assert link.get("title"), "readers show the title when offering a choice"


def test_index_shows_the_category_tree_with_post_counts(example_site: ExampleSite) -> None:
    page = example_site.docs["index.html"]
    text = " ".join(page.text_content().split())
    assert "10 posts in 11 categories" in text
    for name, count in [("新媒体", 6), ("Engineering", 3), ("Notes", 2), ("订阅格式", 1)]:
        assert f"{name} ({count})" in text
    hrefs = {unquote(a.get("href") or "") for a in page.iter("a")}
    assert BASE + "opml.xml" in hrefs
    assert BASE + "categories/新媒体/环球观察-Global-Watch/评论/rss.xml" in hrefs
