"""Shared fixtures and helpers.

Fixtures build what a test needs in its own temporary folder: settings (``make_settings``),
a content folder with posts (``write_post``) and a fixed clock (``now``). The helpers
check documents the way a reader would: :func:`parse_feed` runs feedparser and insists on
``bozo == 0``; :func:`check_written_folder` opens every file a build wrote.
"""

from __future__ import annotations

import calendar
import gzip
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import feedparser
import lxml.html
import pytest
import yaml
from lxml import etree

from feedsvc.build import Builder, Result
from feedsvc.post import Parsed, parse_post
from feedsvc.settings import Settings, load_settings
from feedsvc.snapshot import MANIFEST, write

#: The repository root.
ROOT = Path(__file__).resolve().parent.parent
#: The bundled example content and the configuration file that points at it.
EXAMPLES = ROOT / "examples" / "content"
EXAMPLE_CONFIG = ROOT / "config" / "feedsvc.toml"
#: The two seed posts shared with the other sessions (may be absent outside this setup).
SEEDS = ROOT.parent / "shared" / "seeds"
#: Folder of data-driven test inputs.
DATA = Path(__file__).resolve().parent / "data"
#: The clock of every test that builds: after all example posts, long before 2099.
NOW = datetime(2026, 1, 1, tzinfo=UTC)
#: Modification time given to posts whose date must fall back to it.
MTIME = datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)

#: The files a build writes for each feed folder.
FEED_FILES = ("atom.xml", "rss.xml", "feed.json")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="session")
def _private_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """State folders chosen by default (under the user cache) go to a temporary folder
    for the whole session, session-wide fixtures and subprocesses included."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
        yield


@pytest.fixture(autouse=True)
def _no_feedsvc_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's FEEDSVC_* variables must not leak into any test."""
    for key in list(os.environ):
        if key.startswith("FEEDSVC_"):
            monkeypatch.delenv(key)


@pytest.fixture
def now() -> datetime:
    """A fixed, aware clock; time is passed in, never patched."""
    return NOW


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """An empty content folder for this test."""
    folder = tmp_path / "content"
    folder.mkdir()
    return folder


class MakeSettings(Protocol):
    def __call__(self, **overrides: Any) -> Settings: ...


@pytest.fixture
def make_settings(tmp_path: Path, content_dir: Path) -> MakeSettings:
    """Settings for ``content_dir`` with distinct feed and site hosts, plus overrides."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "content_dir": str(content_dir),
            "base_url": "https://feeds.example.org/",
            "site_url": "https://blog.example.com/",
            "title": "Test site",
        }
        values.update(overrides)
        return load_settings(environ={}, overrides=values, cwd=tmp_path)

    return make


class WritePost(Protocol):
    def __call__(
        self,
        relpath: str,
        front_matter: Mapping[str, Any] | str,
        body: str = ...,
        *,
        mtime: datetime | None = ...,
    ) -> Path: ...


@pytest.fixture
def write_post(content_dir: Path) -> WritePost:
    """Write a post (front matter as a mapping or as YAML text) into ``content_dir``."""

    def write_one(
        relpath: str,
        front_matter: Mapping[str, Any] | str,
        body: str = "Some body text.\n",
        *,
        mtime: datetime | None = None,
    ) -> Path:
        if isinstance(front_matter, str):
            fm = front_matter
        else:
            fm = yaml.safe_dump(dict(front_matter), allow_unicode=True, sort_keys=False)
        path = content_dir / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\n{fm.rstrip()}\n---\n{body}", encoding="utf-8")
        stamp = (mtime or MTIME).timestamp()
        os.utime(path, (stamp, stamp))
        return path

    return write_one


@dataclass(frozen=True)
class ExampleSite:
    """The bundled examples built once with the bundled config, as of :data:`NOW`."""

    result: Result
    out: Path
    docs: dict[str, Any]  #: every written file, parsed (see check_written_folder)


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> ExampleSite:
    out = tmp_path_factory.mktemp("examples") / "out"
    settings = load_settings(config_file=EXAMPLE_CONFIG, environ={}, cwd=ROOT)
    result = build(settings, NOW, out)
    return ExampleSite(result, out, check_written_folder(out))


# -- helpers -------------------------------------------------------------------------------


def parse_feed(data: bytes) -> feedparser.FeedParserDict:
    """feedparser's reading of an RSS or Atom document, which must be well-formed."""
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, f"feedparser: {parsed.get('bozo_exception')!r}"
    assert parsed.version in ("rss20", "atom10"), parsed.version
    return parsed


