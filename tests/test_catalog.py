"""Catalog: which posts go into which feed, in Hexo's meaning of categories."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from feedsvc.catalog import Catalog, FeedSpec, build_catalog
from feedsvc.post import Post
from feedsvc.settings import Settings
from tests.conftest import NOW, MakeSettings, parse


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings()


def make_post(settings: Settings, source: str, **front_matter: Any) -> Post:
    front_matter.setdefault("title", source)
    front_matter.setdefault("date", "2025-01-01T00:00:00Z")
    text = "---\n" + yaml.safe_dump(front_matter, allow_unicode=True) + "---\nBody.\n"
    post = parse(text.encode(), source, settings).post
    assert post is not None
    return post


def catalog(posts: list[Post], now: datetime = NOW, **kwargs: Any) -> Catalog:
    kwargs.setdefault("item_limit", 20)
    kwargs.setdefault("category_map", {})
    return build_catalog(posts, now, **kwargs)


def feeds(cat: Catalog) -> dict[tuple[str, ...], list[str]]:
    """Category path -> sources of its posts, in feed order."""
    return {spec.names: [p.source for p in spec.posts] for spec in cat.feeds}


def spec(cat: Catalog, *names: str) -> FeedSpec:
    return next(s for s in cat.feeds if s.names == names)


def test_a_post_in_a_path_appears_in_the_feed_of_every_level(settings: Settings) -> None:
    post = make_post(settings, "p.md", categories=["A", "B", "C"])
    assert feeds(catalog([post])) == {
        (): ["p.md"],
        ("A",): ["p.md"],
        ("A", "B"): ["p.md"],
        ("A", "B", "C"): ["p.md"],
    }


def test_a_list_of_lists_is_several_paths(settings: Settings) -> None:
    post = make_post(settings, "p.md", categories=[["A", "B"], ["C"]])
    assert set(feeds(catalog([post]))) == {(), ("A",), ("A", "B"), ("C",)}


def test_a_plain_string_is_a_one_level_path(settings: Settings) -> None:
    post = make_post(settings, "p.md", categories="Notes")
    assert set(feeds(catalog([post]))) == {(), ("Notes",)}


def test_a_post_on_two_paths_under_one_parent_appears_there_once(settings: Settings) -> None:
    post = make_post(settings, "p.md", categories=[["A", "B"], ["A", "C"]])
    assert feeds(catalog([post]))[("A",)] == ["p.md"]


def test_same_name_under_different_parents_are_different_feeds(settings: Settings) -> None:
    one = make_post(settings, "one.md", categories=["Tech", "新闻"])
    two = make_post(settings, "two.md", categories=["World", "新闻"])
    result = feeds(catalog([one, two]))
    assert result[("Tech", "新闻")] == ["one.md"]
    assert result[("World", "新闻")] == ["two.md"]


def test_parent_feed_aggregates_its_children_newest_first(settings: Settings) -> None:
    posts = [
        make_post(settings, "old.md", date="2021-04-07T12:03:06Z", categories=["新媒体", "A"]),
        make_post(settings, "new.md", date="2021-10-20T12:36:32Z", categories=["新媒体", "B"]),
        make_post(settings, "mid.md", date="2021-06-01T00:00:00Z", categories=["新媒体"]),
    ]
    result = feeds(catalog(posts))
    assert result[("新媒体",)] == ["new.md", "mid.md", "old.md"]
    assert result[()] == ["new.md", "mid.md", "old.md"]


def test_catalog_does_not_depend_on_the_order_posts_arrive_in(settings: Settings) -> None:
    posts = [
        make_post(settings, f"p{i}.md", date=f"2025-01-{1 + i % 5:02d}T00:00:00Z", categories=c)
        for i, c in enumerate([["A"], ["A", "B"], ["C++"], ["C"], ["a"], ["Z", "Y"], ["B"]])
    ]
    expected = catalog(posts)
    shuffled = posts[:]
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        assert catalog(shuffled) == expected


def test_ties_on_date_are_broken_by_updated_then_by_file(settings: Settings) -> None:
    posts = [
        make_post(settings, "b.md", date="2025-01-01T00:00:00Z"),
        make_post(settings, "a.md", date="2025-01-01T00:00:00Z"),
        make_post(settings, "c.md", date="2025-01-01T00:00:00Z", updated="2025-02-01T00:00:00Z"),
    ]
    assert feeds(catalog(posts))[()] == ["c.md", "a.md", "b.md"]


def test_future_posts_stay_out_until_now_passes_their_date(settings: Settings) -> None:
    when = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    past = make_post(settings, "past.md", date="2025-01-01T00:00:00Z", categories=["Notes"])
    future = make_post(settings, "future.md", date=when.isoformat(), categories=["Later"])

    before = catalog([past, future], now=when - timedelta(seconds=1))
    assert feeds(before) == {(): ["past.md"], ("Notes",): ["past.md"]}
    assert (before.published, before.held, before.next_release) == (1, 1, when)

    at = catalog([past, future], now=when)
    assert feeds(at)[()] == ["future.md", "past.md"]
    assert feeds(at)[("Later",)] == ["future.md"]
    assert (at.held, at.next_release) == (0, None)


def test_item_limit_keeps_the_newest_and_counts_all(settings: Settings) -> None:
    posts = [
        make_post(settings, f"p{i}.md", date=f"2025-01-{i + 1:02d}T00:00:00Z", categories=["A"])
        for i in range(7)
    ]
    result = catalog(posts, item_limit=3)
    for names in [(), ("A",)]:
        assert [p.source for p in spec(result, *names).posts] == ["p6.md", "p5.md", "p4.md"]
        assert spec(result, *names).total == 7


def test_slugs_follow_hexo_and_category_map(settings: Settings) -> None:
    post = make_post(settings, "p.md", categories=["新媒体", "Aljazeera 半岛网", "新闻"])
    result = catalog([post], category_map={"新媒体": "new-media"})
    assert spec(result, "新媒体", "Aljazeera 半岛网", "新闻").slugs == (
        "new-media",
        "Aljazeera-半岛网",
        "新闻",
    )
    assert spec(result, "新媒体").slugs == ("new-media",)
    assert result.problems == ()


def test_colliding_slugs_are_told_apart_deterministically_and_reported(
    settings: Settings,
) -> None:
    cpp = make_post(settings, "cpp.md", categories=["Lang", "C++"])
    c = make_post(settings, "c.md", categories=["Lang", "C"])

    result = catalog([cpp, c])

    c_slugs = spec(result, "Lang", "C").slugs
    cpp_slugs = spec(result, "Lang", "C++").slugs
    assert c_slugs == ("Lang", "C"), "the name that is its own slug keeps it"
    assert cpp_slugs[0] == "Lang" and cpp_slugs[1].startswith("C-")
    assert catalog([c, cpp]) == result
    [problem] = result.problems
    assert problem.file == "cpp.md" and problem.field == "categories"
    assert "C++" in problem.reason and "'C'" in problem.reason
    assert "/".join(cpp_slugs) in problem.action


def test_names_differing_only_in_case_do_not_share_a_folder(settings: Settings) -> None:
    upper = make_post(settings, "upper.md", categories=["Go"])
    lower = make_post(settings, "lower.md", categories=["go"])
    result = catalog([upper, lower])
    slugs = {spec(result, "Go").slugs[0].casefold(), spec(result, "go").slugs[0].casefold()}
    assert len(slugs) == 2, "case-insensitive file systems would merge them"
    assert len(result.problems) == 1


def test_category_map_can_resolve_a_collision(settings: Settings) -> None:
    cpp = make_post(settings, "cpp.md", categories=["C++"])
    c = make_post(settings, "c.md", categories=["C"])
    result = catalog([cpp, c], category_map={"C++": "cpp"})
    assert spec(result, "C++").slugs == ("cpp",)
    assert spec(result, "C").slugs == ("C",)
    assert result.problems == ()


def test_two_posts_with_one_id_are_both_kept_with_distinct_ids_and_reported(
    settings: Settings,
) -> None:
    first = make_post(settings, "a.md", id="tag:example.com,2024:same")
    second = make_post(settings, "b.md", id="tag:example.com,2024:same")
    result = catalog([second, first])
    ids = {p.source: p.id for p in spec(result).posts}
    assert ids["a.md"] == "tag:example.com,2024:same"
    assert ids["b.md"] != ids["a.md"]
    assert {(p.file, p.field) for p in result.problems} == {("a.md", "id"), ("b.md", "id")}


def test_adding_a_copy_of_an_old_post_never_takes_its_id(settings: Settings) -> None:
    old = make_post(settings, "z-old.md", date="2021-01-01T00:00:00Z", abbrlink="4a17b156")
    before = spec(catalog([old])).posts[0].id
    copy = make_post(settings, "a-new.md", date="2025-01-01T00:00:00Z", abbrlink="4a17b156")
    ids = {p.source: p.id for p in spec(catalog([old, copy])).posts}
    assert ids["z-old.md"] == before
    assert ids["a-new.md"] != before
