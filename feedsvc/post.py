"""Post: one file's bytes -> a :class:`Post` (its metadata) or the reason it is not one.

python-frontmatter's YAML handler finds and loads the front matter; this module turns the
loosely typed values Hexo folders hold into well-typed fields, one small function per
field, each falling back and reporting when a value is unusable. The body is not rendered
here: only posts that make it into some feed are rendered (see :mod:`feedsvc.markup`).
"""

from __future__ import annotations

import codecs
import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import yaml
from frontmatter.default_handlers import YAMLHandler

from .dates import parse_date
from .markup import clean_text
from .problem import Problem
from .scan import MARKDOWN_SUFFIXES
from .settings import Settings
from .slug import slugize, url_path

#: Namespace of the UUIDs that make post ids (``urn:uuid:...``); never change it, or
#: every reader sees every post again.
ID_NAMESPACE = uuid.UUID("6f0d3c52-93a5-5c1e-9a8f-4b7e2f1d0c11")
#: Front-matter fields that carry an explicit, stable id, first found wins.
ID_FIELDS = ("id", "guid", "abbrlink")
_SPACE = re.compile(r"\s")
#: Longest title kept, in characters.
MAX_TITLE = 500
#: Title of a post that has none and whose file name has no printable character.
UNTITLED = "untitled"
#: Longest author, category or tag name kept, in characters.
MAX_NAME = 200


def _str(value: object) -> str | None:
    """``str(value)``, or None for an int over Python's 4300-digit conversion limit (YAML
    reads ``0xfff...`` of any length; ``str()`` of it raised and failed the build)."""
    try:
        return str(value)
    except ValueError:
        return None


def _is_name(value: object) -> bool:
    """True for a value usable as a name: text or a number (not a boolean, not an int too
    long to print)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    return _str(value) is not None


def brief(value: object, limit: int = 60) -> str:
    """A short description of a front-matter value for a problem's reason. Containers are
    described, never printed: YAML aliases ("billion laughs") make a tiny file hold a
    structure whose ``str()`` takes minutes and gigabytes."""
    if isinstance(value, dict):
        return f"a mapping of {len(value)} fields"
    if isinstance(value, list | tuple | set):
        return f"a list of {len(value)} items"
    if isinstance(value, str):
        return repr(value[:limit]) + ("…" if len(value) > limit else "")
    text = _str(value)
    return (repr(value) if text is not None else "a number too long to show")[:limit]


class _Loader(yaml.CSafeLoader):
    """PyYAML's C safe loader, noting duplicate keys instead of silently keeping the last,
    and keeping an impossible timestamp (``2020-13-45``) as text for the date reader to
    report, instead of failing the whole front matter."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in seen:
                self.duplicates.append(str(key))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_lenient_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.construct_yaml_timestamp(node)
        except (ValueError, OverflowError, AttributeError):  # "!!timestamp junk": no match
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_lenient_timestamp)


_HANDLER = YAMLHandler()


@dataclass(frozen=True, slots=True)
class Post:
    """What a feed needs to know about a post before rendering its body."""

    source: str  #: path relative to the content folder
    id: str  #: stable id: same in every feed and format
    title: str
    link: str
    published: datetime  #: aware, UTC
    updated: datetime  #: aware, UTC, never before published
    author: str
    categories: tuple[tuple[str, ...], ...]  #: category paths, each root first
    tags: tuple[str, ...]
    thumbnail: str  #: absolute URL from the front matter, or "" (the body may give one)
    summary: str  #: excerpt/description text from the front matter, or ""
    markup: str  #: "markdown" or "html"
    digest: str  #: sha256 of the file's bytes


@dataclass(slots=True)
class Parsed:
    """The outcome for one file: a post, or none with the reason in ``skipped``."""

    post: Post | None
    body: str = ""
    problems: list[Problem] = field(default_factory=list)
    skipped: str = ""  #: why there is no post ("draft", "not a post", an error)


def decode(data: bytes) -> tuple[str, str]:
    """Text of a file's bytes, and a warning ("" if none). BOMs and CRLF are handled."""
    warning = ""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", "replace")
    else:
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = data.decode("utf-8", "replace")
            warning = f"invalid UTF-8 at byte {exc.start}; replaced with U+FFFD"
    return text.replace("\r\n", "\n").replace("\r", "\n"), warning


