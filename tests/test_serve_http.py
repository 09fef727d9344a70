"""Serving over real HTTP: ``feedsvc serve`` on a loopback port, as readers see it."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest

from tests.serving import (
    Server,
    copy_examples,
    everywhere,
    free_port,
    raw_request,
    request,
    serve,
    wait_for,
)

pytestmark = pytest.mark.server

CATEGORY = "/categories/新媒体/环球观察-Global-Watch/atom.xml"
FEEDS = {
    "/atom.xml": "application/atom+xml; charset=utf-8",
    "/rss.xml": "application/rss+xml; charset=utf-8",
    "/feed.json": "application/feed+json; charset=utf-8",
    CATEGORY: "application/atom+xml; charset=utf-8",
    "/categories/Engineering/rss.xml": "application/rss+xml; charset=utf-8",
    "/opml.xml": "text/x-opml; charset=utf-8",
    "/": "text/html; charset=utf-8",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("served")
    content = copy_examples(tmp / "content")
    with serve(tmp, content, refresh="3600") as running:
        yield running


@pytest.mark.parametrize("path", sorted(FEEDS))
def test_every_route_answers_200_with_its_content_type_and_caching_headers(
    server: Server, path: str
) -> None:
    reply = server.get(path)
    assert reply.status == 200
    assert reply.headers["content-type"] == FEEDS[path]
    assert reply.headers["etag"].startswith('"') and reply.headers["etag"].endswith('"')
    assert reply.headers["cache-control"] == "public, max-age=300"
    assert reply.headers["vary"] == "Accept-Encoding"
    assert reply.headers["access-control-allow-origin"] == "*"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert "expires" not in reply.headers
    assert int(reply.headers["content-length"]) == len(reply.body)


def test_etag_is_derived_from_the_bytes_served(server: Server) -> None:
    reply = server.get(CATEGORY)
    assert reply.headers["etag"] == '"' + hashlib.sha256(reply.body).hexdigest()[:32] + '"'


def test_last_modified_is_the_newest_item_update_not_the_request_time(server: Server) -> None:
    reply = server.get(CATEGORY)
    feed = feedparser.parse(reply.body)
    newest = max(datetime.fromisoformat(e.updated) for e in feed.entries)
    assert reply.headers["last-modified"] == format_datetime(newest, usegmt=True)


def test_if_none_match_answers_304_with_the_etag_and_caching_headers(server: Server) -> None:
    first = server.get(CATEGORY)
    again = server.get(CATEGORY, **{"If-None-Match": first.headers["etag"]})
    assert again.status == 304
    assert again.body == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == "public, max-age=300"
    stale = server.get(CATEGORY, **{"If-None-Match": '"something-else"'})
    assert stale.status == 200 and stale.body == first.body


def test_if_modified_since_is_compared_as_a_date(server: Server) -> None:
    first = server.get(CATEGORY)
    last = parsedate_to_datetime(first.headers["last-modified"])
    same = server.get(CATEGORY, **{"If-Modified-Since": first.headers["last-modified"]})
    later = server.get(
        CATEGORY,
        **{"If-Modified-Since": format_datetime(last.replace(year=last.year + 1), usegmt=True)},
    )
    earlier = server.get(
        CATEGORY,
        **{"If-Modified-Since": format_datetime(last.replace(year=last.year - 1), usegmt=True)},
    )
    assert (same.status, later.status, earlier.status) == (304, 304, 200)


def test_gzip_is_sent_when_accepted_and_round_trips(server: Server) -> None:
    plain = server.get(CATEGORY)
    packed = server.get(CATEGORY, **{"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed.body) == plain.body
    assert packed.headers["etag"] != plain.headers["etag"]  # another representation
    assert "content-encoding" not in plain.headers
    refused = server.get(CATEGORY, **{"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers
    revalidated = server.get(
        CATEGORY, **{"Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]}
    )
    assert revalidated.status == 304


def test_head_gives_the_headers_of_get_without_a_body(server: Server) -> None:
    get = server.get(CATEGORY)
    head = request(server.port, CATEGORY, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == str(len(get.body))


def test_unknown_paths_are_404_and_unknown_query_parameters_are_ignored(server: Server) -> None:
    assert server.get("/categories/nope/atom.xml").status == 404
    assert server.get("/atom.xml.bak").status == 404
    busted = server.get("/rss.xml?_=0.123&utm_source=reader")
    assert busted.status == 200 and busted.body == server.get("/rss.xml").body


def test_methods_other_than_get_and_head_are_405(server: Server) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        reply = request(server.port, CATEGORY, method=method, body=b"x")
        assert reply.status == 405, method
        assert "GET" in reply.headers["allow"]


def test_category_paths_work_percent_encoded_in_either_case(server: Server) -> None:
    upper = server.get("/categories/%E6%96%B0%E5%AA%92%E4%BD%93/atom.xml")
    lower = server.get("/categories/%e6%96%b0%e5%aa%92%e4%bd%93/atom.xml")  # what curl sends
    assert upper.status == lower.status == 200
    assert upper.body == lower.body


def test_raw_utf8_request_lines_get_a_clean_400_from_gunicorn(server: Server) -> None:
    # RFC 9112 section 3.2: a request target is printable ASCII; gunicorn enforces it.
    # Clients percent-encode (curl, browsers, feedparser); the app itself accepts raw
    # UTF-8 paths (see test_app.py), which matters behind servers that decode.
    raw = raw_request(
        server.port, "GET /categories/新媒体/atom.xml HTTP/1.1\r\nHost: localhost".encode()
    )
    assert raw.status == 400


def test_healthz_reports_the_last_scan(server: Server) -> None:
    health = server.health()
    assert health["ok"] is True
    assert health["posts"] == 10 and health["categories"] == 11 and health["feeds"] == 36
    assert health["last_scan"]["ok"] is True
    assert health["last_scan"]["snapshot"] == health["snapshot"]  # this worker is current
    assert isinstance(health["last_scan"]["duration_seconds"], float)
    assert health["version"]
    assert health["problems"] == []


def test_rescans_run_in_their_own_process_at_a_lower_cpu_priority(server: Server) -> None:
    """Workers answer requests; the builder, one process beside them, rescans niced, so a
    rescan on a busy host does not hold requests up."""
    builder = server.health()["last_scan"]["builder_pid"]
    assert builder not in (server.process.pid, os.getpid())
    serving = os.getpriority(os.PRIO_PROCESS, server.process.pid)
    assert os.getpriority(os.PRIO_PROCESS, builder) > serving


def test_a_served_feed_is_the_file_feedsvc_build_writes(server: Server, tmp_path: Path) -> None:
    out = tmp_path / "public"
    env_base = f"http://127.0.0.1:{server.port}/"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "feedsvc",
            "build",
            "--out",
            str(out),
            "--base-url",
            env_base,
            "--config",
            str(Path(__file__).parent.parent / "config" / "feedsvc.toml"),
        ],
        check=True,
        capture_output=True,
    )
    for path in FEEDS:
        served = server.get(path).body
        written = (out / (path.lstrip("/") or "index.html")).read_bytes()
        assert served == written, path
        if path.endswith(".xml") and "opml" not in path:
            parsed = feedparser.parse(served)
            assert parsed.bozo == 0
            assert parsed == feedparser.parse(written)


def test_refresh_endpoint_is_off_without_a_token(server: Server) -> None:
    reply = request(server.port, "/-/refresh", method="POST")
    assert reply.status == 404


# -- a server whose content changes under it ----------------------------------------------

NEW_POST = """
---
title: 'A post that arrives while serving'
categories:
 - 新媒体
 - 环球观察 Global Watch
 - 新闻
