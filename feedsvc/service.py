"""Service: keeps a complete snapshot serving while rescans build the next one.

One process per host is *the builder*: it holds an exclusive lock on
``<state_dir>/builder.lock`` and runs the APScheduler 3.x scheduler (the periodic
rescan, coalesced, one instance at a time, plus a one-off job that releases future-dated
posts at their exact time). Every process, builder or not, serves from an in-memory
:class:`~feedsvc.snapshot.Snapshot` and follows the published one on disk
(``<state_dir>/snapshot``, replaced atomically) with a watcher thread, so requests never
wait for a rescan and every worker serves the same bytes. Under gunicorn the builder is
a process of its own (``feedsvc builder``, started by ``gunicorn_conf.when_ready``) and
the workers are on standby; when the builder dies, the kernel drops its lock and a
worker takes over within a second.

A rescan that fails, or that would shrink a site with posts to zero posts (an unmounted
folder), leaves the last good snapshot serving; ``<state_dir>/status.json`` records what
happened for ``/healthz`` in every process. ``POST /-/refresh`` drops a request file into
``<state_dir>/requests/``; the builder serves all pending requests with one rescan and
removes their files, which is how each caller learns its rescan is done.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from . import snapshot as snapshots
from .build import Builder
from .settings import Settings
from .snapshot import Snapshot

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock (services take a clock so that tests can pass their own)."""
    return datetime.now(UTC)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _mtime_key(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns)


class RefreshTimeout(RuntimeError):
    """The builder did not finish a requested rescan in time."""


