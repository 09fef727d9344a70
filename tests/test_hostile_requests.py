"""Hostile requests: a clean 4xx or an ignored header, never a 5xx, never a byte of a file
outside the built feeds.

A real server (``feedsvc serve`` under gunicorn, on loopback) serves a copy of the
bundled examples, with secrets placed where a traversal would look: a file beside the
content folder, a non-post file and an unpublished post inside it, a symlink to
``/etc/passwd``, and the server's own state folder (snapshot manifest, post cache).
Requests go out byte for byte (:func:`tests.serving.raw_request`), so that request lines
http.client would refuse are sent too. gunicorn answers malformed requests itself (400,
414, 431): that is a clean 4xx. The same paths, methods and headers also go through the
Flask test client, which has no gunicorn in front.

Every answer is checked the same way: no 5xx; no marker of a secret; a 2xx body is
byte for byte one of the documents the build published (plain or gzipped); error bodies
are short and never reflect markup unescaped.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from lxml import etree

from feedsvc.app import create_app
from feedsvc.service import Service
from feedsvc.settings import load_settings
from tests.conftest import EXAMPLES, NOW
from tests.serving import Reply, Server, copy_examples, raw_request, serve

SECRET_BESIDE = b"SECRET-BESIDE-THE-CONTENT-7c1e9a"
SECRET_INSIDE = b"SECRET-NON-POST-FILE-4b2d80"
SECRET_UNPUBLISHED = b"SECRET-UNPUBLISHED-POST-e5a913"
PASSWD = b"root:x:0:0"
#: Lines only the examples' unpublished posts hold (a draft, published: false).
_UNPUBLISHED = [
    EXAMPLES / "_drafts" / "unfinished-idea.md",
    EXAMPLES / "_posts" / "internal-roadmap.md",
]
MARKERS = [SECRET_BESIDE, SECRET_INSIDE, SECRET_UNPUBLISHED, PASSWD] + [
    max(path.read_text(encoding="utf-8").splitlines(), key=len).encode() for path in _UNPUBLISHED
]
CATEGORY = "/categories/Engineering/atom.xml"

#: Request targets that try to leave the feeds, in every encoding.
TRAVERSALS = [
    "/categories/../../etc/passwd",
    "/../../../../../../etc/passwd",
    "/categories/../../secret.txt",
    "/categories/Engineering/../../../secret.txt",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/secret.txt",
    "/categories/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/%2fetc%2fpasswd",
    "/atom.xml/..%2f..%2fsecret.txt",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/%252e%252e%252f%252e%252e%252fsecret.txt",
    "/..%5c..%5csecret.txt",
    "/..\\..\\secret.txt",
    "/categories\\..\\..\\secret.txt",
    "/atom.xml%00",
    "/atom.xml%00.html",
    "/secret.txt%00.xml",
    "/%00",
    "/%00/../secret.txt",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%afsecret.txt",
    "/%e0%80%ae%e0%80%ae/secret.txt",
    "/%c0%af%c0%afetc%c0%afpasswd",
    "/%ff%fe/atom.xml",
    "/%ff%fe%fd",
    "//etc/passwd",
    "///secret.txt",
    "/file:///etc/passwd",
    "/./atom.xml",
    "/categories/./Engineering/atom.xml",
    "/categories/%2e%2e/atom.xml",
    "/atom.xml?../../secret.txt",
    "/secret.txt",
    "/../secret.txt",
    "/content/secret-notes.json",
    "/secret-notes.json",
    "/_posts/private.md",
    "/_posts/hello.md",
    "/_drafts/unfinished-idea.md",
    "/passwd.md",
    "/.manifest.json",
    "/atom.xml.gz",
    "/state/snapshot/atom.xml",
    "/snapshot/.manifest.json",
    "/posts.sqlite3",
    "/status.json",
    "/builder.lock",
    "/etc/passwd",
    "/proc/self/environ",
    "/proc/self/cmdline",
    "/<script>alert(1)</script>",
    "/" + "a" * 10_000,
    "/" + "a" * 100_000,
    "/a" * 5_000,
    "/atom.xml?" + "q=" + "x" * 10_000,
    "/atom.xml?" + "q=" + "x" * 100_000,
    "/atom.xml?" + "&".join(f"k{i}=v" for i in range(5_000)),
]
#: Malformed or absurd request heads: gunicorn's 4xx, or the app's.
RAW_HEADS = [
    b"get /atom.xml HTTP/1.1",
    b"GET /atom.xml HTTP/9.9",
    b"GET /atom.xml HTTP/2.0",
    b"GET /atom.xml",
    b"GET /a b HTTP/1.1",
    b"GET\t/atom.xml HTTP/1.1",
    b"GET /\xff\xfe/atom.xml HTTP/1.1",
    b"GET /atom.xml\x00 HTTP/1.1",
    b"A" * 1000 + b" /atom.xml HTTP/1.1",
    b"PRI * HTTP/2.0\r\n\r\nSM",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # TLS on the plain port
    b"GET http://evil.example/../../etc/passwd HTTP/1.1",
    b"GET /atom.xml HTTP/1.1\r\nHost: a\r\nHost: b",
    b"GET /atom.xml HTTP/1.1\r\nX-Bad\x01Name: v",
    b"GET /atom.xml HTTP/1.1\r\nX-Value: a\x00b",
    b"GET /atom.xml HTTP/1.1\r\nX-A: b\r\n folded",
    b"GET /atom.xml HTTP/1.1\r\nContent-Length: -1",
    b"GET /atom.xml HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked",
    b"GET /atom.xml HTTP/1.1\r\nX-A<script>: v",
    b"GET /atom.xml HTTP/1.1" + b"".join(b"\r\nX-H%d: v" % i for i in range(200)),
]
#: Methods other than GET and HEAD (OPTIONS is answered apart).
METHODS = ["POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "MKCOL", "LOCK", "FOO", "BREW"]
METHOD_PATHS = ["/atom.xml", "/", CATEGORY, "/healthz", "/nope", "/-/refresh"]


def etag_list(count: int, extra: str = "") -> str:
    tags = [f'"{i:032x}"' for i in range(count)]
    return ", ".join([*tags, extra] if extra else tags)


@dataclass(frozen=True)
class HeaderCase:
    """Absurd headers on a feed request, and the statuses allowed in answer."""

    name: str
    headers: dict[str, str]
    allowed: tuple[int, ...]
    real_etag: bool = False  #: append /atom.xml's real ETag to If-None-Match


RANGE_500 = "bytes=" + ",".join(f"{i}-{i}" for i in range(500))
FORWARDED = {
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "gopher",
    "Forwarded": "host=evil.example;proto=https",
}
HEADER_CASES = [
    HeaderCase("ims-garbage", {"If-Modified-Since": "garbage"}, (200,)),
    HeaderCase("ims-impossible", {"If-Modified-Since": "Mon, 99 Foo 99999 99:99:99 GMT"}, (200,)),
    HeaderCase("ims-epoch", {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}, (200,)),
    HeaderCase("ims-year-9999", {"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"}, (200, 304)),
    HeaderCase("ims-negative", {"If-Modified-Since": "-1"}, (200,)),
    HeaderCase("inm-1000-etags", {"If-None-Match": etag_list(1000)}, (200, 400, 431)),
    HeaderCase("inm-150-etags", {"If-None-Match": etag_list(150)}, (200,)),
    HeaderCase("inm-150-etags-and-the-real", {}, (304,), real_etag=True),
    HeaderCase("inm-star", {"If-None-Match": "*"}, (304,)),
    HeaderCase("inm-garbage", {"If-None-Match": 'garbage, ,,, W/, "'}, (200,)),
    HeaderCase("if-match-wrong", {"If-Match": '"nope"'}, (412,)),
    HeaderCase("if-match-star", {"If-Match": "*"}, (200,)),
    HeaderCase("ius-garbage", {"If-Unmodified-Since": "garbage"}, (200,)),
    HeaderCase("ius-1990", {"If-Unmodified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"}, (200, 412)),
    HeaderCase("range-first-bytes", {"Range": "bytes=0-10"}, (200, 206)),
    HeaderCase("range-suffix", {"Range": "bytes=-5"}, (200, 206)),
    HeaderCase("range-beyond", {"Range": "bytes=99999999-"}, (200, 416)),
    HeaderCase("range-500-parts", {"Range": RANGE_500}, (200, 206, 416)),
    HeaderCase("range-garbage", {"Range": "lines=1-2, bytes=a-b"}, (200,)),
    HeaderCase("if-range", {"Range": "bytes=0-1", "If-Range": '"x"'}, (200,)),
    HeaderCase("ae-nonsense", {"Accept-Encoding": "gzip;q=abc, br;q=1e999, *;q=2, ,,"}, (200,)),
    HeaderCase("ae-refuse-all", {"Accept-Encoding": "identity;q=0, *;q=0"}, (200, 406)),
    HeaderCase("ae-huge", {"Accept-Encoding": "x" * 8000}, (200, 400, 431)),
    HeaderCase("host-evil", {"Host": "evil.example"}, (200,)),
    HeaderCase("forwarded-evil", FORWARDED, (200,)),
    HeaderCase("expect-continue", {"Expect": "100-continue"}, (200, 417)),
    HeaderCase("cookie-8k", {"Cookie": "a=" + "b" * 8000}, (200, 400, 431)),
    HeaderCase("authorization-junk", {"Authorization": "Bearer \u00ff\u00fe"}, (200,)),
]  # fmt: skip


HEADER_PARAMS = [
    pytest.param(
        case,
        id=case.name,
    )
    for case in HEADER_CASES
]


# -- checking an answer --------------------------------------------------------------------


@dataclass
class Site:
    """A running server (or test client) and the documents it may ever answer with."""

    legit: set[bytes]
    etag: str  #: the ETag of /atom.xml (identity encoding)
    atom: bytes


def check(reply: Reply, site: Site, what: str) -> None:
    assert reply.status < 500, f"{what}: {reply.status} {reply.body[:200]!r}"
    for marker in MARKERS:
        assert marker not in reply.body, f"{what}: leaked {marker!r}"
    assert b"evil.example" not in reply.body or reply.status >= 400, what
    if 200 <= reply.status < 300 and reply.status != 206 and reply.body:
        assert reply.body in site.legit, f"{what}: a 2xx body that is no published document"
    if reply.status >= 400:
        assert len(reply.body) < 4096, what
        assert b"<script" not in reply.body.lower(), f"{what}: reflected markup"


def check_range(reply: Reply, site: Site, what: str) -> None:
    """A 206 must be an exact slice of the feed (an ignored Range gives 200)."""
    if reply.status != 206:
        return
    spec = reply.headers["content-range"]
    assert spec.startswith("bytes "), spec
    span, _, total = spec[len("bytes ") :].partition("/")
    start, _, end = span.partition("-")
    assert int(total) == len(site.atom), what
    assert reply.body == site.atom[int(start) : int(end) + 1], what


def head_for(target: bytes, headers: dict[str, str], port: int, method: bytes = b"GET") -> bytes:
    lines = [method + b" " + target + b" HTTP/1.1"]
    if not any(k.lower() == "host" for k in headers):
        lines.append(b"Host: 127.0.0.1:%d" % port)
    lines += [f"{k}: {v}".encode("latin-1") for k, v in headers.items()]
    return b"\r\n".join(lines)


# -- the real server -----------------------------------------------------------------------


def plant_secrets(tmp: Path) -> Path:
    """A copy of the examples with secrets beside and inside it; the content folder."""
    content = copy_examples(tmp / "content")
    (tmp / "secret.txt").write_bytes(SECRET_BESIDE + b"\n")
    (content / "secret-notes.json").write_bytes(b'{"token": "' + SECRET_INSIDE + b'"}\n')
    (content / "_posts" / "private.md").write_bytes(
        b"---\ntitle: Private\npublished: false\n---\n" + SECRET_UNPUBLISHED + b"\n"
    )
    os.symlink("/etc/passwd", content / "passwd.md")
    return content


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("hostile")
    with serve(tmp, plant_secrets(tmp), refresh="3600") as running:
        yield running


def feed_paths(opml: bytes) -> list[str]:
    root = etree.fromstring(opml)
    atoms = [
        urlsplit(el.get("xmlUrl") or "").path for el in root.iter("outline") if el.get("xmlUrl")
    ]
    return [a[: -len("atom.xml")] + n for a in atoms for n in ("atom.xml", "rss.xml", "feed.json")]


@pytest.fixture(scope="module")
def served(server: Server) -> Site:
    """Every document the server publishes, plain and gzipped, fetched the normal way."""
    legit: set[bytes] = set()
    paths = ["/", "/opml.xml", *feed_paths(server.get("/opml.xml").body)]
    assert len(paths) > 30
    for path in paths:
        plain = server.get(path)
        assert plain.status == 200, path
        legit.add(plain.body)
        packed = server.get(path, **{"Accept-Encoding": "gzip"})
        if packed.headers.get("content-encoding") == "gzip":
            assert gzip.decompress(packed.body) == plain.body
            legit.add(packed.body)
    atom = server.get("/atom.xml")
    return Site(legit, atom.headers["etag"], atom.body)


@pytest.mark.server
@pytest.mark.parametrize("target", TRAVERSALS, ids=lambda t: t[:60])
def test_traversal_and_odd_targets_never_leave_the_feeds(
    server: Server, served: Site, target: str
) -> None:
    reply = raw_request(server.port, head_for(target.encode("latin-1"), {}, server.port))
    check(reply, served, target[:80])
    assert reply.status in (200, 400, 404, 414), reply.status
    if reply.status == 200:  # "/./atom.xml", a query string: the feed itself
        assert reply.body in served.legit


@pytest.mark.server
@pytest.mark.parametrize("head", RAW_HEADS, ids=lambda h: repr(h[:40]))
def test_malformed_request_heads_get_a_clean_4xx(server: Server, served: Site, head: bytes) -> None:
    reply = raw_request(server.port, head)
    check(reply, served, repr(head[:80]))
    if head.startswith(b"GET http://evil.example/"):
        assert reply.status in (400, 404)
    else:
        assert 400 <= reply.status < 500, reply.status


@pytest.mark.server
@pytest.mark.parametrize("case", HEADER_PARAMS)
def test_absurd_headers_are_refused_cleanly_or_ignored(
    server: Server, served: Site, case: HeaderCase
) -> None:
    headers = dict(case.headers)
    if case.real_etag:
        headers["If-None-Match"] = etag_list(150, served.etag)
    for path in ("/atom.xml", CATEGORY):
        reply = raw_request(server.port, head_for(path.encode(), headers, server.port))
        check(reply, served, f"{case.name} {path}")
        allowed = (200,) if case.real_etag and path != "/atom.xml" else case.allowed
        assert reply.status in allowed, f"{case.name} {path}: {reply.status}"
        if path == "/atom.xml":
            check_range(reply, served, case.name)
        if reply.status == 304:
            assert reply.body == b""


@pytest.mark.server
@pytest.mark.parametrize("method", METHODS)
def test_methods_other_than_get_and_head_are_refused(
    server: Server, served: Site, method: str
) -> None:
    for path in METHOD_PATHS:
        headers = {"X-Probe": "trace-canary-31f", "Content-Length": "100000"}
        head = head_for(path.encode(), headers, server.port, method.encode())
        reply = raw_request(server.port, head + b"\r\n\r\n" + b"x" * 100_000)
        check(reply, served, f"{method} {path}")
        assert reply.status in (400, 404, 405, 501), f"{method} {path}: {reply.status}"
        assert b"trace-canary-31f" not in reply.body, "TRACE must not echo the request"


@pytest.mark.server
def test_connect_and_options_never_open_anything(server: Server, served: Site) -> None:
    connect = raw_request(server.port, b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22")
    check(connect, served, "CONNECT")
    assert connect.status in (400, 405)
    for target in (b"*", b"/atom.xml", CATEGORY.encode(), b"/../secret.txt"):
        reply = raw_request(server.port, head_for(target, {}, server.port, b"OPTIONS"))
        check(reply, served, f"OPTIONS {target!r}")
        # A document answers a CORS preflight (204, GET and HEAD only); anything else is
        # a short 4xx. Never another method allowed.
        assert reply.status in (204, 400, 404, 405)
        if reply.status == 204:
            assert reply.body == b""
            assert reply.headers["access-control-allow-origin"] == "*"
            allowed = {m.strip() for m in reply.headers["access-control-allow-methods"].split(",")}
            assert allowed == {"GET", "HEAD"}
    preflight = raw_request(server.port, head_for(b"/atom.xml", {}, server.port, b"OPTIONS"))
    assert preflight.status == 204


@pytest.mark.server
def test_the_server_is_still_serving_and_logged_no_traceback(server: Server, served: Site) -> None:
    """Run last in this module: nothing above broke a worker."""
    for _ in range(6):
        assert server.get("/atom.xml").body == served.atom
    assert server.health()["ok"] is True
    assert "Traceback" not in server.log()
    assert server.process.poll() is None


# -- the Flask test client (no gunicorn in front) ------------------------------------------


@pytest.fixture(scope="module")
def client_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[FlaskClient, Site]:
    tmp = tmp_path_factory.mktemp("hostile-client")
    settings = load_settings(
        environ={},
        cwd=tmp,
        overrides={
            "content_dir": str(plant_secrets(tmp)),
            "base_url": "https://feeds.example.org/",
        },
    )
    service = Service(settings, tmp / "state", clock=lambda: NOW)
    assert service.rescan()["ok"] is True
    snapshot = service.snapshot
    assert snapshot is not None
    legit = {d.body for d in snapshot.documents.values()}
    legit |= {d.gzipped for d in snapshot.documents.values() if d.gzipped is not None}
    atom = snapshot.documents["atom.xml"]
    return create_app(service=service).test_client(), Site(legit, f'"{atom.etag}"', atom.body)


def client_reply(client: FlaskClient, method: str, target: str, **headers: str) -> Reply:
    path, _, query = target.partition("?")
    response = client.open(path, method=method, query_string=query, headers=headers)
    return Reply(
        response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.data
    )


@pytest.mark.parametrize("target", TRAVERSALS, ids=lambda t: t[:60])
def test_traversals_through_the_flask_test_client(
    client_site: tuple[FlaskClient, Site], target: str
) -> None:
    client, site = client_site
    reply = client_reply(client, "GET", target)
    check(reply, site, target[:80])
    assert reply.status in (200, 404), reply.status


@pytest.mark.parametrize("case", HEADER_PARAMS)
def test_absurd_headers_through_the_flask_test_client(
    client_site: tuple[FlaskClient, Site], case: HeaderCase
) -> None:
    client, site = client_site
    headers = dict(case.headers)
    if case.real_etag:
        headers["If-None-Match"] = etag_list(150, site.etag)
    reply = client_reply(client, "GET", "/atom.xml", **headers)
    check(reply, site, case.name)
    # No gunicorn here: no header size limits, so huge lists are parsed and ignored.
    limits = {400, 431} & set(case.allowed)
    allowed = (*case.allowed, 200, 304) if limits else case.allowed
    assert reply.status in allowed, (case.name, reply.status)
    check_range(reply, site, case.name)


def test_methods_through_the_flask_test_client(client_site: tuple[FlaskClient, Site]) -> None:
    client, site = client_site
    for method in METHODS:
        for path in METHOD_PATHS:
            reply = client_reply(client, method, path)
            check(reply, site, f"{method} {path}")
            assert reply.status in (404, 405), (method, path, reply.status)
    options = client_reply(client, "OPTIONS", "/atom.xml")
    assert options.status in (200, 204, 405) and options.body == b""