author: Test Desk
date: Mon, 03 Nov 2025 09:00:00 GMT
thumbnail: 'https://img.example.net/new.jpg?w=770&resize=770%2C433'
---

<p>Fresh news.</p>
"""


NEW_TITLE = b"A post that arrives while serving"


def _etags(server: Server, paths: list[str]) -> dict[str, str]:
    return {p: server.get(p).headers["etag"] for p in paths}


def test_content_changes_show_up_after_one_scheduled_rescan(tmp_path: Path) -> None:
    content = copy_examples(tmp_path / "content")
    watched = [
        CATEGORY,
        "/atom.xml",
        "/categories/Engineering/atom.xml",
        "/categories/Notes/rss.xml",
    ]
    with serve(tmp_path, content, refresh="1") as server:
        server.wait_until_current()
        before = _etags(server, watched)
        scan = server.health()["last_scan"]["scan"]

        (content / "200_new.txt").write_text(NEW_POST, encoding="utf-8")

        def has_new_post() -> bool:
            return any(
                e.title == "A post that arrives while serving"
                for e in feedparser.parse(server.get(CATEGORY).body).entries
            )

        wait_for(everywhere(has_new_post), 20, "the added post to be served")
        wait_for(
            everywhere(lambda: server.health()["last_scan"]["scan"] > scan),
            5,
            "every worker to report the rescan",
        )
        server.wait_until_current()
        after = _etags(server, watched)
        assert after[CATEGORY] != before[CATEGORY]
        assert after["/atom.xml"] != before["/atom.xml"]
        # feeds whose bytes did not change keep their ETag
        assert (
            after["/categories/Engineering/atom.xml"] == before["/categories/Engineering/atom.xml"]
        )
        assert after["/categories/Notes/rss.xml"] == before["/categories/Notes/rss.xml"]

        post = content / "200_new.txt"
        post.write_text(NEW_POST.replace("Fresh news.", "Corrected news."), encoding="utf-8")
        wait_for(
            everywhere(lambda: b"Corrected news." in server.get(CATEGORY).body),
            20,
            "the edited post to be served",
        )

        post.unlink()
        wait_for(everywhere(lambda: not has_new_post()), 20, "the deleted post to disappear")
        server.wait_until_current()
        assert _etags(server, [CATEGORY])[CATEGORY] == before[CATEGORY]


def _check_complete(results: list[tuple[int, str, bytes]]) -> None:
    """Each body is exactly the document its ETag names, and each document is a valid feed
    (parsed once per distinct document: equal ETags and hashes mean equal bytes)."""
    distinct: dict[str, bytes] = {}
    for _, etag, body in results:
        assert etag == '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        distinct[etag] = body
    for body in distinct.values():
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0 and parsed.entries


def test_concurrent_requests_during_rescans_always_get_a_complete_valid_feed(
    tmp_path: Path,
) -> None:
    content = copy_examples(tmp_path / "content")
    with serve(tmp_path, content, refresh="1") as server:
        stop = threading.Event()

        def churn() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                (content / "churn.txt").write_text(
                    NEW_POST.replace("Fresh news.", f"Edit {n}."), encoding="utf-8"
                )
                stop.wait(0.2)

        results: list[tuple[int, str, bytes]] = []

        def fetch_until_stopped(i: int) -> None:
            path = [CATEGORY, "/rss.xml", "/atom.xml"][i % 3]
            while not stop.is_set():
                reply = server.get(path)
                results.append((reply.status, reply.headers.get("etag", ""), reply.body))

        scan = server.health()["last_scan"]["scan"]
        threads = [threading.Thread(target=churn)]
        threads += [threading.Thread(target=fetch_until_stopped, args=(i,)) for i in range(12)]
        for thread in threads:
            thread.start()
        try:
            wait_for(
                lambda: server.health()["last_scan"]["scan"] >= scan + 3,
                30,
                "three rescans during the burst",
            )
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        assert len(results) > 100
        assert {status for status, _, _ in results} == {200}
        _check_complete(results)
        assert len({etag for _, etag, _ in results}) > 3  # the churn really was served


def test_a_failed_rescan_keeps_the_previous_feeds_and_is_reported(tmp_path: Path) -> None:
    content = copy_examples(tmp_path / "content")
    with serve(tmp_path, content, refresh="1") as server:
        before = server.get(CATEGORY)
        moved = tmp_path / "unmounted"
        content.rename(moved)  # the folder disappears: every scan now raises

        def failure_reported() -> bool:  # the reason names what went wrong
            scan = server.health()["last_scan"]
            return scan.get("ok") is False and "content" in scan.get("error", "")

        wait_for(everywhere(failure_reported), 20, "the failed rescan to be reported")
        assert server.get(CATEGORY).body == before.body

        content.mkdir()  # an empty folder: shrinking to zero posts is refused
        wait_for(
            everywhere(lambda: "no posts" in server.health()["last_scan"].get("error", "")),
            20,
            "the empty scan to be refused",
        )
        assert server.get(CATEGORY).body == before.body

        shutil.rmtree(content)
        moved.rename(content)
        wait_for(everywhere(lambda: server.health()["last_scan"].get("ok") is True), 20, "recovery")
        assert server.get(CATEGORY).body == before.body


def test_refresh_endpoint_needs_the_token_and_coalesces_concurrent_calls(
    tmp_path: Path,
) -> None:
    content = copy_examples(tmp_path / "content")
    with serve(tmp_path, content, refresh="3600", refresh_token="s3cret") as server:
        assert request(server.port, "/-/refresh", method="POST").status == 401
        wrong = request(
            server.port, "/-/refresh", method="POST", headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status == 401 and "bearer" in wrong.headers["www-authenticate"].lower()

        (content / "200_new.txt").write_text(NEW_POST, encoding="utf-8")
        scan = server.health()["last_scan"]["scan"]
        barrier = threading.Barrier(8)

        def call(_: int) -> tuple[int, dict[str, object]]:
            barrier.wait()
            reply = request(
                server.port, "/-/refresh", method="POST", headers={"Authorization": "Bearer s3cret"}
            )
            return reply.status, json.loads(reply.body)

        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(call, range(8)))
        assert all(status == 200 for status, _ in replies)
        # when a call returns, the rescan it asked for is published: every worker serves it
        # within a poll interval (the one that answered the call already does)
        wait_for(everywhere(lambda: NEW_TITLE in server.get(CATEGORY).body), 5, "the refresh")
        server.wait_until_current()
        scans = server.health()["last_scan"]["scan"] - scan
        assert 1 <= scans <= 3, f"8 concurrent refreshes ran {scans} rescans"


def test_the_procfile_web_line_serves_on_port_with_web_concurrency_workers(
    tmp_path: Path,
) -> None:
    root = Path(__file__).resolve().parent.parent
    line = (root / "Procfile").read_text().splitlines()[0]
    assert line.startswith("web: ")
    port = free_port()
    content = copy_examples(tmp_path / "content")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env.update(
        PORT=str(port),
        WEB_CONCURRENCY="3",
        FEEDSVC_CONTENT_DIR=str(content),
        FEEDSVC_STATE_DIR=str(tmp_path / "state"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    log = tmp_path / "procfile.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["sh", "-c", "exec " + line[len("web: ") :]],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(everywhere(lambda: _answers(port, "/rss.xml"), tries=9), 30, "the Procfile server")
        assert request(port, "/healthz").status == 200
        text = log.read_text()
        assert text.count("Booting worker") == 3
        wait_for(lambda: "is the builder" in log.read_text(), 10, "a builder")
        assert log.read_text().count("is the builder") == 1  # one scheduler for 3 workers
    finally:
        process.terminate()
        process.wait(timeout=15)


def _answers(port: int, path: str) -> bool:
    try:
        return request(port, path).status == 200
    except OSError:
        return False
