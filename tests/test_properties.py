"""Property-based tests (Hypothesis): whatever a post holds, the scan goes on and every
feed stays valid.

- Any YAML value in any front-matter field (generated as Python values and dumped, or
  arbitrary text written as the front matter itself) and any text body (control
  characters, noncharacters and lone surrogates included, written as UTF-8 with
  ``surrogatepass`` or as UTF-16) never make :meth:`Builder.run` raise, and the Atom and
  RSS feeds parse with feedparser ``bozo == 0``, the JSON Feed with ``json.loads`` and
  its required fields, the OPML with lxml.
- Every feed the OPML lists is served at its URL (Flask test client).
- Slugs are idempotent, never empty, never ``.``/``..``, never hold ``/``, ``\\`` or NUL,
  and fit a file name; catalog slug paths are distinct.
- Dates, summaries and body rendering never raise on any input.

Example counts are moderate so that each test runs in a few seconds.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from feedsvc.app import create_app
from feedsvc.build import Builder, Result
from feedsvc.catalog import build_catalog
from feedsvc.dates import EARLIEST, LATEST, parse_date
from feedsvc.markup import clean_text, cut, render
from feedsvc.post import Post, parse_post
from feedsvc.service import Service
from feedsvc.settings import Settings, load_settings
from feedsvc.slug import MAX_SEGMENT_BYTES, slugize, url_path
from tests.conftest import MTIME, NOW, assert_json_feed, parse_feed

#: Characters that have broken feeds, paths or slugs somewhere: controls, XML-illegal
#: code points, lone surrogates, combining marks, separators, Hangul jamo, path and
#: markup syntax, YAML syntax.
TRICKY = [
    "\x00", "\x01", "\x07", "\x0b", "\x1b", "\x7f", "\x85", "\t", "\n", "\r",
    "\ufffe", "\uffff", "\ud800", "\udfff", "\U0001fffe", "\ufeff", "\u200b", "\u202e",
    "\u2028", "\u2029", "\u0301", "\u0338", "\u1100", "\u1161", "\u11a8", "é", "ß", "ﬁ",
    "İ", "新", "😀", "/", "\\", ".", "..", "-", " ", "%", "%2e", "&", "&#0;", "&nbsp;",
    "<", ">", "]]>", "<script>", "</div>", "<!-- more -->", "javascript:", "on", "---",
    ":", "#", "'", '"', "*", "&a", "[", "{", "!!", "~", "|",
]  # fmt: skip
#: One character of any kind (lone surrogates included), or one tricky piece.
PIECE = st.characters(exclude_categories=()) | st.sampled_from(TRICKY)


def texts(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Any text at all, built of :data:`PIECE` s."""
    return st.lists(PIECE, min_size=min_size, max_size=max_size).map("".join)


