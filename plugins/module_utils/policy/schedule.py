# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The schedule model of a policy: when backups run and which retention tag each one gets."""

import calendar
from collections import namedtuple
from datetime import datetime, timedelta, timezone

from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.comparison import normalize_body
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.durations import (
    _parse_interval,
    _real_time,
    add_duration,
    parse_duration,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.timezones import (
    TimeZone,
    resolve_time_zone,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.vocabulary import (
    DAYS_OF_WEEK,
    MONTHS,
    WEEK_START,
    WEEKS_OF_MONTH,
    PolicyError,
    _record,
    record_of,
)

Model = namedtuple("Model", ["zone", "slots", "starts", "tags", "durations"])


Tag = namedtuple("Tag", ["name", "priority", "is_default", "criteria"])


def _model(body, ds=None):
    """What the simulation needs from a policy body: zone, weekly slots, tags by priority, durations."""
    ds = ds or record_of(body)
    props = normalize_body(body, ds=ds)
    backup = [rule for rule in props.get("policyRules", []) if rule.get("objectType") == "AzureBackupRule"]
    if len(backup) != 1:
        raise PolicyError("policy", "the policy needs exactly one AzureBackupRule to simulate its schedule")
    trigger = backup[0].get("trigger", {})
    schedule = trigger.get("schedule", {})
    zone = None
    if schedule.get("timeZone") is not None:
        try:
            zone = resolve_time_zone(schedule["timeZone"])
        except PolicyError:
            zone = None
    slots, starts = set(), []
    for text in schedule.get("repeatingTimeIntervals", []):
        start, period = _parse_interval(text, zone.tzinfo if zone else None, "policy.repeatingTimeIntervals", ds=ds)
        if period != _record(ds=ds).schedule_periods[0]:
            raise PolicyError(
                "policy.repeatingTimeIntervals", "only weekly schedules can be previewed, got {0}".format(text)
            )
        if zone is None:  # unknown or missing zone: the interval's own offset is the best information
            zone = TimeZone(schedule.get("timeZone") or "UTC", None, start.tzinfo)
        local = start.astimezone(zone.tzinfo)
        slots.add((local.weekday(), local.hour, local.minute, local.second, local.microsecond))
        starts.append(start)
    if not slots:
        raise PolicyError("policy.repeatingTimeIntervals", "the policy schedules no backups")
    durations = {}
    for rule in props.get("policyRules", []):
        if rule.get("objectType") == "AzureRetentionRule":
            durations[rule["name"]] = [
                parse_duration(
                    cycle.get("deleteAfter", {}).get("duration"),
                    "policy.{0}.duration".format(rule["name"]),
                    maximum=None,
                    ds=ds,
                )
                for cycle in rule.get("lifecycles", [])
            ]
    tags = []
    for tag in trigger.get("taggingCriteria", []):
        name = tag.get("tagInfo", {}).get("tagName")
        if name not in durations:
            raise PolicyError("policy.taggingCriteria", "tag {0!r} names no retention rule".format(name))
        tags.append(Tag(name, tag.get("taggingPriority", 0), tag.get("isDefault", False), tag.get("criteria", [])))
    tags.sort(key=lambda tag: (tag.priority, tag.name))
    if not [tag for tag in tags if tag.is_default]:
        raise PolicyError("policy.taggingCriteria", "the policy has no default tag")
    return Model(zone, sorted(slots), starts, tags, durations)


def _scheduled_times(model, start, end):
    """Scheduled backup instants in [start, end), on the policy's wall clock, never before an interval starts."""
    tzinfo = model.zone.tzinfo
    first_date = start.astimezone(tzinfo).date() - timedelta(days=1)
    last_date = end.astimezone(tzinfo).date() + timedelta(days=1)
    earliest = min(model.starts)
    times = []
    day = first_date
    while day <= last_date:
        for weekday, hour, minute, second, micro in model.slots:
            if weekday == day.weekday():
                when = _real_time(datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=tzinfo))
                if start <= when < end and when >= earliest:
                    times.append(when)
        day += timedelta(days=1)
    return sorted(set(times))


def _first_time(model, after):
    """The first scheduled backup at or after ``after`` (a schedule has one every week once it has started)."""
    base = max(after, min(model.starts))
    return _scheduled_times(model, after, base + timedelta(days=8))[0]


def _period_keys(local):
    day = local.date()
    week_start = day - timedelta(days=(day.weekday() - DAYS_OF_WEEK.index(WEEK_START) + 1) % 7)
    return {
        "FirstOfDay": day,
        "FirstOfWeek": week_start,
        "FirstOfMonth": (day.year, day.month),
        "FirstOfYear": day.year,
    }


def _criterion_matches(criterion, local, firsts):
    """Every field that the criterion sets must hold for the backup at ``local`` (see module docstring)."""
    tested = False
    markers = criterion.get("absoluteCriteria")
    if markers:
        tested = True
        if not any(marker == "AllBackup" or marker in firsts for marker in markers):
            return False
    weekday = DAYS_OF_WEEK[(local.weekday() + 1) % 7]
    if criterion.get("daysOfTheWeek"):
        tested = True
        if weekday not in criterion["daysOfTheWeek"]:
            return False
    if criterion.get("weeksOfTheMonth"):
        tested = True
        last_day = calendar.monthrange(local.year, local.month)[1]
        weeks = set()
        if local.day <= 28:
            weeks.add(WEEKS_OF_MONTH[(local.day - 1) // 7])
        if local.day > last_day - 7:
            weeks.add("Last")
        if not weeks.intersection(criterion["weeksOfTheMonth"]):
            return False
    if criterion.get("monthsOfYear"):
        tested = True
        if MONTHS[local.month - 1] not in criterion["monthsOfYear"]:
            return False
    if criterion.get("daysOfMonth"):
        tested = True
        last_day = calendar.monthrange(local.year, local.month)[1]
        if not any(
            (day.get("isLast") and local.day == last_day) or (not day.get("isLast") and day.get("date") == local.day)
            for day in criterion["daysOfMonth"]
        ):
            return False
    return tested


def _all_matches(model, times):
    """For each successful backup (in order), the names of all tags whose criteria match it."""
    seen = dict((marker, set()) for marker in ("FirstOfDay", "FirstOfWeek", "FirstOfMonth", "FirstOfYear"))
    result = []
    for when in times:
        local = when.astimezone(model.zone.tzinfo)
        firsts = set()
        for marker, key in _period_keys(local).items():
            if key not in seen[marker]:
                seen[marker].add(key)
                firsts.add(marker)
        result.append(
            [
                tag.name
                for tag in model.tags
                if tag.is_default or any(_criterion_matches(criterion, local, firsts) for criterion in tag.criteria)
            ]
        )
    return result


def _simulate(model, since, until, failures=(), ds=None):
    failed = set(_aware(when, "failures").astimezone(timezone.utc) for when in failures)
    times = [when for when in _scheduled_times(model, since, until) if when.astimezone(timezone.utc) not in failed]
    points = []
    for index, tags in enumerate(_all_matches(model, times)):
        when = times[index]
        tag = tags[0]  # model.tags is sorted by priority: the first match wins; the default tag always matches
        # Expiry is computed on the UTC instant, as the service stores and reports recovery point expiry in UTC.
        expires = max(add_duration(when.astimezone(timezone.utc), duration, ds=ds) for duration in model.durations[tag])
        points.append((when, tag, expires))
    return points


def _aware(when, field):
    if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise PolicyError(field, "expected a datetime with a time zone, got {0!r}".format(when))
    return when
