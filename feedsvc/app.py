"""App: the Flask application that serves the current snapshot the way readers need.

Every path ``feedsvc build`` writes is served from memory with its precomputed strong
ETag (a gzip variant gets its own), Last-Modified = the feed's newest update, conditional
GET through Werkzeug (``If-None-Match`` first, else ``If-Modified-Since`` compared as
dates), gzip when asked, ``Cache-Control: public, max-age``, CORS for browser readers and
``nosniff``. Query strings are ignored (readers add cache-busters). Absolute URLs inside
feeds come from settings, never from the request, so a proxy cannot change them.
"""

from __future__ import annotations

import hmac
import logging
import os

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from . import logs
from .service import RefreshTimeout, Service
from .settings import Settings, default_state_dir, load_settings

logger = logging.getLogger(__name__)

#: Seconds a reader is asked to wait when nothing is built yet or a refresh timed out.
RETRY_AFTER = "10"
_TEXT = "text/plain; charset=utf-8"


def _plain(status: int, message: str, **headers: str) -> Response:
    return Response(message + "\n", status, {"Content-Type": _TEXT, **headers})


def create_app(settings: Settings | None = None, service: Service | None = None) -> Flask:
    """Build the WSGI app. With no arguments (gunicorn, ``feedsvc serve``) settings come
    from ``config/feedsvc.toml`` and ``FEEDSVC_*``, and the service starts its threads."""
    if service is None:
        if settings is None:
            settings = load_settings(environ=os.environ)
        logs.configure(settings.log_level)
        service = Service(settings, default_state_dir(settings, os.environ))
        service.start()
    settings = service.settings
    app = Flask(__name__, static_folder=None)
    app.extensions["feedsvc"] = service
    cache_control = f"public, max-age={settings.cache_max_age}"

    def serve(path: str) -> Response:
        snapshot = service.snapshot
        if snapshot is None:
            return _plain(
                503, "feeds are being built; try again shortly", **{"Retry-After": RETRY_AFTER}
            )
        doc = snapshot.documents.get(path)
        if doc is None and path.endswith("/"):
            doc = snapshot.documents.get(path + "index.html")
        if doc is None:
            return _plain(404, "no feed at this address")
        use_gzip = doc.gzipped is not None and request.accept_encodings["gzip"] > 0
        response = Response(
            doc.gzipped if use_gzip else doc.body, 200, {"Content-Type": doc.content_type}
        )
        response.set_etag(doc.etag + "-gz" if use_gzip else doc.etag)
        response.last_modified = doc.last_modified
        if use_gzip:
            response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = cache_control
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.make_conditional(request)
        return response

    @app.get("/")
    def index() -> Response:
        return serve("index.html")

    @app.get("/<path:path>")
    def document(path: str) -> Response:
        return serve(path)

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

    return app
