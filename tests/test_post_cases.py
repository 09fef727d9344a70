"""Edge cases as data: each ``tests/data/posts/NAME.*`` post sits beside its expected
outcome ``NAME.expected.json`` (python-frontmatter's style). Every expected file names
the outcome (``published``) and the problems reported (``problems``, a list of
``{field, severity}``; ``[]`` means none); the other keys are checked when present:
``skipped``, ``title``, ``date``/``updated`` (UTC instants, ``Z``), ``categories`` (paths,
root first), ``thumbnail`` (front matter, else the body's first image), ``author``, ``id``,
``link``, ``markup``, ``summary``. ``settings`` overrides the test settings
(site ``https://blog.example.com/``, time zone UTC); ``comment`` is for people.

Each file is parsed with a modification time of 2020-09-13T12:26:40Z, the fallback date.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedsvc.feed import make_entry
from feedsvc.markup import render
from feedsvc.post import Parsed
from feedsvc.settings import Settings
from tests.conftest import DATA, MakeSettings, parse

POSTS = DATA / "posts"
EXPECTED_SUFFIX = ".expected.json"
CASES = sorted(p for p in POSTS.iterdir() if not p.name.endswith(EXPECTED_SUFFIX))
#: Keys an expected file may hold besides the outcome fields.
META_KEYS = {"settings", "comment"}
OUTCOME_KEYS = {
    "published",
    "skipped",
    "title",
    "date",
    "updated",
    "categories",
    "thumbnail",
    "author",
    "id",
    "link",
    "markup",
    "summary",
    "problems",
}


def expected_path(post: Path) -> Path:
    return post.with_name(post.name.split(".", 1)[0] + EXPECTED_SUFFIX)


def z(moment: datetime) -> str:
    assert moment.utcoffset() is not None, "dates must be aware"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe(parsed: Parsed, settings: Settings) -> dict[str, Any]:
    """The outcome of parsing one file, in the vocabulary of the expected files."""
    out: dict[str, Any] = {
        "published": parsed.post is not None,
        "skipped": parsed.skipped,
        "problems": [{"field": p.field, "severity": p.severity} for p in parsed.problems],
    }
    post = parsed.post
    if post is not None:
        body = render(parsed.body, post.markup, post.link, post.summary, settings.summary_length)
        out.update(
            title=post.title,
            date=z(post.published),
            updated=z(post.updated),
            categories=[list(path) for path in post.categories],
            thumbnail=make_entry(post, body, settings).thumbnail,
            author=post.author,
            id=post.id,
            link=post.link,
            markup=post.markup,
            summary=body.summary_text,
        )
    return out


def test_every_case_has_its_expected_outcome_and_every_outcome_its_case() -> None:
    expected = {p.name for p in POSTS.glob("*" + EXPECTED_SUFFIX)}
    assert len(CASES) >= 40
    assert sorted(expected_path(p).name for p in CASES) == sorted(expected)


@pytest.mark.parametrize("post", CASES, ids=lambda p: p.name)
def test_post_file_gives_its_expected_outcome(post: Path, make_settings: MakeSettings) -> None:
    expected = json.loads(expected_path(post).read_text(encoding="utf-8"))
    assert {"published", "problems"} <= expected.keys()
    assert expected.keys() <= OUTCOME_KEYS | META_KEYS, "unknown key in the expected file"
    settings = make_settings(**expected.get("settings", {}))

    parsed = parse(post.read_bytes(), post.name, settings)

    actual = describe(parsed, settings)
    wanted = {k: v for k, v in expected.items() if k not in META_KEYS}
    assert {k: actual.get(k) for k in wanted} == wanted
    for problem in parsed.problems:
        assert problem.file == post.name
        assert post.name in problem.line(), "a problem names its file"