def split(text: str) -> tuple[str, str] | None:
    """(front matter, body) when ``text`` starts with a YAML block, else None."""
    stripped = text.lstrip("\ufeff \t\n")
    if not _HANDLER.detect(stripped):
        return None
    try:
        fm, body = _HANDLER.split(stripped)
    except ValueError:
        return None
    return fm, body


class _Fields:
    """Field readers for one post; each appends a Problem when it falls back."""

    def __init__(self, meta: Mapping[str, Any], source: str, settings: Settings, zone: tzinfo):
        self.meta = meta
        self.source = source
        self.settings = settings
        self.zone = zone
        self.problems: list[Problem] = []

    def warn(self, name: str, reason: str, action: str) -> None:
        problem = Problem(self.source, name, reason, action, "warning")
        if problem not in self.problems:  # one line per distinct problem, not per value
            self.problems.append(problem)

    def name(self, field: str, value: object) -> str:
        """A one-line name (author, category, tag) from a scalar, cut to MAX_NAME."""
        name = " ".join(clean_text(_str(value) or "").split())
        if len(name) > MAX_NAME:
            self.warn(field, f"a name is longer than {MAX_NAME} characters", "cut")
            name = name[:MAX_NAME].rstrip()
        return name

    def text(self, name: str) -> str:
        value = self.meta.get(name)
        if value is None or isinstance(value, bool):
            return ""
        text = _str(value) if isinstance(value, str | int | float) else None
        if text is not None:
            return clean_text(text).strip()
        self.warn(name, f"expected text, got {brief(value)}", "ignored")
        return ""

    def title(self) -> str:
        title = " ".join(self.text("title").split())
        if not title:
            # Cleaned, and never empty: a file name may hold control characters (lxml
            # refuses them) or only white space (feedgen refuses an empty title); either
            # used to fail the whole build.
            title = " ".join(clean_text(PurePosixPath(self.source).stem).split())
            if title:
                self.warn("title", "missing or empty", f"used the file name {title!r}")
            else:
                title = UNTITLED
                self.warn("title", "missing or empty, and so is the file name", f"used {title!r}")
        if len(title) > MAX_TITLE:
            title = title[: MAX_TITLE - 1].rstrip() + "…"
            self.warn("title", f"longer than {MAX_TITLE} characters", "cut")
        return title

    def date(self, name: str, fallback: datetime | None) -> datetime | None:
        raw = self.meta.get(name)
        if raw is None or raw == "":
            return fallback
        parsed = parse_date(raw, self.zone)
        if parsed is None:
            self.warn(
                name,
                f"cannot read {brief(raw)} as a date",
                "used the file's modification time" if name == "date" else "used date",
            )
            return fallback
        return parsed

    def author(self) -> str:
        raw = self.meta.get("author")
        if isinstance(raw, list) and raw:
            raw = raw[0]
        if isinstance(raw, dict):
            raw = raw.get("name") or raw.get("nick")
            if raw is None:
                self.warn("author", "a mapping without a name", "used the default")
        if raw is not None and not _is_name(raw):
            self.warn("author", f"expected a name, got {brief(raw)}", "used the default")
            raw = None
        name = self.name("author", raw) if raw is not None else ""
        return name or self.settings.author

    def categories(self) -> tuple[tuple[str, ...], ...]:
        raw = self.meta.get("categories")
        if raw is None or raw == "" or raw == []:
            return ()
        if isinstance(raw, str | int | float) and not isinstance(raw, bool):
            raw = [raw]
        if not isinstance(raw, list):
            self.warn(
                "categories", f"expected a name or a list, got {type(raw).__name__}", "ignored"
            )
            return ()
        nested = any(isinstance(item, list) for item in raw)
        groups = [item if isinstance(item, list) else [item] for item in raw] if nested else [raw]
        paths: list[tuple[str, ...]] = []
        for group in groups:
            names: list[str] = []
            for item in group:
                if not _is_name(item):
                    self.warn(
                        "categories",
                        f"{brief(item)} is not a category name",
                        "left out of the path",
                    )
                    continue
                name = self.name("categories", item)
                if not name:
                    self.warn("categories", "empty category name", "left out of the path")
                    continue
                names.append(name)
            if names and tuple(names) not in paths:
                paths.append(tuple(names))
        return tuple(paths)

    def tags(self) -> tuple[str, ...]:
        raw = self.meta.get("tags")
        items = raw if isinstance(raw, list) else [raw] if raw is not None else []
        out: list[str] = []
        for item in items:
            if _is_name(item):
                name = self.name("tags", item)
                if name and name not in out:
                    out.append(name)
            else:
                self.warn("tags", f"{brief(item)} is not a tag name", "left out")
        return tuple(out)

    def url(self, value: object) -> str:
        """An absolute http(s) URL for a front-matter value, or "" if it is not one."""
        if isinstance(value, dict):
            value = value.get("path") or value.get("url") or value.get("src")
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, str):
            return ""
        value = clean_text(value).strip()
        if not value or _SPACE.search(value):
            return ""
        absolute = (
            value
            if value.startswith(("https://", "http://"))
            else urljoin(self.settings.link_root, value)
        )
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return ""
        return absolute

    def thumbnail(self) -> str:
        for name in self.settings.thumbnail_fields:
            if name in self.meta:
                found = self.url(self.meta[name])
                if found:
                    return found
        return ""

    def post_id(self, stem: str) -> str:
        for name in ID_FIELDS:
            raw = self.meta.get(name)
            text = _str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else None
            if text is not None and clean_text(text).strip():
                value = clean_text(text).strip()
                scheme = urlsplit(value).scheme
                if scheme in ("tag", "urn", "http", "https") and " " not in value:
                    return value
                return ID_NAMESPACE_URN(f"{name}:{value}")
        return ID_NAMESPACE_URN(f"path:{stem}")


