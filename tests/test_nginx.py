"""deploy/nginx.conf serves a folder written by ``feedsvc build`` the way feedsvc does.

The bundled examples are built with the real command, nginx runs that configuration (only
``listen`` and ``root`` substituted, as deploy/nginx.conf documents) in the foreground on
a loopback port with its pid, logs and temporary files in a private prefix, and every
published path is fetched: bytes, content types, gzip, validators and caching headers.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from feedsvc.snapshot import MANIFEST
from tests.serving import Reply, free_port, request, wait_for

pytestmark = [pytest.mark.nginx, pytest.mark.server]

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "nginx.conf"
EXAMPLE_CONFIG = ROOT / "config" / "feedsvc.toml"
#: The two lines of deploy/nginx.conf a site changes.
LISTEN = "listen 8080;"
DOCROOT = "root /var/www/feeds;"
CATEGORY = "/categories/新媒体/环球观察-Global-Watch/atom.xml"
CONTENT_TYPES = {
    "atom.xml": "application/atom+xml; charset=utf-8",
    "rss.xml": "application/rss+xml; charset=utf-8",
    "feed.json": "application/feed+json; charset=utf-8",
    "opml.xml": "text/x-opml; charset=utf-8",
    "index.html": "text/html; charset=utf-8",
}


def nginx_binary() -> str | None:
    """nginx on PATH, else Debian's /usr/sbin/nginx (not on a non-root PATH)."""
    found = shutil.which("nginx")
    if found is None and os.access("/usr/sbin/nginx", os.X_OK):
        found = "/usr/sbin/nginx"
    return found


