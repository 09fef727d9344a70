"""Build: the one pipeline, scan -> parse -> catalog -> render -> snapshot.

A :class:`Builder` keeps what it learnt from the previous run so that a rescan only does
the work the change needs:

- a file whose stat signature (size, mtime, inode) is unchanged is not read again; one
  modified within the last two seconds of the previous scan is "racy" (a second write in
  the same timestamp tick would keep its signature) and is read again and compared by
  content hash;
- parsed posts are kept in SQLite under the state folder, so a restart parses nothing
  that did not change;
- bodies are rendered only for posts that appear in some feed, once per version;
- a feed is rendered again only when its items changed, otherwise it keeps its bytes
  and ETag.

Large batches of parsing and rendering are spread over all cores (a process pool);
small ones run in-process. The clock is a parameter: ``run(now)``. Bad content never
raises; it becomes a Problem.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import __version__
from .cache import PostCache, Row
from .catalog import Catalog, FeedSpec, build_catalog
from .directory import render_index, render_opml
from .feed import FORMATS, Entry, make_entry, render, updated_of
from .markup import Rendered
from .markup import render as render_body
from .post import Post, decode, parse_post, split
from .problem import Problem
from .scan import Listing, SourceFile, walk
from .settings import Settings
from .snapshot import Document, Snapshot

logger = logging.getLogger(__name__)

#: Batches smaller than this are parsed or rendered in-process: a pool costs more.
POOL_MIN_BATCH = 200
#: Files modified this close to the previous scan are checked by content, not by stat.
RACY_NS = 2_000_000_000


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


def parse_source(source: SourceFile, settings: Settings, zone: tzinfo) -> Row:
    """Read and parse one file into a cache row (also used in pool workers)."""
    if source.size > settings.max_post_bytes:
        problem = Problem(
            source.relpath,
            "",
            f"{source.size} bytes is over max_post_bytes ({settings.max_post_bytes})",
            "skipped",
            "error",
        )
        return (source.relpath, source.signature, None, (problem,))
    data = read_file(source)
    if data is None:
        problem = Problem(
            source.relpath,
            "",
            "changed or vanished while being read",
            "kept the previous version; retried next scan",
            "warning",
        )
        return (source.relpath, (-1, -1, -1), None, (problem,))
    parsed = parse_post(data, source.relpath, source.mtime_ns, settings, zone)
    return (source.relpath, source.signature, parsed.post, tuple(parsed.problems))


def read_body(root: Path, post: Post) -> str:
    """A post's body, read again from its file (bodies are never kept in memory)."""
    try:
        data = (root / post.source).read_bytes()
    except OSError:
        return ""
    parts = split(decode(data)[0])
    return parts[1] if parts else ""


def render_post(root: Path, post: Post, summary_length: int) -> Rendered:
    """Render one post's body for feeds (also used in pool workers)."""
    return render_body(read_body(root, post), post.markup, post.link, post.summary, summary_length)


# -- pool workers: settings are sent once per worker, not once per task ------------------

_worker: dict[str, Any] = {}


def _init_worker(settings: Settings) -> None:
    _worker["settings"] = settings
    _worker["zone"] = ZoneInfo(settings.timezone)


def _parse_in_worker(source: SourceFile) -> Row:
    return parse_source(source, _worker["settings"], _worker["zone"])