def ID_NAMESPACE_URN(key: str) -> str:
    """The ``urn:uuid:`` id for a stable key."""
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, key)}"


def _title_path(source: str) -> str:
    """Hexo's ``:title``: the path without its extension, relative to ``_posts/``."""
    slash = source.rfind("/")
    dot = source.rfind(".")
    stem = source[:dot] if dot > slash + 1 else source
    return stem.removeprefix("_posts/")


#: Permalink placeholders (longest first, so none is a prefix of a later one) and how
#: each is made from (local date, title path, first category path).
_PLACEHOLDERS: list[tuple[str, Any]] = sorted(
    {
        ":year": lambda d, t, c: f"{d.year:04d}",
        ":month": lambda d, t, c: f"{d.month:02d}",
        ":day": lambda d, t, c: f"{d.day:02d}",
        ":i_month": lambda d, t, c: str(d.month),
        ":i_day": lambda d, t, c: str(d.day),
        ":hour": lambda d, t, c: f"{d.hour:02d}",
        ":minute": lambda d, t, c: f"{d.minute:02d}",
        ":second": lambda d, t, c: f"{d.second:02d}",
        ":title": lambda d, t, c: "/".join(quote(p, safe="") for p in t.split("/")),
        ":name": lambda d, t, c: quote(t.rsplit("/", 1)[-1], safe=""),
        ":category": lambda d, t, c: url_path([slugize(n) for n in c]) or "uncategorized",
    }.items(),
    key=lambda item: -len(item[0]),
)


def permalink(
    settings: Settings,
    source: str,
    published: datetime,
    zone: tzinfo,
    categories: tuple[tuple[str, ...], ...],
    meta: Mapping[str, Any],
) -> str:
    """The post's link: a ``permalink``/``link`` URL from the front matter, else the pattern."""
    for name in ("permalink", "link"):
        raw = meta.get(name)
        if isinstance(raw, str) and raw.strip() and not _SPACE.search(raw.strip()):
            candidate = urljoin(settings.link_root, clean_text(raw.strip()))
            if urlsplit(candidate).scheme in ("http", "https"):
                return candidate
    path = settings.permalink
    if ":" in path:
        local = published.astimezone(zone)
        title = _title_path(source)
        first = categories[0] if categories else ()
        for key, make in _PLACEHOLDERS:
            if key in path:
                path = path.replace(key, make(local, title, first))
    return settings.link_root + path  # link_root ends in "/", the pattern is relative


def _markup(source: str, body: str) -> str:
    """How the body is written: Markdown files are Markdown; others are HTML if they look so."""
    name = source.lower()
    if name.endswith(MARKDOWN_SUFFIXES):
        return "markdown"
    if name.endswith((".html", ".htm")) or body.lstrip().startswith("<"):
        return "html"
    return "markdown"


