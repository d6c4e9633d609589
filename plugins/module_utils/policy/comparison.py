# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Normalising a policy body so that the desired and the service's compare equal when they mean the same."""

import json

from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.durations import (
    _isoformat,
    _parse_datetime,
    _parse_interval,
    parse_duration,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.timezones import resolve_time_zone
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.vocabulary import (
    ABSOLUTE_MARKERS,
    BACKUP_TYPES,
    DATASTORE_TYPES,
    DAYS_OF_WEEK,
    MONTHS,
    OBJECT_TYPES,
    WEEKS_OF_MONTH,
    PolicyError,
    _record,
    record_of,
)


def _properties(body):
    if not isinstance(body, dict):
        raise PolicyError("policy", "expected a dictionary (the policy resource body or its properties)")
    if isinstance(body.get("properties"), dict):
        return body["properties"]
    return body


def _canon(value, vocabulary):
    """The canonical spelling of an enum-like value (Azure treats them case-insensitively)."""
    if isinstance(value, str):
        for choice in vocabulary:
            if choice.lower() == value.strip().lower():
                return choice
    return value


def _drop_empty(mapping):
    return dict((key, value) for key, value in mapping.items() if value not in (None, [], {}, ""))


def normalize_body(body, semantic=False, ds=None):
    """Canonical policy properties for comparison and display.

    Unwraps ``properties``; keeps only the fields of the API model (drops ``tagInfo.id``/``eTag`` and
    anything else the service fills in); spells enum values and ``objectType`` canonically; writes
    durations as ``P12W`` (upper case, zero parts dropped); sorts lists whose order carries no meaning;
    drops empty lists and nulls. With ``semantic=True``, also reduce what Azure treats as equal to one
    form: durations to months and days (``P1Y`` == ``P12M``), repeating intervals to weekday, wall-clock
    time and period in the policy's time zone, the time zone to its IANA name.
    """
    ds = ds or record_of(body)
    props = _properties(body)
    out = {
        "objectType": _canon(props.get("objectType"), OBJECT_TYPES),
        "datasourceTypes": sorted(
            _canon(kind, (_record(ds=ds).arm_type,)) for kind in props.get("datasourceTypes") or []
        ),
        "policyRules": sorted(
            (_normalize_rule(rule, semantic, ds=ds) for rule in props.get("policyRules") or []),
            key=lambda rule: (str(rule.get("objectType")), str(rule.get("name")).lower()),
        ),
    }
    return _drop_empty(out)


def bodies_equal(desired, current, ds=None):
    """True when the service's policy ``current`` already is ``desired`` (see normalize_body)."""
    ds = ds or record_of(desired)
    return normalize_body(desired, semantic=True, ds=ds) == normalize_body(current, semantic=True, ds=ds)


def _normalize_rule(rule, semantic, ds=None):
    if not isinstance(rule, dict):
        return rule
    kind = _canon(rule.get("objectType"), OBJECT_TYPES)
    out = {
        "name": _canon(rule.get("name"), tuple(_record(ds=ds).tag_priorities) + (_record(ds=ds).backup_rule_name,)),
        "objectType": kind,
    }
    if kind == "AzureRetentionRule":
        out["isDefault"] = bool(rule.get("isDefault"))
        out["lifecycles"] = _sorted_json(
            _normalize_lifecycle(cycle, semantic, ds=ds) for cycle in rule.get("lifecycles") or []
        )
    elif kind == "AzureBackupRule":
        params = rule.get("backupParameters") or {}
        out["backupParameters"] = _drop_empty(
            {
                "objectType": _canon(params.get("objectType"), OBJECT_TYPES),
                "backupType": _canon(params.get("backupType"), BACKUP_TYPES),
            }
        )
        out["dataStore"] = _normalize_datastore(rule.get("dataStore"))
        out["trigger"] = _normalize_trigger(rule.get("trigger") or {}, semantic, ds=ds)
    else:
        out.update((key, value) for key, value in rule.items() if key not in out)
    return _drop_empty(out)


def _normalize_datastore(store):
    store = store or {}
    return _drop_empty(
        {
            "objectType": _canon(store.get("objectType"), OBJECT_TYPES),
            "dataStoreType": _canon(store.get("dataStoreType"), DATASTORE_TYPES),
        }
    )


def _normalize_duration(text, semantic, ds=None):
    try:
        duration = parse_duration(text, maximum=None, ds=ds)
    except PolicyError:
        return text
    if semantic:
        return "P{0}M{1}D".format(*duration.key())
    return str(duration)


def _normalize_lifecycle(cycle, semantic, ds=None):
    delete_after = cycle.get("deleteAfter") or {}
    copies = []
    for setting in cycle.get("targetDataStoreCopySettings") or []:
        copy_after = setting.get("copyAfter") or {}
        copies.append(
            _drop_empty(
                {
                    "dataStore": _normalize_datastore(setting.get("dataStore")),
                    "copyAfter": _drop_empty(
                        {
                            "objectType": _canon(copy_after.get("objectType"), OBJECT_TYPES),
                            "duration": _normalize_duration(copy_after.get("duration"), semantic, ds=ds),
                        }
                    ),
                }
            )
        )
    return _drop_empty(
        {
            "deleteAfter": _drop_empty(
                {
                    "objectType": _canon(delete_after.get("objectType"), OBJECT_TYPES),
                    "duration": _normalize_duration(delete_after.get("duration"), semantic, ds=ds),
                }
            ),
            "sourceDataStore": _normalize_datastore(cycle.get("sourceDataStore")),
            "targetDataStoreCopySettings": _sorted_json(copies),
        }
    )


def _normalize_trigger(trigger, semantic, ds=None):
    kind = _canon(trigger.get("objectType"), OBJECT_TYPES)
    out = {"objectType": kind}
    schedule = trigger.get("schedule") or {}
    texts = schedule.get("repeatingTimeIntervals") or []
    zone_name = schedule.get("timeZone")
    zone = None
    if zone_name is not None:
        try:
            zone = resolve_time_zone(zone_name)
        except PolicyError:
            zone = None  # kept as written; times are compared in the intervals' own offsets
    elif _all_utc(texts, ds=ds):
        zone = resolve_time_zone("UTC")  # no time zone and UTC times: the same schedule as timeZone UTC
    intervals = [_normalize_interval(text, zone, semantic, ds=ds) for text in texts]
    if semantic:
        zone_key = zone.iana_name if zone else zone_name
    else:
        zone_key = zone.azure_name if zone and zone_name is not None else zone_name
    out["schedule"] = _drop_empty({"repeatingTimeIntervals": sorted(intervals), "timeZone": zone_key})
    tags = trigger.get("taggingCriteria") or []
    if isinstance(tags, list):
        out["taggingCriteria"] = sorted(
            (_normalize_tag(tag, ds=ds) for tag in tags),
            key=lambda tag: str(tag.get("tagInfo", {}).get("tagName")).lower(),
        )
    else:  # AdhocBasedTriggerContext carries one object
        out["taggingCriteria"] = _normalize_tag(tags, ds=ds)
    return _drop_empty(out)


def _all_utc(texts, ds=None):
    """True when every interval parses and starts at offset zero (a schedule without timeZone reads as UTC)."""
    for text in texts:
        try:
            start, _period = _parse_interval(text, None, "interval", ds=ds)
        except PolicyError:
            return False
        if start.utcoffset():
            return False
    return True


def _normalize_interval(text, zone, semantic, ds=None):
    try:
        start, period = _parse_interval(text, zone.tzinfo if zone else None, "interval", ds=ds)
    except PolicyError:
        return text
    if not semantic:
        return "R/{0}/{1}".format(_isoformat(start), period)
    local = start.astimezone(zone.tzinfo) if zone else start
    return "{0} {1} {2}".format(DAYS_OF_WEEK[(local.weekday() + 1) % 7], local.strftime("%H:%M:%S.%f"), period)


def _normalize_tag(tag, ds=None):
    tag = tag or {}
    info = tag.get("tagInfo") or {}
    priority = tag.get("taggingPriority")
    if isinstance(priority, str) and priority.strip().isdigit():
        priority = int(priority)
    out = {
        "tagInfo": {"tagName": _canon(info.get("tagName"), tuple(_record(ds=ds).tag_priorities))},
        "taggingPriority": priority,
        "isDefault": bool(tag.get("isDefault")),
        "criteria": _sorted_json(_normalize_criterion(criterion) for criterion in tag.get("criteria") or []),
    }
    return _drop_empty(out)


def _normalize_criterion(criterion):
    def ordered(values, vocabulary):
        canonical = [_canon(value, vocabulary) for value in values or []]
        return sorted(
            set(canonical), key=lambda value: (vocabulary.index(value) if value in vocabulary else 99, str(value))
        )

    days = []
    for day in criterion.get("daysOfMonth") or []:
        if day.get("isLast"):
            days.append({"isLast": True})
        else:
            days.append({"date": day.get("date"), "isLast": False})
    times = []
    for text in criterion.get("scheduleTimes") or []:
        parsed = _parse_datetime(text, None) if isinstance(text, str) else None
        times.append(_isoformat(parsed) if parsed else text)
    return _drop_empty(
        {
            "objectType": _canon(criterion.get("objectType"), OBJECT_TYPES),
            "absoluteCriteria": ordered(criterion.get("absoluteCriteria"), ABSOLUTE_MARKERS),
            "daysOfTheWeek": ordered(criterion.get("daysOfTheWeek"), DAYS_OF_WEEK),
            "weeksOfTheMonth": ordered(criterion.get("weeksOfTheMonth"), WEEKS_OF_MONTH),
            "monthsOfYear": ordered(criterion.get("monthsOfYear"), MONTHS),
            "daysOfMonth": _sorted_json(days),
            "scheduleTimes": sorted(set(times), key=str),
        }
    )


def _sorted_json(items):
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))
