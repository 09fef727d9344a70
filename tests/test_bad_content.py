"""Bad content as found in real folders: one bad post costs at most that post.

The corpus is data: each case under ``tests/data/bad/`` is a file (``NAME.ext``, expected
outcome in ``NAME.ext.expected.json``) or a small folder (``NAME/``, outcome in
``NAME.expected.json``). An expected file holds

- ``outcome``: ``"published"`` or ``"skipped"`` for a file case; for a folder case a
  mapping of each file (relative to the folder) to its outcome;
- ``problems``: every problem the build reports, each ``{field, severity,
  reason_contains}`` plus ``file`` in folder cases (``[]``: none at all);
- optionally ``title``, ``author``, ``categories``, ``date`` (``Z`` instant), ``link``,
  ``thumbnail`` of a published file case; ``feeds``: feed folders that must exist;
  ``present``: strings in the feed items' HTML (JSON Feed ``content_html``, unescaped);
  ``absent``: strings in no served document and no item HTML; ``comment``: why the case
  exists.

Cases whose bytes are not UTF-8 use the ``.markdown`` ending (also a Markdown post): ruff
formats ``.md`` files and stops on undecodable ones.

Each case is built alone into a content folder (every file stamped with the fallback
modification time, 2020-09-13T12:26:40Z) and every written document is opened as a
reader would (feedparser ``bozo == 0``, JSON Feed, OPML, HTML). No item HTML of any case
may carry a script, an event handler, a ``javascript:`` URL or ``srcdoc``.

The cases that cannot be files in a repository (names that are not UTF-8, symlinks,
FIFOs, 20,000 files, 200 levels, 2 MB posts, files changing under the scan, unreadable
files) are made here in temporary folders. Last, one folder mixes the seeds, the bundled
examples and every case, and is built, served through the Flask test client and served by
a real server: every feed valid, every good post present.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from lxml import etree

from feedsvc.app import create_app
from feedsvc.build import Builder, Result, parse_source, read_file
from feedsvc.post import Post
from feedsvc.problem import Problem
from feedsvc.scan import walk
from feedsvc.service import Service
from feedsvc.settings import Settings, load_settings
from feedsvc.snapshot import Snapshot, write
from tests.conftest import (
    DATA,
    EXAMPLES,
    MTIME,
    NOW,
    SEEDS,
    MakeSettings,
    assert_json_feed,
    check_written_folder,
    parse_feed,
)
from tests.serving import serve

BAD = DATA / "bad"
EXPECTED = ".expected.json"
CASES = sorted(
    p for p in BAD.iterdir() if not p.name.endswith(EXPECTED) and not p.name.startswith(".")
)
#: Attribute values that run code when an HTML reader renders the item.
_ACTIVE_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
#: Enough items that every post of a case (or of the mixed folder) is in the site feed.
ITEM_LIMIT = 5000


def expected_of(case: Path) -> dict[str, Any]:
    name = case.name + EXPECTED
    data: dict[str, Any] = json.loads((BAD / name).read_text(encoding="utf-8"))
    return data


def stamp(folder: Path, when: datetime = MTIME) -> None:
    """Give every file under ``folder`` the same modification time (not following links)."""
    seconds = when.timestamp()
    for path in sorted(folder.rglob("*")):
        if not path.is_symlink():
            os.utime(path, (seconds, seconds))


def install(case: Path, content: Path) -> dict[str, str]:
    """Copy a case into ``content``; its files (relative to ``content``) and outcomes."""
    expected = expected_of(case)
    if case.is_dir():
        shutil.copytree(case, content, dirs_exist_ok=True)
        outcomes: dict[str, str] = expected["outcome"]
    else:
        shutil.copyfile(case, content / case.name)
        outcomes = {case.name: expected["outcome"]}
    stamp(content)
    return outcomes


def run(settings: Settings, now: datetime = NOW) -> Result:
    with Builder(settings) as builder:
        return builder.run(now)


def published(result: Result) -> dict[str, Post]:
    """The posts in the site feed, by file."""
    return {post.source: post for post in result.catalog.feeds[0].posts}


def item_html(docs: dict[str, Any]) -> list[str]:
    """The HTML of every item of every JSON feed written, as a reader decodes it."""
    return [
        item["content_html"]
        for path, doc in docs.items()
        if path.endswith("feed.json")
        for item in doc["items"]
    ]


def xml_item_html(out: Path) -> list[str]:
    """The HTML in every Atom ``content``/``summary`` and RSS ``description``/
    ``content:encoded`` written, unescaped once (what a reader renders)."""
    found = []
    for path in sorted(out.rglob("*.xml")):
        if path.name not in ("atom.xml", "rss.xml"):
            continue
        root = etree.fromstring(path.read_bytes())
        for el in root.iter(etree.Element):
            if etree.QName(el).localname in ("content", "summary", "description", "encoded"):
                found.append(el.text or "")
    return found


def active_content(html: str) -> list[str]:
    """Scripts, event handlers, script URLs and ``srcdoc`` documents in an HTML fragment."""
    if not html.strip():
        return []
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    found = []
    for el in root.iter(etree.Element):
        if el.tag == "script":
            found.append("<script>")
        for name, value in el.attrib.items():
            squeezed = "".join(value.split()).lower()
            handler = name.lower().startswith("on") or name.lower() == "srcdoc"
            if handler or squeezed.startswith(_ACTIVE_SCHEMES):
                found.append(f"{el.tag} {name}={value!r}")
    return found


def assert_problems(
    problems: tuple[Problem, ...] | list[Problem],
    expected: list[dict[str, str]],
    default_file: str | None,
    prefix: str = "",
) -> None:
    """Every expected problem reported exactly once, and nothing else."""
    remaining = list(problems)
    for want in expected:
        file = prefix + want.get("file", default_file or "")
        for problem in remaining:
            if (
                problem.file == file
                and problem.field == want["field"]
                and problem.severity == want["severity"]
                and want["reason_contains"] in problem.reason
            ):
                remaining.remove(problem)
                break
        else:
            shown = "\n".join(p.line() for p in problems)
            pytest.fail(f"not reported: {want} (file {file!r}); reported:\n{shown}")
    assert remaining == [], "unexpected problems:\n" + "\n".join(p.line() for p in remaining)


def assert_safe_paths(snapshot: Snapshot) -> None:
    """Every served path is relative, with no empty, ``.`` or ``..`` segment."""
    for path in snapshot.documents:
        assert not path.startswith("/"), path
        segments = path.split("/")
        assert all(s not in ("", ".", "..") for s in segments), path
        assert "\\" not in path and "\x00" not in path, path


# -- the corpus, case by case --------------------------------------------------------------


def test_every_case_has_an_expected_outcome_and_every_outcome_a_case() -> None:
    expected = sorted(p.name for p in BAD.glob("*" + EXPECTED))
    assert expected == sorted(c.name + EXPECTED for c in CASES)
    assert len(CASES) >= 70


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_bad_content_case_gives_its_expected_outcome_and_valid_feeds(
    case: Path, content_dir: Path, tmp_path: Path, make_settings: MakeSettings
) -> None:
    expected = expected_of(case)
    settings = make_settings(item_limit=ITEM_LIMIT)
    outcomes = install(case, content_dir)

    result = run(settings)  # never raises for bad content

    posts = published(result)
    assert {f: "published" if f in posts else "skipped" for f in outcomes} == outcomes
    assert set(posts) <= set(outcomes), "only the case's own files are posts"
    assert_problems(result.problems, expected["problems"], None if case.is_dir() else case.name)
    for problem in result.problems:
        assert problem.file in outcomes, f"a problem names its file: {problem}"
        assert "\n" not in problem.line() and problem.file in problem.line()

    out = tmp_path / "out"
    write(result.snapshot, out)
    docs = check_written_folder(out)  # feedparser bozo == 0, JSON Feed, OPML, HTML
    assert_safe_paths(result.snapshot)
    html = item_html(docs) + xml_item_html(out)
    for fragment in html:
        assert active_content(fragment) == [], fragment
    for folder in expected.get("feeds", []):
        assert folder + "atom.xml" in docs, f"no feed at {folder}: {sorted(docs)}"
    for text in expected.get("present", []):
        assert any(text in fragment for fragment in item_html(docs)), text
    written = [p for p in out.rglob("*") if p.is_file() and p.suffix != ".gz"]
    bodies = [p.read_bytes().decode("utf-8") for p in written] + html
    for text in expected.get("absent", []):
        assert not any(text in body for body in bodies), f"{text!r} reached a document"

    if not case.is_dir() and expected["outcome"] == "published":
        post = posts[case.name]
        item = next(i for i in docs["feed.json"]["items"] if i["id"] == post.id)
        actual = {
            "title": post.title,
            "author": post.author,
            "categories": [list(path) for path in post.categories],
            "date": post.published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "link": post.link,
            "thumbnail": item.get("image", ""),
        }
        wanted = {k: expected[k] for k in actual if k in expected}
        assert {k: actual[k] for k in wanted} == wanted


# -- cases made in temporary folders -------------------------------------------------------

GOOD = "---\ntitle: A good post\ndate: 2021-04-07T12:03:06Z\ncategories: [News]\n---\nFine.\n"


def good_post(folder: Path, name: str = "good.md") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(GOOD.replace("A good post", f"Good {name}"), encoding="utf-8")
    return path


def build_and_check(settings: Settings, tmp_path: Path) -> tuple[Result, dict[str, Any]]:
    """Build as of NOW and open every written document as a reader would."""
    result = run(settings)
    out = tmp_path / "out"
    write(result.snapshot, out)
    return result, check_written_folder(out)


def test_a_post_over_the_default_size_limit_is_skipped_without_being_read(
    content_dir: Path, tmp_path: Path, make_settings: MakeSettings
) -> None:
    settings = make_settings()
    assert settings.max_post_bytes == 2_000_000
    good_post(content_dir)
    big = content_dir / "huge.md"
    with open(big, "wb") as fh:
        fh.write(b"---\ntitle: Huge\n---\n")
        fh.truncate(settings.max_post_bytes + 1)  # sparse: the size is what matters
    result, _ = build_and_check(settings, tmp_path)
    assert set(published(result)) == {"good.md"}
    assert_problems(
        result.problems,
        [{"field": "", "severity": "error", "reason_contains": "2000001 bytes is over"}],
        "huge.md",
    )


def test_nul_bytes_after_the_first_8_kb_are_removed_not_fatal(
    content_dir: Path, tmp_path: Path, make_settings: MakeSettings
) -> None:
    (content_dir / "late-nul.md").write_bytes(
        GOOD.encode() + b"x" * 9000 + b"\x00 after the sniffed part\x00\n"
    )
    result, docs = build_and_check(make_settings(), tmp_path)
    assert set(published(result)) == {"late-nul.md"}
    assert "\x00" not in docs["feed.json"]["items"][0]["content_html"]


def test_names_that_are_not_utf8_are_skipped_and_reported_printably(
    content_dir: Path, tmp_path: Path, make_settings: MakeSettings
) -> None:
    good_post(content_dir)
    root = os.fsencode(content_dir)
    with open(root + b"/caf\xe9.md", "wb") as fh:  # Latin-1 file name
        fh.write(GOOD.encode())
    os.mkdir(root + b"/d\xff")
    with open(root + b"/d\xff/inside.md", "wb") as fh:
        fh.write(GOOD.encode())
    with open(root + b"/image-\xff.png", "wb") as fh:  # not a post: not reported
        fh.write(b"\x89PNG")

    result, _ = build_and_check(make_settings(), tmp_path)

    assert set(published(result)) == {"good.md"}
    assert [(p.file, p.severity, p.action) for p in result.problems] == [
        ("caf\\xe9.md", "error", "skipped; rename it"),
        ("d\\xff", "error", "skipped the folder; rename it"),
    ]
    report = json.dumps([p.as_dict() for p in result.problems], ensure_ascii=False)
    report.encode("utf-8")  # printable: no lone surrogates reach JSON, logs or a terminal


def test_control_characters_and_blanks_in_file_names_never_break_a_feed_or_a_line(
    content_dir: Path, tmp_path: Path, make_settings: MakeSettings
) -> None:
    fm = "---\ndate: 2021-04-07T12:03:06Z\n---\nNo title: the file name is used.\n"
    for name in ("line\nbreak.md", "bell\x07.md", "\x01.md", " .md", "tab\there.md", "\u2028.md"):
        (content_dir / name).write_text(fm, encoding="utf-8")

    result, docs = build_and_check(make_settings(), tmp_path)

    titles = sorted(post.title for post in published(result).values())
    assert titles == ["bell", "line break", "tab here", "untitled", "untitled", "untitled"]
    assert len(result.problems) == 6
    for problem in result.problems:
        line = problem.line()
        assert len(line.splitlines()) == 1 and line.isprintable(), line
    assert len(docs["atom.xml"].entries) == 6


def test_a_file_that_vanishes_or_changes_between_listing_and_reading_is_not_published_half(
    content_dir: Path, make_settings: MakeSettings
) -> None:
    settings = make_settings()
    zone = ZoneInfo(settings.timezone)
    for name in ("vanishes.md", "grows.md", "touched.md", "replaced.md", "steady.md"):
        good_post(content_dir, name)
    listing = walk(content_dir)
    files = {relpath: listing.source(relpath) for relpath in listing.signatures}

    (content_dir / "vanishes.md").unlink()
    with open(content_dir / "grows.md", "a", encoding="utf-8") as fh:  # still being written
        fh.write("more text arriving\n")
    os.utime(content_dir / "touched.md", (0, 1_700_000_000))
    replacement = content_dir / ".replaced.tmp"  # same size and time, new inode
    replacement.write_bytes((content_dir / "replaced.md").read_bytes().replace(b"F", b"G"))
    st = os.stat(content_dir / "replaced.md")
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(replacement, content_dir / "replaced.md")

    assert read_file(files["vanishes.md"]) is None
    assert read_file(files["grows.md"]) is None
    assert read_file(files["touched.md"]) is None
    # A whole new file renamed into place is complete: reading it is fine.
    assert read_file(files["replaced.md"]) == (content_dir / "replaced.md").read_bytes()
    assert read_file(files["steady.md"]) == (content_dir / "steady.md").read_bytes()

    for name in ("vanishes.md", "grows.md", "touched.md"):
        _, signature, post, problems = parse_source(files[name], settings, zone)
        assert post is None and signature[0] < 0, "retried on the next scan"
        assert [(p.file, p.severity) for p in problems] == [(name, "warning")]
        assert "changed or vanished while being read" in problems[0].reason


def test_a_post_deleted_between_two_scans_simply_goes(
    content_dir: Path, make_settings: MakeSettings
) -> None:
    good_post(content_dir, "stays.md")
    gone = good_post(content_dir, "goes.md")
    with Builder(make_settings()) as builder:
        assert set(published(builder.run(NOW))) == {"stays.md", "goes.md"}
        gone.unlink()
        second = builder.run(NOW)
    assert set(published(second)) == {"stays.md"}
    assert second.problems == ()


def test_symlinks_never_leave_the_content_folder_and_loops_end(
    content_dir: Path, tmp_path: Path, make_settings: MakeSettings
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = "SECRET-OUTSIDE-THE-CONTENT-FOLDER"
    (outside / "secret.md").write_text(GOOD.replace("Fine.", secret), encoding="utf-8")
    good_post(content_dir, "sub/real.md")
    links = {
        "loop": ".",  # a folder linking to its parent
        "sub/up": "..",
        "sub/self": "self",  # a link to itself
        "self.md": "self.md",
        "dangling.md": "missing.md",
        "abs-outside.md": str(outside / "secret.md"),
        "rel-outside.md": "../outside/secret.md",
        "outside-dir": str(outside),
        "chain.md": "chain-step.md",
        "chain-step.md": "../outside/secret.md",  # inside -> inside -> outside
        "etc": "/etc",
        "passwd.md": "/etc/passwd",
        "alias.md": "sub/real.md",  # stays inside: followed
    }
    for name, target in links.items():
        os.symlink(target, content_dir / name)

    result, _ = build_and_check(make_settings(), tmp_path)

    assert set(published(result)) == {"sub/real.md", "alias.md"}
    by_file = {p.file: (p.severity, p.reason) for p in result.problems}
    for name in ("abs-outside.md", "rel-outside.md", "outside-dir", "chain.md", "chain-step.md"):
        assert by_file.pop(name) == ("warning", "symlink points outside the content folder")
    for name in ("etc", "passwd.md"):
        assert by_file.pop(name)[1] == "symlink points outside the content folder"
    for name in ("loop", "sub/up"):
        assert by_file.pop(name)[1].startswith("folder already scanned")
    for name in ("self.md", "sub/self", "dangling.md"):
        severity, reason = by_file.pop(name)
        assert severity == "error" and reason.startswith("cannot stat"), name
    assert by_file == {}
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file() and path.suffix != ".gz":
            data = path.read_bytes()
            assert secret.encode() not in data and b"root:x:0:0" not in data, path


def test_a_tree_200_folders_deep_is_scanned_to_the_bottom(
    content_dir: Path, tmp_path: Path, make_settings: MakeSettings
) -> None:
    deep = content_dir.joinpath(*[f"d{i}" for i in range(200)])
    good_post(deep, "bottom.md")
    good_post(content_dir, "top.md")
    result, _ = build_and_check(make_settings(), tmp_path)
    assert len(published(result)) == 2
    assert result.problems == ()


def test_twenty_thousand_files_in_one_folder(
    content_dir: Path, tmp_path: Path, make_settings: MakeSettings
) -> None:
    for i in range(20_000):
        (content_dir / f"{i:05d}.md").write_bytes(
            b"---\ntitle: Post %d\ndate: 2021-01-01T00:00:00Z\ncategories: [Bulk]\n---\nHi.\n" % i
        )
    result, docs = build_and_check(make_settings(), tmp_path)
    assert result.stats["posts"] == 20_000 and result.problems == ()
    assert len(docs["categories/Bulk/atom.xml"].entries) == 20  # item_limit
    assert len(docs["feed.json"]["items"]) == 20


def test_files_that_are_not_posts_are_ignored_whatever_they_are(
    content_dir: Path, tmp_path: Path, make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    good_post(content_dir, "UPPER.MD")
    good_post(content_dir, "long.markdown")
    good_post(content_dir, "folder.md/inside.md")  # a folder named like a post
    blobs = {
        "photo.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF",
        "icon.png": b"\x89PNG\r\n\x1a\n",
        "paper.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3",
        "data.json": b'{"title": "not a post"}',
        "_config.yml": b"title: a Hexo config, not a post\n",
        "style.css": b"body { color: red }",
        "script.js": b"alert(1)",
        "archive.zip": b"PK\x03\x04",
        "README": b"no extension",
        ".DS_Store": b"\x00\x00\x00\x01Bud1",
        "Thumbs.db": b"\xd0\xcf\x11\xe0",
        ".gitkeep": b"",
        "empty.txt": b"",
        "notes.htm": b"<p>no front matter</p>",
        "post.md.part": GOOD.encode(),  # a download in progress
        "~$draft.md": GOOD.encode(),  # a Word lock file
    }
    for name, data in blobs.items():
        (content_dir / name).write_bytes(data)
    os.mkfifo(content_dir / "pipe.md")  # opening it would block the scan forever
    sock = socket.socket(socket.AF_UNIX)
    try:
        monkeypatch.chdir(content_dir)  # a relative name: socket paths are short (108 bytes)
        sock.bind("socket.md")
        (content_dir / "empty.md").write_bytes(b"")
        result, _ = build_and_check(make_settings(), tmp_path)
    finally:
        sock.close()

    assert set(published(result)) == {"UPPER.MD", "long.markdown", "folder.md/inside.md"}
    assert [(p.file, p.severity) for p in result.problems] == [("empty.md", "error")]
    assert stat.S_ISFIFO(os.stat(content_dir / "pipe.md").st_mode)


def test_paths_too_long_to_open_are_reported_like_unreadable_ones(
    content_dir: Path, tmp_path: Path, make_settings: MakeSettings
) -> None:
    """Unreadable even for root (so this runs in CI, unlike the chmod test below): past
    PATH_MAX (4096 bytes) a folder or a file cannot be reached by its path."""
    good_post(content_dir)
    fd = os.open(content_dir, os.O_RDONLY)
    try:
        depth = 0
        while len(str(content_dir)) + depth * 201 < 4000:  # just under PATH_MAX
            os.mkdir("d" * 200, dir_fd=fd)
            fd, parent = os.open("d" * 200, os.O_RDONLY, dir_fd=fd), fd
            os.close(parent)
            depth += 1
        post = os.open("p" * 200 + ".md", os.O_WRONLY | os.O_CREAT, dir_fd=fd)
        os.write(post, GOOD.encode())
        os.close(post)
        os.mkdir("e" * 200, dir_fd=fd)
    finally:
        os.close(fd)

    result, _ = build_and_check(make_settings(), tmp_path)

    assert set(published(result)) == {"good.md"}
    found = sorted((p.file.rsplit("/", 1)[-1][:1], p.severity, p.reason) for p in result.problems)
    assert found == [
        ("e", "error", "cannot stat: File name too long"),  # the folder
        ("p", "error", "cannot stat: File name too long"),  # the post
    ]


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root: chmod 000 does not stop root from reading (CI runs as root)",
)
def test_unreadable_files_and_folders_are_reported_and_skipped(
    content_dir: Path, tmp_path: Path, make_settings: MakeSettings
) -> None:
    good_post(content_dir)
    locked_file = good_post(content_dir, "locked.md")
    locked_dir = content_dir / "locked-folder"
    good_post(locked_dir, "inside.md")
    locked_file.chmod(0)
    locked_dir.chmod(0)
    try:
        result, _ = build_and_check(make_settings(), tmp_path)
    finally:
        locked_dir.chmod(0o755)
        locked_file.chmod(0o644)
    assert set(published(result)) == {"good.md"}
    files = {p.file for p in result.problems}
    assert {"locked.md", "locked-folder"} <= files


# -- the log of each scan -------------------------------------------------------------------


def logged_problem_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def problem_folder(content: Path, outside: Path) -> None:
    """One problem of each origin: parsing, scanning, cataloguing."""
    (content / "garbage-date.md").write_text(
        "---\ntitle: x\ndate: someday\n---\nx\n", encoding="utf-8"
    )
    outside.write_text(GOOD, encoding="utf-8")
    os.symlink(outside, content / "outside.md")
    for name in ("twin-a.md", "twin-b.md"):
        (content / name).write_text(GOOD.replace("title:", "id: twin\ntitle:"), "utf-8")


def test_parse_problems_are_logged_once_not_on_every_rescan(
    content_dir: Path, tmp_path: Path, make_settings: MakeSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="feedsvc")
    problem_folder(content_dir, tmp_path / "outside.md")
    with Builder(make_settings()) as builder:
        first = builder.run(NOW)
        logged = logged_problem_lines(caplog)
        caplog.clear()
        second = builder.run(NOW)
    parse_line = next(p.line() for p in first.problems if p.file == "garbage-date.md")
    assert logged.count(parse_line) == 1
    assert second.problems == first.problems, "/healthz keeps reporting them"
    assert logged_problem_lines(caplog) == [], "an unchanged folder logs no problem again"


def test_scan_and_catalog_problems_are_logged_too(
    content_dir: Path, tmp_path: Path, make_settings: MakeSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="feedsvc")
    problem_folder(content_dir, tmp_path / "outside.md")
    result = run(make_settings())
    logged = logged_problem_lines(caplog)
    assert {p.file for p in result.problems} == {
        "garbage-date.md",
        "outside.md",
        "twin-a.md",
        "twin-b.md",
    }
    for problem in result.problems:
        assert logged.count(problem.line()) == 1, problem.line()


# -- everything at once, built and served ---------------------------------------------------


@dataclass(frozen=True)
class Mixed:
    content: Path
    expected: set[str]  #: files of the good posts, relative to the content folder


def mix(root: Path) -> Mixed:
    """One content folder: the examples at the top, the seeds under ``seeds/`` (when
    present), every corpus case under ``bad/<case>/`` and hostile entries made here."""
    content = root / "content"
    shutil.copytree(EXAMPLES, content)
    examples = load_settings(
        environ={}, overrides={"content_dir": str(content), "item_limit": ITEM_LIMIT}
    )
    expected = set(published(run(examples)))
    assert len(expected) == 10
    if SEEDS.is_dir():
        shutil.copytree(SEEDS, content / "seeds")
        expected |= {f"seeds/{p.name}" for p in SEEDS.iterdir() if p.is_file()}
    for case in CASES:
        folder = content / "bad" / case.name
        folder.mkdir(parents=True)
        outcomes = install(case, folder)
        expected |= {f"bad/{case.name}/{f}" for f, o in outcomes.items() if o == "published"}
    hostile = content / "hostile"
    hostile.mkdir()
    with open(hostile / "huge.md", "wb") as fh:
        fh.write(b"---\ntitle: Huge\n---\n")
        fh.truncate(2_000_001)
    os.mkfifo(hostile / "pipe.md")
    os.symlink(".", hostile / "loop")
    os.symlink("/etc/passwd", hostile / "passwd.md")
    with open(os.fsencode(hostile) + b"/latin1-\xe9.md", "wb") as fh:
        fh.write(GOOD.encode())
    (hostile / "line\nbreak.md").write_text(GOOD, encoding="utf-8")
    expected.add("hostile/line\nbreak.md")
    stamp(content)
    return Mixed(content, expected)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Mixed:
    return mix(tmp_path_factory.mktemp("mixed"))


def mixed_settings(mixed: Mixed, tmp: Path, **overrides: Any) -> Settings:
    return load_settings(
        environ={},
        cwd=tmp,
        overrides={
            "content_dir": str(mixed.content),
            "base_url": "https://feeds.example.org/",
            "site_url": "https://blog.example.com/",
            "item_limit": ITEM_LIMIT,
            **overrides,
        },
    )


def test_a_folder_mixing_seeds_examples_and_every_bad_case_builds_valid_feeds(
    mixed: Mixed, tmp_path: Path
) -> None:
    result, docs = build_and_check(mixed_settings(mixed, tmp_path), tmp_path)

    assert set(published(result)) == mixed.expected
    assert len(docs["feed.json"]["items"]) == len(mixed.expected)
    assert_safe_paths(result.snapshot)
    for fragment in item_html(docs) + xml_item_html(tmp_path / "out"):
        assert active_content(fragment) == [], fragment
    # Each bad file is reported under its place in the mixed folder.
    reported = {p.file for p in result.problems}
    for case in CASES:
        for want in expected_of(case)["problems"]:
            file = want.get("file", case.name)
            assert f"bad/{case.name}/{file}" in reported
    for name in ("huge.md", "passwd.md", "latin1-\\xe9.md"):
        assert f"hostile/{name}" in reported
    lines = [p.line() for p in result.problems]
    assert len(lines) == len(set(lines)), "no problem is listed twice"


def feed_urls(opml: bytes) -> list[str]:
    """Every feed an OPML import would subscribe to, in all three formats."""
    root = etree.fromstring(opml)
    atoms = [el.get("xmlUrl") or "" for el in root.iter("outline") if el.get("xmlUrl")]
    return [
        a[: -len("atom.xml")] + name for a in atoms for name in ("atom.xml", "rss.xml", "feed.json")
    ]


def check_feed(url: str, status: int, body: bytes) -> None:
    assert status == 200, url
    if url.endswith("feed.json"):
        assert_json_feed(json.loads(body))
    else:
        parse_feed(body)


def served_ids(body: bytes) -> list[str]:
    return [item["id"] for item in json.loads(body)["items"]]


def test_the_mixed_folder_served_through_the_flask_test_client(
    mixed: Mixed, tmp_path: Path
) -> None:
    settings = mixed_settings(mixed, tmp_path)
    service = Service(settings, tmp_path / "state", clock=lambda: NOW)
    status = service.rescan()
    assert status["ok"] is True, status
    client = create_app(service=service).test_client()

    opml = client.get("/opml.xml")
    assert opml.status_code == 200
    urls = feed_urls(opml.data)
    assert len(urls) > 3 * 50
    for url in urls:
        path = urlsplit(url).path
        assert url.startswith("https://feeds.example.org/")
        reply = client.get(unquote(path))
        check_feed(url, reply.status_code, reply.data)
    ids = served_ids(client.get("/feed.json").data)
    assert len(ids) == len(set(ids)) == len(mixed.expected)
    health = client.get("/healthz").get_json()
    assert health["posts"] == len(mixed.expected)
    assert health["problems"] == [p.as_dict() for p in run(settings).problems]


@pytest.mark.server
def test_the_mixed_folder_served_by_a_real_server(mixed: Mixed, tmp_path: Path) -> None:
    with serve(tmp_path, mixed.content, refresh="3600", item_limit=str(ITEM_LIMIT)) as server:
        opml = server.get("/opml.xml")
        assert opml.status == 200
        urls = feed_urls(opml.body)
        assert len(urls) > 3 * 50
        for url in urls:
            parts = urlsplit(url)
            assert parts.port == server.port, url
            reply = server.get(parts.path)
            check_feed(url, reply.status, reply.body)
        ids = served_ids(server.get("/feed.json").body)
        # The real clock: every good post is dated before today.
        assert len(ids) == len(set(ids)) == len(mixed.expected)
        assert server.health()["posts"] == len(mixed.expected)