def parse_post(data: bytes, source: str, mtime_ns: int, settings: Settings, zone: tzinfo) -> Parsed:
    """Parse one file. Never raises for bad content: the outcome says what happened."""
    if len(data) > settings.max_post_bytes:
        return Parsed(
            None,
            skipped="too large",
            problems=[
                Problem(
                    source,
                    "",
                    f"{len(data)} bytes is over max_post_bytes ({settings.max_post_bytes})",
                    "skipped",
                    "error",
                )
            ],
        )
    if b"\x00" in data[:8192] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Parsed(
            None,
            skipped="binary",
            problems=[Problem(source, "", "binary file (NUL bytes)", "skipped", "error")],
        )
    text, warning = decode(data)
    problems = [Problem(source, "", warning, "read anyway", "warning")] if warning else []
    parts = split(text)
    is_markdown = source.lower().endswith(MARKDOWN_SUFFIXES)
    if parts is None:
        if text.lstrip("\ufeff \t\n").startswith("---\n"):
            # Meant as a post (any file type), but the block never ends: say so, rather
            # than "no front matter" or, for .txt/.html, nothing at all.
            problems.append(
                Problem(source, "front matter", "no closing --- line", "skipped", "error")
            )
        elif is_markdown:
            problems.append(
                Problem(source, "", "no front matter (a post starts with ---)", "skipped", "error")
            )
        return Parsed(None, problems=problems, skipped="not a post")
    fm, body = parts
    loader = _Loader(fm)
    try:
        meta = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(
            Problem(source, "front matter", f"malformed YAML{where}: {problem}", "skipped", "error")
        )
        return Parsed(None, problems=problems, skipped="bad front matter")
    except Exception as exc:
        # PyYAML's constructors raise more than YAMLError on explicit tags with odd values
        # (KeyError for "!!bool maybe", ValueError for "!!int x", ...): one post's front
        # matter must never stop the scan, whatever it raises.
        problems.append(
            Problem(
                source,
                "front matter",
                f"unreadable YAML value: {type(exc).__name__}: {exc}"[:300],
                "skipped",
                "error",
            )
        )
        return Parsed(None, problems=problems, skipped="bad front matter")
    finally:
        loader.dispose()
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        problems.append(
            Problem(
                source,
                "front matter",
                f"expected a mapping of fields, got a {type(meta).__name__}",
                "skipped",
                "error",
            )
        )
        return Parsed(None, problems=problems, skipped="bad front matter")
    meta = {brief(k) if _str(k) is None else str(k): v for k, v in meta.items()}
    for key in sorted(set(loader.duplicates)):
        problems.append(
            Problem(source, key, "field given more than once", "used the last", "warning")
        )
    if meta.get("published") is False or meta.get("draft") is True:
        return Parsed(None, problems=problems, skipped="draft")
    for key in ("published", "draft"):
        if meta.get(key) is not None and not isinstance(meta[key], bool):
            # Only YAML's true/false decide (as in Hexo): 'false' in quotes is text.
            problems.append(
                Problem(
                    source,
                    key,
                    f"expected true or false, got {brief(meta[key])}",
                    "ignored; the post is published",
                    "warning",
                )
            )

    f = _Fields(meta, source, settings, zone)
    mtime = datetime.fromtimestamp(mtime_ns / 1e9, UTC).replace(microsecond=0)
    published = f.date("date", None)
    if published is None:
        if "date" not in meta or meta.get("date") in (None, ""):
            f.warn("date", "missing", "used the file's modification time")
        published = mtime
    updated = f.date("updated", published) or published
    updated = max(updated, published)
    categories = f.categories()
    post = Post(
        source=source,
        id=f.post_id(_title_path(source)),
        title=f.title(),
        link=permalink(settings, source, published, zone, categories, meta),
        published=published,
        updated=updated,
        author=f.author(),
        categories=categories,
        tags=f.tags(),
        thumbnail=f.thumbnail(),
        summary=(f.text("excerpt") or f.text("description"))[:2000],
        markup=_markup(source, body),
        digest=hashlib.sha256(data).hexdigest(),
    )
    return Parsed(post, body=body, problems=problems + f.problems)
