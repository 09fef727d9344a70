"""Build: the one pipeline, scan -> parse -> catalog -> render -> snapshot.

A :class:`Builder` keeps what it learnt from the previous run so that a rescan only does
the work the change needs: files whose stat signature is unchanged are not read again,
posts are rendered only when they appear in some feed and only once per version, and a
feed is re-rendered only when its items changed (otherwise it keeps its bytes and ETag).
The clock is a parameter: ``run(now)``. Bad content never raises; it becomes a Problem.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import __version__
from .catalog import Catalog, FeedSpec, build_catalog
from .directory import render_index, render_opml
from .feed import FORMATS, Entry, feed_path, make_entry, render, updated_of
from .markup import render as render_body
from .post import Post, decode, parse_post, split
from .problem import Problem
from .scan import SourceFile, scan
from .settings import Settings
from .snapshot import Document, Snapshot

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Known:
    """What the last run learnt about one file."""

    signature: tuple[int, int, int]
    post: Post | None
    problems: list[Problem]


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one run."""

    snapshot: Snapshot
    catalog: Catalog
    problems: tuple[Problem, ...]
    stats: dict[str, Any] = field(default_factory=dict)


def read_file(source: SourceFile) -> bytes | None:
    """The file's bytes, or None if it changed (or vanished) while being read."""
    try:
        with open(source.path, "rb") as fh:
            data = fh.read()
            after = os.fstat(fh.fileno())
    except OSError:
        return None
    if after.st_size != len(data) or after.st_mtime_ns != source.mtime_ns:
        return None
    return data


