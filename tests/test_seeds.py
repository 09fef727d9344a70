"""The two shared seed posts, built by the installed ``feedsvc build`` command."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FEED_FILES, SEEDS, check_written_folder, feed_folders
from tests.expected import SEED_FOLDERS, SEED_ITEMS, as_rss, items_of
from tests.test_cli import feedsvc_script


@dataclass(frozen=True)
class SeedBuild:
    stdout: str
    out: Path
    docs: dict[str, Any]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> SeedBuild:
    if not SEEDS.is_dir():
        pytest.skip(f"the shared seeds are not here ({SEEDS}); they live beside the repository")
    work = tmp_path_factory.mktemp("seeds")
    out = work / "public"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    done = subprocess.run(
        [feedsvc_script(), "build", "--content", str(SEEDS), "--out", str(out)],
        cwd=work,  # no config/ here: the default settings apply
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return SeedBuild(done.stdout, out, check_written_folder(out))


def test_seeds_build_both_posts_without_problems(seeds: SeedBuild) -> None:
    assert seeds.stdout.strip() == (
        f"2 posts, 3 categories, 12 feeds, 0 errors, 0 warnings -> {seeds.out}"
    )


def test_seeds_build_into_three_category_levels_with_three_feeds_each(seeds: SeedBuild) -> None:
    assert feed_folders(seeds.out) == set(SEED_FOLDERS)
    for folder in SEED_FOLDERS:
        for name in FEED_FILES:
            assert (seeds.out / folder / name).is_file(), folder + name


@pytest.mark.parametrize("folder", SEED_FOLDERS)
def test_every_seed_level_has_both_posts_newest_first(seeds: SeedBuild, folder: str) -> None:
    found = items_of(seeds.docs, folder)
    assert found["atom.xml"] == SEED_ITEMS
    assert found["feed.json"] == SEED_ITEMS
    assert found["rss.xml"] == [as_rss(item) for item in SEED_ITEMS]


def test_seed_feeds_are_titled_by_their_category_path(seeds: SeedBuild) -> None:
    folder = "categories/新媒体/Aljazeera-半岛网/新闻/"
    for name in ("atom.xml", "rss.xml"):
        assert seeds.docs[folder + name].feed.title == "feedsvc · 新媒体 › Aljazeera 半岛网 › 新闻"
    assert seeds.docs[folder + "feed.json"]["title"] == "feedsvc · 新媒体 › Aljazeera 半岛网 › 新闻"
    assert seeds.docs[folder + "atom.xml"].feed.links[0] == {
        "href": "http://localhost:8000/categories/%E6%96%B0%E5%AA%92%E4%BD%93/"
        "Aljazeera-%E5%8D%8A%E5%B2%9B%E7%BD%91/%E6%96%B0%E9%97%BB/atom.xml",
        "rel": "self",
        "type": "application/atom+xml",
    }