def feedsvc_build(out: Path, state: Path, *flags: str) -> None:
    """``feedsvc build`` of the bundled examples into ``out``, as the cron line runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env["FEEDSVC_STATE_DIR"] = str(state)
    command = [sys.executable, "-m", "feedsvc", "build", "--config", str(EXAMPLE_CONFIG)]
    subprocess.run(
        [*command, "--out", str(out), *flags],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )


def site_config(port: int, docroot: Path) -> str:
    """deploy/nginx.conf with the listen address and root substituted as its header says
    (the same replacement in the comments is harmless), nothing else."""
    text = CONFIG.read_text(encoding="utf-8")
    directives = [line.strip() for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert sum(line.startswith(LISTEN) for line in directives) == 1, "listen line moved"
    assert sum(line.startswith(DOCROOT) for line in directives) == 1, "root line moved"
    return text.replace(LISTEN, f"listen 127.0.0.1:{port};").replace(DOCROOT, f"root {docroot};")


@dataclass
class Nginx:
    port: int
    out: Path  #: the snapshot folder nginx serves
    state: Path  #: feedsvc's state folder for the builds
    manifest: dict[str, Any]  #: the build's .manifest.json "files"
    error_log: Path

    def get(self, path: str, **headers: str) -> Reply:
        return request(self.port, path, headers=headers)

    def file(self, path: str) -> bytes:
        return (self.out / path).read_bytes()


@pytest.fixture(scope="module")
def nginx() -> Iterator[Nginx]:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light); .ci/run installs it")
    # Not pytest's tmp_path: its folders are private to this user, and nginx's workers run
    # as another user (nobody) when the tests run as root.
    prefix = Path(tempfile.mkdtemp(prefix="feedsvc-nginx-"))
    try:
        yield from _serve(binary, prefix)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def _serve(binary: str, prefix: Path) -> Iterator[Nginx]:
    """Build the examples under ``prefix`` and run nginx on them until the generator ends."""
    os.chmod(prefix, 0o755)
    (prefix / "logs").mkdir()
    out = prefix / "public"
    state = prefix / "state"
    feedsvc_build(out, state)
    manifest = json.loads((out / MANIFEST).read_bytes())["files"]
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(site_config(port, out), encoding="utf-8")
    error_log = prefix / "logs" / "error.log"
    globals_ = f"daemon off; pid {prefix / 'nginx.pid'}; error_log {error_log} notice;"
    check = subprocess.run(
        [binary, "-t", "-q", "-p", str(prefix), "-c", str(conf), "-g", globals_],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(conf), "-g", globals_],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Nginx(port, out, state, manifest, error_log)
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"nginx exited early:\n{error_log.read_text()}")
            try:
                return server.get("/").status == 200
            except OSError:
                return False

        wait_for(ready, 15, "nginx to answer")
        yield server
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: finish requests, then exit
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def url(path: str) -> str:
    return "/" + path


def http_date(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso), usegmt=True)


def assert_caching_headers(headers: Mapping[str, str]) -> None:
    assert headers["cache-control"] == "public, max-age=300"
    assert headers["vary"] == "Accept-Encoding"
    assert headers["access-control-allow-origin"] == "*"
    assert headers["x-content-type-options"] == "nosniff"


def test_the_build_published_what_the_test_relies_on(nginx: Nginx) -> None:
    assert CATEGORY.lstrip("/") in nginx.manifest
    assert {name for name in CONTENT_TYPES} <= set(nginx.manifest)
    assert any(info["gzip"] for info in nginx.manifest.values())


def test_every_published_path_is_served_with_its_bytes_and_feedsvcs_content_type(
    nginx: Nginx,
) -> None:
    for path, info in nginx.manifest.items():
        reply = nginx.get(url(path))
        assert reply.status == 200, path
        assert reply.body == nginx.file(path), path
        assert "content-encoding" not in reply.headers, path
        assert reply.headers["content-type"] == info["content_type"], path
        assert info["content_type"] == CONTENT_TYPES[path.rsplit("/", 1)[-1]], path
        assert_caching_headers(reply.headers)


def test_the_folder_path_serves_the_index(nginx: Nginx) -> None:
    reply = nginx.get("/")
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert reply.body == nginx.file("index.html")


def test_gzip_is_the_built_sibling_and_round_trips_to_the_same_bytes(nginx: Nginx) -> None:
    compressed = [p for p, info in nginx.manifest.items() if info["gzip"]]
    for path in compressed:
        plain = nginx.get(url(path))
        packed = nginx.get(url(path), **{"Accept-Encoding": "gzip, deflate, br"})
        assert packed.status == 200, path
        assert packed.headers["content-encoding"] == "gzip", path
        assert packed.body == nginx.file(path + ".gz"), path
        assert gzip.decompress(packed.body) == plain.body == nginx.file(path), path
        assert packed.headers["content-type"] == nginx.manifest[path]["content_type"], path
        assert packed.headers["etag"] != plain.headers["etag"], "one ETag per representation"
        assert_caching_headers(packed.headers)
    refused = nginx.get(CATEGORY, **{"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers


def test_files_too_small_to_compress_are_served_plain_to_gzip_clients(nginx: Nginx) -> None:
    for path, info in nginx.manifest.items():
        if not info["gzip"]:
            reply = nginx.get(url(path), **{"Accept-Encoding": "gzip"})
            assert "content-encoding" not in reply.headers, path
            assert reply.body == nginx.file(path), path


def test_if_none_match_answers_304_for_either_representation(nginx: Nginx) -> None:
    for encoding in ("identity", "gzip"):
        first = nginx.get(CATEGORY, **{"Accept-Encoding": encoding})
        etag = first.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"'), "a strong ETag"
        again = nginx.get(CATEGORY, **{"Accept-Encoding": encoding, "If-None-Match": etag})
        assert again.status == 304, encoding
        assert again.body == b""
        assert again.headers["etag"] == etag
        assert again.headers["last-modified"] == first.headers["last-modified"]
        assert_caching_headers(again.headers)
        stale = nginx.get(
            CATEGORY, **{"Accept-Encoding": encoding, "If-None-Match": '"something-else"'}
        )
        assert stale.status == 200 and stale.body == first.body


def test_if_modified_since_is_compared_as_a_date_like_feedsvc(nginx: Nginx) -> None:
    first = nginx.get(CATEGORY)
    stamp = first.headers["last-modified"]
    last = parsedate_to_datetime(stamp)
    later = format_datetime(last + timedelta(days=1), usegmt=True)
    earlier = format_datetime(last - timedelta(days=1), usegmt=True)
    statuses = [nginx.get(CATEGORY, **{"If-Modified-Since": s}).status for s in (stamp, later)]
    assert statuses == [304, 304]
    assert nginx.get(CATEGORY, **{"If-Modified-Since": earlier}).status == 200
    revalidated = nginx.get(CATEGORY, **{"If-Modified-Since": stamp})
    assert_caching_headers(revalidated.headers)


def test_last_modified_is_the_documents_not_the_build_time(nginx: Nginx) -> None:
    # nginx takes Last-Modified (and its ETag) from the file's mtime: feedsvc's snapshot
    # writer sets it to the document's last_modified, for the .gz sibling too, so nginx
    # sends feedsvc's Last-Modified and an ETag that every host building the same content
    # computes alike ("<mtime hex>-<size hex>").
    for path, info in nginx.manifest.items():
        when = datetime.fromisoformat(info["last_modified"])
        variants = [("identity", path)] + ([("gzip", path + ".gz")] if info["gzip"] else [])
        for encoding, name in variants:
            reply = nginx.get(url(path), **{"Accept-Encoding": encoding})
            assert reply.headers["last-modified"] == http_date(info["last_modified"]), name
            size = len(nginx.file(name))
            assert reply.headers["etag"] == f'"{int(when.timestamp()):x}-{size:x}"', name


def test_hidden_files_and_gzip_siblings_are_not_published(nginx: Nginx) -> None:
    assert (nginx.out / MANIFEST).is_file()
    assert nginx.get(url(MANIFEST)).status in (403, 404)
    assert nginx.get("/categories/../" + MANIFEST).status in (403, 404)
    assert nginx.get("/%2Emanifest.json").status in (403, 404)
    assert nginx.get(CATEGORY + ".gz").status == 404
    assert nginx.get("/atom.xml.gz").status == 404


def test_unknown_paths_and_folders_are_404(nginx: Nginx) -> None:
    for path in ("/nope", "/categories/nope/atom.xml", "/atom.xml.bak", "/categories/"):
        assert nginx.get(path).status == 404, path
    assert nginx.get("/categories").status == 404, "no redirect to a folder listing"
    busted = nginx.get("/rss.xml?_=0.123&utm_source=reader")
    assert busted.status == 200 and busted.body == nginx.file("rss.xml")


def test_head_and_methods(nginx: Nginx) -> None:
    get = nginx.get(CATEGORY)
    head = request(nginx.port, CATEGORY, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == str(len(get.body))
    assert request(nginx.port, CATEGORY, method="POST", body=b"x").status == 405


def test_a_rebuild_is_served_at_once_through_the_atomic_exchange(nginx: Nginx) -> None:
    before = nginx.get(CATEGORY)
    try:
        feedsvc_build(nginx.out, nginx.state, "--title", "Renamed site")
        after = nginx.get(CATEGORY)
        assert after.status == 200
        assert after.body == nginx.file(CATEGORY.lstrip("/")) != before.body
        assert b"Renamed site" in after.body
        packed = nginx.get(CATEGORY, **{"Accept-Encoding": "gzip"})
        assert gzip.decompress(packed.body) == after.body
    finally:
        feedsvc_build(nginx.out, nginx.state)  # back to what the other tests expect
    assert nginx.get(CATEGORY).body == before.body


def test_nginx_logged_no_errors(nginx: Nginx) -> None:
    log = nginx.error_log.read_text()
    for level in ("[error]", "[crit]", "[alert]", "[emerg]"):
        assert level not in log, log
