# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ISO 8601 durations (``P12W``), date-times and repeating intervals (``R/<start>/P1W``) as Azure writes them."""

import calendar
import re
from collections import namedtuple
from datetime import datetime, timedelta, timezone

from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.vocabulary import PolicyError, _record

_DURATION_RE = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$", re.IGNORECASE)


_INTERVAL_RE = re.compile(r"^R/([^/]+)/([^/]+)$", re.IGNORECASE)


_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})?$", re.IGNORECASE
)


class Duration(namedtuple("Duration", ["years", "months", "weeks", "days"])):
    """An ISO 8601 date duration (no time part), as Azure retention rules use them."""

    __slots__ = ()

    def __str__(self):
        parts = [
            "{0}{1}".format(value, unit)
            for value, unit in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D"))
            if value
        ]
        return "P" + "".join(parts) if parts else "P0D"

    @property
    def total_months(self):
        return self.years * 12 + self.months

    @property
    def total_days(self):
        return self.weeks * 7 + self.days

    def key(self):
        """What two durations must share to mean the same retention: P1Y == P12M, P2W == P14D."""
        return (self.total_months, self.total_days)

    def nominal_days(self):
        """Average length in days (Gregorian year), to compare durations that mix months and days."""
        return self.total_months * 365.2425 / 12 + self.total_days


_RECORD_MAXIMUM = "the datasource's maximum retention"


def parse_duration(text, field="duration", maximum=_RECORD_MAXIMUM, ds=None):
    """Parse ``PnYnMnWnD`` (case-insensitive) into a Duration; reject time parts, zero and more than ``maximum``
    (by default the record's ``max_retention_years``; None: no maximum)."""
    if maximum is _RECORD_MAXIMUM:
        maximum = Duration(_record(ds=ds).max_retention_years, 0, 0, 0)
    if isinstance(text, Duration):
        duration = text
    else:
        if not isinstance(text, str):
            raise PolicyError(field, "expected an ISO 8601 duration such as P12W, got {0!r}".format(text))
        stripped = text.strip()
        if stripped.upper().startswith("P") and "T" in stripped.upper():
            raise PolicyError(
                field,
                "{0!r}: hours, minutes and seconds are not supported; use days (P7D), "
                "weeks (P12W), months (P12M) or years (P10Y)".format(text),
            )
        match = _DURATION_RE.match(stripped)
        if not match or not any(match.groups()):
            raise PolicyError(field, "{0!r} is not an ISO 8601 duration such as P30D, P12W, P12M or P10Y".format(text))
        duration = Duration(*(int(part or 0) for part in match.groups()))
    if duration.nominal_days() <= 0:
        raise PolicyError(field, "{0!r}: a retention duration must be longer than zero".format(text))
    if maximum is not None and duration.nominal_days() > maximum.nominal_days():
        raise PolicyError(
            field,
            "{0} is longer than the maximum retention of {1} ({2} years)".format(
                duration, maximum, maximum.years
            ),
        )
    return duration


def add_duration(when, duration, ds=None):
    """Return ``when`` + ``duration``: calendar months and years (day clamped to month end), then days.

    Arithmetic is on the wall clock of ``when``'s time zone; a result in a daylight-saving gap is moved
    to the next valid time.
    """
    if isinstance(duration, str):
        duration = parse_duration(duration, maximum=None, ds=ds)
    months = when.month - 1 + duration.total_months
    year = when.year + months // 12
    month = months % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    result = when.replace(year=year, month=month, day=day) + timedelta(days=duration.total_days)
    return _real_time(result)


def _real_time(when):
    """Resolve a wall-clock time that does not exist (DST gap) or is ambiguous to one real instant."""
    if when.tzinfo is None:
        return when
    return when.astimezone(timezone.utc).astimezone(when.tzinfo)


def _isoformat(when):
    """``2024-01-07T02:00:00+00:00``: seconds always, fractions only when present, offset always."""
    return when.isoformat(timespec="microseconds" if when.microsecond else "seconds")


def _parse_datetime(text, tzinfo):
    match = _DATETIME_RE.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])
    try:
        when = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
    except ValueError:
        return None
    if offset is None:
        return _real_time(when.replace(tzinfo=tzinfo or timezone.utc))
    if offset.upper() == "Z":
        return when.replace(tzinfo=timezone.utc)
    sign = -1 if offset[0] == "-" else 1
    return when.replace(tzinfo=timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))))


def _parse_interval(text, tzinfo, field, ds=None):
    """``R/<start>/<period>`` -> (aware start, canonical period); a start without offset is in ``tzinfo``."""
    match = _INTERVAL_RE.match(text.strip()) if isinstance(text, str) else None
    start = _parse_datetime(match.group(1), tzinfo) if match else None
    if start is None:
        raise PolicyError(
            field, "{0!r} is not a repeating interval such as R/2024-01-07T02:00:00+00:00/P1W".format(text)
        )
    period = match.group(2).upper()
    if _DURATION_RE.match(period):
        period = str(parse_duration(period, field, maximum=None, ds=ds))
    return start, period