class Builder:
    """Runs the pipeline for one content folder and settings, incrementally."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.content_dir)
        self.zone = ZoneInfo(settings.timezone)
        self._known: dict[str, _Known] = {}
        self._entries: dict[tuple[str, str, str], Entry] = {}
        self._feeds: dict[tuple[str, str], tuple[tuple[Any, ...], Document]] = {}

    # -- parse -------------------------------------------------------------------------

    def _parse(self, files: list[SourceFile]) -> tuple[list[Post], list[Problem], int]:
        known: dict[str, _Known] = {}
        fresh: list[Problem] = []
        parsed_count = 0
        for source in files:
            old = self._known.get(source.relpath)
            if old is not None and old.signature == source.signature:
                known[source.relpath] = old
                continue
            if source.size > self.settings.max_post_bytes:
                problem = Problem(
                    source.relpath,
                    "",
                    f"{source.size} bytes is over max_post_bytes ({self.settings.max_post_bytes})",
                    "skipped",
                    "error",
                )
                known[source.relpath] = _Known(source.signature, None, [problem])
                fresh.append(problem)
                continue
            data = read_file(source)
            if data is None:
                problem = Problem(
                    source.relpath,
                    "",
                    "changed or vanished while being read",
                    "kept the previous version; retried next scan",
                    "warning",
                )
                fresh.append(problem)
                if old is not None:
                    known[source.relpath] = _Known((-1, -1, -1), old.post, [problem])
                continue
            parsed = parse_post(data, source.relpath, source.mtime_ns, self.settings, self.zone)
            parsed_count += 1
            known[source.relpath] = _Known(source.signature, parsed.post, parsed.problems)
            fresh.extend(parsed.problems)
        self._known = known
        posts = [k.post for k in known.values() if k.post is not None]
        for problem in fresh:
            log = logger.error if problem.severity == "error" else logger.warning
            log("%s", problem.line())
        return posts, fresh, parsed_count

    # -- render ------------------------------------------------------------------------

    def _body(self, post: Post) -> str:
        """Read a post's body again (bodies are not kept in memory between steps)."""
        try:
            data = (self.root / post.source).read_bytes()
        except OSError:
            return ""
        parts = split(decode(data)[0])
        return parts[1] if parts else ""

    def _entry(self, post: Post) -> Entry:
        key = (post.source, post.digest, post.id)
        entry = self._entries.get(key)
        if entry is None:
            body = render_body(
                self._body(post), post.markup, post.link, post.summary, self.settings.summary_length
            )
            entry = make_entry(post, body, self.settings)
            self._entries[key] = entry
        return entry

    def _feed_documents(
        self, spec: FeedSpec, entries: dict[str, Entry], rendered: list[int]
    ) -> Iterable[tuple[str, Document]]:
        items = [entries[p.id] for p in spec.posts]
        key = (spec.names, spec.slugs, tuple((p.source, p.digest, p.id) for p in spec.posts))
        folder = "/".join([self.settings.category_dir, *spec.slugs, ""]) if spec.slugs else ""
        for fmt, (name, content_type) in FORMATS.items():
            cache_key = (fmt, "\x1f".join(spec.names))
            cached = self._feeds.get(cache_key)
            if cached is not None and cached[0] == key:
                doc = cached[1]
            else:
                body = render(spec, items, fmt, self.settings)
                doc = Document.make(body, updated_of(items), content_type)
                rendered[0] += 1
            self._feeds[cache_key] = (key, doc)
            yield folder + name, doc

    # -- the pipeline --------------------------------------------------------------------

    def run(self, now: datetime) -> Result:
        """Scan, parse what changed, and build a complete new snapshot as of ``now``.

        Raises ``OSError`` when the content folder itself cannot be listed.
        """
        started = time.monotonic()
        files, scan_problems = scan(self.root)
        posts, _fresh, parsed_count = self._parse(files)
        catalog = build_catalog(
            posts, now, item_limit=self.settings.item_limit, category_map=self.settings.category_map
        )
        selected = {p.id: p for spec in catalog.feeds for p in spec.posts}
        entries = {pid: self._entry(post) for pid, post in selected.items()}
        live = {(p.source, p.digest, p.id) for p in selected.values()}
        self._entries = {k: v for k, v in self._entries.items() if k in live}

        rendered = [0]
        documents: dict[str, Document] = {}
        for spec in catalog.feeds:
            documents.update(self._feed_documents(spec, entries, rendered))
        names = {"\x1f".join(s.names) for s in catalog.feeds}
        self._feeds = {k: v for k, v in self._feeds.items() if k[1] in names}

        site_updated = documents[FORMATS["atom"][0]].last_modified
        documents["opml.xml"] = Document.make(
            render_opml(catalog, self.settings, site_updated),
            site_updated,
            "text/x-opml; charset=utf-8",
        )
        documents["index.html"] = Document.make(
            render_index(catalog, self.settings), site_updated, "text/html; charset=utf-8"
        )

        problems = tuple(
            sorted(
                scan_problems
                + [p for k in self._known.values() for p in k.problems]
                + list(catalog.problems)
            )
        )
        duration = time.monotonic() - started
        stats = {
            "version": __version__,
            "scanned_at": now.isoformat(),
            "duration_seconds": round(duration, 4),
            "files": len(files),
            "parsed": parsed_count,
            "posts": catalog.published,
            "held_until_their_date": catalog.held,
            "next_release": catalog.next_release.isoformat() if catalog.next_release else None,
            "categories": len(catalog.feeds) - 1,
            "feeds": len(catalog.feeds) * len(FORMATS),
            "rendered": rendered[0],
            "errors": sum(1 for p in problems if p.severity == "error"),
            "warnings": sum(1 for p in problems if p.severity == "warning"),
            "problems": [p.as_dict() for p in problems],
        }
        snapshot = Snapshot.make(documents, stats)
        logger.info(
            "scan done: %d files, %d parsed, %d posts, %d categories, %d feeds "
            "re-rendered, %d problems, %.3fs",
            len(files),
            parsed_count,
            catalog.published,
            stats["categories"],
            rendered[0],
            len(problems),
            duration,
        )
        return Result(snapshot, catalog, problems, stats)


def feed_folders(catalog: Catalog, settings: Settings) -> list[str]:
    """URL folder of every feed in the catalog ("" for the site feed)."""
    return [feed_path(spec.slugs, settings) for spec in catalog.feeds]
