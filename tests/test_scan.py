"""Scan: which files under the content folder are candidate posts, with their signatures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feedsvc.scan import walk


def touch(root: Path, relpath: str) -> None:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\ntitle: x\n---\n", encoding="utf-8")


def test_scan_lists_post_files_and_skips_what_is_never_a_post(content_dir: Path) -> None:
    for relpath in [
        "a.md",
        "b.markdown",
        "seed.txt",
        "page.html",
        "sub/deeper/c.md",
        "_posts/d.md",
        ".hidden.md",
        ".git/e.md",
        "sub/.cache/f.md",
        "_drafts/g.md",
        "node_modules/pkg/readme.md",
        "a.md~",
        "a.md.bak",
        ".a.md.swp",
        "a.md.orig",
        "image.png",
        "notes.json",
    ]:
        touch(content_dir, relpath)

    listing = walk(content_dir)

    assert sorted(listing.signatures) == [
        "_posts/d.md",
        "a.md",
        "b.markdown",
        "page.html",
        "seed.txt",
        "sub/deeper/c.md",
    ]
    assert listing.problems == []
    for relpath, signature in listing.signatures.items():
        source = listing.source(relpath)
        assert Path(source.path) == content_dir.resolve() / relpath
        assert source.size == signature[0] == os.stat(source.path).st_size


def test_the_listing_does_not_depend_on_the_order_of_creation(tmp_path: Path) -> None:
    names = ["b.md", "a/z.md", "c.md", "a.md", "a/b.md"]
    first, second = tmp_path / "one", tmp_path / "two"
    for name in names:
        touch(first, name)
    for name in reversed(names):
        touch(second, name)
    assert walk(first).signatures.keys() == walk(second).signatures.keys() == set(names)


def test_symlink_leaving_the_content_folder_is_reported_not_followed(
    tmp_path: Path, content_dir: Path
) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("---\ntitle: secret\n---\n", encoding="utf-8")
    os.symlink(outside, content_dir / "link.md")
    listing = walk(content_dir)
    assert listing.signatures == {}
    assert [(p.file, p.severity) for p in listing.problems] == [("link.md", "warning")]


def test_a_missing_content_folder_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        walk(tmp_path / "nope")
