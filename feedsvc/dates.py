"""Dates: turn whatever a post's ``date`` field holds into an aware UTC datetime.

Accepted: RFC 2822 strings (``Wed, 07 Apr 2021 12:03:06 GMT``, what mirroring bots
write), ISO 8601 with or without an offset, YAML timestamps and dates (PyYAML gives naive
datetimes for values without an offset), and epoch numbers in seconds or milliseconds.
A value without an offset is wall-clock time in the configured zone. Anything else is
``None``, and the caller reports it.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, date, datetime, time, tzinfo

from dateutil.parser import isoparse

#: Earliest and latest instants accepted; outside them a value is surely a mistake.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_EPOCH_TEXT = re.compile(r"^\d{9,13}(\.\d+)?$")


def _from_epoch(value: float) -> datetime | None:
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if abs(value) >= 1e11:  # milliseconds, as JavaScript writes them
        value /= 1000.0
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _from_text(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    if _EPOCH_TEXT.match(text):
        return _from_epoch(float(text))
    if text[:1].isalpha() or "," in text[:5]:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            pass
        else:
            # RFC 2822 "-0000" is UTC (local zone unknown); Python returns it naive.
            return parsed.replace(tzinfo=UTC) if text.endswith("-0000") else parsed
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    try:
        return isoparse(text)
    except (ValueError, OverflowError):
        pass
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def parse_date(value: object, zone: tzinfo) -> datetime | None:
    """An aware UTC datetime, truncated to the second, for ``value``; ``None`` if unusable."""
    parsed: datetime | None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    elif isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float (YAML allows 0xffff...)
            return None
        parsed = _from_epoch(number)
    elif isinstance(value, str):
        parsed = _from_text(value)
    else:
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        result = parsed.astimezone(UTC).replace(microsecond=0)
    except (OverflowError, ValueError):
        return None
    if not EARLIEST <= result < LATEST:
        return None
    return result
