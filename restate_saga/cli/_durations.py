"""Parsing and printing the times and durations of the command line."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str) -> datetime | timedelta:
    """`30s`, `15m`, `1h`, `2d`, `1w` (a span until now) or an ISO time (`2025-01-31T12:00`, UTC if no zone)."""
    found = _SPAN.match(text.strip())
    if found is not None:
        return timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2)])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected a span like 30s, 15m, 1h, 2d or an ISO time, got {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def show_duration(value: timedelta | None) -> str:
    """`12 ms`, `3.4 s`, `5m 02s`, `2h 05m`, `3d 04h`; `-` when unknown."""
    if value is None:
        return "-"
    seconds = value.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, second = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {second:02d}s"
    hours, minute = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minute:02d}m"
    days, hour = divmod(hours, 24)
    return f"{days}d {hour:02d}h"


def show_time(value: datetime | None) -> str:
    """A UTC time to the second, `-` when unknown."""
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
