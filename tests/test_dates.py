"""``parse_date``: every form a post's date takes, as one aware UTC instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from feedsvc.dates import parse_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [
        # RFC 2822, as the seeds write it, and with numeric offsets
        ("Wed, 07 Apr 2021 12:03:06 GMT", SHANGHAI, datetime(2021, 4, 7, 12, 3, 6)),
        ("Wed, 07 Apr 2021 12:03:06 +0800", UTC, datetime(2021, 4, 7, 4, 3, 6)),
        ("Wed, 07 Apr 2021 12:03:06 -0000", SHANGHAI, datetime(2021, 4, 7, 12, 3, 6)),
        # ISO 8601 with an offset: the zone setting does not matter
        ("2025-03-14T09:30:00+08:00", NEW_YORK, datetime(2025, 3, 14, 1, 30)),
        ("2025-03-14T09:30:00Z", SHANGHAI, datetime(2025, 3, 14, 9, 30)),
        ("2025-03-14 09:30:00 +08:00", UTC, datetime(2025, 3, 14, 1, 30)),
        ("2025-03-14T09:30:00.750+00:00", UTC, datetime(2025, 3, 14, 9, 30)),
        # ISO 8601 without an offset: wall-clock time in the zone setting
        ("2025-03-14T09:30:00", SHANGHAI, datetime(2025, 3, 14, 1, 30)),
        ("2025-03-14 09:30", UTC, datetime(2025, 3, 14, 9, 30)),
        ("2025-01-15 12:00:00", NEW_YORK, datetime(2025, 1, 15, 17, 0)),
        ("2025-07-15 12:00:00", NEW_YORK, datetime(2025, 7, 15, 16, 0)),
        ("2024-05-01", SHANGHAI, datetime(2024, 4, 30, 16, 0)),
        # YAML values: datetimes (naive or aware) and dates
        (datetime(2025, 3, 14, 9, 30), SHANGHAI, datetime(2025, 3, 14, 1, 30)),
        (
            datetime(2025, 3, 14, 9, 30, tzinfo=timezone(timedelta(hours=-5))),
            SHANGHAI,
            datetime(2025, 3, 14, 14, 30),
        ),
        (date(2024, 5, 1), SHANGHAI, datetime(2024, 4, 30, 16, 0)),
        (date(2024, 5, 1), UTC, datetime(2024, 5, 1)),
        # epoch numbers, seconds or milliseconds, as numbers or text
        (1700000000, SHANGHAI, datetime(2023, 11, 14, 22, 13, 20)),
        (1700000000.9, UTC, datetime(2023, 11, 14, 22, 13, 20)),
        (1700000000000, UTC, datetime(2023, 11, 14, 22, 13, 20)),
        ("1700000000", UTC, datetime(2023, 11, 14, 22, 13, 20)),
    ],
)
def test_date_forms_become_the_same_utc_instant(
    value: object, zone: ZoneInfo, expected: datetime
) -> None:
    parsed = parse_date(value, zone)
    assert parsed == expected.replace(tzinfo=UTC)
    assert parsed is not None and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "sometime next week",
        "2025-13-45",
        "Wed, 99 Foo 2021",
        True,
        None,
        [],
        {},
        # YAML reads 0xfff... of any length; float() of it overflowed (and str() of it
        # raises, hence an explicit id).
        pytest.param(16**5000, id="int-of-6000-digits"),
        float("nan"),
        float("inf"),
    ],
)
def test_unusable_dates_are_none_so_the_caller_can_fall_back_and_report(value: object) -> None:
    assert parse_date(value, UTC) is None


@pytest.mark.parametrize("value", ["1969-12-31T23:59:59Z", "9999-01-01T00:00:00Z", -1])
def test_dates_outside_1970_to_9000_are_treated_as_mistakes(value: object) -> None:
    assert parse_date(value, UTC) is None


def test_dates_are_truncated_to_the_second_so_formats_agree() -> None:
    parsed = parse_date("2025-03-14T09:30:00.999999Z", UTC)
    assert parsed == datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