def _render_in_worker(post: Post) -> Rendered:
    settings: Settings = _worker["settings"]
    return render_post(Path(settings.content_dir), post, settings.summary_length)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a scan checks every file, the cache loads or
    the catalog sorts every post into its categories.

    Each allocates a few objects per file, which triggers collections, and each full one
    walks every cached post (millions of objects at 100,000 posts): measured, that was a
    third of a no-change rescan. Nothing made there forms cycles, so reference counting
    frees what is dropped; collection resumes (and catches up) as soon as the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Builder:
    """Runs the pipeline for one content folder and settings, incrementally."""

    def __init__(
        self, settings: Settings, state_dir: Path | None = None, workers: int | None = None
    ) -> None:
        self.settings = settings
        self.root = Path(settings.content_dir)
        self.zone = ZoneInfo(settings.timezone)
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._cache = (
            PostCache(state_dir / "posts.sqlite3", settings.output_key())
            if state_dir is not None
            else None
        )
        self._known: dict[str, Row] | None = None
        self._last_scan_ns = 0
        self._last: Result | None = None
        self._last_scan_problems: tuple[Problem, ...] = ()
        self._logged: set[Problem] = set()
        self._pool: Executor | None = None
        self._entries: dict[tuple[str, str, str], Entry] = {}
        self._feeds: dict[tuple[str, str], tuple[tuple[Any, ...], Document]] = {}

    # -- resources ----------------------------------------------------------------------

    def _executor(self) -> Executor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(self.settings,),
            )
        return self._pool

    def close_pool(self) -> None:
        """Stop the worker processes (they start again when needed)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Stop the worker processes and close the cache."""
        self.close_pool()
        if self._cache is not None:
            self._cache.close()

    def __enter__(self) -> Builder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _map(self, local: Any, remote: Any, items: list[Any]) -> list[Any]:
        """``local`` over ``items`` in-process, or ``remote`` in the pool for big batches.

        A pool that cannot start or breaks (an unguarded ``__main__``, a killed worker)
        costs speed, not the build: the batch is redone in-process.
        """
        if self.workers <= 1 or len(items) < POOL_MIN_BATCH:
            return [local(item) for item in items]
        chunk = max(16, len(items) // (self.workers * 8))
        try:
            return list(self._executor().map(remote, items, chunksize=chunk))
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            logger.warning("worker processes unavailable (%s); working in one process", exc)
            self.close_pool()
            self.workers = 1
            return [local(item) for item in items]

    # -- parse ----------------------------------------------------------------------------

    def _unchanged(self, source: SourceFile, old: Row | None) -> bool:
        if old is None or old[1] != source.signature:
            return False
        if source.mtime_ns < self._last_scan_ns - RACY_NS:
            return True
        # Racy: modified around the last scan, so compare the content itself.
        data = read_file(source)
        return (
            data is not None
            and old[2] is not None
            and hashlib.sha256(data).hexdigest() == old[2].digest
        )

    def _parse(self, listing: Listing, scan_ns: int) -> tuple[int, bool]:
        """Parse new and changed files; (files parsed, whether any post or problem changed)."""
        if self._known is None:
            with _collector_paused():  # 100,000 posts decoded: 1.5 s -> 1.1 s
                self._known, self._last_scan_ns = (
                    self._cache.load() if self._cache is not None else ({}, 0)
                )
        known = self._known
        found = listing.signatures
        settled_ns = self._last_scan_ns - RACY_NS
        with _collector_paused():
            # Every file is checked, so this loop is kept to plain tuples: new, a different
            # signature, or modified around the last scan (racy: _unchanged compares the
            # content). Sorted, so that parsing always meets files in the same order.
            candidates = sorted(
                relpath
                for relpath, signature in found.items()
                if (old := known.get(relpath)) is None
                or old[1] != signature
                or signature[1] >= settled_ns
            )
        todo = [
            source
            for relpath in candidates
            if not self._unchanged(source := listing.source(relpath), known.get(relpath))
        ]
        changed: list[Row] = []
        differs = False
        for row in self._map(
            lambda f: parse_source(f, self.settings, self.zone), _parse_in_worker, todo
        ):
            relpath, signature, _post, problems = row
            old = known.get(relpath)
            if signature[0] < 0:  # changed while read: keep the old version, retry later
                row = (relpath, signature, old[2] if old else None, problems)
            row = _compact(row)
            differs = differs or old is None or old[2] != row[2] or old[3] != row[3]
            _log(problems)  # once: when the file (re)appears or changes
            known[relpath] = row
            changed.append(row)
        # Every file found is in ``known`` now, so ``known`` holds more only if some went.
        removed: list[str] = []
        if len(known) > len(found):
            removed = [relpath for relpath in known if relpath not in found]
        for relpath in removed:
            del known[relpath]
        if self._cache is not None:
            self._cache.update((r for r in changed if r[1][0] >= 0), removed, scan_ns)
        return len(todo), differs or bool(removed)

    # -- render ---------------------------------------------------------------------------

    def _entries_for(self, posts: Iterable[Post]) -> dict[str, Entry]:
        wanted = {p.id: p for p in posts}
        entries: dict[str, Entry] = {}
        missing: list[Post] = []
        for pid, post in wanted.items():
            entry = self._entries.get((post.source, post.digest, post.id))
            if entry is not None and entry.post == post:
                entries[pid] = entry
            else:
                missing.append(post)
        bodies = self._map(
            lambda p: render_post(self.root, p, self.settings.summary_length),
            _render_in_worker,
            missing,
        )
        for post, body in zip(missing, bodies, strict=True):
            entries[post.id] = make_entry(post, body, self.settings)
        self._entries = {(e.post.source, e.post.digest, e.post.id): e for e in entries.values()}
        return entries

    def _documents(
        self, catalog: Catalog, entries: dict[str, Entry]
    ) -> tuple[dict[str, Document], int]:
        """Every feed's document: cached when its items are unchanged, else rendered
        (feedgen, one thread) and then compressed (zlib, threads: it releases the GIL)."""
        documents: dict[str, Document] = {}
        jobs: list[tuple[str, tuple[str, str], tuple[Any, ...], bytes, datetime, str]] = []
        feeds: dict[tuple[str, str], tuple[tuple[Any, ...], Document]] = {}
        for spec in catalog.feeds:
            items = [entries[p.id] for p in spec.posts]
            key = (spec.slugs, tuple(e.post for e in items))  # equal posts: equal bytes
            folder = _folder(spec, self.settings)
            for fmt, (name, content_type) in FORMATS.items():
                cache_key = (fmt, "\x1f".join(spec.names))
                cached = self._feeds.get(cache_key)
                if cached is not None and cached[0] == key:
                    documents[folder + name] = cached[1]
                    feeds[cache_key] = cached
                    continue
                body = render(spec, items, fmt, self.settings)
                jobs.append((folder + name, cache_key, key, body, updated_of(items), content_type))
        with ThreadPoolExecutor(max(1, self.workers)) as threads:
            made = threads.map(lambda j: Document.make(j[3], j[4], j[5]), jobs)
            for job, doc in zip(jobs, made, strict=True):
                documents[job[0]] = doc
                feeds[job[1]] = (job[2], doc)
        self._feeds = feeds
        return documents, len(jobs)

    # -- the pipeline ---------------------------------------------------------------------

    def run(self, now: datetime) -> Result:
        """Scan, parse what changed, and build a complete new snapshot as of ``now``.

        Raises ``OSError`` when the content folder itself cannot be listed.
        """
        started = time.monotonic()
        scan_ns = time.time_ns()
        phases: dict[str, float] = {}
        with _collector_paused():
            listing = walk(self.root)
        scan_problems = listing.problems
        phases["scan"] = time.monotonic()
        parsed_count, differs = self._parse(listing, scan_ns)
        phases["parse"] = time.monotonic()
        self._last_scan_ns = scan_ns
        last = self._last
        if (
            last is not None
            and not differs
            and tuple(scan_problems) == self._last_scan_problems
            and (last.catalog.next_release is None or now < last.catalog.next_release)
        ):
            # Same posts, same problems, nobody's release time passed: same snapshot.
            stats = {
                **last.stats,
                "scanned_at": now.isoformat(),
                "parsed": parsed_count,
                "rendered": 0,
                "duration_seconds": round(time.monotonic() - started, 4),
                "phase_seconds": _phase_seconds(started, phases),
            }
            logger.info(
                "scan done: %d files, nothing changed, %.3fs",
                len(listing.signatures),
                stats["duration_seconds"],
            )
            return Result(last.snapshot, last.catalog, last.problems, stats)
        self._last_scan_problems = tuple(scan_problems)
        assert self._known is not None
        with _collector_paused():
            posts = [row[2] for row in self._known.values() if row[2] is not None]
            catalog = build_catalog(
                posts,
                now,
                item_limit=self.settings.item_limit,
                category_map=self.settings.category_map,
            )
        phases["catalog"] = time.monotonic()
        # Scan and catalog problems are logged when they appear, like parse problems.
        found = {*scan_problems, *catalog.problems}
        _log(sorted(found - self._logged))
        self._logged = found
        entries = self._entries_for(p for spec in catalog.feeds for p in spec.posts)
        phases["bodies"] = time.monotonic()
        documents, rendered = self._documents(catalog, entries)
        phases["feeds"] = time.monotonic()

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
                [
                    *scan_problems,
                    *(p for row in self._known.values() for p in row[3]),
                    *catalog.problems,
                ]
            )
        )
        duration = time.monotonic() - started
        stats = {
            "version": __version__,
            "scanned_at": now.isoformat(),
            "duration_seconds": round(duration, 4),
            "phase_seconds": _phase_seconds(started, phases),
            "files": len(listing.signatures),
            "parsed": parsed_count,
            "posts": catalog.published,
            "held_until_their_date": catalog.held,
            "next_release": catalog.next_release.isoformat() if catalog.next_release else None,
            "categories": len(catalog.feeds) - 1,
            "feeds": len(catalog.feeds) * len(FORMATS),
            "rendered": rendered,
            "errors": sum(1 for p in problems if p.severity == "error"),
            "warnings": sum(1 for p in problems if p.severity == "warning"),
            "problems": [p.as_dict() for p in problems],
        }
        snapshot = Snapshot.make(documents, stats)
        self._last = Result(snapshot, catalog, problems, stats)
        self.close_pool()  # idle workers would hold their memory until the next big batch
        logger.info(
            "scan done: %d files, %d parsed, %d posts, %d categories, %d feeds "
            "re-rendered, %d problems, %.3fs",
            len(listing.signatures),
            parsed_count,
            catalog.published,
            stats["categories"],
            rendered,
            len(problems),
            duration,
        )
        return self._last


