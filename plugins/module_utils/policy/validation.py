# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Validation of a raw policy body (the expert ``policy`` option) before anything is sent."""


from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy import vocabulary
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.comparison import _canon, _properties
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.durations import (
    _parse_interval,
    parse_duration,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.timezones import resolve_time_zone
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.vocabulary import (
    PolicyError,
    _record,
    record_of,
)


def validate_raw_body(body, field="policy", ds=None):
    """Structural checks of an expert's raw policy body before any write; return warnings, raise PolicyError."""
    if not isinstance(body, dict):
        raise PolicyError(field, "expected a dictionary (the policy resource body or its properties)")
    if isinstance(body.get("properties"), dict):
        field += ".properties"
    props = _properties(body)
    ds = ds or record_of(body)
    warnings = []
    if str(props.get("objectType", "")).lower() != "backuppolicy":
        raise PolicyError(field + ".objectType", "must be BackupPolicy, got {0!r}".format(props.get("objectType")))
    kinds = props.get("datasourceTypes")
    if not isinstance(kinds, list) or _record(ds=ds).arm_type.lower() not in [str(kind).lower() for kind in kinds]:
        raise PolicyError(field + ".datasourceTypes", "must contain {0}".format(_record(ds=ds).arm_type))
    backup_rules, retention = [], {}
    for where, rule in _required_items(props, "policyRules", field,
                                       "one backup rule and at least the default retention rule"):
        if not isinstance(rule, dict) or not isinstance(rule.get("name"), str) or not rule["name"]:
            raise PolicyError(where, "each rule needs a name and an objectType")
        kind = str(rule.get("objectType", "")).lower()
        if kind == "azurebackuprule":
            backup_rules.append((where, rule))
        elif kind == "azureretentionrule":
            if rule["name"] in retention:
                raise PolicyError(where + ".name", "retention rule {0} is defined twice".format(rule["name"]))
            _check_retention_rule(where, rule, ds=ds)
            retention[rule["name"]] = rule
        else:
            raise PolicyError(
                where + ".objectType",
                "must be AzureBackupRule or AzureRetentionRule, got {0!r}".format(rule.get("objectType")),
            )
    if len(backup_rules) != 1:
        raise PolicyError(
            field + ".policyRules", "exactly one AzureBackupRule is required, found {0}".format(len(backup_rules))
        )
    defaults = [name for name, rule in retention.items() if rule.get("isDefault") is True]
    if len(defaults) != 1:
        raise PolicyError(
            field + ".policyRules",
            "exactly one retention rule must have isDefault: true, found {0}".format(len(defaults)),
        )
    where, backup = backup_rules[0]
    warnings.extend(_check_backup_rule(where, backup, retention, defaults[0], ds=ds))
    return warnings


def _required_items(mapping, key, where, requirement):
    """(path, item) of each item of the list ``mapping[key]``, which must not be empty."""
    items = mapping.get(key)
    field = "{0}.{1}".format(where, key)
    if not isinstance(items, list) or not items:
        raise PolicyError(field, "required: " + requirement)
    return [("{0}[{1}]".format(field, index), item) for index, item in enumerate(items)]


def _check_retention_rule(where, rule, ds=None):
    stores = []
    for at, cycle in _required_items(rule, "lifecycles", where, "at least one lifecycle with deleteAfter"):
        delete_after = _mapping(cycle, at, "a lifecycle").get("deleteAfter")
        if not isinstance(delete_after, dict):
            raise PolicyError(at + ".deleteAfter", "required: {objectType: AbsoluteDeleteOption, duration: ...}")
        if str(delete_after.get("objectType", "")).lower() != "absolutedeleteoption":
            raise PolicyError(at + ".deleteAfter.objectType", "must be AbsoluteDeleteOption")
        parse_duration(delete_after.get("duration"), at + ".deleteAfter.duration", ds=ds)
        store = _check_datastore(at + ".sourceDataStore", cycle.get("sourceDataStore"))
        if store in stores:
            raise PolicyError(at + ".sourceDataStore", "two lifecycles for the {0}".format(store))
        stores.append(store)
        for number, setting in enumerate(cycle.get("targetDataStoreCopySettings") or []):
            target = "{0}.targetDataStoreCopySettings[{1}]".format(at, number)
            setting = _mapping(setting, target, "a copy setting")
            _check_datastore(target + ".dataStore", setting.get("dataStore"))
            copy_after = _mapping(setting.get("copyAfter"), target + ".copyAfter", "a copy option")
            kind = _canon(copy_after.get("objectType"), vocabulary.OBJECT_TYPES)
            if kind not in ("CopyOnExpiryOption", "CustomCopyOption", "ImmediateCopyOption"):
                raise PolicyError(
                    target + ".copyAfter.objectType",
                    "must be CopyOnExpiryOption, CustomCopyOption or ImmediateCopyOption",
                )
            if kind == "CustomCopyOption":
                parse_duration(copy_after.get("duration"), target + ".copyAfter.duration", ds=ds)
    if _record(ds=ds).datastore_type not in stores:
        raise PolicyError(
            where + ".lifecycles", "one lifecycle must have sourceDataStore {0}".format(_record(ds=ds).datastore_type)
        )


def _mapping(value, where, what):
    """``value`` if it is a dictionary (None counts as empty), else a PolicyError naming the field."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError(where, "expected {0}, got {1!r}".format(what, value))
    return value


def _check_datastore(where, store):
    store = _mapping(store, where, "a data store")
    kind = _canon(store.get("dataStoreType"), vocabulary.DATASTORE_TYPES)
    if kind not in vocabulary.DATASTORE_TYPES or str(store.get("objectType", "")).lower() != "datastoreinfobase":
        raise PolicyError(where, "expected {objectType: DataStoreInfoBase, dataStoreType: VaultStore|ArchiveStore}")
    return kind


def _check_backup_rule(where, rule, retention, default_name, ds=None):
    warnings = []
    if rule.get("name") != _record(ds=ds).backup_rule_name:
        warnings.append(
            "{0}.name: the Azure tools name the backup rule {1}; on-demand backups name the rule, so "
            "keep {1} unless you know better".format(where, _record(ds=ds).backup_rule_name)
        )
    params = _mapping(rule.get("backupParameters"), where + ".backupParameters", "backup parameters")
    if str(params.get("backupType", "")).lower() != _record(ds=ds).backup_type.lower():
        raise PolicyError(where + ".backupParameters.backupType", "must be {0}".format(_record(ds=ds).backup_type))
    if _check_datastore(where + ".dataStore", rule.get("dataStore")) != _record(ds=ds).datastore_type:
        raise PolicyError(where + ".dataStore.dataStoreType", "must be {0}".format(_record(ds=ds).datastore_type))
    trigger = _mapping(rule.get("trigger"), where + ".trigger", "a trigger")
    if str(trigger.get("objectType", "")).lower() != "schedulebasedtriggercontext":
        raise PolicyError(where + ".trigger.objectType", "must be ScheduleBasedTriggerContext")
    schedule = _mapping(trigger.get("schedule"), where + ".trigger.schedule", "a schedule")
    zone = None
    if schedule.get("timeZone") is not None:
        try:
            zone = resolve_time_zone(schedule["timeZone"], where + ".trigger.schedule.timeZone")
        except PolicyError as error:
            warnings.append(str(error) + " (the retention preview uses the offsets of repeatingTimeIntervals)")
    slots = []
    for at, text in _required_items(schedule, "repeatingTimeIntervals", where + ".trigger.schedule",
                                    "at least one interval"):
        start, period = _parse_interval(text, zone.tzinfo if zone else None, at, ds=ds)
        if period != _record(ds=ds).schedule_periods[0]:
            raise PolicyError(
                at,
                "{0} repeats every {1}; {2} supports weekly schedules only ({3})".format(
                    text, period, _record(ds=ds).label, _record(ds=ds).schedule_periods[0]
                ),
            )
        local = start.astimezone(zone.tzinfo) if zone else start
        slot = (local.weekday(), local.time())
        if slot[0] in [day for day, _time in slots]:
            raise PolicyError(at, "{0} is scheduled twice".format(vocabulary.DAYS_OF_WEEK[(local.weekday() + 1) % 7]))
        if slots and slot[1] != slots[0][1]:
            raise PolicyError(
                at,
                "all backups must run at the same time of day ({0} supports one time)".format(_record(ds=ds).label),
            )
        slots.append(slot)
    named = []
    for at, tag in _required_items(trigger, "taggingCriteria", where + ".trigger", "at least the default tag"):
        tag = _mapping(tag, at, "a tagging criterion")
        name = _mapping(tag.get("tagInfo"), at + ".tagInfo", "tag information").get("tagName")
        if not isinstance(name, str) or name not in retention:
            raise PolicyError(
                at + ".tagInfo.tagName",
                "{0!r} names no retention rule (rules: {1})".format(name, ", ".join(sorted(retention))),
            )
        if name in named:
            raise PolicyError(at + ".tagInfo.tagName", "tag {0} is defined twice".format(name))
        named.append(name)
        if not isinstance(tag.get("taggingPriority"), int) or isinstance(tag.get("taggingPriority"), bool):
            raise PolicyError(at + ".taggingPriority", "required: an integer (lower wins)")
        if bool(tag.get("isDefault")) != (name == default_name):
            raise PolicyError(
                at + ".isDefault", "must be true for the default rule's tag ({0}) only".format(default_name)
            )
        if name != default_name:
            criteria = tag.get("criteria")
            if not isinstance(criteria, list) or not criteria:
                raise PolicyError(at + ".criteria", "required for a tag other than the default")
            for number, criterion in enumerate(criteria):
                _check_criterion("{0}.criteria[{1}]".format(at, number), criterion)
    if default_name not in named:
        raise PolicyError(
            where + ".trigger.taggingCriteria",
            "the default rule {0} needs a tag with isDefault: true".format(default_name),
        )
    for name in sorted(set(retention) - set(named)):
        warnings.append(
            "{0}.trigger.taggingCriteria: retention rule {1} has no tag, so no backup ever gets it".format(where, name)
        )
    return warnings


def _check_criterion(where, criterion):
    if not isinstance(criterion, dict) or str(criterion.get("objectType", "")).lower() != "schedulebasedbackupcriteria":
        raise PolicyError(where + ".objectType", "must be ScheduleBasedBackupCriteria")
    checks = (
        ("absoluteCriteria", vocabulary.ABSOLUTE_MARKERS),
        ("daysOfTheWeek", vocabulary.DAYS_OF_WEEK),
        ("weeksOfTheMonth", vocabulary.WEEKS_OF_MONTH),
        ("monthsOfYear", vocabulary.MONTHS),
    )
    found = False
    for name, _vocabulary in checks + (("daysOfMonth", None),):
        if not isinstance(criterion.get(name) or [], list):
            raise PolicyError("{0}.{1}".format(where, name), "expected a list")
    for name, allowed in checks:
        for value in criterion.get(name) or []:
            found = True
            if _canon(value, allowed) not in allowed:
                raise PolicyError(
                    "{0}.{1}".format(where, name), "{0!r} is not one of {1}".format(value, ", ".join(allowed))
                )
    for day in criterion.get("daysOfMonth") or []:
        found = True
        if not (
            isinstance(day, dict)
            and (day.get("isLast") is True or (isinstance(day.get("date"), int) and 1 <= day["date"] <= 28))
        ):
            raise PolicyError(where + ".daysOfMonth", "each day is {date: 1..28} or {isLast: true}")
    if not found:
        raise PolicyError(where, "names no backups: set absoluteCriteria or days, weeks or months")
