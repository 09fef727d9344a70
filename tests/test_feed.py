"""Feed documents: what RSS, Atom and JSON Feed readers find in each item and feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import lxml.html
import pytest
from lxml import etree

from feedsvc.feed import image_type
from tests.conftest import (
    MakeSettings,
    WritePost,
    assert_json_feed,
    build,
    check_written_folder,
    parse_feed,
    utc,
    written_files,
)

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "dc": "http://purl.org/dc/elements/1.1/",
    "media": "http://search.yahoo.com/mrss/",
    "content": "http://purl.org/rss/1.0/modules/content/",
}
QUERY_IMAGE = "https://img.example.net/uploads/2021/04/a.jpg?w=770&resize=770%2C545"


class Site(Protocol):
    def __call__(self, **overrides: Any) -> dict[str, bytes]: ...


@pytest.fixture
def site(tmp_path: Path, make_settings: MakeSettings, now: datetime) -> Site:
    """Build the content folder with the given settings; every file written, checked."""

    def run(**overrides: Any) -> dict[str, bytes]:
        out = tmp_path / "out"
        build(make_settings(**overrides), now, out)
        check_written_folder(out)
        return written_files(out)

    return run


def xml(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def test_rss_names_a_name_only_author_with_dc_creator(write_post: WritePost, site: Site) -> None:
    write_post("p.md", {"title": "P", "date": "2024-01-01T00:00:00Z", "author": "Lin Mei"})
    rss = site()["rss.xml"]
    [item] = xml(rss).iterfind("channel/item")
    assert item.findtext("dc:creator", namespaces=NS) == "Lin Mei"
    assert item.find("author") is None, "RSS <author> must be an email address"
    assert parse_feed(rss).entries[0].author == "Lin Mei"
    atom = parse_feed(site()["atom.xml"])
    assert atom.entries[0].author == "Lin Mei"


def test_atom_has_an_author_even_when_posts_name_none(write_post: WritePost, site: Site) -> None:
    write_post("p.md", {"title": "P", "date": "2024-01-01T00:00:00Z"})
    root = xml(site(author="Site Owner")["atom.xml"])
    assert root.findtext("atom:author/atom:name", namespaces=NS) == "Site Owner"
    entry = root.find("atom:entry", NS)
    assert entry is not None
    assert entry.findtext("atom:author/atom:name", namespaces=NS) == "Site Owner"


@pytest.mark.parametrize(
    ("url", "mime"),
    [
        ("https://cdn.example.net/a.png", "image/png"),
        ("https://cdn.example.net/a.JPG?w=1", "image/jpeg"),
        ("https://cdn.example.net/a.jpeg", "image/jpeg"),
        ("https://cdn.example.net/a.webp", "image/webp"),
        ("https://cdn.example.net/a.gif#frag", "image/gif"),
        ("https://cdn.example.net/a.svg", "image/svg+xml"),
        ("https://cdn.example.net/image?id=7", "image/jpeg"),
        ("https://cdn.example.net/v1.2/photo", "image/jpeg"),
    ],
)
def test_image_type_comes_from_the_path_ending(url: str, mime: str) -> None:
    assert image_type(url) == mime


def test_thumbnail_is_an_enclosure_with_zero_length_and_real_type(
    write_post: WritePost, site: Site
) -> None:
    write_post("p.md", {"title": "P", "date": "2024-01-01T00:00:00Z", "thumbnail": "/i/a.png"})
    files = site()
    [enclosure] = xml(files["rss.xml"]).iterfind("channel/item/enclosure")
    assert dict(enclosure.attrib.items()) == {
        "url": "https://blog.example.com/i/a.png",
        "length": "0",
        "type": "image/png",
    }
    entry = xml(files["atom.xml"]).find("atom:entry", NS)
    assert entry is not None
    links = [dict(link.attrib.items()) for link in entry.iterfind("atom:link", NS)]
    assert links == [
        {"href": "https://blog.example.com/2024/01/01/p/", "rel": "alternate", "type": "text/html"},
        {
            "href": "https://blog.example.com/i/a.png",
            "rel": "enclosure",
            "type": "image/png",
            "length": "0",
        },
    ]


def test_media_thumbnail_is_item_level_not_wrapped_in_media_group(
    write_post: WritePost, site: Site
) -> None:
    write_post("p.md", {"title": "P", "date": "2024-01-01T00:00:00Z", "thumbnail": QUERY_IMAGE})
    files = site()
    for name, item_path in [("rss.xml", "channel/item"), ("atom.xml", "atom:entry")]:
        root = xml(files[name])
        assert root.find(".//media:group", NS) is None, name
        [thumb] = root.iterfind(".//media:thumbnail", NS)
        assert thumb.getparent() is root.find(item_path, NS), name
        assert thumb.get("url") == QUERY_IMAGE


def test_thumbnail_query_string_comes_back_identical_from_every_format(
    write_post: WritePost, site: Site
) -> None:
    write_post("p.md", {"title": "P", "date": "2024-01-01T00:00:00Z", "headimg": QUERY_IMAGE})
    files = site()
    for name in ("rss.xml", "atom.xml"):
        entry = parse_feed(files[name]).entries[0]
        assert entry.media_thumbnail[0]["url"] == QUERY_IMAGE, name
        assert [e["href"] for e in entry.enclosures] == [QUERY_IMAGE], name
    assert json.loads(files["feed.json"])["items"][0]["image"] == QUERY_IMAGE


def test_a_post_without_any_image_has_no_enclosure(write_post: WritePost, site: Site) -> None:
    write_post("p.md", {"title": "P", "date": "2024-01-01T00:00:00Z", "cover": True})
    files = site()
    for name in ("rss.xml", "atom.xml"):
        entry = parse_feed(files[name]).entries[0]
        assert entry.get("enclosures", []) == [] and "media_thumbnail" not in entry, name
    assert "image" not in json.loads(files["feed.json"])["items"][0]


def test_entries_carry_id_link_dates_and_typed_html_content(
    write_post: WritePost, site: Site
) -> None:
    write_post(
        "p.md",
        {
            "title": "Dates & <things>",
            "date": "2024-01-01T08:00:00+08:00",
            "updated": "2024-02-01T00:00:00Z",
            "categories": ["A", "B"],
            "tags": ["t1"],
        },
        "Hello *world*.\n",
    )
    files = site()
    rss, atom = parse_feed(files["rss.xml"]), parse_feed(files["atom.xml"])
    for feed in (rss, atom):
        [entry] = feed.entries
        assert entry.title == "Dates & <things>"
        assert entry.link == "https://blog.example.com/2024/01/01/p/"
        assert entry.id.startswith("urn:uuid:")
        assert utc(entry.published_parsed) == datetime(2024, 1, 1, tzinfo=UTC)
        assert [t.term for t in entry.tags] == ["A", "B", "t1"]
        assert "<em>world</em>" in entry.content[0].value
    assert utc(atom.entries[0].updated_parsed) == datetime(2024, 2, 1, tzinfo=UTC)
    assert atom.entries[0].id == rss.entries[0].id
    guid = xml(files["rss.xml"]).find("channel/item/guid")
    assert guid is not None and guid.get("isPermaLink") == "false"
    content = xml(files["atom.xml"]).find("atom:entry/atom:content", NS)
    assert content is not None and content.get("type") == "html"
    assert b"CDATA" not in files["atom.xml"] and b"CDATA" not in files["rss.xml"]
    summary = xml(files["atom.xml"]).find("atom:entry/atom:summary", NS)
    assert summary is not None and summary.get("type") == "html"
    assert xml(files["rss.xml"]).find("channel/item/content:encoded", NS) is not None


def test_dates_are_written_with_offsets_readers_accept(write_post: WritePost, site: Site) -> None:
    write_post("p.md", {"title": "P", "date": "2024-03-05T06:07:08Z"})
    files = site()
    assert (
        xml(files["rss.xml"]).findtext("channel/item/pubDate") == "Tue, 05 Mar 2024 06:07:08 +0000"
    )
    atom = xml(files["atom.xml"])
    assert atom.findtext("atom:entry/atom:published", namespaces=NS) == "2024-03-05T06:07:08+00:00"
    assert atom.findtext("atom:entry/atom:updated", namespaces=NS) == "2024-03-05T06:07:08+00:00"


def test_feed_links_self_and_html_page_come_from_settings(
    write_post: WritePost, site: Site
) -> None:
    write_post("p.md", {"title": "P", "date": "2024-01-01T00:00:00Z", "categories": ["新闻"]})
    files = site()
    folder = "categories/%E6%96%B0%E9%97%BB/"
    rss = xml(files["categories/新闻/rss.xml"])
    assert rss.findtext("channel/link") == "https://blog.example.com/" + folder
    self_link = rss.find("channel/atom:link[@rel='self']", NS)
    assert self_link is not None
    assert self_link.get("href") == "https://feeds.example.org/" + folder + "rss.xml"
    atom = xml(files["categories/新闻/atom.xml"])
    links = {link.get("rel"): link.get("href") for link in atom.iterfind("atom:link", NS)}
    assert links == {
        "self": "https://feeds.example.org/" + folder + "atom.xml",
        "alternate": "https://blog.example.com/" + folder,
    }
    doc = json.loads(files["categories/新闻/feed.json"])
    assert doc["feed_url"] == "https://feeds.example.org/" + folder + "feed.json"
    assert doc["home_page_url"] == "https://blog.example.com/" + folder


def test_feed_has_title_id_language_and_generator(write_post: WritePost, site: Site) -> None:
    write_post("p.md", {"title": "P", "date": "2024-01-01T00:00:00Z", "categories": ["A", "B"]})
    files = site(language="zh-CN", title="My site")
    for name in ("rss.xml", "atom.xml"):
        feed = parse_feed(files["categories/A/B/" + name]).feed
        assert feed.title == "My site · A › B"
        assert feed.language == "zh-CN"
        assert feed.generator == "feedsvc"
    atom = parse_feed(files["categories/A/B/atom.xml"]).feed
    assert atom.id.startswith("urn:uuid:")
    assert atom.id != parse_feed(files["categories/A/atom.xml"]).feed.id
    doc = json.loads(files["categories/A/B/feed.json"])
    assert (doc["title"], doc["language"]) == ("My site · A › B", "zh-CN")


def test_feed_updated_is_the_newest_items_updated_never_the_build_time(
    tmp_path: Path, write_post: WritePost, make_settings: MakeSettings
) -> None:
    write_post("old.md", {"title": "Old", "date": "2024-01-01T00:00:00Z"})
    write_post(
        "edited.md",
        {"title": "Edited", "date": "2024-02-01T00:00:00Z", "updated": "2024-06-01T12:00:00Z"},
    )
    write_post("new.md", {"title": "New", "date": "2024-03-01T00:00:00Z"})
    settings = make_settings()
    outputs = []
    for i, now in enumerate([datetime(2025, 1, 1, tzinfo=UTC), datetime(2030, 7, 7, tzinfo=UTC)]):
        build(settings, now, tmp_path / f"out{i}")
        outputs.append(written_files(tmp_path / f"out{i}"))
    assert outputs[0] == outputs[1]
    newest_update = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert utc(parse_feed(outputs[0]["atom.xml"]).feed.updated_parsed) == newest_update
    assert utc(parse_feed(outputs[0]["rss.xml"]).feed.updated_parsed) == newest_update


def test_items_are_newest_first_in_every_format(write_post: WritePost, site: Site) -> None:
    for name, day in [("b", 3), ("a", 1), ("d", 4), ("c", 2)]:
        write_post(f"{name}.md", {"title": name, "date": f"2024-01-0{day}T00:00:00Z"})
    files = site()
    for name in ("rss.xml", "atom.xml"):
        assert [e.title for e in parse_feed(files[name]).entries] == ["d", "b", "c", "a"]
    assert [i["title"] for i in json.loads(files["feed.json"])["items"]] == ["d", "b", "c", "a"]


def test_item_limit_is_respected_in_every_feed_and_format(
    write_post: WritePost, site: Site
) -> None:
    for day in range(1, 8):
        write_post(
            f"p{day}.md",
            {"title": f"p{day}", "date": f"2024-01-0{day}T00:00:00Z", "categories": "A"},
        )
    files = site(item_limit=3)
    for folder in ("", "categories/A/"):
        for name in ("rss.xml", "atom.xml"):
            titles = [e.title for e in parse_feed(files[folder + name]).entries]
            assert titles == ["p7", "p6", "p5"]
        assert len(json.loads(files[folder + "feed.json"])["items"]) == 3


def test_future_post_is_left_out_of_every_feed(
    tmp_path: Path, write_post: WritePost, make_settings: MakeSettings
) -> None:
    write_post("now.md", {"title": "Now", "date": "2025-12-31T23:59:59Z", "categories": "A"})
    write_post("later.md", {"title": "Later", "date": "2026-01-01T00:00:01Z", "categories": "B"})
    out = tmp_path / "out"
    build(make_settings(), datetime(2026, 1, 1, tzinfo=UTC), out)
    files = written_files(out)
    assert b"Later" not in b"".join(files.values())
    assert "categories/B/atom.xml" not in files
    build(make_settings(), datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=1), out)
    assert [e.title for e in parse_feed((out / "atom.xml").read_bytes()).entries] == [
        "Later",
        "Now",
    ]
    assert (out / "categories/B/atom.xml").is_file()


def test_hostile_body_and_title_still_give_well_formed_feeds(
    write_post: WritePost, site: Site
) -> None:
    write_post(
        "p.md",
        'title: "Bell \\a and ]]> in a title"\ndate: 2024-01-01T00:00:00Z\n'
        "thumbnail: /a.jpg?x=1&y=<2>",
        "Text with ]]> and <![CDATA[ nested ]]> and \x01\x0b\x0c\x1f control characters.\n\n"
        "<p>&nbsp;entity &copy; and a stray </div> close tag.</p>\n",
    )
    files = site()
    for name in ("rss.xml", "atom.xml"):
        entry = parse_feed(files[name]).entries[0]
        assert entry.title == "Bell and ]]> in a title"
        text = lxml.html.fragment_fromstring(entry.content[0].value, create_parent="div")
        assert "Text with ]]> and" in text.text_content()
        assert "\xa0entity © and a stray" in text.text_content()
    assert_json_feed(json.loads(files["feed.json"]))


def test_an_empty_content_folder_builds_valid_empty_feeds(site: Site) -> None:
    files = site()
    assert sorted(files) == sorted(
        f"{name}{gz}"
        for name in ("atom.xml", "rss.xml", "feed.json", "opml.xml", "index.html")
        for gz in ("", ".gz")
        if not (gz and len(files[name]) < 256)
    )
    assert parse_feed(files["atom.xml"]).entries == []
    assert json.loads(files["feed.json"])["items"] == []


def test_json_feed_has_the_required_and_recommended_fields(
    write_post: WritePost, site: Site
) -> None:
    write_post(
        "p.md",
        {
            "title": "P",
            "date": "2024-01-01T08:00:00+08:00",
            "updated": "2024-01-02T00:00:00Z",
            "author": "Lin Mei",
            "categories": ["A"],
            "tags": ["t"],
            "thumbnail": QUERY_IMAGE,
            "description": "Short.",
        },
    )
    doc = json.loads(site(author="Owner", description="About")["feed.json"])
    assert_json_feed(doc)
    assert {k: v for k, v in doc.items() if k != "items"} == {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Test site",
        "home_page_url": "https://blog.example.com/",
        "feed_url": "https://feeds.example.org/feed.json",
        "description": "About",
        "language": "en",
        "authors": [{"name": "Owner"}],
    }
    [item] = doc["items"]
    assert {k: v for k, v in item.items() if k != "content_html"} == {
        "id": "urn:uuid:2166ee73-b68a-5a97-a9ad-ea8ba4f4a924",
        "url": "https://blog.example.com/2024/01/01/p/",
        "title": "P",
        "summary": "Short.",
        "image": QUERY_IMAGE,
        "date_published": "2024-01-01T00:00:00+00:00",
        "date_modified": "2024-01-02T00:00:00+00:00",
        "authors": [{"name": "Lin Mei"}],
        "tags": ["A", "t"],
    }
    assert item["content_html"] == "<p>Some body text.</p>"
