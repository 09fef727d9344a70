"""The service in one process: the Flask app over a snapshot, the builder election, the
scheduler's rescans and the release of future-dated posts at their time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask.testing import FlaskClient

from feedsvc.app import create_app
from feedsvc.service import Service, running
from feedsvc.settings import load_settings
from tests.serving import copy_examples, wait_for

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CATEGORY = "/categories/新媒体/环球观察-Global-Watch/atom.xml"


def make_service(tmp_path: Path, clock: Any = None, **overrides: Any) -> Service:
    content = tmp_path / "content"
    if not content.exists():
        copy_examples(content)
    settings = load_settings(
        environ={},
        cwd=tmp_path,
        overrides={
            "content_dir": str(content),
            "state_dir": str(tmp_path / "state"),
            "base_url": "https://feeds.example.org/",
            **overrides,
        },
    )
    return Service(settings, tmp_path / "state", clock=clock or (lambda: NOW))


def body_of(service: Service, path: str) -> bytes:
    """The bytes a service serves at ``path`` now (empty before its first snapshot)."""
    snap = service.snapshot
    return snap.documents[path].body if snap is not None else b""


def key_of(service: Service) -> str:
    snap = service.snapshot
    assert snap is not None
    return snap.key


@pytest.fixture
def service(tmp_path: Path) -> Service:
    built = make_service(tmp_path)
    assert built.rescan()["ok"] is True
    return built


@pytest.fixture
def client(service: Service) -> FlaskClient:
    return create_app(service=service).test_client()


# -- the app over one snapshot --------------------------------------------------------------


def test_category_feed_is_served_with_validators(client: FlaskClient) -> None:
    first = client.get(CATEGORY)
    assert first.status_code == 200
    assert first.content_type == "application/atom+xml; charset=utf-8"
    assert feedparser.parse(first.data).bozo == 0
    etag = first.headers["ETag"]
    assert client.get(CATEGORY, headers={"If-None-Match": etag}).status_code == 304
    ims = first.headers["Last-Modified"]
    assert client.get(CATEGORY, headers={"If-Modified-Since": ims}).status_code == 304


def test_raw_utf8_and_percent_encoded_paths_reach_the_same_feed(client: FlaskClient) -> None:
    encoded = client.get("/categories/%E6%96%B0%E5%AA%92%E4%BD%93/atom.xml")
    raw = client.get("/categories/新媒体/atom.xml")
    assert encoded.status_code == raw.status_code == 200
    assert encoded.data == raw.data


def test_absolute_urls_come_from_settings_not_from_the_request_host(
    client: FlaskClient,
) -> None:
    via_proxy = client.get(
        "/atom.xml",
        headers={
            "Host": "evil.example",
            "X-Forwarded-Proto": "http",
            "X-Forwarded-Host": "evil.example",
        },
    )
    assert b"evil.example" not in via_proxy.data
    feed = feedparser.parse(via_proxy.data)
    assert feed.feed.links[0].href == "https://feeds.example.org/atom.xml"


def test_nothing_built_yet_is_a_503_with_retry_after(tmp_path: Path) -> None:
    client = create_app(service=make_service(tmp_path)).test_client()
    reply = client.get("/atom.xml")
    assert reply.status_code == 503
    assert int(reply.headers["Retry-After"]) > 0


def test_healthz_names_the_files_with_problems(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    (tmp_path / "content" / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    service.rescan()
    health = create_app(service=service).test_client().get("/healthz").get_json()
    assert health["ok"] is True
    assert [p["file"] for p in health["problems"]] == ["broken.md"]
    assert health["posts"] == 10


def test_refresh_with_the_token_rescans_before_answering(tmp_path: Path) -> None:
    service = make_service(tmp_path, refresh_token="t0ken")
    service.rescan()
    client = create_app(service=service).test_client()
    (tmp_path / "content" / "_posts" / "late.md").write_text(
        "---\ntitle: Late arrival\ndate: 2025-12-01 00:00:00\ncategories: Notes\n---\nHi\n"
    )
    assert client.post("/-/refresh", headers={"Authorization": "Bearer wrong"}).status_code == 401
    reply = client.post("/-/refresh", headers={"Authorization": "Bearer t0ken"})
    assert reply.status_code == 200 and reply.get_json()["ok"] is True
    assert b"Late arrival" in client.get("/categories/Notes/atom.xml").data


# -- rescans: what they keep and what they publish ---------------------------------------


def test_a_rescan_that_raises_keeps_serving_the_previous_snapshot(
    service: Service, tmp_path: Path
) -> None:
    before = service.snapshot
    (tmp_path / "content").rename(tmp_path / "gone")
    status = service.rescan()
    assert status["ok"] is False and "content" in status["error"]
    assert service.snapshot is before


def test_an_empty_folder_does_not_replace_a_site_with_posts_unless_allowed(
    tmp_path: Path,
) -> None:
    service = make_service(tmp_path)
    service.rescan()
    before = service.snapshot
    for post in (tmp_path / "content").rglob("*.*"):
        post.unlink()
    assert "no posts" in service.rescan()["error"]
    assert service.snapshot is before

    allowing = make_service(tmp_path, allow_empty="true")
    allowing.rescan()
    assert allowing.snapshot is not None and allowing.snapshot.report["posts"] == 0


def test_another_process_follows_the_published_snapshot(tmp_path: Path) -> None:
    builder = make_service(tmp_path)
    builder.rescan()
    follower = make_service(tmp_path)
    assert key_of(follower) == key_of(builder)
    (tmp_path / "content" / "_posts" / "late.md").write_text(
        "---\ntitle: Late arrival\ndate: 2025-12-01 00:00:00\n---\nHi\n"
    )
    builder.rescan()
    assert follower.reload() is True
    assert key_of(follower) == key_of(builder)
    assert follower.reload() is False  # nothing new: nothing reloaded


# -- the scheduler and the builder role -------------------------------------------------


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Service]]:
    services: list[Service] = []
    yield services
    for svc in services:
        svc.stop()


def test_exactly_one_of_many_processes_is_the_builder_and_another_takes_over(
    tmp_path: Path, started: list[Service]
) -> None:
    for _ in range(3):
        svc = make_service(tmp_path, refresh="3600", clock=lambda: datetime.now(UTC))
        svc.start()
        started.append(svc)
    wait_for(lambda: sum(s.is_builder for s in started) == 1, 10, "a builder")
    time.sleep(Service.ELECTION_SECONDS * 1.5)  # others keep trying: still exactly one
    assert sum(s.is_builder for s in started) == 1
    wait_for(lambda: all(s.snapshot is not None for s in started), 10, "everyone serving")

    builder = next(s for s in started if s.is_builder)
    builder.stop()
    started.remove(builder)
    wait_for(lambda: sum(s.is_builder for s in started) == 1, 10, "a new builder")


def test_the_scheduler_rescans_on_its_interval(tmp_path: Path, started: list[Service]) -> None:
    svc = make_service(tmp_path, refresh="1", clock=lambda: datetime.now(UTC))
    started.append(svc)
    svc.start()
    wait_for(lambda: svc.snapshot is not None, 10, "the first scan")
    (tmp_path / "content" / "_posts" / "late.md").write_text(
        "---\ntitle: Late arrival\ndate: 2025-12-01 00:00:00\ncategories: Notes\n---\nHi\n"
    )
    wait_for(
        lambda: b"Late arrival" in body_of(svc, "atom.xml"),
        10,
        "the scheduled rescan",
    )


def test_a_future_post_is_released_at_its_time_without_waiting_for_the_interval(
    tmp_path: Path, started: list[Service]
) -> None:
    copy_examples(tmp_path / "content")
    release = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    (tmp_path / "content" / "_posts" / "embargo.md").write_text(
        f"---\ntitle: Embargoed\ndate: {format_datetime(release, usegmt=True)}\n---\nSoon\n"
    )
    svc = make_service(tmp_path, refresh="3600", clock=lambda: datetime.now(UTC))
    started.append(svc)
    svc.start()
    wait_for(lambda: svc.snapshot is not None, 10, "the first scan")
    assert b"Embargoed" not in body_of(svc, "atom.xml")
    assert svc.health()["last_scan"]["next_release"] == release.isoformat()
    wait_for(
        lambda: b"Embargoed" in body_of(svc, "atom.xml"),
        15,
        "the release job",
    )
    assert datetime.now(UTC) >= release
    assert svc.health()["last_scan"]["reason"] == "release"


def test_a_crontab_schedule_is_accepted(tmp_path: Path, started: list[Service]) -> None:
    svc = make_service(tmp_path, refresh="*/5 * * * *", clock=lambda: datetime.now(UTC))
    started.append(svc)
    with running(make_service(tmp_path, refresh="*/5 * * * *")) as other:
        wait_for(lambda: other.snapshot is not None, 10, "the first scan")
        assert other.health()["last_scan"]["reason"] == "scheduled"
