"""The benchmark of issue 5: one command, one table, measured in one run on this machine.

``python -m bench.run [--sizes 1000,10000,100000] [--repeat 3] [--quick]`` measures

1. cold builds (``feedsvc build`` as a subprocess with an empty state folder: wall, CPU
   and peak RSS), and the same command again with its post cache warm;
2. rescans through the Python API (``Builder.run``): nothing changed, and 20 posts changed
   plus 20 added (:func:`bench.corpus.mutate`), from scan start to the new snapshot, and
   the writing of that snapshot (publishing); and a new Builder on a warm post cache;
3. restart to the first served category feed at the largest N (``feedsvc serve`` with its
   state folder kept, and with only the post cache kept), beside a first start;
4. HTTP with wrk on loopback: a category feed gzipped (200) and revalidated with
   If-None-Match (304), for the Procfile's gunicorn and for nginx with deploy/nginx.conf
   on the same snapshot, steady and while posts change and rescans run every second
   (responses other than 2xx/3xx and socket errors are counted; they must be 0);
5. Hugo and Pelican building the same corpus into per-category feeds (bench/peers/),
   as ratios: feedsvc's figure divided by the peer's.

Every figure is the median of ``--repeat`` runs (fewer where a run takes minutes; the
``runs`` column says how many). Corpora and the peers' converted sites are kept under
``bench/out/`` (gitignored) and reused; everything else lives in a temporary folder that
is removed at the end. Progress goes to stderr, the table to stdout, all figures also to
``results-<time>.json`` in the cache folder. Servers listen on 127.0.0.1 only; each wrk
run is bounded by ``--wrk-seconds``, each subprocess by a timeout.

``--quick`` is N = 200, one run, 1-second wrk runs (under a minute in all); ``--parts``
picks sections (the test suite's smoke run uses ``--quick --parts build,rescan``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.client
import importlib.metadata
import importlib.util
import inspect
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from bench import corpus as corpora
from bench import peers
from feedsvc.build import Builder
from feedsvc.settings import Settings, load_settings
from feedsvc.snapshot import MANIFEST, write

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
NGINX_CONF = REPO / "deploy" / "nginx.conf"
PARTS = ("build", "rescan", "restart", "http", "peers")
SEED = 0
#: Posts rewritten and added per rescan round (issue 5: 20 changed plus 20 added).
CHANGED, ADDED = 20, 20
#: Posts rewritten and added per second while serving under churn.
CHURN_CHANGED, CHURN_ADDED = 3, 1
CONNECTIONS = 32
#: Above this many posts a peer is run once (Pelican takes minutes there).
PEER_SINGLE_RUN_ABOVE = 20_000


def log(message: str) -> None:
    """Progress, on stderr (stdout carries only the table)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- measuring one process tree --------------------------------------------------------------


@dataclass
class Usage:
    """What one command cost."""

    wall: float  #: seconds
    cpu: float  #: user + system seconds of the process and all its descendants
    rss_mb: float  #: peak resident set of the largest single process (kernel's maxrss)
    tree_mb: float  #: peak of the summed resident sets of the whole tree, sampled at 5 Hz


class CommandFailed(RuntimeError):
    pass