TEXT = texts()
#: The fields posts use, and so the ones most worth filling with the unexpected.
FIELDS = [
    "title", "date", "updated", "author", "categories", "tags", "thumbnail", "headimg",
    "cover", "image", "index_img", "banner_img", "top_img", "img", "photos", "id", "guid",
    "abbrlink", "excerpt", "description", "permalink", "link", "published", "draft",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | TEXT
    | st.dates()
    | st.datetimes()
    | st.datetimes(timezones=st.timezones())
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
FRONT_MATTER = st.dictionaries(st.sampled_from(FIELDS) | TEXT, VALUES, max_size=8)
SUFFIXES = st.sampled_from([".md", ".markdown", ".txt", ".html"])

PROPERTY = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def make_settings(content: Path, **overrides: Any) -> Settings:
    return load_settings(
        environ={},
        cwd=content.parent,
        overrides={
            "content_dir": str(content),
            "base_url": "https://feeds.example.org/",
            "site_url": "https://blog.example.com/",
            **overrides,
        },
    )


def encode(text: str, utf16: bool = False) -> bytes:
    """The file's bytes: UTF-8 (lone surrogates written as their invalid 3-byte form, as a
    broken tool would) or UTF-16 with a BOM."""
    return text.encode("utf-16" if utf16 else "utf-8", "surrogatepass")


def dump(front_matter: dict[str, Any]) -> str:
    return yaml.safe_dump(front_matter, allow_unicode=True, sort_keys=False)


def check_documents(result: Result) -> None:
    """Every document of a build, opened the way its reader opens it."""
    for path, doc in result.snapshot.documents.items():
        if path.endswith(("atom.xml", "rss.xml")):
            parse_feed(doc.body)
        elif path.endswith("feed.json"):
            assert_json_feed(json.loads(doc.body))
        elif path == "opml.xml":
            etree.fromstring(doc.body)
        elif path == "index.html":
            lxml.html.document_fromstring(doc.body)
        else:
            raise AssertionError(f"unexpected document {path}")


def build_one(name: str, data: bytes, **overrides: Any) -> Result:
    """Build a folder holding only ``name`` with ``data``; the run must not raise."""
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        (content / name).write_bytes(data)
        with Builder(make_settings(content, **overrides)) as builder:
            result = builder.run(NOW)
    check_documents(result)
    for problem in result.problems:
        assert problem.file == name
        assert len(problem.line().splitlines()) == 1
    return result


# -- whole builds ---------------------------------------------------------------------------


@PROPERTY
@given(front_matter=FRONT_MATTER, body=TEXT, suffix=SUFFIXES)
def test_any_yaml_value_in_any_field_builds_valid_feeds(
    front_matter: dict[str, Any], body: str, suffix: str
) -> None:
    text = f"---\n{dump(front_matter)}---\n{body}"
    result = build_one("post" + suffix, encode(text))
    assert result.stats["posts"] + result.stats["held_until_their_date"] <= 1


@PROPERTY
@given(front_matter=texts(max_size=200), body=TEXT, utf16=st.booleans())
def test_any_text_as_front_matter_builds_valid_feeds(
    front_matter: str, body: str, utf16: bool
) -> None:
    build_one("post.md", encode(f"---\n{front_matter}\n---\n{body}", utf16))


@PROPERTY
@given(
    title=TEXT,
    body=texts(max_size=400),
    suffix=SUFFIXES,
    utf16=st.booleans(),
)
def test_any_body_builds_valid_feeds_with_its_post_in_them(
    title: str, body: str, suffix: str, utf16: bool
) -> None:
    fm = dump({"title": title, "date": "2021-04-07T12:03:06Z", "categories": ["News"]})
    body = body.replace("\x00", "")  # a NUL in the first 8 KB means "binary": tested apart
    result = build_one("post" + suffix, encode(f"---\n{fm}---\n{body}", utf16))
    errors = [p for p in result.problems if p.severity == "error"]
    # No body is ever a reason to skip a post; only YAML refuses some escapes in the title
    # (a lone surrogate).
    assert all(p.field == "front matter" for p in errors), errors
    if not errors:
        assert result.stats["posts"] == 1
        assert "categories/News/atom.xml" in result.snapshot.documents


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paths=st.lists(st.lists(TEXT, min_size=1, max_size=3), min_size=1, max_size=4))
def test_every_feed_the_opml_lists_is_served_at_its_url(paths: list[list[str]]) -> None:
    front_matter = dump({"title": "x", "date": "2021-01-01", "categories": paths})
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        (content / "post.md").write_bytes(encode(f"---\n{front_matter}---\nBody.\n"))
        service = Service(make_settings(content), Path(tmp) / "state", clock=lambda: NOW)
        assert service.rescan()["ok"] is True
        client = create_app(service=service).test_client()
        opml = etree.fromstring(client.get("/opml.xml").data)
        urls = [el.get("xmlUrl") or "" for el in opml.iter("outline") if el.get("xmlUrl")]
        snapshot = service.snapshot
        assert snapshot is not None
        assert len(urls) == sum(1 for p in snapshot.documents if p.endswith("atom.xml"))
        for url in urls:
            reply = client.get(unquote(urlsplit(url).path))
            assert reply.status_code == 200, url
            parse_feed(reply.data)


