"""Cache: parsed posts kept in SQLite, so a restart does not parse the folder again.

One row per file: its stat signature, the parsed :class:`~feedsvc.post.Post` (as JSON)
or none, and its problems. Rows are valid only for the settings and code that wrote
them: a ``meta`` row records both, and a mismatch empties the table. Anything wrong with
the file (missing, corrupt, locked, another schema) means starting empty, never failing:
the cache only saves work.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from . import __version__
from .post import Post
from .problem import Problem

logger = logging.getLogger(__name__)

#: Bump when the stored form of a post changes.
SCHEMA = 1

Signature = tuple[int, int, int]
Row = tuple[str, Signature, Post | None, tuple[Problem, ...]]

_POST_FIELDS = [f.name for f in fields(Post)]


def _encode_post(post: Post | None) -> str | None:
    if post is None:
        return None
    # Field by field, not dataclasses.asdict: that deep-copies, and this runs per post.
    values = [getattr(post, name) for name in _POST_FIELDS]
    values[_POST_FIELDS.index("published")] = post.published.isoformat()
    values[_POST_FIELDS.index("updated")] = post.updated.isoformat()
    return json.dumps(values, ensure_ascii=False)


def _decode_post(text: str | None) -> Post | None:
    if text is None:
        return None
    values = dict(zip(_POST_FIELDS, json.loads(text), strict=True))
    values["published"] = datetime.fromisoformat(values["published"])
    values["updated"] = datetime.fromisoformat(values["updated"])
    # Interned: 100,000 posts share a few hundred category names and authors.
    values["categories"] = tuple(tuple(map(sys.intern, path)) for path in values["categories"])
    values["tags"] = tuple(map(sys.intern, values["tags"]))
    values["author"] = sys.intern(values["author"])
    values["markup"] = sys.intern(values["markup"])
    return Post(**values)


def _encode_problems(problems: tuple[Problem, ...]) -> str:
    return json.dumps([p.as_dict() for p in problems], ensure_ascii=False)


def _decode_problems(text: str) -> tuple[Problem, ...]:
    if text == "[]":  # nearly every row: skip the JSON parser
        return ()
    return tuple(Problem(**p) for p in json.loads(text))


class PostCache:
    """The parsed-post table for one content folder and one set of output settings."""

    def __init__(self, path: Path, settings_key: str) -> None:
        self.path = path
        self.stamp = f"{SCHEMA}:{__version__}:{settings_key}"
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS posts (relpath TEXT PRIMARY KEY, size INTEGER, "
                "mtime_ns INTEGER, inode INTEGER, post TEXT, problems TEXT)"
            )
            found = db.execute("SELECT value FROM meta WHERE key = 'stamp'").fetchone()
            if found is None or found[0] != self.stamp:
                db.execute("DELETE FROM posts")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('stamp', ?)", (self.stamp,))
            self._db = db
        return self._db

    def _reset(self, reason: object) -> None:
        logger.warning("post cache %s unusable (%s); starting empty", self.path, reason)
        self.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                Path(f"{self.path}{suffix}").unlink()

    def load(self) -> tuple[dict[str, Row], int]:
        """Every cached row by file path, and when the scan that wrote them started
        (ns since the epoch); empty and 0 when the cache is missing or unusable."""
        try:
            db = self._connect()
            found = db.execute("SELECT value FROM meta WHERE key = 'scanned_ns'").fetchone()
            # Iterated, not fetched whole: 100,000 rows of JSON at once is a memory peak.
            rows = db.execute("SELECT relpath, size, mtime_ns, inode, post, problems FROM posts")
            known = {
                r[0]: (r[0], (r[1], r[2], r[3]), _decode_post(r[4]), _decode_problems(r[5]))
                for r in rows
            }
            return known, int(found[0]) if found else 0
        except (sqlite3.Error, ValueError, TypeError, KeyError) as exc:
            self._reset(exc)
            return {}, 0

    def update(self, changed: Iterable[Row], removed: Iterable[str], scanned_ns: int) -> None:
        """Store changed rows and forget removed files, in one transaction, with the start
        time of the scan that saw them (a restart trusts older modification times)."""
        rows: list[tuple[Any, ...]] = [
            (relpath, *sig, _encode_post(post), _encode_problems(problems))
            for relpath, sig, post, problems in changed
        ]
        gone = [(relpath,) for relpath in removed]
        if not rows and not gone:
            return
        try:
            db = self._connect()
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO posts VALUES (?, ?, ?, ?, ?, ?)", rows)
            db.executemany("DELETE FROM posts WHERE relpath = ?", gone)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('scanned_ns', ?)", (str(scanned_ns),))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._reset(exc)

    def close(self) -> None:
        """Close the database connection (it reopens on next use)."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