def _session_rss(sid: int) -> int:
    """Summed RSS bytes of every process in session ``sid`` (the command and its children)."""
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
            fields = stat[stat.rindex(b")") + 2 :].split()
            if int(fields[3]) != sid:  # field 6 of stat: session id
                continue
            with open(f"/proc/{entry}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total


_PR_SET_CHILD_SUBREAPER = 36


def _set_subreaper(on: bool) -> None:
    """Make orphaned descendants our children (Linux), so that their CPU time is counted:
    a multiprocessing forkserver, parent of the pool workers, outlives the main process."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)


def _session_members(sid: int) -> list[tuple[int, int]]:
    """(pid, parent pid) of every process, zombies included, in session ``sid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read()
                fields = stat[stat.rindex(b")") + 2 :].split()
                if int(fields[3]) == sid:
                    found.append((int(entry), int(fields[1])))
    return found


def _reap_session(sid: int, grace: float = 15.0) -> float:
    """Wait for what is left of session ``sid`` (killed after ``grace`` seconds) and reap
    the processes that became ours; the largest maxrss among them, in kB."""
    largest = 0.0
    deadline = time.monotonic() + grace
    while members := _session_members(sid):
        for pid, parent in members:
            if parent != os.getpid():
                continue
            with contextlib.suppress(ChildProcessError):
                got, _, usage = os.wait4(pid, os.WNOHANG)
                if got:
                    largest = max(largest, usage.ru_maxrss)
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(sid, signal.SIGKILL)
        time.sleep(0.02)
    return largest


def measure(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 900.0,
    log_path: Path | None = None,
) -> Usage:
    """Run ``cmd`` to completion in its own session; raise CommandFailed on failure.

    CPU is the growth of this process's RUSAGE_CHILDREN: the command and every descendant,
    reaped by the command or, once orphaned, by us (we are their subreaper meanwhile).
    Nothing else may start or reap child processes while this runs.
    """
    sink = open(log_path, "wb") if log_path else open(os.devnull, "wb")  # noqa: SIM115
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    _set_subreaper(True)
    try:
        with sink:
            started = time.perf_counter()
            process = subprocess.Popen(
                list(cmd),
                env=env,
                cwd=cwd,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            peak = [0]
            done = threading.Event()

            def sample() -> None:
                while not done.wait(0.2):
                    peak[0] = max(peak[0], _session_rss(process.pid))

            def expire() -> None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            watchdog = threading.Timer(timeout, expire)
            watchdog.start()
            try:
                _, status, usage = os.wait4(process.pid, 0)
            finally:
                watchdog.cancel()
                done.set()
                sampler.join()
            wall = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
        largest = max(usage.ru_maxrss, _reap_session(process.pid))
    finally:
        _set_subreaper(False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        tail = log_path.read_text(errors="replace")[-2000:] if log_path else ""
        why = f"timed out after {timeout:.0f} s" if wall >= timeout else "failed"
        raise CommandFailed(f"{cmd[0]} {why} (exit {process.returncode}): {tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Usage(
        wall=wall,
        cpu=cpu,
        rss_mb=largest / 1024,
        tree_mb=max(peak[0] / 2**20, largest / 1024),
    )


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = func()
    return time.perf_counter() - started, value


# -- the table ------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: feedsvc's figure, and what it is compared with."""

    part: str
    measure: str
    n: int | None
    ours: float | None
    runs: str
    unit: str
    vs: str = ""
    other: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.other:
            return None
        return self.ours / self.other


def under(limit: float | None, value: float) -> dict[str, Any]:
    """``Row`` keywords for the target "below ``limit``" (none when no limit applies)."""
    if limit is None:
        return {}
    return {"target": f"< {limit:g}", "met": value < limit}


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("MB", "req/s", "count"):
        return f"{value:,.0f}"
    if unit == "ms":
        return f"{value:.2f}" if value < 100 else f"{value:,.0f}"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def render_table(rows: Sequence[Row]) -> str:
    """The rows as one Markdown table (pipes aligned for reading in a terminal)."""
    head = ["#", "measure", "N", "feedsvc", "unit", "runs", "vs", "other", "ratio", "target"]
    head.append("met")
    lines = [head]
    for r in sorted(rows, key=lambda r: r.part):  # stable: sizes stay in run order
        ratio = r.ratio
        met = "" if r.met is None else ("yes" if r.met else "NO")
        measure = r.measure + (f" [{r.note}]" if r.note else "")
        lines.append(
            [
                r.part,
                measure,
                f"{r.n:,}" if r.n is not None else "",
                _num(r.ours, r.unit),
                r.unit,
                r.runs,
                r.vs,
                _num(r.other, r.unit) if r.vs else "",
                f"{ratio:.2f}" if ratio is not None else "",
                r.target,
                met,
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for index, line in enumerate(lines):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if index == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# -- settings, corpora, processes ----------------------------------------------------------


def feedsvc_env(content: Path, state: Path, **extra: str) -> dict[str, str]:
    """The environment for a feedsvc subprocess: the corpus, a state folder, no config file
    (the subprocesses run in a folder without config/feedsvc.toml)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env.update(
        FEEDSVC_CONTENT_DIR=str(content),
        FEEDSVC_STATE_DIR=str(state),
        FEEDSVC_BASE_URL="http://127.0.0.1:8000/",
        FEEDSVC_TITLE="bench",
        FEEDSVC_LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    env.update({f"FEEDSVC_{k.upper()}": v for k, v in extra.items()})
    return env


def api_settings(content: Path, cwd: Path) -> Settings:
    """The same settings as :func:`feedsvc_env`, for the in-process Builder."""
    return load_settings(
        environ={},
        overrides={
            "content_dir": str(content),
            "base_url": "http://127.0.0.1:8000/",
            "title": "bench",
            "log_level": "WARNING",
        },
        cwd=cwd,
    )


def make_builder(settings: Settings, state: Path) -> Any:
    """A Builder with a persistent post cache in ``state`` where this Builder has one."""
    if "state_dir" in inspect.signature(Builder).parameters:
        return cast(Any, Builder)(settings, state_dir=state)
    return Builder(settings)


def close_builder(builder: Any) -> None:
    close = getattr(builder, "close", None)
    if callable(close):
        close()


def corpus_for(n: int, cache: Path) -> Path:
    """The corpus of ``n`` posts (seed 0), generated once into ``cache`` and reused."""
    root = cache / f"corpus-{n}-s{SEED}"
    marker = root.with_name(root.name + ".done")
    if root.is_dir() and marker.is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    partial = root.with_name(root.name + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    log(f"generating the corpus of {n:,} posts into {root}")
    seconds, total = timed(lambda: corpora.generate_counted(partial, n, SEED))
    os.rename(partial, root)
    marker.write_text(f"{n} posts, seed {SEED}, {total} bytes, made {datetime.now(UTC):%F %T}Z\n")
    log(f"  {total / 2**20:,.0f} MB in {seconds:.1f} s")
    return root


def working_copy(source: Path, dest: Path) -> Path:
    """A private copy of a corpus, for benchmarks that change posts."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest)
    return dest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    """One GET on loopback: status and lower-cased headers (the body is read and dropped)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", quote(path), headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def wait_for_200(port: int, path: str, process: subprocess.Popen[bytes], timeout: float) -> float:
    """Poll every 20 ms until ``path`` answers 200; the time it took."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise CommandFailed(f"server exited early with {process.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if get(port, path)[0] == 200:
                return time.perf_counter() - started
        time.sleep(0.02)
    raise CommandFailed(f"no 200 for {path} within {timeout:.0f} s")


def wait_everywhere(
    port: int, path: str, process: subprocess.Popen[bytes], timeout: float
) -> float:
    """:func:`wait_for_200`, then 20 more 200s in a row: with several workers, each must
    have loaded the snapshot, not only the first to answer."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        wait_for_200(port, path, process, timeout)
        if all(get(port, path)[0] == 200 for _ in range(20)):
            return time.perf_counter() - started
    raise CommandFailed(f"{path} did not answer 200 steadily within {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a server started in its own session, and anything it left behind."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    _reap_session(process.pid, grace=5)


@contextlib.contextmanager
def started(
    cmd: Sequence[str], env: dict[str, str], cwd: Path, log_path: Path, sig: int = signal.SIGTERM
) -> Iterator[subprocess.Popen[bytes]]:
    with open(log_path, "ab") as sink:
        process = subprocess.Popen(
            list(cmd),
            env=env,
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop(process, sig)


def category_path(snapshot: Path) -> str:
    """A leaf category's Atom feed in a built snapshot (the first, in path order)."""
    files = json.loads((snapshot / MANIFEST).read_bytes())["files"]
    leaves = sorted(p for p in files if p.count("/") == 4 and p.endswith("/atom.xml"))
    return "/" + str((leaves or sorted(p for p in files if p.endswith("atom.xml")))[0])


# -- wrk -------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad_status: int  #: "Non-2xx or 3xx responses"
    socket_errors: int  #: connect + read + write + timeout


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    def find(pattern: str) -> re.Match[str] | None:
        return re.search(pattern, output, re.M)

    rps = find(r"^Requests/sec:\s+([\d.]+)")
    p50 = find(r"^\s+50%\s+(\S+)")
    p99 = find(r"^\s+99%\s+(\S+)")
    total = find(r"^\s+(\d+) requests in")
    if rps is None or p50 is None or p99 is None or total is None:
        raise ValueError(f"unreadable wrk output:\n{output}")
    bad = find(r"Non-2xx or 3xx responses:\s+(\d+)")
    sockets = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    return WrkResult(
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        requests=int(total.group(1)),
        bad_status=int(bad.group(1)) if bad else 0,
        socket_errors=sum(int(g) for g in sockets.groups()) if sockets else 0,
    )


def run_wrk(wrk: str, port: int, path: str, headers: dict[str, str], seconds: float) -> WrkResult:
    """One bounded wrk run against 127.0.0.1 (one thread, CONNECTIONS connections)."""
    cmd = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--latency"]
    cmd += ["--timeout", "2s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(f"http://127.0.0.1:{port}{quote(path)}")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True)
    return parse_wrk(done.stdout)


# -- the benchmark -----------------------------------------------------------------------


@dataclass
class Bench:
    sizes: list[int]
    repeat: int
    parts: set[str]
    cache: Path
    work: Path
    wrk_seconds: float
    peer_timeout: float
    build_timeout: float
    http_size: int
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    snapshots: dict[int, Path] = field(default_factory=dict)
    cold: dict[int, Usage] = field(default_factory=dict)
    cold_runs: dict[int, int] = field(default_factory=dict)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        ratio = f", ratio {row.ratio:.2f}" if row.ratio is not None else ""
        log(f"  {row.measure} N={row.n}: {_num(row.ours, row.unit)} {row.unit}{ratio}")

    # 1. cold builds -----------------------------------------------------------------------

    def build_command(self, out: Path) -> list[str]:
        return [sys.executable, "-m", "feedsvc", "build", "--out", str(out)]

    def cold_builds(self, n: int) -> None:
        content = corpus_for(n, self.cache)
        log(f"cold builds at N={n:,}")
        runs: list[Usage] = []
        state = self.work / f"state-build-{n}"
        out = self.work / f"public-{n}"
        for index in range(self.repeat):
            shutil.rmtree(state, ignore_errors=True)
            usage = measure(
                self.build_command(out),
                env=feedsvc_env(content, state),
                cwd=self.work,
                timeout=self.build_timeout,
                log_path=self.work / f"build-{n}-{index}.log",
            )
            log(f"  run {index + 1}: {usage.wall:.2f} s wall, {usage.cpu:.2f} s CPU")
            runs.append(usage)
        self.snapshots[n] = out
        cold = Usage(
            wall=median([u.wall for u in runs]),
            cpu=median([u.cpu for u in runs]),
            rss_mb=median([u.rss_mb for u in runs]),
            tree_mb=median([u.tree_mb for u in runs]),
        )
        self.cold[n], self.cold_runs[n] = cold, len(runs)
        big = n >= 100_000
        self.add(
            Row(
                "1",
                "cold build, wall",
                n,
                cold.wall,
                str(len(runs)),
                "s",
                **under(60 if big else None, cold.wall),
            )
        )
        self.add(Row("1", "cold build, CPU", n, cold.cpu, str(len(runs)), "s"))
        self.add(
            Row(
                "1",
                "cold build, peak RSS (largest process)",
                n,
                cold.rss_mb,
                str(len(runs)),
                "MB",
                **under(500 if big else None, cold.rss_mb),
            )
        )
        self.add(
            Row(
                "1",
                "cold build, peak RSS (all processes)",
                n,
                cold.tree_mb,
                str(len(runs)),
                "MB",
                **under(500 if big else None, cold.tree_mb),
            )
        )
        warm: list[Usage] = []
        for index in range(self.repeat):  # the state folder of the last cold run is kept
            warm.append(
                measure(
                    self.build_command(out),
                    env=feedsvc_env(content, state),
                    cwd=self.work,
                    timeout=self.build_timeout,
                    log_path=self.work / f"build-warm-{n}-{index}.log",
                )
            )
        self.add(
            Row(
                "1",
                "`feedsvc build` again, post cache warm, wall",
                n,
                median([u.wall for u in warm]),
                str(len(warm)),
                "s",
            )
        )

    # 2. rescans ---------------------------------------------------------------------------

    def rescans(self, n: int) -> None:
        log(f"rescans at N={n:,} (in-process Builder)")
        content = working_copy(corpus_for(n, self.cache), self.work / f"content-rescan-{n}")
        settings = api_settings(content, self.work)
        state = self.work / f"state-rescan-{n}"
        shutil.rmtree(state, ignore_errors=True)
        out = self.work / f"public-rescan-{n}"
        builder = make_builder(settings, state)
        try:
            cold_s, result = timed(lambda: builder.run(datetime.now(UTC)))
            phases = result.stats.get("phase_seconds")
            log(f"  cold run() {cold_s:.2f} s; phases {phases}")
            if phases:
                shown = ", ".join(f"{k} {v:.2f}" for k, v in phases.items())
                self.notes.append(f"cold in-process build at N={n:,}, seconds per phase: {shown}")
            self.add(Row("2", "cold build, in-process run()", n, cold_s, "1", "s"))
            write(result.snapshot, out)
            unchanged_run, unchanged_parsed = [], []
            for _ in range(self.repeat):
                seconds, result = timed(lambda: builder.run(datetime.now(UTC)))
                unchanged_run.append(seconds)
                unchanged_parsed.append(result.stats["parsed"])
            big = n >= 100_000
            value = median(unchanged_run)
            self.add(
                Row(
                    "2",
                    "rescan, nothing changed: scan → snapshot",
                    n,
                    value,
                    str(self.repeat),
                    "s",
                    **under(0.5 if big else None, value),
                    note=f"parsed {max(unchanged_parsed)}",
                )
            )
            changed_run, changed_write, parsed, rendered = [], [], [], []
            for index in range(self.repeat):
                corpora.mutate(content, CHANGED, ADDED, seed=1000 + index)
                seconds, result = timed(lambda: builder.run(datetime.now(UTC)))
                changed_run.append(seconds)
                parsed.append(result.stats["parsed"])
                rendered.append(result.stats["rendered"])
                changed_write.append(timed(partial(write, result.snapshot, out))[0])
            total = median([a + b for a, b in zip(changed_run, changed_write, strict=True)])
            self.add(
                Row(
                    "2",
                    f"rescan, {CHANGED} changed + {ADDED} added: scan → snapshot",
                    n,
                    median(changed_run),
                    str(self.repeat),
                    "s",
                    note=f"parsed {median(parsed):.0f}, feeds re-rendered {median(rendered):.0f}",
                )
            )
            self.add(
                Row(
                    "2",
                    f"rescan, {CHANGED} changed + {ADDED} added: scan → snapshot written",
                    n,
                    total,
                    str(self.repeat),
                    "s",
                    **under(1.5 if big else None, total),
                )
            )
        finally:
            close_builder(builder)
        restarted = make_builder(settings, state)
        try:
            seconds, result = timed(lambda: restarted.run(datetime.now(UTC)))
            self.add(
                Row(
                    "2",
                    "new Builder on the warm post cache: run()",
                    n,
                    seconds,
                    "1",
                    "s",
                    note=f"parsed {result.stats['parsed']}",
                )
            )
        finally:
            close_builder(restarted)
        shutil.rmtree(content, ignore_errors=True)

    # 3. restart ---------------------------------------------------------------------------

    def restarts(self, n: int) -> None:
        log(f"restart to first served feed at N={n:,} (feedsvc serve, 2 workers)")
        content = corpus_for(n, self.cache)
        snapshot = self.snapshots.get(n)
        if snapshot is None or not (snapshot / MANIFEST).is_file():
            snapshot = self.work / f"public-{n}"
            measure(
                self.build_command(snapshot),
                env=feedsvc_env(content, self.work / "s0"),
                cwd=self.work,
                timeout=self.build_timeout,
            )
        path = category_path(snapshot)
        state = self.work / f"state-serve-{n}"
        shutil.rmtree(state, ignore_errors=True)

        def first_feed(label: str) -> float:
            port = free_port()
            env = feedsvc_env(content, state, refresh="3600")
            env.update(WEB_CONCURRENCY="2")
            cmd = [sys.executable, "-m", "feedsvc", "serve", "--host", "127.0.0.1"]
            cmd += ["--port", str(port)]
            with started(cmd, env, self.work, self.work / f"serve-{n}-{label}.log") as process:
                return wait_for_200(port, path, process, self.build_timeout)

        first = first_feed("first")
        self.add(Row("3", "first start, empty state → first category feed", n, first, "1", "s"))
        kept = [first_feed(f"kept-{i}") for i in range(self.repeat)]
        value = median(kept)
        big = n >= 100_000
        self.add(
            Row(
                "3",
                "restart, state kept → first category feed",
                n,
                value,
                str(self.repeat),
                "s",
                **under(5 if big else None, value),
            )
        )
        cache_only = []
        for index in range(self.repeat):
            shutil.rmtree(state / "snapshot", ignore_errors=True)
            cache_only.append(first_feed(f"cache-{index}"))
        value = median(cache_only)
        self.add(
            Row(
                "3",
                "restart, post cache only (snapshot deleted) → first category feed",
                n,
                value,
                str(self.repeat),
                "s",
                **under(5 if big else None, value),
            )
        )

    # 4. HTTP ------------------------------------------------------------------------------

    def http(self, n: int) -> None:
        wrk = shutil.which("wrk")
        nginx = shutil.which("nginx") or (
            "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
        )
        if wrk is None:
            self.notes.append("HTTP skipped: wrk is not installed (apt-get install wrk)")
            return
        log(f"HTTP at N={n:,}: wrk -t1 -c{CONNECTIONS}, {self.wrk_seconds:.0f} s per run")
        content = working_copy(corpus_for(n, self.cache), self.work / f"content-http-{n}")
        state = self.work / f"state-http-{n}"
        shutil.rmtree(state, ignore_errors=True)
        figures: dict[tuple[str, str, bool], WrkResult] = {}

        # feedsvc, exactly as the Procfile runs it
        def gunicorn(refresh: str, churn: bool) -> None:
            port = free_port()
            env = feedsvc_env(content, state, refresh=refresh)
            env.update(PORT=str(port), HOST="127.0.0.1", WEB_CONCURRENCY="2")
            cmd = [sys.executable, "-m", "gunicorn", "--config", "python:feedsvc.gunicorn_conf"]
            cmd.append("feedsvc.app:create_app()")
            label = "churn" if churn else "steady"
            with started(cmd, env, self.work, self.work / f"gunicorn-{label}.log") as process:
                wait_for_200(port, "/", process, self.build_timeout)
                path = category_path(state / "snapshot")
                wait_everywhere(port, path, process, 60)
                with self.churning(content, None, None) if churn else contextlib.nullcontext():
                    self.wrk_pair(wrk, port, path, "feedsvc", churn, figures)

        gunicorn("3600", churn=False)
        gunicorn("1", churn=True)

        if nginx is None:
            self.notes.append("nginx skipped: not installed (apt-get install nginx-light)")
        else:
            settings = api_settings(content, self.work)
            builder = make_builder(settings, self.work / f"state-nginx-{n}")
            prefix = self.work / "nginx"
            root = prefix / "public"
            (prefix / "logs").mkdir(parents=True, exist_ok=True)
            os.chmod(self.work, 0o755)
            os.chmod(prefix, 0o755)
            try:
                write(builder.run(datetime.now(UTC)).snapshot, root)
                port = free_port()
                conf = NGINX_CONF.read_text(encoding="utf-8")
                conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
                conf = conf.replace("root /var/www/feeds;", f"root {root};")
                (prefix / "nginx.conf").write_text(conf, encoding="utf-8")
                cmd = [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g"]
                cmd.append(
                    f"daemon off; pid {prefix}/nginx.pid; error_log {prefix}/logs/error.log;"
                )
                with started(
                    cmd, dict(os.environ), prefix, prefix / "stdout.log", signal.SIGQUIT
                ) as p:
                    path = category_path(root)
                    wait_everywhere(port, path, p, 30)
                    self.wrk_pair(wrk, port, path, "nginx", False, figures)
                    with self.churning(content, builder, root):
                        self.wrk_pair(wrk, port, path, "nginx", True, figures)
            finally:
                close_builder(builder)

        for mode, label in (("gzip", "gzip 200"), ("304", "If-None-Match 304")):
            for churn in (False, True):
                ours = figures.get(("feedsvc", mode, churn))
                theirs = figures.get(("nginx", mode, churn))
                if ours is None:
                    continue
                when = ", churn" if churn else ""
                nginx_ = "nginx" if theirs else ""
                self.add(
                    Row(
                        "4",
                        f"{label}{when}: requests/s",
                        n,
                        ours.rps,
                        "1",
                        "req/s",
                        vs=nginx_,
                        other=theirs.rps if theirs else None,
                        target="ratio ≥ 0.25" if theirs else "",
                        met=ours.rps >= 0.25 * theirs.rps if theirs else None,
                    )
                )
                self.add(
                    Row(
                        "4",
                        f"{label}{when}: p50",
                        n,
                        ours.p50_ms,
                        "1",
                        "ms",
                        vs=nginx_,
                        other=theirs.p50_ms if theirs else None,
                    )
                )
                self.add(
                    Row(
                        "4",
                        f"{label}{when}: p99",
                        n,
                        ours.p99_ms,
                        "1",
                        "ms",
                        vs=nginx_,
                        other=theirs.p99_ms if theirs else None,
                        target="< 20",
                        met=ours.p99_ms < 20,
                    )
                )
                if churn:
                    errors = ours.bad_status + ours.socket_errors
                    theirs_errors = (theirs.bad_status + theirs.socket_errors) if theirs else None
                    self.add(
                        Row(
                            "4",
                            f"{label}, churn: non-2xx/3xx + socket errors",
                            n,
                            float(errors),
                            "1",
                            "count",
                            vs=nginx_,
                            other=float(theirs_errors) if theirs_errors is not None else None,
                            target="= 0",
                            met=errors == 0 and not theirs_errors,
                            note=f"of {ours.requests:,}",
                        )
                    )
        shutil.rmtree(content, ignore_errors=True)

    def wrk_pair(
        self,
        wrk: str,
        port: int,
        path: str,
        server: str,
        churn: bool,
        figures: dict[tuple[str, str, bool], WrkResult],
    ) -> None:
        """wrk for the gzip 200 and the If-None-Match 304 of ``path``, after checking once
        that the server answers them as expected."""
        gz = {"Accept-Encoding": "gzip"}
        label = f"{server}{' under churn' if churn else ''}"
        conditional = {**gz, "If-None-Match": '""'}
        for _ in range(20):  # under churn the ETag may change between the two requests
            status, headers = get(port, path, gz)
            if status != 200 or headers.get("content-encoding") != "gzip":
                self.notes.append(f"{label}: gzip request answered {status} {headers}")
                break
            conditional["If-None-Match"] = headers["etag"]
            if get(port, path, conditional)[0] == 304:
                break
            time.sleep(0.05)
        else:
            self.notes.append(f"{label}: If-None-Match never answered 304")
        for mode, sent in (("gzip", gz), ("304", conditional)):
            result = run_wrk(wrk, port, path, sent, self.wrk_seconds)
            figures[(server, mode, churn)] = result
            log(
                f"  {server} {mode}{' churn' if churn else ''}: {result.rps:,.0f} req/s, "
                f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
                f"{result.bad_status} bad, {result.socket_errors} socket errors"
            )

    @contextlib.contextmanager
    def churning(self, content: Path, builder: Any, root: Path | None) -> Iterator[None]:
        """Change a few posts every second until the block ends; with ``builder`` also
        rebuild and write the snapshot at ``root`` after each change (the nginx setup)."""
        stop_event = threading.Event()
        rounds = [0]
        failures: list[str] = []

        def churn() -> None:
            while not stop_event.is_set():
                tick = time.monotonic()
                try:
                    corpora.mutate(content, CHURN_CHANGED, CHURN_ADDED, seed=5000 + rounds[0])
                    if builder is not None and root is not None:
                        write(builder.run(datetime.now(UTC)).snapshot, root)
                except Exception as exc:  # reported in the notes, never silent
                    failures.append(f"{type(exc).__name__}: {exc}")
                rounds[0] += 1
                stop_event.wait(max(0.0, 1.0 - (time.monotonic() - tick)))

        thread = threading.Thread(target=churn, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop_event.set()
            thread.join(timeout=60)
            what = "rebuilds + writes" if builder is not None else "changes (rescans by feedsvc)"
            log(f"  churn: {rounds[0]} rounds of {what}")
            if failures:
                self.notes.append(f"churn failures: {failures[:3]}")

    # 5. peers -----------------------------------------------------------------------------

    def peer_runs(self, n: int) -> None:
        content = corpus_for(n, self.cache)
        cold = self.cold.get(n)
        runs = self.repeat if n <= PEER_SINGLE_RUN_ABOVE else 1
        tools: list[tuple[str, Callable[[Path], list[str]], Path]] = []
        hugo = shutil.which("hugo")
        if hugo is None:
            self.notes.append("Hugo skipped: not installed (apt-get install hugo)")
        else:
            site = peers.prepare_hugo(content, self.cache / "peers" / f"hugo-{n}")
            hugo_cache = self.work / "hugo-cache"
            tools.append(("Hugo", partial(peers.hugo_command, hugo, site, cache=hugo_cache), site))
        if importlib.util.find_spec("pelican") is None:
            self.notes.append("Pelican skipped: not installed (pip install -e '.[bench]')")
        else:
            site = peers.prepare_pelican(content, self.cache / "peers" / f"pelican-{n}")
            tools.append(("Pelican", partial(peers.pelican_command, site), site))
        for name, command, site in tools:
            log(f"{name} at N={n:,} ({runs} run{'s' if runs > 1 else ''})")
            usages: list[Usage] = []
            feeds = 0
            try:
                for index in range(runs):
                    out = self.work / f"{name.lower()}-out-{n}"
                    shutil.rmtree(out, ignore_errors=True)
                    usages.append(
                        measure(
                            command(out),
                            cwd=site,
                            timeout=self.peer_timeout,
                            log_path=self.work / f"{name.lower()}-{n}-{index}.log",
                        )
                    )
                    log(f"  run {index + 1}: {usages[-1].wall:.2f} s")
                    feeds = peers.count_feeds(out)
                    shutil.rmtree(out, ignore_errors=True)
            except CommandFailed as exc:
                self.notes.append(f"{name} at N={n:,}: {str(exc)[:300]}")
                continue
            wall = median([u.wall for u in usages])
            cpu = median([u.cpu for u in usages])
            rss = median([u.tree_mb for u in usages])
            ours_runs = self.cold_runs.get(n, 0)
            counts = f"{ours_runs}/{len(usages)}"
            target = ""
            met = None
            if cold is not None and n >= 10_000:
                limit = 1.0 if name == "Hugo" else 0.1
                target, met = f"ratio ≤ {limit:g}", cold.wall / wall <= limit
            self.add(
                Row(
                    "5",
                    "cold build, wall",
                    n,
                    cold.wall if cold else None,
                    counts,
                    "s",
                    vs=name,
                    other=wall,
                    target=target,
                    met=met,
                    note=f"{name}: {feeds} feeds",
                )
            )
            self.add(
                Row(
                    "5",
                    "cold build, CPU",
                    n,
                    cold.cpu if cold else None,
                    counts,
                    "s",
                    vs=name,
                    other=cpu,
                )
            )
            self.add(
                Row(
                    "5",
                    "cold build, peak RSS (all processes)",
                    n,
                    cold.tree_mb if cold else None,
                    counts,
                    "MB",
                    vs=name,
                    other=rss,
                )
            )

    # all ----------------------------------------------------------------------------------

    def run(self) -> None:
        for n in self.sizes:
            corpus_for(n, self.cache)
        for n in self.sizes:
            if "build" in self.parts:
                self.cold_builds(n)
            if "peers" in self.parts:
                self.peer_runs(n)
            if "rescan" in self.parts:
                self.rescans(n)
        if "restart" in self.parts:
            self.restarts(max(self.sizes))
        if "http" in self.parts:
            self.http(self.http_size)


def git_state() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "feedsvc")
    return head + (" + uncommitted changes in feedsvc/" if dirty else "")


def tool_versions() -> str:
    found = []
    for name, args in (("hugo", ["version"]), ("nginx", ["-v"]), ("wrk", ["-v"])):
        path = shutil.which(name) or (f"/usr/sbin/{name}" if name == "nginx" else None)
        if path is None or not os.access(path, os.X_OK):
            continue
        done = subprocess.run([path, *args], capture_output=True, text=True)
        text = (done.stdout + done.stderr).strip().splitlines()
        found.append(text[0][:60] if text else name)
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        found.append(f"pelican {importlib.metadata.version('pelican')}")
    return "; ".join(found)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="Benchmark feedsvc (issue 5) and print one table."
    )
    parser.add_argument(
        "--sizes", default="1000,10000,100000", help="corpus sizes, comma-separated"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--quick", action="store_true", help="N=200, one run, 1 s wrk runs")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"sections: {','.join(PARTS)}")
    parser.add_argument("--cache", type=Path, default=OUT, help="corpora and peer sites")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: temp)")
    parser.add_argument("--wrk-seconds", type=float, default=8.0, help="length of one wrk run")
    parser.add_argument("--http-size", type=int, default=None, help="N for the HTTP part")
    parser.add_argument("--peer-timeout", type=float, default=1500.0, help="seconds per peer run")
    parser.add_argument("--build-timeout", type=float, default=600.0, help="seconds per build")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat, args.wrk_seconds = "200", 1, 1.0
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    args.parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = args.parts - set(PARTS)
    if unknown or not args.sizes or args.repeat < 1:
        parser.error(f"bad --parts {sorted(unknown)} or --sizes or --repeat")
    if args.http_size is None:
        small = [n for n in args.sizes if n <= 10_000]
        args.http_size = max(small) if small else min(args.sizes)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="feedsvc-bench-", dir=args.work))
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    bench = Bench(
        sizes=args.sizes,
        repeat=args.repeat,
        parts=args.parts,
        cache=args.cache,
        work=work,
        wrk_seconds=args.wrk_seconds,
        peer_timeout=args.peer_timeout,
        build_timeout=args.build_timeout,
        http_size=args.http_size,
    )
    failed: BaseException | None = None
    try:
        bench.run()
    except (CommandFailed, OSError, subprocess.SubprocessError, ValueError) as exc:
        failed = exc
        bench.notes.append(f"stopped early: {type(exc).__name__}: {str(exc)[:500]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = (datetime.now(UTC) - started_at).total_seconds()
    load_after = os.getloadavg()
    header = [
        f"feedsvc benchmark, {started_at:%Y-%m-%d %H:%M} UTC, {elapsed:.0f} s; "
        f"git {git_state()}; Python {platform.python_version()}; {os.cpu_count()} cores; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after",
        f"tools: {tool_versions()}",
        "figures: medians of `runs` runs (feedsvc/peer); ratio = feedsvc ÷ other; "
        "corpus files in the page cache (not dropped between runs)",
    ]
    print("\n".join(header))
    print()
    print(render_table(bench.rows))
    for note in bench.notes:
        print(f"note: {note}")
    results = {
        "started": started_at.isoformat(),
        "header": header,
        "rows": [asdict(r) | {"ratio": r.ratio} for r in bench.rows],
        "notes": bench.notes,
        "args": {k: (sorted(v) if isinstance(v, set) else str(v)) for k, v in vars(args).items()},
    }
    name = f"results-{started_at:%Y%m%dT%H%M%SZ}.json"
    (args.cache / name).write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
