# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Schedule simulation and retention preview: which backups a policy takes and keeps, and until when."""

from datetime import datetime, timedelta, timezone

from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.durations import (
    Duration,
    _isoformat,
    add_duration,
    parse_duration,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.readable import readable_to_body
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.schedule import (
    _aware,
    _first_time,
    _model,
    _scheduled_times,
    _simulate,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.vocabulary import PolicyError


def next_scheduled_backups(policy, after, count=1, ds=None):
    """The next ``count`` scheduled backup times at or after ``after`` (policy: body or readable form)."""
    model = _model(_as_body(policy, ds=ds), ds=ds)
    after = _aware(after, "after")
    times = []
    window_start = max(after, min(model.starts))
    while len(times) < count:
        window_end = window_start + timedelta(weeks=max(1, count))
        times.extend(_scheduled_times(model, window_start, window_end))
        window_start = window_end
    return times[:count]


def simulate_backups(policy, protected_since, until, failures=(), ds=None):
    """Recovery points of the scheduled backups in [protected_since, until): ``[(time, tag, expires)]``.

    ``failures``: scheduled times whose backup fails (no recovery point, and it is not the first of its
    period). Times are aware datetimes in the policy's time zone.
    """
    model = _model(_as_body(policy, ds=ds), ds=ds)
    return _simulate(model, _aware(protected_since, "protected_since"), _aware(until, "until"), failures, ds=ds)


def _as_body(policy, ds=None):
    """Accept a body, its properties, or the readable form ``{"schedule": ..., "retention": ...}``."""
    if isinstance(policy, dict) and "schedule" in policy and "retention" in policy:
        return readable_to_body(policy["schedule"], policy["retention"], ds=ds)
    return policy


def retention_preview(policy, start, horizon=None, protected_since=None, failures=(), ds=None):
    """What the policy keeps, and for how long: one entry per scheduled backup, and the steady state.

    ``policy``: body (or its properties) or readable form. ``start``: aware datetime; the preview lists
    backups from the first one at or after it (``next_backup``). ``horizon``: a Duration or ISO 8601
    duration counted from ``next_backup`` (default P1Y), or an aware end datetime (exclusive).
    ``protected_since`` (default ``start``): when protection began; backups between it and ``start`` are
    simulated (they decide which backup is the first of its week, month, year) but not listed.

    Returns ``next_backup``, ``end``, ``time_zone``, ``tags`` (name, priority, duration by priority),
    ``backups`` ``[{time, tag, expires}]``, ``backups_per_tag`` within the horizon, and the steady state:

    * ``steady_state``: recovery points per tag alive at ``steady_state_at``, which is the first scheduled
      backup once the longest rule has run its full length since the first backup (from then on every
      rule holds its full window of points); a point is alive from its backup time until, excluding, its
      expiry; counted by simulation, not by formula, so shadowing (a first-of-month backup is Monthly,
      not Weekly) and calendar effects are exact. ``steady_state_total`` sums it.
    * ``steady_state_range``: per tag, the minimum and maximum count over the year that follows
      ``steady_state_at`` (counts change only at backups and expiries, and each one is checked): a P12M
      window holds one point more or fewer depending on where the first Sundays of the months fall.
    """
    model = _model(_as_body(policy, ds=ds), ds=ds)
    start = _aware(start, "start")
    since = _aware(protected_since, "protected_since") if protected_since is not None else start
    if since > start:
        raise PolicyError("protected_since", "must not be after start")
    tzinfo = model.zone.tzinfo
    next_backup = _first_time(model, start).astimezone(tzinfo)
    if horizon is None:
        horizon = Duration(1, 0, 0, 0)
    if isinstance(horizon, datetime):
        end = _aware(horizon, "horizon")
    else:
        end = add_duration(next_backup, parse_duration(horizon, "horizon", maximum=None, ds=ds), ds=ds)

    longest = max(
        (duration for durations in model.durations.values() for duration in durations),
        key=lambda duration: duration.nominal_days(),
    )
    steady_from = add_duration(_first_time(model, since).astimezone(tzinfo), longest, ds=ds)
    simulate_until = add_duration(steady_from, Duration(1, 0, 1, 0), ds=ds)
    points = _simulate(model, since, max(end, simulate_until), failures, ds=ds)

    steady_points = [when for when, _tag, _expires in points if when >= steady_from]
    if not steady_points:
        raise PolicyError("failures", "every backup of the simulated period failed")
    steady_at = steady_points[0]
    range_end = add_duration(steady_at, Duration(1, 0, 0, 0), ds=ds)
    names = [tag.name for tag in model.tags]
    steady = dict((name, 0) for name in names)
    for when, tag, expires in points:
        if when <= steady_at < expires:
            steady[tag] += 1
    low_high = _count_range(points, names, steady_at, range_end)

    listed = [(when, tag, expires) for when, tag, expires in points if start <= when < end]
    per_tag = dict((name, 0) for name in names)
    for _when, tag, _expires in listed:
        per_tag[tag] += 1
    return {
        "time_zone": model.zone.azure_name,
        "next_backup": _isoformat(next_backup),
        "end": _isoformat(end.astimezone(tzinfo)),
        "tags": [
            {
                "tag": tag.name,
                "priority": tag.priority,
                "duration": str(max(model.durations[tag.name], key=lambda d: d.nominal_days())),
            }
            for tag in model.tags
        ],
        "backups": [
            {"time": _isoformat(when.astimezone(tzinfo)), "tag": tag, "expires": _isoformat(expires.astimezone(tzinfo))}
            for when, tag, expires in listed
        ],
        "backups_per_tag": per_tag,
        "steady_state": steady,
        "steady_state_total": sum(steady.values()),
        "steady_state_at": _isoformat(steady_at.astimezone(tzinfo)),
        "steady_state_range": low_high,
    }


def _count_range(points, names, since, until):
    """Minimum and maximum alive points per tag over the event instants in [since, until)."""
    events = []
    for when, tag, expires in points:
        events.append((when.astimezone(timezone.utc), 1, tag))
        events.append((expires.astimezone(timezone.utc), -1, tag))
    events.sort(key=lambda event: event[0])
    since, until = since.astimezone(timezone.utc), until.astimezone(timezone.utc)
    alive = dict((name, 0) for name in names)
    low_high = dict((name, {"min": None, "max": None}) for name in names)
    index = 0
    while index < len(events):
        instant = events[index][0]
        while index < len(events) and events[index][0] == instant:
            alive[events[index][2]] += events[index][1]
            index += 1
        if instant >= until:
            break
        if instant >= since:
            for name in names:
                bounds = low_high[name]
                bounds["min"] = alive[name] if bounds["min"] is None else min(bounds["min"], alive[name])
                bounds["max"] = alive[name] if bounds["max"] is None else max(bounds["max"], alive[name])
    return low_high
