"""Helpers for tests that start feedsvc as a real HTTP server on a loopback port.

The server is started the way the README starts it (``feedsvc serve``), as a separate
process, with settings passed through ``FEEDSVC_*`` variables, and stopped at the end.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "content"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Reply:
    """One HTTP response, read completely."""

    status: int
    headers: dict[str, str]  #: lower-cased names
    body: bytes


def request(
    port: int,
    path: str,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30.0,
) -> Reply:
    """Send one request to the server on ``port``; non-ASCII paths are percent-encoded."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        target = path if path.isascii() else quote(path, safe="/?=&%")
        conn.request(method, target, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def raw_request(port: int, head: bytes, timeout: float = 30.0) -> Reply:
    """Send bytes exactly as given (for raw UTF-8 or hostile request lines) and read the
    response. ``head`` is the request line and headers, without the final blank line."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + b"\r\nConnection: close\r\n\r\n")
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        data = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def everywhere(condition: Callable[[], bool], tries: int = 6) -> Callable[[], bool]:
    """A condition that holds on several requests in a row: with several workers, each
    follows the published snapshot within a poll interval, so one answer is not enough."""
    return lambda: all(condition() for _ in range(tries))


@dataclass
class Server:
    """A running ``feedsvc serve`` process."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    state_dir: Path

    def get(self, path: str, **headers: str) -> Reply:
        return request(self.port, path, headers=headers)

    def published(self) -> str | None:
        """The key of the snapshot the builder last published (from its status file)."""
        try:
            status = json.loads((self.state_dir / "status.json").read_bytes())
        except (OSError, ValueError):
            return None
        key: str | None = status.get("snapshot")
        return key

    def wait_until_current(self, timeout: float = 10) -> None:
        """Wait until every worker serves the snapshot the builder last published.

        Workers follow it within a poll interval, each on its own clock, so one fresh
        answer says nothing of the other worker: 20 answers in a row must agree.
        """
        wait_for(
            everywhere(lambda: self.health()["snapshot"] == self.published(), tries=20),
            timeout,
            "every worker to serve the published snapshot",
        )

    def health(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.get("/healthz").body)
        return data

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def copy_examples(dest: Path) -> Path:
    """A private copy of the bundled example content, safe to edit in a test."""
    shutil.copytree(EXAMPLES, dest)
    return dest


@contextlib.contextmanager
def serve(tmp: Path, content: Path, workers: int = 2, **settings: str) -> Iterator[Server]:
    """Run ``feedsvc serve`` on a free loopback port until the block ends."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env.update(
        {
            "FEEDSVC_CONFIG": str(ROOT / "config" / "feedsvc.toml"),
            "FEEDSVC_CONTENT_DIR": str(content),
            "FEEDSVC_STATE_DIR": str(tmp / "state"),
            "FEEDSVC_BASE_URL": f"http://127.0.0.1:{port}/",
            "PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
        }
    )
    env.update({f"FEEDSVC_{k.upper()}": v for k, v in settings.items()})
    log_path = tmp / f"server-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "feedsvc", "serve", "--host", "127.0.0.1"],
            cwd=tmp,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, process, log_path, tmp / "state")
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"server exited early:\n{server.log()}")
            try:  # every worker must be serving the first scan, not just the first to answer
                return all(
                    server.get("/").status == 200 and "scan" in server.health()["last_scan"]
                    for _ in range(10)
                )
            except OSError:
                return False

        wait_for(ready, 30, "the server to answer")
        try:
            yield server
        except AssertionError as failure:  # CI shows what the server saw, not just the test
            tail = "\n".join(server.log().splitlines()[-40:])
            raise AssertionError(f"{failure}\n--- server log, last lines ---\n{tail}") from None
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