def _log(problems: Iterable[Problem]) -> None:
    """One log line per problem: errors (skipped posts) as errors, the rest as warnings."""
    for problem in problems:
        log = logger.error if problem.severity == "error" else logger.warning
        log("%s", problem.line())


def _compact(row: Row) -> Row:
    """The row with its post's repeated strings interned: with 100,000 posts, category
    names and authors would otherwise be stored once per post."""
    relpath, signature, post, problems = row
    if post is None:
        return row
    post = replace(
        post,
        categories=tuple(tuple(sys.intern(name) for name in path) for path in post.categories),
        author=sys.intern(post.author),
        tags=tuple(sys.intern(tag) for tag in post.tags),
        markup=sys.intern(post.markup),
    )
    return (relpath, signature, post, problems)


def _phase_seconds(started: float, marks: dict[str, float]) -> dict[str, float]:
    """Seconds spent in each step, from the monotonic time each step ended."""
    out: dict[str, float] = {}
    previous = started
    for name, at in marks.items():
        out[name] = round(at - previous, 4)
        previous = at
    return out


def _folder(spec: FeedSpec, settings: Settings) -> str:
    """A feed's folder in the snapshot (decoded, no leading slash, trailing slash)."""
    return "/".join([settings.category_dir, *spec.slugs, ""]) if spec.slugs else ""


with contextlib.suppress(ValueError):  # set once per process; harmless if already set
    multiprocessing.set_forkserver_preload(["feedsvc.build"])