class Service:
    """The serving state of one process, and the builder role when this process has it."""

    #: Seconds between checks of the published snapshot, the status and refresh requests.
    POLL_SECONDS = 0.1
    #: Seconds between attempts to become the builder when another process is.
    ELECTION_SECONDS = 1.0

    #: Seconds a worker waits before competing for the builder role when a dedicated
    #: builder process is starting beside it (it should win; workers are the fallback).
    STANDBY_SECONDS = 10.0

    def __init__(
        self,
        settings: Settings,
        state_dir: Path,
        clock: Clock = utc_now,
        *,
        standby: bool = False,
    ) -> None:
        self.settings = settings
        self.state_dir = state_dir
        self.clock = clock
        self.snapshot_dir = state_dir / "snapshot"
        self.status_file = state_dir / "status.json"
        self.requests_dir = state_dir / "requests"
        self.requests_dir.mkdir(parents=True, exist_ok=True)
        self._snapshot: Snapshot | None = None
        self._snapshot_key: tuple[int, int] | None = None
        self._status: dict[str, Any] = {}
        self._status_key: tuple[int, int] | None = None
        self._builder: Builder | None = None
        self._build_lock = threading.Lock()
        self._lock_fd: int | None = None
        self._scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._scans = 0
        self._standby = standby
        self.reload()

    # -- what requests see -------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot | None:
        """The snapshot being served (None until the first build is published)."""
        return self._snapshot

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` reports: the last scan, the snapshot served, the problems."""
        snap = self._snapshot
        report = dict(snap.report) if snap else {}
        status = dict(self._status)
        return {
            "ok": snap is not None and status.get("ok", True),
            "serving": report.get("scanned_at"),
            "snapshot": snap.key if snap else None,
            "last_scan": status,
            "version": report.get("version"),
            "posts": report.get("posts", 0),
            "categories": report.get("categories", 0),
            "feeds": report.get("feeds", 0),
            "problems": status.get("problems", report.get("problems", [])),
            "builder": self.is_builder,
        }

    @property
    def is_builder(self) -> bool:
        """True when this process holds the builder lock."""
        return self._lock_fd is not None

    # -- following what is published -----------------------------------------------------

    def reload(self) -> bool:
        """Load the published snapshot and status if they changed; True if the snapshot did."""
        changed = self._reload_snapshot()
        # The builder writes the status before it publishes the snapshot, and this reads
        # them in the other order: whoever sees a snapshot also sees the scan behind it.
        status_key = _mtime_key(self.status_file)
        if status_key != self._status_key:
            with contextlib.suppress(OSError, ValueError):
                self._status = json.loads(self.status_file.read_bytes())
                self._status_key = status_key
        return changed

    def _reload_snapshot(self) -> bool:
        key = _mtime_key(self.snapshot_dir / snapshots.MANIFEST)
        if key is None or key == self._snapshot_key:
            return False
        try:
            loaded = snapshots.read(self.snapshot_dir, self._snapshot)
        except (OSError, ValueError) as exc:  # replaced while reading: next poll retries
            logger.debug("snapshot reload deferred: %s", exc)
            return False
        self._snapshot, self._snapshot_key = loaded, key
        return True

    # -- building (the builder only, or tests) -------------------------------------------

    def rescan(self, reason: str = "scheduled") -> dict[str, Any]:
        """Scan now, publish the result if it is good, record the outcome; never raises.

        Rescans never overlap: a second caller waits for the first to finish.
        """
        with self._build_lock:
            started = self.clock()
            t0 = time.monotonic()
            self._scans += 1
            status: dict[str, Any] = {
                "at": started.isoformat(),
                "reason": reason,
                "scan": self._scans,
                "builder_pid": os.getpid(),
            }
            try:
                if self._builder is None:
                    self._builder = Builder(self.settings, self.state_dir)
                result = self._builder.run(started)
                previous = self._snapshot.report.get("posts", 0) if self._snapshot else 0
                if result.catalog.published == 0 and previous > 0 and not self.settings.allow_empty:
                    raise RuntimeError(
                        f"the scan found no posts in {self.settings.content_dir} where the last "
                        f"one found {previous}; kept the previous feeds (set allow_empty to "
                        "publish an empty site)"
                    )
                status.update(
                    ok=True,
                    snapshot=result.snapshot.key,  # each worker's /healthz shows if it is current
                    **{k: v for k, v in result.stats.items() if k != "scanned_at"},
                )
                if self._snapshot is None or result.snapshot.key != self._snapshot.key:
                    status["duration_seconds"] = round(time.monotonic() - t0, 4)
                    self._publish_status(status)  # before the snapshot: see reload()
                    snapshots.write(result.snapshot, self.snapshot_dir)
                    self._snapshot = result.snapshot
                    self._snapshot_key = _mtime_key(self.snapshot_dir / snapshots.MANIFEST)
                if result.catalog.next_release is not None:
                    self._schedule_release(result.catalog.next_release)
            except Exception as exc:  # a failed rescan must never stop the service
                logger.error(
                    "rescan failed, still serving the previous feeds: %s: %s",
                    type(exc).__name__,
                    exc,
                )
                logger.debug("rescan failure details", exc_info=True)
                status.update(ok=False, error=f"{type(exc).__name__}: {exc}")
            status["duration_seconds"] = round(time.monotonic() - t0, 4)
            self._publish_status(status)
            return status

    def _publish_status(self, status: dict[str, Any]) -> None:
        self._status = dict(status)
        with contextlib.suppress(OSError):
            _write_atomic(self.status_file, json.dumps(status, ensure_ascii=False).encode())
            self._status_key = _mtime_key(self.status_file)

    def _serve_requests(self) -> None:
        """Run one rescan for every refresh request pending now, then release the callers."""
        while True:
            pending = sorted(self.requests_dir.glob("*.req"))
            if not pending:
                return
            self.rescan("refresh")
            for path in pending:
                with contextlib.suppress(OSError):
                    path.unlink()

    def request_refresh(self, timeout: float = 120.0) -> dict[str, Any]:
        """Ask the builder for a rescan and wait until it is published (any process).

        Concurrent requests coalesce: the builder serves all pending ones with one rescan.
        """
        path = self.requests_dir / f"{time.time_ns()}-{uuid.uuid4().hex}.req"
        path.write_bytes(b"")
        deadline = time.monotonic() + timeout
        while path.exists():
            if not self._threads:  # not started (one-shot use, tests): serve it here
                self._serve_requests()
                continue
            if time.monotonic() > deadline:
                with contextlib.suppress(OSError):
                    path.unlink()
                raise RefreshTimeout("no rescan finished in time; is a builder running?")
            time.sleep(self.POLL_SECONDS / 2)
        self.reload()
        return dict(self._status)

    # -- the builder role and its scheduler ----------------------------------------------

    def _trigger(self) -> IntervalTrigger | CronTrigger:
        refresh = self.settings.refresh
        if refresh.isdigit():
            return IntervalTrigger(seconds=int(refresh), timezone=UTC)
        return CronTrigger.from_crontab(refresh, timezone=self.settings.timezone)

    def _schedule_release(self, when: datetime) -> None:
        scheduler = self._scheduler
        if scheduler is not None and not self._stop.is_set():
            scheduler.add_job(
                self.rescan,
                "date",
                run_date=when,
                args=["release"],
                id="release",
                replace_existing=True,
                misfire_grace_time=None,
            )

    def _become_builder(self) -> bool:
        fd = os.open(self.state_dir / "builder.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        scheduler.add_job(
            self.rescan,
            self._trigger(),
            id="rescan",
            next_run_time=self.clock(),
            args=["scheduled"],
        )
        self._scheduler = scheduler
        scheduler.start()
        logger.info("process %d is the builder: rescans on %r", os.getpid(), self.settings.refresh)
        return True

    def _loop(self) -> None:
        next_election = time.monotonic() + (self.STANDBY_SECONDS if self._standby else 0.0)
        while not self._stop.wait(self.POLL_SECONDS):
            try:
                if not self.is_builder and time.monotonic() >= next_election:
                    next_election = time.monotonic() + self.ELECTION_SECONDS
                    self._become_builder()
                if self.is_builder:
                    self._serve_requests()
                else:
                    self.reload()
            except Exception:  # the loop must outlive any one failure
                logger.exception("service loop error")

    def start(self) -> None:
        """Start following the published snapshot and competing for the builder role."""
        if self._threads:
            return
        thread = threading.Thread(target=self._loop, name="feedsvc-service", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Stop the threads and the scheduler, and give up the builder role."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        with self._build_lock:  # a running rescan finishes first and cannot reschedule
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            # Not under the build lock: shutdown waits for a job that may be waiting on it.
            scheduler.shutdown(wait=True)
        if self._builder is not None:
            self._builder.close()
            self._builder = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


@contextlib.contextmanager
def running(service: Service) -> Iterator[Service]:
    """Start a service for the duration of a ``with`` block."""
    service.start()
    try:
        yield service
    finally:
        service.stop()
