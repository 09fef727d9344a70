"""Incremental rescans and the persistent cache give exactly what a cold build gives."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.build import Builder
from feedsvc.settings import Settings, load_settings

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CATEGORIES = ["[News, World]", "[News, Tech]", "Notes", "[[News, Tech], [Notes]]", "[]"]
DATES = [f"2025-01-0{d} 10:00:00" for d in range(1, 8)] + ["2099-01-01 00:00:00"]


def post_text(title: int, date: int, category: int, body: str) -> str:
    return (
        f"---\ntitle: Post {title}\ndate: {DATES[date]}\ncategories: {CATEGORIES[category]}\n"
        f"thumbnail: /img/{title}.png\n---\n\n{body}\n"
    )


def config(content: Path, **overrides: str) -> Settings:
    return load_settings(
        environ={}, overrides={"content_dir": str(content), "item_limit": "3", **overrides}
    )


def cold(content: Path) -> dict[str, bytes]:
    with Builder(config(content), workers=1) as builder:
        result = builder.run(NOW)
    return {path: doc.body for path, doc in result.snapshot.documents.items()}


names = st.sampled_from([f"p{i}.md" for i in range(6)] + ["sub/q.md", "sub/deeper/r.txt"])
operation = st.one_of(
    st.tuples(
        st.just("write"),
        names,
        st.integers(0, 9),
        st.integers(0, len(DATES) - 1),
        st.integers(0, len(CATEGORIES) - 1),
        st.sampled_from(["a", "b", "<p>c</p>"]),
    ),
    st.tuples(st.just("delete"), names),
    st.tuples(st.just("rename"), names, names),
    st.tuples(st.just("touch"), names),
    st.tuples(st.just("scan")),
)


_clock = itertools.count(1_600_000_000)


def _age(path: Path) -> None:
    """Give the file a distinct modification time well before any scan, so that change
    detection by stat signature is what these tests exercise (files written just now
    are "racy" and would be compared by content anyway)."""
    stamp = next(_clock)
    os.utime(path, (stamp, stamp))


def apply(content: Path, op: tuple[object, ...]) -> None:
    kind = op[0]
    path = content / str(op[1]) if len(op) > 1 else content
    if kind == "write":
        _, _, title, date, category, body = op
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(post_text(int(title), int(date), int(category), str(body)))  # type: ignore[call-overload]
        _age(path)
    elif kind == "delete":
        path.unlink(missing_ok=True)
    elif kind == "rename" and path.exists():
        target = content / str(op[2])
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    elif kind == "touch" and path.exists():
        _age(path)


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="feedsvc-incremental-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(operation, min_size=1, max_size=12))
def test_incremental_rescans_equal_a_cold_build_after_any_operations(
    workdir: Path, ops: list[tuple[object, ...]]
) -> None:
    content = workdir / "content"
    shutil.rmtree(workdir, ignore_errors=True)
    content.mkdir(parents=True)
    apply(content, ("write", "p0.md", 0, 0, 0, "a"))
    with Builder(config(content), workdir / "state", workers=1) as builder:
        builder.run(NOW)
        for op in ops:
            apply(content, op)
            if op[0] == "scan":
                builder.run(NOW)
        incremental = builder.run(NOW)
    got = {path: doc.body for path, doc in incremental.snapshot.documents.items()}
    assert got == cold(content)


def make_site(root: Path, count: int) -> Path:
    content = root / "content"
    for i in range(count):
        path = content / f"p{i:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(post_text(i, i % 7, i % 4, f"body {i}"))
    return content


def test_a_rescan_with_nothing_changed_parses_and_renders_nothing(tmp_path: Path) -> None:
    content = make_site(tmp_path, 30)
    with Builder(config(content), tmp_path / "state", workers=1) as builder:
        first = builder.run(NOW)
        again = builder.run(NOW)
    assert first.stats["parsed"] == 30
    assert (again.stats["parsed"], again.stats["rendered"]) == (0, 0)
    assert again.snapshot is first.snapshot


def test_a_rescan_parses_only_changed_files_and_rerenders_only_their_feeds(
    tmp_path: Path,
) -> None:
    content = make_site(tmp_path, 30)
    with Builder(config(content), tmp_path / "state", workers=1) as builder:
        first = builder.run(NOW)
        (content / "p001.md").write_text(post_text(1, 6, 2, "edited"))  # Notes only
        second = builder.run(NOW)
    assert second.stats["parsed"] == 1
    before, after = first.snapshot.documents, second.snapshot.documents
    changed = {path for path in after if before.get(path) is not after[path]}
    assert "categories/Notes/atom.xml" in changed and "atom.xml" in changed
    assert "categories/News/World/atom.xml" not in changed  # kept bytes and ETag
    assert (
        before["categories/News/World/atom.xml"].etag
        == after["categories/News/World/atom.xml"].etag
    )


def test_a_restart_from_the_cache_parses_nothing_and_gives_identical_feeds(
    tmp_path: Path,
) -> None:
    content = make_site(tmp_path, 30)
    with Builder(config(content), tmp_path / "state", workers=1) as builder:
        first = builder.run(NOW)
    with Builder(config(content), tmp_path / "state", workers=1) as restarted:
        second = restarted.run(NOW)
    assert second.stats["parsed"] == 0
    assert second.snapshot.key == first.snapshot.key


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing", "other settings"])
def test_a_corrupt_or_missing_cache_is_rebuilt_never_fatal(tmp_path: Path, damage: str) -> None:
    content = make_site(tmp_path, 12)
    state = tmp_path / "state"
    with Builder(config(content), state, workers=1) as builder:
        expected = builder.run(NOW).snapshot.key
    db = state / "posts.sqlite3"
    for extra in state.glob("posts.sqlite3-*"):
        extra.unlink()
    if damage == "garbage":
        db.write_bytes(b"this is not a database" * 100)
    elif damage == "truncated":
        db.write_bytes(db.read_bytes()[:1000])
    elif damage == "missing":
        db.unlink()
    overrides = {"title": "Another title"} if damage == "other settings" else {}
    with Builder(config(content, **overrides), state, workers=1) as restarted:
        result = restarted.run(NOW)
    assert result.stats["parsed"] == 12  # everything parsed again, nothing trusted
    if not overrides:
        assert result.snapshot.key == expected


def test_a_change_that_keeps_size_and_mtime_is_still_seen_when_racy(tmp_path: Path) -> None:
    content = make_site(tmp_path, 3)
    post = content / "p001.md"
    with Builder(config(content), workers=1) as builder:
        builder.run(NOW)
        stat = post.stat()
        post.write_text(post.read_text().replace("body 1", "body X"))  # same size
        os.utime(post, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime
        assert post.stat().st_size == stat.st_size
        result = builder.run(NOW)
    assert b"body X" in result.snapshot.documents["atom.xml"].body


def test_a_process_pool_build_equals_an_in_process_build(tmp_path: Path) -> None:
    content = make_site(tmp_path, 450)  # above the pool threshold
    with Builder(config(content), workers=2) as pooled:
        result = pooled.run(NOW)
    assert {p: d.body for p, d in result.snapshot.documents.items()} == cold(content)
