"""The bundled example content builds into exactly what examples/EXPECTED.md says."""

from __future__ import annotations

import pytest

from tests.conftest import FEED_FILES, ExampleSite, feed_folders, written_files
from tests.expected import (
    EXAMPLE_CATEGORIES,
    EXAMPLE_ITEMS,
    EXAMPLE_ORDER,
    EXAMPLE_UNPUBLISHED_TITLES,
    as_rss,
    items_of,
)


def test_examples_build_cleanly(example_site: ExampleSite) -> None:
    result = example_site.result
    assert result.problems == ()
    stats = result.stats
    assert (stats["posts"], stats["categories"], stats["feeds"]) == (10, 11, 36)
    assert stats["held_until_their_date"] == 1, "the 2099 post waits"


def test_examples_write_three_feeds_for_the_site_and_each_category(
    example_site: ExampleSite,
) -> None:
    out, docs = example_site.out, example_site.docs
    expected = {""} | {"categories/" + folder for folder in EXAMPLE_CATEGORIES}
    assert feed_folders(out) == expected
    for folder in expected:
        for name in FEED_FILES:
            assert folder + name in docs


def test_site_feeds_list_every_published_post_newest_first_as_expected(
    example_site: ExampleSite,
) -> None:
    docs = example_site.docs
    expected = [EXAMPLE_ITEMS[stem] for stem in EXAMPLE_ORDER]
    found = items_of(docs, "")
    assert found["atom.xml"] == expected
    assert found["feed.json"] == expected
    assert found["rss.xml"] == [as_rss(item) for item in expected]


@pytest.mark.parametrize("folder", sorted(EXAMPLE_CATEGORIES))
def test_category_feed_holds_its_posts_and_its_descendants(
    example_site: ExampleSite, folder: str
) -> None:
    docs = example_site.docs
    expected = [EXAMPLE_ITEMS[stem] for stem in EXAMPLE_CATEGORIES[folder]]
    found = items_of(docs, "categories/" + folder)
    assert found["atom.xml"] == expected
    assert found["feed.json"] == expected
    assert found["rss.xml"] == [as_rss(item) for item in expected]


def test_unpublished_examples_appear_in_no_file(
    example_site: ExampleSite,
) -> None:
    out = example_site.out
    everything = b"".join(
        data for name, data in written_files(out).items() if not name.endswith(".gz")
    )
    for title in EXAMPLE_UNPUBLISHED_TITLES:
        assert title.encode() not in everything, title
    assert b"Planning" not in everything and b"Caching" not in everything
    assert b"Ideas" not in everything


def test_example_details_from_expected_md(example_site: ExampleSite) -> None:
    docs = example_site.docs
    by_title = {i["title"]: i for i in docs["feed.json"]["items"]}
    assert "Editor's note: Why we are slowing down our breaking-news alerts" in by_title
    hello = by_title["Hello, feedsvc — turning a folder of posts into feeds"]
    assert hello["summary"] == (
        "This is the first post on the new engineering blog. It explains why we stopped "
        "hand-editing XML and started generating feeds straight from our Markdown folder."
    )
    assert "What it does" in hello["content_html"]
    sqlite = by_title["SQLite WAL mode: notes from a busy week"]
    assert sqlite["summary"].startswith("What changed when we switched our job queue")
    weekly = by_title["Weekly notes, first week of April"]
    assert weekly["summary"] == (
        "Release freeze, a flaky test finally fixed, and a few links worth reading."
    )
    zh = by_title["RSS、Atom 与 JSON Feed：三种订阅格式怎么选"]
    assert '<a href="https://example.com/docs/">文档首页</a>' in zh["content_html"]
    assert "<table>" in zh["content_html"]
    tidewater = by_title["开源时序数据库 Tidewater 发布 4.0 版本，查询速度提升一倍"]
    assert tidewater["content_html"].rstrip().endswith("</div>")
