"""App: the Flask application that serves the current snapshot the way readers need.

Every path ``feedsvc build`` writes is served from memory with its precomputed strong
ETag (a gzip variant gets its own), Last-Modified = the feed's newest update, conditional
GET through Werkzeug (``If-None-Match`` first, else ``If-Modified-Since`` compared as
dates), gzip when asked, ``Cache-Control: public, max-age``, CORS for browser readers and
``nosniff``. Query strings are ignored (readers add cache-busters). Absolute URLs inside
feeds come from settings, never from the request, so a proxy cannot change them.
"""

from __future__ import annotations

import functools
import hmac
import logging
import os
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import (
    http_date,
    parse_accept_header,
    parse_date,
    parse_etags,
)
from werkzeug.sansio.http import is_resource_modified

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

from . import logs
from .gunicorn_conf import DEDICATED_BUILDER_ENV
from .service import RefreshTimeout, Service
from .settings import Settings, default_state_dir, load_settings
from .snapshot import Document

logger = logging.getLogger(__name__)

#: Seconds a reader is asked to wait when nothing is built yet or a refresh timed out.
RETRY_AFTER = "10"
_TEXT = "text/plain; charset=utf-8"


Headers = list[tuple[str, str]]


@functools.lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value allows gzip (a few distinct values: cached)."""
    return parse_accept_header(accept_encoding)["gzip"] > 0


#: Answer to a CORS preflight for a document: readers in browsers send validators.
_PREFLIGHT = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, HEAD"),
    ("Access-Control-Allow-Headers", "If-None-Match, If-Modified-Since"),
    ("Access-Control-Max-Age", "86400"),
    ("Allow", "GET, HEAD, OPTIONS"),
]


def _precondition_failed(environ: WSGIEnvironment, etag: str, last_modified: datetime) -> bool:
    """RFC 9110 section 13.2.2: If-Match, else If-Unmodified-Since (an unreadable date is
    ignored), decide 412 before If-None-Match and If-Modified-Since are looked at."""
    if_match = environ.get("HTTP_IF_MATCH")
    if if_match is not None:
        tags = parse_etags(if_match)
        return not (tags.star_tag or tags.contains(etag))
    since = parse_date(environ.get("HTTP_IF_UNMODIFIED_SINCE"))
    return since is not None and last_modified > since


class Documents:
    """WSGI layer that answers GET and HEAD for every document of the current snapshot.

    This is the hot path (every reader poll), so it skips Flask's routing and response
    objects and serves precomputed headers, using Werkzeug's conditional-request logic.
    Unlike Werkzeug's 304, ours keeps Last-Modified: readers that store the validators of
    a 304 (NetNewsWire, SimplePie) would otherwise lose them. Anything else (other paths,
    methods, ``If-Match``/``If-Unmodified-Since``, nothing built yet) goes to Flask.
    """

    def __init__(self, service: Service, fallback: WSGIApplication) -> None:
        self.service = service
        self.fallback = fallback
        self.cache_control = f"public, max-age={service.settings.cache_max_age}"
        self._headers: dict[tuple[int, bool], tuple[Document, str, Headers, Headers]] = {}
        self._snapshot_key = ""

    def _prepared(self, doc: Document, gz: bool) -> tuple[str, Headers, Headers]:
        found = self._headers.get((id(doc), gz))
        if found is not None and found[0] is doc:
            return found[1], found[2], found[3]
        etag = doc.etag + "-gz" if gz else doc.etag
        common = [
            ("ETag", f'"{etag}"'),
            ("Last-Modified", http_date(doc.last_modified)),
            ("Cache-Control", self.cache_control),
            ("Vary", "Accept-Encoding"),
            ("Access-Control-Allow-Origin", "*"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        body = doc.gzipped if gz and doc.gzipped is not None else doc.body
        full = [("Content-Type", doc.content_type), ("Content-Length", str(len(body))), *common]
        if gz:
            full.append(("Content-Encoding", "gzip"))
        self._headers[(id(doc), gz)] = (doc, etag, full, common)
        return etag, full, common

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        snapshot = self.service.snapshot
        if snapshot is None and self.service.reload():  # published since this worker looked
            snapshot = self.service.snapshot
        if method not in ("GET", "HEAD", "OPTIONS") or snapshot is None:
            return self.fallback(environ, start_response)
        raw = environ.get("PATH_INFO", "")
        try:  # WSGI carries the path's bytes as latin-1; they are UTF-8
            path = raw.encode("latin-1").decode("utf-8")
        except UnicodeEncodeError:  # a server that decoded UTF-8 itself
            path = raw
        except UnicodeDecodeError:  # not UTF-8: no document has that name
            return self.fallback(environ, start_response)
        doc = snapshot.documents.get(path[1:] or "index.html")
        if doc is None:
            return self.fallback(environ, start_response)
        if snapshot.key != self._snapshot_key:  # forget the headers of old snapshots
            self._headers.clear()
            self._snapshot_key = snapshot.key
        if method == "OPTIONS":  # CORS preflight of a browser reader's conditional GET
            start_response("204 No Content", list(_PREFLIGHT))
            return []
        gz = doc.gzipped is not None and accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        etag, full, common = self._prepared(doc, gz)
        if _precondition_failed(environ, etag, doc.last_modified):
            start_response("412 Precondition Failed", list(common))
            return []
        if not is_resource_modified(  # If-Match was decided above, RFC 9110's way
            http_if_none_match=environ.get("HTTP_IF_NONE_MATCH"),
            http_if_modified_since=environ.get("HTTP_IF_MODIFIED_SINCE"),
            etag=etag,
            last_modified=doc.last_modified,
        ):
            start_response("304 Not Modified", list(common))
            return []
        start_response("200 OK", list(full))
        if method == "HEAD":
            return []
        return [doc.gzipped if gz and doc.gzipped is not None else doc.body]


def _plain(status: int, message: str, **headers: str) -> Response:
    return Response(message + "\n", status, {"Content-Type": _TEXT, **headers})


def create_app(settings: Settings | None = None, service: Service | None = None) -> Flask:
    """Build the WSGI app. With no arguments (gunicorn, ``feedsvc serve``) settings come
    from ``config/feedsvc.toml`` and ``FEEDSVC_*``, and the service starts its threads."""
    if service is None:
        if settings is None:
            settings = load_settings(environ=os.environ)
        logs.configure(settings.log_level)
        standby = bool(os.environ.get(DEDICATED_BUILDER_ENV))
        service = Service(settings, default_state_dir(settings, os.environ), standby=standby)
        service.start()
    settings = service.settings
    app = Flask(__name__, static_folder=None)
    # OPTIONS is answered for documents (CORS preflight); elsewhere it is a 405.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.extensions["feedsvc"] = service

    @app.get("/")
    @app.get("/<path:path>")
    def missing(path: str = "") -> Response:
        # Documents that exist never get here (see Documents); this is what is left.
        if service.snapshot is None:
            return _plain(
                503, "feeds are being built; try again shortly", **{"Retry-After": RETRY_AFTER}
            )
        return _plain(404, "no feed at this address")

    @app.get("/healthz")
    def healthz() -> Response:
        response = jsonify(service.health())
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.post("/-/refresh")
    def refresh() -> Response:
        token = settings.refresh_token
        if not token:
            return _plain(404, "refresh is off: no refresh_token is configured")
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            value.strip().encode("utf-8", "surrogateescape"), token.encode("utf-8")
        ):
            return _plain(
                401,
                "a valid Bearer token is required",
                **{"WWW-Authenticate": 'Bearer realm="feedsvc"'},
            )
        try:
            status = service.request_refresh()
        except RefreshTimeout as exc:
            return _plain(503, str(exc), **{"Retry-After": RETRY_AFTER})
        response = jsonify(status)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        response = _plain(exc.code or 500, exc.description or exc.name)
        if exc.code == 405 and exc.response is None:
            allowed = exc.get_headers()
            for name, value in allowed:
                if name.lower() == "allow":
                    response.headers["Allow"] = value
        return response

    app.wsgi_app = Documents(service, app.wsgi_app)  # type: ignore[method-assign]
    return app
