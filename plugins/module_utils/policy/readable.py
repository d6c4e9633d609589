# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The readable form users write (schedule + retention) <-> the policy body Azure expects, and the readable diff."""

import re
from collections import namedtuple
from datetime import datetime

from ansible_collections.azbackup.dataprotection.plugins.module_utils import datasources
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.comparison import _all_utc, normalize_body
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.durations import (
    Duration,
    _isoformat,
    _parse_interval,
    add_duration,
    parse_duration,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.schedule import (
    _all_matches,
    _model,
    _scheduled_times,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.timezones import resolve_time_zone
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.vocabulary import (
    DAYS_OF_WEEK,
    FIRST_OF,
    MONTHS,
    REFERENCE_SUNDAY,
    RULE_OF_TAG,
    RULE_TAGS,
    TAG_OF_RULE,
    WEEKS_OF_MONTH,
    PolicyError,
    _datastore,
    _priority,
    _record,
    raise_all,
    record_of,
)

_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


Plan = namedtuple("Plan", ["days", "hour", "minute", "zone", "rules", "warnings"])


Rule = namedtuple("Rule", ["tag", "duration", "criteria"])  # criteria: None (FirstOf*) or dict of API fields


_SCHEDULE_KEYS = ("days_of_week", "time", "timezone", "frequency")


_CRITERIA_KEYS = ("days_of_week", "weeks_of_month", "months_of_year", "days_of_month")


_ALLOWED_CRITERIA = {
    "default": (),
    "weekly": ("days_of_week",),
    "monthly": ("days_of_week", "weeks_of_month", "days_of_month"),
    "yearly": _CRITERIA_KEYS,
}


def validate_readable(schedule, retention, ds=None):
    """Check the readable form; raise PolicyError listing every problem found, return the list of warnings."""
    return _plan(schedule, retention, ds=ds).warnings


def _plan(schedule, retention, ds=None):
    errors = []
    days, hour, minute, zone = _parse_schedule(schedule, errors, ds=ds)
    if not isinstance(retention, dict):
        errors.append(PolicyError("retention", "expected a dictionary with at least a default rule"))
        raise_all(errors)
    for key, value in retention.items():
        if key not in TAG_OF_RULE and value is not None:
            errors.append(PolicyError(
                "retention.{0}".format(key),
                "unknown retention rule; expected default, weekly, "
                "monthly or yearly (priorities are set automatically)",
            ))
    if retention.get("default") is None:
        errors.append(PolicyError("retention.default",
                                  "required: how long backups that no other rule keeps are retained"))
    rules = []
    for key, tag in RULE_TAGS:
        if retention.get(key) is not None:
            try:
                # Without valid schedule days, the rule's own checks still run; only the day cross-check waits.
                rules.append(_parse_rule(key, tag, retention[key], days or DAYS_OF_WEEK, ds=ds))
            except PolicyError as error:
                errors.extend(getattr(error, "errors", [error]))
    raise_all(errors)
    plan = Plan(days, hour, minute, zone, tuple(rules), [])
    plan.warnings.extend(_shadow_warnings(plan, ds=ds))
    return plan


def _parse_schedule(schedule, errors, ds=None):
    """(days, hour, minute, zone) of the schedule; each problem goes to ``errors`` and leaves its part None."""
    if not isinstance(schedule, dict):
        errors.append(PolicyError("schedule", "expected a dictionary with days_of_week and time"))
        return None, None, None, None
    for key, value in schedule.items():
        if key not in _SCHEDULE_KEYS and value is not None:
            errors.append(PolicyError("schedule.{0}".format(key),
                                      "unknown option; expected days_of_week, time, timezone"))
    frequency = schedule.get("frequency")
    if frequency is not None and str(frequency).lower() != "weekly":
        errors.append(PolicyError(
            "schedule.frequency",
            "{0!r} is not supported: {1} backups run on a weekly schedule (one or more days of the week)".format(
                frequency, _record(ds=ds).label
            ),
        ))
    days = hour = minute = zone = None
    try:
        days = _choices(schedule.get("days_of_week"), DAYS_OF_WEEK, "schedule.days_of_week", "a day of the week")
        if not days:
            raise PolicyError("schedule.days_of_week", "required: at least one day of the week, such as Sunday")
    except PolicyError as error:
        days = None
        errors.append(error)
    text = schedule.get("time")
    match = _TIME_RE.match(text.strip()) if isinstance(text, str) else None
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
    else:
        errors.append(PolicyError("schedule.time",
                                  "expected the time of day as HH:MM (24 hours), got {0!r}".format(text)))
    try:
        zone = resolve_time_zone(schedule.get("timezone"))
    except PolicyError as error:
        errors.append(error)
    return days, hour, minute, zone


def _parse_rule(key, tag, rule, scheduled_days, ds=None):
    field = "retention.{0}".format(key)
    if not isinstance(rule, dict):
        raise PolicyError(field, "expected a dictionary with a duration")
    for name, value in rule.items():
        if name != "duration" and name not in _ALLOWED_CRITERIA[key] and value is not None:
            allowed = ", ".join(("duration",) + _ALLOWED_CRITERIA[key])
            raise PolicyError(
                "{0}.{1}".format(field, name),
                "not an option of the {0} rule (allowed: {1}); priorities are set automatically".format(key, allowed),
            )
    if rule.get("duration") is None:
        raise PolicyError(field + ".duration", "required, for example P12W")
    duration = parse_duration(rule["duration"], field + ".duration", ds=ds)
    if key == "default":
        return Rule(tag, duration, None)

    dows = _choices(rule.get("days_of_week"), DAYS_OF_WEEK, field + ".days_of_week", "a day of the week")
    weeks = _choices(rule.get("weeks_of_month"), WEEKS_OF_MONTH, field + ".weeks_of_month", "a week of the month")
    months = _choices(rule.get("months_of_year"), MONTHS, field + ".months_of_year", "a month")
    dates = _days_of_month(rule.get("days_of_month"), field + ".days_of_month")
    if not (dows or weeks or months or dates):
        return Rule(tag, duration, None)

    if key == "yearly" and not months:
        raise PolicyError(field + ".months_of_year", "required when the yearly rule names days: in which months?")
    if key == "yearly" and not (dows or dates):
        raise PolicyError(
            field + ".months_of_year",
            "also name the day: weeks_of_month with days_of_week (e.g. First Sunday), or days_of_month",
        )
    if dates and (dows or weeks):
        raise PolicyError(
            field + ".days_of_month", "choose either days_of_month or weeks_of_month with days_of_week, not both"
        )
    if key != "weekly" and dows and not weeks:
        raise PolicyError(
            field + ".weeks_of_month",
            "required with days_of_week in the {0} rule (e.g. First, Last); "
            "without it every such backup would be kept".format(key),
        )
    if weeks and not dows:
        raise PolicyError(field + ".days_of_week", "required with weeks_of_month (e.g. First Sunday)")
    for day in dows:
        if day not in scheduled_days:
            raise PolicyError(
                field + ".days_of_week",
                "{0} is not a scheduled backup day (schedule.days_of_week: {1}), so this rule could never match".format(
                    day, ", ".join(scheduled_days)
                ),
            )
    if dates and len(scheduled_days) < 7:
        raise PolicyError(
            field + ".days_of_month",
            "backups run only on {0}, so a given day of the month is a "
            "backup day only in some months; use weeks_of_month with "
            "days_of_week, or leave the criteria out (first backup of the "
            "{1})".format(", ".join(scheduled_days), key[:-2]),
        )
    criteria = {}
    if months:
        criteria["monthsOfYear"] = list(months)
    if weeks:
        criteria["weeksOfTheMonth"] = list(weeks)
    if dows:
        criteria["daysOfTheWeek"] = list(dows)
    if dates:
        criteria["daysOfMonth"] = [
            {"isLast": True} if day == "Last" else {"date": day, "isLast": False} for day in dates
        ]
    return Rule(tag, duration, criteria)


def _choices(values, allowed, field, what):
    """Canonical spellings of ``values`` (case-insensitive), in the order of ``allowed``; reject duplicates."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    by_lower = dict((choice.lower(), choice) for choice in allowed)
    seen = []
    for value in values:
        canonical = by_lower.get(str(value).strip().lower())
        if canonical is None:
            raise PolicyError(field, "{0!r} is not {1} (expected one of {2})".format(value, what, ", ".join(allowed)))
        if canonical in seen:
            raise PolicyError(field, "{0} is listed twice".format(canonical))
        seen.append(canonical)
    return tuple(choice for choice in allowed if choice in seen)


def _days_of_month(values, field):
    """Days 1-28 and ``Last``, sorted, duplicates rejected (29-31 do not exist in every month)."""
    if values is None:
        return ()
    if isinstance(values, (str, int)):
        values = [values]
    seen = []
    for value in values:
        text = str(value).strip()
        if text.lower() == "last":
            day = "Last"
        elif text.isdigit() and not isinstance(value, bool) and 1 <= int(text) <= 28:
            day = int(text)
        else:
            raise PolicyError(field, "{0!r} is not a day of the month: use 1 to 28, or Last".format(value))
        if day in seen:
            raise PolicyError(field, "{0} is listed twice".format(day))
        seen.append(day)
    return tuple(sorted(seen, key=lambda day: 99 if day == "Last" else day))


def _shadow_warnings(plan, ds=None):
    """Warn when a higher-priority rule keeps shorter than a lower-priority rule it takes backups from."""
    rules = [rule for rule in plan.rules if rule.tag != "Default"]
    if len(rules) < 2:
        return []
    body = _body_from_plan(plan, _record(ds=ds).arm_type, ds=ds)
    model = _model(body, ds=ds)
    start = datetime(REFERENCE_SUNDAY.year, REFERENCE_SUNDAY.month, REFERENCE_SUNDAY.day, tzinfo=model.zone.tzinfo)
    times = _scheduled_times(model, start, add_duration(start, Duration(8, 0, 0, 0), ds=ds))
    matches = _all_matches(model, times)
    warnings = []
    by_priority = sorted(rules, key=lambda rule: _priority(rule, ds=ds))
    for high in by_priority:
        for low in by_priority:
            if _priority(high, ds=ds) >= _priority(low, ds=ds) or \
                    high.duration.nominal_days() >= low.duration.nominal_days():
                continue
            if any(high.tag in tags and low.tag in tags for tags in matches):
                warnings.append(
                    "retention.{0}.duration: {1} is shorter than retention.{2}.duration {3}; backups that match "
                    "both rules get the {4} tag (higher priority) and are deleted sooner than other {5} "
                    "backups".format(
                        RULE_OF_TAG[high.tag],
                        high.duration,
                        RULE_OF_TAG[low.tag],
                        low.duration,
                        high.tag,
                        low.tag.lower(),
                    )
                )
    return warnings


def readable_to_body(schedule, retention, datasource_type=None, ds=None):
    """Build the policy resource body ``{"properties": {...}}`` for a PUT; raise PolicyError if invalid."""
    record = _record(ds=ds or (datasources.get(datasource_type) if isinstance(datasource_type, str) else None))
    ds = record
    if datasource_type is not None and not (isinstance(datasource_type, str) and record.is_type(datasource_type)):
        raise PolicyError("datasource_type", "only {0} ({1}) is supported".format(record.arm_type, record.label))
    return _body_from_plan(_plan(schedule, retention, ds=ds), record.arm_type, ds=ds)


def _body_from_plan(plan, datasource_type, ds=None):
    intervals = []
    for day in plan.days:
        local = datetime(
            REFERENCE_SUNDAY.year,
            REFERENCE_SUNDAY.month,
            REFERENCE_SUNDAY.day + DAYS_OF_WEEK.index(day),
            plan.hour,
            plan.minute,
            tzinfo=plan.zone.tzinfo,
        )
        intervals.append("R/{0}/{1}".format(_isoformat(local), _record(ds=ds).schedule_periods[0]))
    tagging = []
    retention_rules = []
    for rule in plan.rules:
        is_default = rule.tag == "Default"
        tag = {
            "tagInfo": {"tagName": rule.tag},
            "taggingPriority": _record(ds=ds).tag_priorities[rule.tag],
            "isDefault": is_default,
        }
        if not is_default:
            criterion = {"objectType": "ScheduleBasedBackupCriteria"}
            if rule.criteria is None:
                criterion["absoluteCriteria"] = [FIRST_OF[rule.tag]]
            else:
                criterion.update(rule.criteria)
            tag["criteria"] = [criterion]
        tagging.append(tag)
        retention_rules.append(
            {
                "name": rule.tag,
                "objectType": "AzureRetentionRule",
                "isDefault": is_default,
                "lifecycles": [
                    {
                        "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": str(rule.duration)},
                        "sourceDataStore": _datastore(_record(ds=ds).datastore_type),
                        "targetDataStoreCopySettings": [],
                    }
                ],
            }
        )
    backup_rule = {
        "name": _record(ds=ds).backup_rule_name,
        "objectType": "AzureBackupRule",
        "backupParameters": {"objectType": "AzureBackupParams", "backupType": _record(ds=ds).backup_type},
        "dataStore": _datastore(_record(ds=ds).datastore_type),
        "trigger": {
            "objectType": "ScheduleBasedTriggerContext",
            "schedule": {"repeatingTimeIntervals": intervals, "timeZone": plan.zone.azure_name},
            "taggingCriteria": tagging,
        },
    }
    return {
        "properties": {
            "objectType": "BackupPolicy",
            "datasourceTypes": [datasource_type],
            "policyRules": [backup_rule] + retention_rules,
        }
    }


def body_to_readable(body, ds=None):
    """Express a policy body readably: ``{"custom": False, "schedule": ..., "retention": ...}``.

    When the body uses something the readable form cannot express (archive copies, other criteria, other
    rule names or priorities, several times a day, ...), return ``{"custom": True, "reason": ...,
    "schedule": None, "retention": None}``; such a policy can still be managed with the raw ``policy``.
    """
    ds = ds or record_of(body)
    try:
        schedule, retention = _readable(normalize_body(body, ds=ds), ds=ds)
    except _NotReadable as error:
        return {"custom": True, "reason": str(error), "schedule": None, "retention": None}
    return {"custom": False, "schedule": schedule, "retention": retention}


class _NotReadable(Exception):
    pass


def _readable(props, ds=None):
    if props.get("objectType") != "BackupPolicy":
        raise _NotReadable("objectType is {0!r}, not BackupPolicy".format(props.get("objectType")))
    if props.get("datasourceTypes") != [_record(ds=ds).arm_type]:
        raise _NotReadable("datasourceTypes is {0!r}".format(props.get("datasourceTypes")))
    rules = props.get("policyRules", [])
    backup_rules = [rule for rule in rules if rule.get("objectType") == "AzureBackupRule"]
    retention_rules = [rule for rule in rules if rule.get("objectType") == "AzureRetentionRule"]
    if len(backup_rules) != 1 or len(backup_rules) + len(retention_rules) != len(rules):
        raise _NotReadable("expected one backup rule and retention rules only")
    backup = backup_rules[0]
    expected = {
        "name": _record(ds=ds).backup_rule_name,
        "objectType": "AzureBackupRule",
        "backupParameters": {"objectType": "AzureBackupParams", "backupType": _record(ds=ds).backup_type},
        "dataStore": _datastore(_record(ds=ds).datastore_type),
    }
    if {key: backup.get(key) for key in expected} != expected:
        raise _NotReadable(
            "the backup rule is not a {0} {1} backup to the {2} named {3}".format(
                _record(ds=ds).schedule_periods[0], _record(ds=ds).backup_type, _record(ds=ds).datastore_type,
                _record(ds=ds).backup_rule_name
            )
        )
    trigger = backup.get("trigger", {})
    if trigger.get("objectType") != "ScheduleBasedTriggerContext":
        raise _NotReadable("the trigger is not schedule based")
    schedule = _readable_schedule(trigger.get("schedule", {}), ds=ds)

    durations = {}
    for rule in retention_rules:
        name = rule.get("name")
        if name not in _record(ds=ds).tag_priorities or bool(rule.get("isDefault")) != (name == "Default"):
            raise _NotReadable("retention rule {0!r} is not one of Default, Weekly, Monthly, Yearly".format(name))
        lifecycles = rule.get("lifecycles", [])
        if (
            len(lifecycles) != 1
            or set(lifecycles[0]) != {"deleteAfter", "sourceDataStore"}
            or lifecycles[0]["sourceDataStore"] != _datastore(_record(ds=ds).datastore_type)
            or lifecycles[0]["deleteAfter"].get("objectType") != "AbsoluteDeleteOption"
        ):
            raise _NotReadable("retention rule {0} has copies to another data store or other lifecycles".format(name))
        durations[name] = lifecycles[0]["deleteAfter"].get("duration")
    if "Default" not in durations:
        raise _NotReadable("no Default retention rule")

    retention = {}
    tags = trigger.get("taggingCriteria", [])
    if sorted(str(tag.get("tagInfo", {}).get("tagName")) for tag in tags) != sorted(durations):
        raise _NotReadable("tagging criteria and retention rules do not correspond one to one")
    for tag in tags:
        name = tag["tagInfo"]["tagName"]
        if bool(tag.get("isDefault")) != (name == "Default"):
            raise _NotReadable("tag {0} has isDefault {1}".format(name, bool(tag.get("isDefault"))))
        if tag.get("taggingPriority") != _record(ds=ds).tag_priorities[name]:
            raise _NotReadable(
                "tag {0} has priority {1}, not {2}".format(
                    name, tag.get("taggingPriority"), _record(ds=ds).tag_priorities[name]
                )
            )
        rule = {"duration": durations[name]}
        if name == "Default":
            if tag.get("criteria"):
                raise _NotReadable("the Default tag has criteria")
        else:
            rule.update(_readable_criteria(name, tag.get("criteria", []), schedule, ds=ds))
        retention[RULE_OF_TAG[name]] = rule
    retention = dict((key, retention[key]) for key, _tag in RULE_TAGS if key in retention)
    return schedule, retention


def _readable_schedule(schedule, ds=None):
    intervals = schedule.get("repeatingTimeIntervals", [])
    zone_name = schedule.get("timeZone")
    if zone_name is None:
        if not _all_utc(intervals, ds=ds):
            raise _NotReadable("the schedule has no timeZone and its times are not in UTC")
        zone_name = "UTC"
    try:
        zone = resolve_time_zone(zone_name)
    except PolicyError:
        raise _NotReadable("time zone {0!r} is not one this collection knows".format(zone_name)) from None
    days = []
    times = set()
    for text in intervals:
        try:
            start, period = _parse_interval(text, zone.tzinfo, "schedule", ds=ds)
        except PolicyError as error:
            raise _NotReadable(error.message) from None
        if period != _record(ds=ds).schedule_periods[0]:
            raise _NotReadable("the schedule repeats every {0}, not weekly".format(period))
        local = start.astimezone(zone.tzinfo)
        days.append(DAYS_OF_WEEK[(local.weekday() + 1) % 7])
        times.add((local.hour, local.minute, local.second, local.microsecond))
    if not days or len(set(days)) != len(days) or len(times) != 1:
        raise _NotReadable("the schedule does not run once, at one time, on distinct days of the week")
    hour, minute, second, micro = times.pop()
    if second or micro:
        raise _NotReadable("the backup time has seconds")
    return {
        "days_of_week": [day for day in DAYS_OF_WEEK if day in days],
        "time": "{0:02d}:{1:02d}".format(hour, minute),
        "timezone": zone.azure_name,
    }


def _readable_criteria(tag, criteria, schedule, ds=None):
    """Map one API criterion back to the readable keys, exactly inverting readable_to_body()."""
    if len(criteria) != 1:
        raise _NotReadable("tag {0} has {1} criteria, expected one".format(tag, len(criteria)))
    criterion = dict(criteria[0])
    criterion.pop("objectType", None)
    if criterion == {"absoluteCriteria": [FIRST_OF[tag]]}:
        return {}
    readable = {}
    names = {"daysOfTheWeek": "days_of_week", "weeksOfTheMonth": "weeks_of_month", "monthsOfYear": "months_of_year"}
    for api_name, key in names.items():
        if api_name in criterion:
            readable[key] = criterion.pop(api_name)
    if "daysOfMonth" in criterion:
        readable["days_of_month"] = [
            "Last" if day.get("isLast") else day.get("date") for day in criterion.pop("daysOfMonth")
        ]
    if criterion:
        raise _NotReadable(
            "tag {0} uses criteria the readable form does not have: {1}".format(tag, ", ".join(sorted(criterion)))
        )
    try:
        _parse_rule(RULE_OF_TAG[tag], tag, dict(readable, duration="P1D"), tuple(schedule["days_of_week"]), ds=ds)
    except PolicyError as error:
        raise _NotReadable("tag {0}: {1}".format(tag, error.message)) from None
    return readable


def policy_diff(before_body, after_body, ds=None):
    """``{"before": ..., "after": ...}`` for diff mode: readable forms, or normalised bodies if either is custom.

    ``None`` stands for an absent policy and shows as ``{}``.
    """
    ds = ds or record_of(before_body or after_body or {})
    before = body_to_readable(before_body, ds=ds) if before_body else None
    after = body_to_readable(after_body, ds=ds) if after_body else None
    if (before and before["custom"]) or (after and after["custom"]):
        return {
            "before": normalize_body(before_body, ds=ds) if before_body else {},
            "after": normalize_body(after_body, ds=ds) if after_body else {},
        }
    return {
        "before": {"schedule": before["schedule"], "retention": before["retention"]} if before else {},
        "after": {"schedule": after["schedule"], "retention": after["retention"]} if after else {},
    }
