"""Determinism and id stability: the same content gives the same bytes and the same ids."""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedsvc.build import Builder
from feedsvc.settings import Settings, load_settings
from tests.conftest import (
    EXAMPLE_CONFIG,
    EXAMPLES,
    NOW,
    ExampleSite,
    MakeSettings,
    WritePost,
    build,
    check_written_folder,
    parse_feed,
    written_files,
)


def example_settings(content: Path, **overrides: Any) -> Settings:
    return load_settings(
        config_file=EXAMPLE_CONFIG,
        environ={},
        overrides={"content_dir": str(content), **overrides},
        cwd=content.parent,
    )


def copy_tree(source: Path, target: Path, *, reverse: bool, mtime: float) -> None:
    """Copy ``source`` file by file, in path order or reversed, stamping every file."""
    files = sorted(p for p in source.rglob("*") if p.is_file())
    for i, path in enumerate(reversed(files) if reverse else files):
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(path.read_bytes())
        os.utime(dest, (mtime + i * 3600, mtime + i * 3600))


def test_rebuild_after_touching_an_unrelated_file_is_byte_identical(
    tmp_path: Path, example_site: ExampleSite
) -> None:
    content = tmp_path / "content"
    shutil.copytree(EXAMPLES, content)
    settings = example_settings(content)
    build(settings, NOW, tmp_path / "first")

    os.utime(content / "README.txt", (2_000_000_000, 2_000_000_000))
    (content / "notes.txt").write_text("scratch notes, not a post\n", encoding="utf-8")
    (content / "_posts" / ".hello.md.swp").write_bytes(b"\x00swap")
    build(settings, NOW, tmp_path / "second")

    first, second = written_files(tmp_path / "first"), written_files(tmp_path / "second")
    assert first == second
    assert first == written_files(example_site.out), "the copy builds like the original"


def test_build_ignores_creation_order_mtimes_folder_and_clock(tmp_path: Path) -> None:
    one, two = tmp_path / "one" / "content", tmp_path / "two" / "elsewhere"
    copy_tree(EXAMPLES, one, reverse=False, mtime=1_600_000_000)
    copy_tree(EXAMPLES, two, reverse=True, mtime=1_700_000_000)

    build(example_settings(one), NOW, tmp_path / "out1")
    build(example_settings(two), datetime(2031, 5, 5, 5, 5, 5, tzinfo=UTC), tmp_path / "out2")

    assert written_files(tmp_path / "out1") == written_files(tmp_path / "out2")


def test_the_same_builder_gives_the_same_bytes_on_a_rescan(
    content_dir: Path, make_settings: MakeSettings, write_post: WritePost
) -> None:
    write_post("a.md", {"title": "A", "date": "2024-01-01T00:00:00Z", "categories": ["X"]})
    builder = Builder(make_settings())
    first = builder.run(NOW).snapshot
    (content_dir / "unrelated.txt").write_text("plain text, not a post\n", encoding="utf-8")
    second = builder.run(datetime(2027, 1, 1, tzinfo=UTC)).snapshot
    assert first.key == second.key
    assert {p: d.body for p, d in first.documents.items()} == {
        p: d.body for p, d in second.documents.items()
    }


def ids_by_link(out: Path) -> dict[str, set[str]]:
    """Every item link in every feed file -> the ids it was given."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in out.rglob("*"):
        if path.name in ("atom.xml", "rss.xml"):
            for entry in parse_feed(path.read_bytes()).entries:
                found[entry.link].add(entry.id)
        elif path.name == "feed.json":
            for item in json.loads(path.read_bytes())["items"]:
                found[item["url"]].add(item["id"])
    return found


def test_an_item_has_one_id_in_every_feed_and_format(example_site: ExampleSite) -> None:
    found = ids_by_link(example_site.out)
    assert len(found) == 10
    assert all(len(ids) == 1 for ids in found.values()), found
    all_ids = [next(iter(ids)) for ids in found.values()]
    assert len(set(all_ids)) == len(all_ids), "no two posts share an id"


@pytest.mark.parametrize(
    "overrides",
    [
        {"base_url": "https://feeds.example.org/sub/"},
        {"site_url": "http://example.com/"},  # the scheme flips
        {"site_url": "https://www.example.net/blog/"},
        {"title": "Renamed site", "language": "en"},
        {"permalink": ":category/:title.html"},
        {"category_map": {"新媒体": "media", "Engineering": "eng"}},
    ],
)
def test_item_ids_survive_changes_to_urls_scheme_title_and_slugs(
    tmp_path: Path, example_site: ExampleSite, overrides: dict[str, Any]
) -> None:
    out = tmp_path / "out"
    build(example_settings(EXAMPLES, **overrides), NOW, out)
    check_written_folder(out)
    before = parse_feed((example_site.out / "atom.xml").read_bytes())
    after = parse_feed((out / "atom.xml").read_bytes())
    assert [e.id for e in after.entries] == [e.id for e in before.entries]
    assert after.feed.id == before.feed.id, "the feed's own id is stable too"


def test_post_id_survives_edits_to_title_date_categories_and_body(
    tmp_path: Path, make_settings: MakeSettings, write_post: WritePost
) -> None:
    def site_ids() -> list[str]:
        out = tmp_path / "out"
        build(make_settings(), NOW, out)
        return [e.id for e in parse_feed((out / "atom.xml").read_bytes()).entries]

    write_post("_posts/p.md", {"title": "First", "date": "2024-01-01", "categories": ["A"]})
    before = site_ids()
    write_post(
        "_posts/p.md",
        {"title": "Second", "date": "2024-02-02", "categories": [["B", "C"]]},
        "A new body.\n",
    )
    assert site_ids() == before


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("id", "tag:example.com,2021-04-14:post-123", "tag:example.com,2021-04-14:post-123"),
        ("guid", "https://old.example.com/?p=123", "https://old.example.com/?p=123"),
        ("abbrlink", "4a17b156", "urn:uuid:ebea0dbf-8587-547a-b17e-d22c303fa974"),
        ("id", 42, "urn:uuid:7e1b442d-6307-53ce-8e0f-95dbdcf09637"),
    ],
)
def test_an_id_field_overrides_and_survives_renaming_the_file(
    tmp_path: Path,
    make_settings: MakeSettings,
    write_post: WritePost,
    content_dir: Path,
    field: str,
    value: object,
    expected: str,
) -> None:
    out = tmp_path / "out"
    post = write_post("old-name.md", {"title": "T", "date": "2024-01-01", field: value})
    build(make_settings(), NOW, out)
    for name in ("atom.xml", "rss.xml"):
        assert parse_feed((out / name).read_bytes()).entries[0].id == expected
    assert json.loads((out / "feed.json").read_bytes())["items"][0]["id"] == expected

    post.rename(content_dir / "new-name.md")
    build(make_settings(), NOW, out)
    assert parse_feed((out / "atom.xml").read_bytes()).entries[0].id == expected
