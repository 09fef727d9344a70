"""``feedsvc build`` as users run it: through click and as the installed console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from feedsvc.cli import main
from tests.conftest import (
    EXAMPLE_CONFIG,
    EXAMPLES,
    ROOT,
    check_written_folder,
    written_files,
)
from tests.expected import EXAMPLE_ITEMS, EXAMPLE_ORDER, as_rss, items_of

SUMMARY = "10 posts, 11 categories, 36 feeds, 0 errors, 0 warnings -> "


def feedsvc_script() -> str:
    """The installed ``feedsvc`` console script (next to this Python, else on PATH)."""
    beside = Path(sys.executable).with_name("feedsvc")
    found = str(beside) if beside.is_file() else shutil.which("feedsvc")
    assert found, "the feedsvc console script is not installed: pip install -e '.[test]'"
    return found


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A click runner in an empty folder, so no config/feedsvc.toml is picked up."""
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def build_examples(runner: CliRunner, out: Path, *extra: str) -> Result:
    return runner.invoke(
        main, ["build", "--config", str(EXAMPLE_CONFIG), "--out", str(out), *extra]
    )


def assert_expected_site_feeds(out: Path) -> None:
    docs = check_written_folder(out)
    expected = [EXAMPLE_ITEMS[stem] for stem in EXAMPLE_ORDER]
    found = items_of(docs, "")
    assert found["atom.xml"] == expected
    assert found["feed.json"] == expected
    assert found["rss.xml"] == [as_rss(item) for item in expected]


def test_build_writes_valid_expected_feeds_and_prints_a_summary(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    result = build_examples(runner, out)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == SUMMARY + str(out)
    assert_expected_site_feeds(out)


def test_build_content_flag_overrides_the_config_file(runner: CliRunner, tmp_path: Path) -> None:
    content = tmp_path / "posts"
    (content / "sub").mkdir(parents=True)
    (content / "sub" / "only.md").write_text(
        "---\ntitle: Only post\ndate: 2024-01-01\ncategories: [X]\n---\nHi.\n", encoding="utf-8"
    )
    out = tmp_path / "public"
    result = build_examples(runner, out, "--content", str(content), "--item-limit", "5")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 posts, 1 categories, 6 feeds, 0 errors, 0 warnings")
    docs = check_written_folder(out)
    assert [e.title for e in docs["categories/X/atom.xml"].entries] == ["Only post"]


def test_build_twice_after_touching_an_unrelated_file_writes_identical_bytes(
    runner: CliRunner, tmp_path: Path
) -> None:
    content = tmp_path / "content"
    shutil.copytree(EXAMPLES, content)
    first, second = tmp_path / "first", tmp_path / "second"
    assert build_examples(runner, first, "--content", str(content)).exit_code == 0
    os.utime(content / "README.txt", (2_000_000_000, 2_000_000_000))
    os.utime(content / "_posts" / "hello.md~", (2_000_000_000, 2_000_000_000))
    assert build_examples(runner, second, "--content", str(content)).exit_code == 0
    assert written_files(first) == written_files(second)


def test_build_replaces_the_output_folder_whole(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "public"
    (out / "categories" / "Gone").mkdir(parents=True)
    (out / "categories" / "Gone" / "atom.xml").write_text("stale", encoding="utf-8")
    (out / "stale.txt").write_text("stale", encoding="utf-8")
    result = build_examples(runner, out)
    assert result.exit_code == 0, result.output
    assert not (out / "stale.txt").exists()
    assert not (out / "categories" / "Gone").exists()
    check_written_folder(out)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], (
        "no temporary folders are left behind"
    )


def test_build_of_a_missing_content_folder_fails_without_writing(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    result = runner.invoke(
        main, ["build", "--content", str(tmp_path / "missing"), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "cannot scan" in result.output and "missing" in result.output
    assert not out.exists()


def test_installed_feedsvc_command_builds_the_examples_from_the_repository(
    tmp_path: Path,
) -> None:
    """The README's command, run as a real process from the repository root, where it
    finds config/feedsvc.toml by itself."""
    out = tmp_path / "public"
    done = subprocess.run(
        [feedsvc_script(), "build", "--out", str(out)],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == SUMMARY + str(out)
    assert_expected_site_feeds(out)