# -- slugs ---------------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(name=texts(max_size=80) | texts(min_size=100, max_size=300))
def test_slugs_are_idempotent_safe_path_segments(name: str) -> None:
    slug = slugize(name)
    assert slug and slug not in (".", "..")
    assert not any(c in slug for c in "/\\\x00")
    assert len(slug.encode("utf-8")) <= MAX_SEGMENT_BYTES
    assert clean_text(slug) == slug, "a slug is XML text"
    assert slugize(slug) == slug
    assert unquote(url_path([slug])) == slug and "/" not in url_path([slug])


def _post(source: str, categories: tuple[tuple[str, ...], ...]) -> Post:
    when = datetime(2021, 1, 1, tzinfo=UTC)
    return Post(
        source=source,
        id=f"urn:x:{source}",
        title=source,
        link=f"https://example.com/{source}",
        published=when,
        updated=when,
        author="",
        categories=categories,
        tags=(),
        thumbnail="",
        summary="",
        markup="markdown",
        digest=source,
    )


@settings(max_examples=300, deadline=None)
@given(
    posts=st.lists(
        st.lists(st.lists(TEXT.filter(str.strip), min_size=1, max_size=3), max_size=3),
        min_size=1,
        max_size=4,
    )
)
def test_catalog_slug_paths_are_distinct_safe_paths(posts: list[list[list[str]]]) -> None:
    built = [
        _post(f"p{i}.md", tuple(tuple(path) for path in paths)) for i, paths in enumerate(posts)
    ]
    catalog = build_catalog(built, NOW, item_limit=20, category_map={})
    site, *categories = catalog.feeds
    assert site.slugs == ()
    seen: set[tuple[str, ...]] = set()
    for spec in categories:
        assert spec.slugs and len(spec.slugs) == len(spec.names)
        for slug in spec.slugs:
            assert slug not in ("", ".", "..") and "/" not in slug and "\\" not in slug
        folded = tuple(s.casefold() for s in spec.slugs)
        assert folded not in seen, f"two feeds at {spec.slugs}"
        seen.add(folded)


# -- the pieces that see raw values ----------------------------------------------------------


@settings(max_examples=1000, deadline=None)
@given(value=VALUES | st.text() | st.from_regex(r"\d{1,14}(\.\d*)?", fullmatch=True))
def test_parse_date_never_raises_and_answers_in_range(value: object) -> None:
    parsed = parse_date(value, ZoneInfo("Asia/Shanghai"))
    if parsed is not None:
        assert parsed.tzinfo is UTC and EARLIEST <= parsed < LATEST


@settings(max_examples=500, deadline=None)
@given(
    body=texts(max_size=300),
    markup=st.sampled_from(["markdown", "html"]),
    summary=TEXT,
    limit=st.integers(0, 300),
)
def test_rendering_any_body_gives_xml_safe_script_free_html(
    body: str, markup: str, summary: str, limit: int
) -> None:
    rendered = render(body, markup, "https://blog.example.com/a/", summary, limit)
    for text in (rendered.content_html, rendered.summary_html, rendered.summary_text):
        assert clean_text(text) == text
    if rendered.content_html.strip():
        root = lxml.html.fragment_fromstring(rendered.content_html, create_parent="div")
        assert not list(root.iter("script"))
        for el in root.iter(etree.Element):
            assert not any(k.lower().startswith("on") for k in el.attrib), el.attrib


@settings(max_examples=500, deadline=None)
@given(text=texts(max_size=200), limit=st.integers(0, 500))
def test_cut_never_raises_and_never_grows_much(text: str, limit: int) -> None:
    cut_text = cut(text, limit)
    assert len(cut_text) <= max(len(" ".join(text.split())), limit + 50)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600), suffix=SUFFIXES)
def test_parse_post_never_raises_on_any_bytes(data: bytes, suffix: str) -> None:
    assume(data)
    with tempfile.TemporaryDirectory() as tmp:
        settings_ = make_settings(Path(tmp))
    parsed = parse_post(
        b"---\n" + data, "x" + suffix, int(MTIME.timestamp()) * 10**9, settings_, ZoneInfo("UTC")
    )
    assert (parsed.post is None) == bool(parsed.skipped)
    if parsed.post is not None:
        assert parsed.post.title and clean_text(parsed.post.title) == parsed.post.title