def parse(data: bytes, source: str, settings: Settings, mtime: datetime = MTIME) -> Parsed:
    """``parse_post`` with the settings' time zone and a fixed modification time."""
    return parse_post(
        data, source, int(mtime.timestamp()) * 10**9, settings, ZoneInfo(settings.timezone)
    )


def build(settings: Settings, now: datetime, out: Path | None = None) -> Result:
    """One full build as of ``now``, written to ``out`` when given."""
    result = Builder(settings).run(now)
    if out is not None:
        write(result.snapshot, out)
    return result


def written_files(out: Path) -> dict[str, bytes]:
    """Every file a build wrote (POSIX relative path -> bytes), except the manifest, whose
    report records the build's own time."""
    files = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel != MANIFEST:
            files[rel] = path.read_bytes()
    return files


def feed_folders(out: Path) -> set[str]:
    """Folders (relative, "" for the top) holding a feed, judged by their atom.xml."""
    return {
        "" if p.parent == out else p.parent.relative_to(out).as_posix() + "/"
        for p in out.rglob("atom.xml")
    }


def utc(struct: Any) -> datetime:
    """A feedparser ``*_parsed`` struct_time (always UTC) as an aware datetime."""
    return datetime.fromtimestamp(calendar.timegm(struct), UTC)


def iso(text: str) -> datetime:
    """An RFC 3339 string as an aware UTC instant."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"{text!r} has no offset"
    return parsed.astimezone(UTC)


def assert_json_feed(doc: Mapping[str, Any]) -> None:
    """The JSON Feed 1.1 requirements, and the recommended fields feedsvc promises."""
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(doc["title"], str) and doc["title"]
    assert isinstance(doc["items"], list)
    for key in ("home_page_url", "feed_url", "language"):
        assert isinstance(doc[key], str) and doc[key], key
    assert "author" not in doc, "JSON Feed 1.1 uses authors, not author"
    for item in doc["items"]:
        assert isinstance(item["id"], str) and item["id"]
        # One of the two must be present (an empty body is still a string, and valid).
        content = [item[key] for key in ("content_html", "content_text") if key in item]
        assert content and all(isinstance(c, str) for c in content), item["id"]
        assert isinstance(item["url"], str) and item["url"].startswith(("http://", "https://"))
        for key in ("date_published", "date_modified"):
            assert RFC3339.match(item[key]), f"{key} {item[key]!r} is not RFC 3339"
        assert iso(item["date_modified"]) >= iso(item["date_published"])
        assert "author" not in item
        for author in item.get("authors", []):
            assert isinstance(author["name"], str) and author["name"]


def iter_files(out: Path) -> Iterator[Path]:
    """Every file under ``out``, hidden ones included, in a stable order."""
    yield from sorted(p for p in out.rglob("*") if p.is_file())


def check_written_folder(out: Path) -> dict[str, Any]:
    """Open every file a build wrote as its reader would, failing on anything unreadable or
    unexpected. Returns the parsed documents by relative path."""
    docs: dict[str, Any] = {}
    for path in iter_files(out):
        rel = path.relative_to(out).as_posix()
        data = path.read_bytes()
        if rel.endswith(".gz"):
            original = path.with_name(path.name[: -len(".gz")])
            assert gzip.decompress(data) == original.read_bytes(), rel
        elif rel == MANIFEST:
            docs[rel] = json.loads(data)
        elif rel == "opml.xml":
            docs[rel] = etree.fromstring(data)
        elif rel == "index.html":
            docs[rel] = lxml.html.document_fromstring(data)
        elif path.name in ("atom.xml", "rss.xml"):
            feed = parse_feed(data)
            assert feed.version == ("atom10" if path.name == "atom.xml" else "rss20"), rel
            docs[rel] = feed
        elif path.name == "feed.json":
            doc = json.loads(data)
            assert_json_feed(doc)
            docs[rel] = doc
        else:
            pytest.fail(f"unexpected file written: {rel}")
    folders = feed_folders(out)
    for folder in folders:
        for name in FEED_FILES:
            assert folder + name in docs, f"{folder}{name} missing"
    return docs
