"""Simulated clock and ISO 8601 helpers.

Simulated time runs with real time plus an offset that ``advance`` grows, so scheduled work (backups,
retention) can be tested in seconds. Token lifetimes and long-running-operation delays use real time
instead, so advancing the clock never expires a client's token or completes an operation early.
"""

import calendar
import re
from datetime import datetime, timedelta, timezone

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


def utc_now():
    """Real current time, timezone-aware."""
    return datetime.now(timezone.utc)


def parse_duration(text):
    """Parse an ISO 8601 duration (``P7D``, ``P1M``, ``PT36H``) into a dict of its parts; ValueError if bad."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"'{text}' is not an ISO 8601 duration such as P7D, P1M or PT12H")
    return {name: float(value) if name == "seconds" else int(value)
            for name, value in match.groupdict().items() if value is not None}


def add_duration(moment, text):
    """Add an ISO 8601 duration to a datetime; years and months move by calendar, clamping the day."""
    parts = parse_duration(text)
    months = parts.get("years", 0) * 12 + parts.get("months", 0)
    if months:
        month_index = moment.month - 1 + months
        year = moment.year + month_index // 12
        month = month_index % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        moment = moment.replace(year=year, month=month, day=day)
    return moment + timedelta(weeks=parts.get("weeks", 0), days=parts.get("days", 0), hours=parts.get("hours", 0),
                              minutes=parts.get("minutes", 0), seconds=parts.get("seconds", 0))


def iso(moment):
    """Format a datetime the way ARM does: UTC with 7 fractional digits and a trailing Z."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


class SimClock:
    """Real time plus an offset; ``advance`` moves it forward only."""

    def __init__(self):
        self.offset = timedelta()

    def now(self):
        return utc_now() + self.offset

    def advance(self, duration_text):
        """Move forward by an ISO 8601 duration; returns (before, after)."""
        before = self.now()
        after = add_duration(before, duration_text)
        if after < before:
            raise ValueError("the clock only moves forward")
        self.offset += after - before
        return before, after

    def reset(self):
        self.offset = timedelta()
