"""Microsoft.DataProtection backupVaults/backupPolicies: PUT, GET, list, DELETE, with the service's validation.

Status codes follow the 2026-06-01 spec (BackupPolicies_*), its PolicyCRUD examples and recorded traffic
(azure-cli-extensions dataprotection test recordings, api-version 2025-07-01):

- PUT -> 200 + the policy (``x-ms-long-running-operation`` is not set on BackupPolicies_CreateOrUpdate; the
  spec lists only 200). A PUT of an existing policy with the content it already holds answers the same way; any
  other PUT of an existing policy is refused (below).
- GET -> 200 + the policy; 404 ``ResourceNotFound`` when it does not exist (or the vault does not).
- list -> 200 ``{"value": [...], "nextLink"}`` (x-ms-pageable, nextLinkName ``nextLink``).
- DELETE -> 200 with an empty body (what the recordings show), 204 when there is no such policy (the spec
  lists both). No long-running operation.

What the service does to a stored body (examples and recordings): it keeps only the fields of the model
(an extra ``properties.name`` sent by the CLI is dropped), answers with ``properties`` first and then
``id``, ``name``, ``type``, and adds the read-only ``tagInfo.id`` ``"<tagName>_"`` to every tagging
criterion. Enum values come back in their canonical spelling whatever case they were sent in.

Refusals (user errors: HTTP 400 with the service's ``UserFacingError`` additional info):

- Deleting a policy that backup instances use: ``UserErrorDppPolicyObjectInUse``, "Cannot delete the backup
  policy as one or more backup instances have been configured for protection with this policy." (seen in
  hashicorp/terraform-provider-azurerm#20774: "unexpected status 400 with error: UserErrorDppPolicyObjectInUse").
  Soft-deleted instances block it too: ``UserErrorPolicyAssociatedWithSoftDeletedItems`` (same provider, #25011).
  Who uses a policy is answered by the named hooks ``policy_users`` and ``policy_soft_deleted_users``:
  ``fn(store, policy_id) -> [instance names]`` (or None), registered by the backup instance module.
- Updating an existing policy, whether backup instances use it or not: ``UserErrorBMSUpdatePolicyNotSupported``,
  "Update of existing policy is not supported." with the recommended action "Please create a new policy." (the
  real service's body, MicrosoftDocs/azure-docs#78532; Terraform's azurerm provider marks every policy field
  ForceNew for the same reason). A client changes a policy by creating a new one and moving the instances to it.
- Invalid bodies: ``BMSUserErrorInvalidInput`` (what the service answers for policy input it rejects,
  hashicorp/terraform-provider-azurerm#33493) with a message that names the JSON path. Checked for every
  datasource: the model's required fields, discriminators (``objectType``), enum values, ISO 8601 durations
  and the repeating-interval formats the spec lists. Checked for PostgreSQL Flexible Server (the support
  matrix): one backup rule, weekly (``P1W``) schedules only, full backups to the vault store, exactly one
  default retention rule, retention of at most 10 years, tags that name retention rules.
"""

import re

from emulator import datasources, registry
from emulator.arm import ci_get, json_response, paged
from emulator.clock import parse_duration
from emulator.resources.vaults import (
    GROUP_RULE,
    PROVIDER,
    VAULT_TYPE,
    get_vault_or_404,
    vault_child,
    vault_child_or_404,
    vault_children,
)
from emulator.validators import (
    enum_value,
    invalid_input,
    object_type,
    require_bool,
    require_list,
    require_object,
    require_string,
    same,
    user_error,
)

TABLE = "backupPolicies"
POLICY_TYPE = f"{VAULT_TYPE}/backupPolicies"
POLICIES_RULE = f"{GROUP_RULE}/backupVaults/<vault>/backupPolicies"
POLICY_RULE = f"{POLICIES_RULE}/<policy>"

# Datasource types Azure Backup vaults protect (the service's DatasourceTypes; "OssDB" is the old name of
# PostgreSQL single-server databases that the spec examples still use).
DATASOURCE_TYPES = (
    datasources.PGFLEX.datasource_type,
    "Microsoft.DBforPostgreSQL/servers/databases",
    "OssDB",
    "Microsoft.DBforMySQL/flexibleServers",
    "Microsoft.Compute/disks",
    "Microsoft.Storage/storageAccounts/blobServices",
    "Microsoft.Storage/storageAccounts/adlsBlobServices",
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.DocumentDB/databaseAccounts",
    "Microsoft.ElasticSan/elasticSans/volumeGroups",
)
RULE_TYPES = ("AzureBackupRule", "AzureRetentionRule")
DATASTORE_TYPES = ("OperationalStore", "VaultStore", "ArchiveStore")
TRIGGER_TYPES = ("ScheduleBasedTriggerContext", "AdhocBasedTriggerContext")
COPY_OPTIONS = ("CopyOnExpiryOption", "CustomCopyOption", "ImmediateCopyOption")
ABSOLUTE_MARKERS = ("AllBackup", "FirstOfDay", "FirstOfMonth", "FirstOfWeek", "FirstOfYear")
WEEKDAYS = ("Friday", "Monday", "Saturday", "Sunday", "Thursday", "Tuesday", "Wednesday")
WEEK_NUMBERS = ("First", "Fourth", "Last", "Second", "Third")
MONTHS = ("April", "August", "December", "February", "January", "July", "June", "March", "May", "November",
          "October", "September")

# R/<start>/<period> with the start formats BackupSchedule.repeatingTimeIntervals lists (2026-06-01).
_INTERVAL = re.compile(
    r"^R/(?P<start>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})?)/(?P<period>P\S+)$",
    re.IGNORECASE,
)
_BAD_NAME_CHARS = re.compile(r"[<>%&:\\?/#*\x00-\x1f]")


# ------------------------------------------------------------------------------------------------ errors


def _user_error(code, message, recommended):
    """A refusal in the service's user-error shape, with its recommended action."""
    return user_error(400, code, message, recommended)


# ------------------------------------------------------------------------------------------ field readers


def _duration(value, path):
    """An ISO 8601 duration the service accepts; returns (text as sent, approximate length in days)."""
    if not isinstance(value, str):
        raise invalid_input(f"'{path}' is required: an ISO 8601 duration such as P30D, P12W, P12M or P10Y.", path)
    try:
        parts = parse_duration(value.strip())
    except ValueError:
        raise invalid_input(f"'{value}' in '{path}' is not a valid ISO 8601 duration such as P30D, P12W, P12M or "
                            "P10Y.", path) from None
    days = (parts.get("years", 0) * 365.25 + parts.get("months", 0) * 30.4375 + parts.get("weeks", 0) * 7
            + parts.get("days", 0) + (parts.get("hours", 0) + parts.get("minutes", 0) / 60
                                      + parts.get("seconds", 0) / 3600) / 24)
    if days <= 0:
        raise invalid_input(f"'{path}' must be a duration longer than zero; got '{value}'.", path)
    return value.strip().upper(), days


def _datastore(raw, path):
    raw = require_object(raw, path)
    object_type(raw, ("DataStoreInfoBase",), path)
    return {"dataStoreType": enum_value(ci_get(raw, "dataStoreType"), DATASTORE_TYPES, f"{path}.dataStoreType"),
            "objectType": "DataStoreInfoBase"}


# ------------------------------------------------------------------------------------------- body parsing


def _snake(name):
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _criterion_field(raw, name):
    """A criterion field in the model's camelCase, or in the snake_case the az CLI's ``create-generic-criteria``
    writes (``days_of_the_week``, ``is_last``, ``object_type``...): the service reads both alike."""
    value = ci_get(raw, name)
    return ci_get(raw, _snake(name)) if value is None else value


def _parse_day_of_month(day, where):
    day = require_object(day, where)
    is_last = require_bool(_criterion_field(day, "isLast"), f"{where}.isLast")
    date = ci_get(day, "date")
    if is_last:
        return {"isLast": True}
    if isinstance(date, int) and not isinstance(date, bool) and 1 <= date <= 28:
        return {"date": date, "isLast": False}
    raise invalid_input(f"'{where}' must be a date from 1 to 28 or isLast: true; got {day}.", where)


def _parse_criterion(raw, path):
    raw = require_object(raw, path)
    kind = _criterion_field(raw, "objectType")
    if kind is None:
        raise invalid_input(f"'{path}.objectType' is required (ScheduleBasedBackupCriteria).", f"{path}.objectType")
    enum_value(kind, ("ScheduleBasedBackupCriteria",), f"{path}.objectType")
    out = {}
    for key, allowed in (("absoluteCriteria", ABSOLUTE_MARKERS), ("daysOfTheWeek", WEEKDAYS),
                         ("monthsOfYear", MONTHS), ("weeksOfTheMonth", WEEK_NUMBERS)):
        values = require_list(_criterion_field(raw, key), f"{path}.{key}", required=False)
        if values:
            out[key] = [enum_value(value, allowed, f"{path}.{key}[{index}]") for index, value in enumerate(values)]
    days = require_list(_criterion_field(raw, "daysOfMonth"), f"{path}.daysOfMonth", required=False)
    if days:
        out["daysOfMonth"] = [_parse_day_of_month(day, f"{path}.daysOfMonth[{index}]")
                              for index, day in enumerate(days)]
    times = require_list(_criterion_field(raw, "scheduleTimes"), f"{path}.scheduleTimes", required=False)
    if times:
        out["scheduleTimes"] = [require_string(value, f"{path}.scheduleTimes[{index}]")
                                for index, value in enumerate(times)]
    if not out:
        raise invalid_input(f"'{path}' selects no backups: set absoluteCriteria, daysOfTheWeek, weeksOfTheMonth, "
                            "monthsOfYear or daysOfMonth.", path)
    out["objectType"] = "ScheduleBasedBackupCriteria"
    return out


def _parse_tag(raw, path):
    raw = require_object(raw, path)
    info = require_object(ci_get(raw, "tagInfo"), f"{path}.tagInfo")
    name = require_string(ci_get(info, "tagName"), f"{path}.tagInfo.tagName")
    priority = ci_get(raw, "taggingPriority")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise invalid_input(f"'{path}.taggingPriority' is required: an integer.", f"{path}.taggingPriority")
    is_default = require_bool(ci_get(raw, "isDefault"), f"{path}.isDefault", required=True)
    out = {"tagInfo": {"tagName": name}, "taggingPriority": priority, "isDefault": is_default}
    criteria = require_list(ci_get(raw, "criteria"), f"{path}.criteria", required=False)
    if criteria:
        out["criteria"] = [_parse_criterion(item, f"{path}.criteria[{index}]") for index, item in enumerate(criteria)]
    elif not is_default:
        raise invalid_input(f"'{path}.criteria' is required for a tag that is not the default one.", f"{path}.criteria")
    return out


def _parse_schedule(raw, path):
    raw = require_object(raw, path)
    intervals = []
    for index, text in enumerate(require_list(ci_get(raw, "repeatingTimeIntervals"), f"{path}.repeatingTimeIntervals")):
        where = f"{path}.repeatingTimeIntervals[{index}]"
        match = _INTERVAL.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise invalid_input(f"'{text}' in '{where}' is not a repeating time interval of the form "
                                "R/YYYY-MM-DDThh:mm:ss[.fff][Z|(+/-)hh:mm]/Duration.", where)
        _duration(match.group("period"), where)
        intervals.append(text.strip())
    out = {"repeatingTimeIntervals": intervals}
    zone = ci_get(raw, "timeZone")
    if zone is not None:
        out["timeZone"] = require_string(zone, f"{path}.timeZone")
    return out


def _parse_trigger(raw, path):
    raw = require_object(raw, path)
    kind = object_type(raw, TRIGGER_TYPES, path)
    if kind == "AdhocBasedTriggerContext":
        tag = require_object(ci_get(raw, "taggingCriteria"), f"{path}.taggingCriteria")
        info = require_object(ci_get(tag, "tagInfo"), f"{path}.taggingCriteria.tagInfo")
        name = require_string(ci_get(info, "tagName"), f"{path}.taggingCriteria.tagInfo.tagName")
        return {"taggingCriteria": {"tagInfo": {"tagName": name}}, "objectType": kind}
    schedule = _parse_schedule(ci_get(raw, "schedule"), f"{path}.schedule")
    tags = [_parse_tag(item, f"{path}.taggingCriteria[{index}]")
            for index, item in enumerate(require_list(ci_get(raw, "taggingCriteria"), f"{path}.taggingCriteria"))]
    return {"schedule": schedule, "taggingCriteria": tags, "objectType": kind}


def _parse_backup_rule(raw, path, name):
    out = {}
    params = ci_get(raw, "backupParameters")
    if params is not None:
        params = require_object(params, f"{path}.backupParameters")
        object_type(params, ("AzureBackupParams",), f"{path}.backupParameters")
        out["backupParameters"] = {"backupType": require_string(ci_get(params, "backupType"),
                                                                f"{path}.backupParameters.backupType"),
                                   "objectType": "AzureBackupParams"}
    out["trigger"] = _parse_trigger(ci_get(raw, "trigger"), f"{path}.trigger")
    out["dataStore"] = _datastore(ci_get(raw, "dataStore"), f"{path}.dataStore")
    out.update(name=name, objectType="AzureBackupRule")
    return out


def _parse_lifecycle(raw, path):
    raw = require_object(raw, path)
    delete_after = require_object(ci_get(raw, "deleteAfter"), f"{path}.deleteAfter")
    object_type(delete_after, ("AbsoluteDeleteOption",), f"{path}.deleteAfter")
    duration, days = _duration(ci_get(delete_after, "duration"), f"{path}.deleteAfter.duration")
    out = {"deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": duration}}
    copies = ci_get(raw, "targetDataStoreCopySettings")
    if copies is not None:
        parsed = []
        for index, item in enumerate(require_list(copies, f"{path}.targetDataStoreCopySettings", required=False)):
            where = f"{path}.targetDataStoreCopySettings[{index}]"
            item = require_object(item, where)
            copy_after = require_object(ci_get(item, "copyAfter"), f"{where}.copyAfter")
            kind = object_type(copy_after, COPY_OPTIONS, f"{where}.copyAfter")
            option = {"objectType": kind}
            if kind == "CustomCopyOption":
                option = {"duration": _duration(ci_get(copy_after, "duration"), f"{where}.copyAfter.duration")[0],
                          "objectType": kind}
            parsed.append({"copyAfter": option, "dataStore": _datastore(ci_get(item, "dataStore"),
                                                                        f"{where}.dataStore")})
        out["targetDataStoreCopySettings"] = parsed
    out["sourceDataStore"] = _datastore(ci_get(raw, "sourceDataStore"), f"{path}.sourceDataStore")
    return out, days


def _parse_retention_rule(raw, path, name):
    cycles = require_list(ci_get(raw, "lifecycles"), f"{path}.lifecycles")
    lifecycles, longest = [], 0
    for index, item in enumerate(cycles):
        cycle, days = _parse_lifecycle(item, f"{path}.lifecycles[{index}]")
        lifecycles.append(cycle)
        longest = max(longest, days)
    out = {"lifecycles": lifecycles}
    is_default = require_bool(ci_get(raw, "isDefault"), f"{path}.isDefault")
    if is_default is not None:
        out["isDefault"] = is_default
    out.update(name=name, objectType="AzureRetentionRule")
    return out, longest


def parse_policy(body):
    """The stored properties of a PUT body (model fields only, canonical enums); ArmError if the service refuses."""
    body = require_object(body, "body")
    props = require_object(ci_get(body, "properties"), "properties")
    object_type(props, ("BackupPolicy",), "properties")
    kinds = require_list(ci_get(props, "datasourceTypes"), "properties.datasourceTypes")
    if len(kinds) != 1:
        raise invalid_input("'properties.datasourceTypes' must name exactly one datasource type.",
                            "properties.datasourceTypes")
    kind = require_string(kinds[0], "properties.datasourceTypes[0]")
    for known in DATASOURCE_TYPES:
        if known.lower() == kind.strip().lower():
            kind = known
            break
    else:
        raise invalid_input(f"Datasource type '{kind}' is not supported by Azure Backup vaults. Supported types: "
                            f"{', '.join(DATASOURCE_TYPES)}.", "properties.datasourceTypes[0]",
                            code="BMSUserErrorInvalidInput")
    rules, seen, longest = [], set(), {}
    for index, raw in enumerate(require_list(ci_get(props, "policyRules"), "properties.policyRules")):
        path = f"properties.policyRules[{index}]"
        raw = require_object(raw, path)
        name = require_string(ci_get(raw, "name"), f"{path}.name")
        rule_type = object_type(raw, RULE_TYPES, path)
        if name.lower() in seen:
            raise invalid_input(f"Rule name '{name}' is used by more than one policy rule; rule names must be unique.",
                                f"{path}.name")
        seen.add(name.lower())
        if rule_type == "AzureBackupRule":
            rules.append(_parse_backup_rule(raw, path, name))
        else:
            rule, days = _parse_retention_rule(raw, path, name)
            rules.append(rule)
            longest[name] = days
    _check_references(rules)
    record = datasources.find(kind)
    if record is not None:
        _check_datasource(record, rules, longest)
    return {"policyRules": rules, "datasourceTypes": [kind], "objectType": "BackupPolicy"}


def _check_references(rules):
    """One default retention rule; tags name retention rules; the default tag is the default rule's."""
    retention = {rule["name"].lower(): rule for rule in rules if rule["objectType"] == "AzureRetentionRule"}
    defaults = [rule for rule in retention.values() if rule.get("isDefault")]
    if not defaults:
        raise invalid_input("The policy has no default retention rule: add an AzureRetentionRule with isDefault true "
                            "(named Default) to keep the backups no other rule claims.", "properties.policyRules")
    stores = {}
    for rule in defaults:
        for cycle in rule["lifecycles"]:
            store = cycle["sourceDataStore"]["dataStoreType"]
            if store in stores:
                raise invalid_input(f"Retention rules '{stores[store]}' and '{rule['name']}' are both the default "
                                    f"for the {store}; a policy has one default retention rule per data store.",
                                    "properties.policyRules")
            stores[store] = rule["name"]
    for position, rule in enumerate(rules):
        trigger = rule.get("trigger") or {}
        if trigger.get("objectType") != "ScheduleBasedTriggerContext":
            continue
        tags = trigger["taggingCriteria"]
        names = set()
        for index, tag in enumerate(tags):
            where = f"properties.policyRules[{position}].trigger.taggingCriteria[{index}]"
            name = tag["tagInfo"]["tagName"]
            if name.lower() in names:
                raise invalid_input(f"Tag '{name}' is defined more than once.", f"{where}.tagInfo.tagName")
            names.add(name.lower())
            target = retention.get(name.lower())
            if target is None:
                known = ", ".join(sorted(rule["name"] for rule in retention.values()))
                raise invalid_input(f"Tag '{name}' does not match any retention rule of the policy (rules: {known}).",
                                    f"{where}.tagInfo.tagName")
            if bool(tag["isDefault"]) != bool(target.get("isDefault")):
                raise invalid_input(f"Tag '{name}' has isDefault {str(tag['isDefault']).lower()} but its retention "
                                    f"rule has isDefault {str(bool(target.get('isDefault'))).lower()}.",
                                    f"{where}.isDefault")
        if not any(tag["isDefault"] for tag in tags):
            raise invalid_input("The backup rule has no default tag: add a tagging criterion with isDefault true for "
                                "the default retention rule.",
                                f"properties.policyRules[{position}].trigger.taggingCriteria")


def _check_datasource(record, rules, longest):
    """The datasource's constraints (``emulator.datasources``): backup rules, data stores, backup types, schedule
    periods and the longest retention."""
    label = record.label
    stores = ", ".join(record.data_stores)
    for position, rule in enumerate(rules):
        path = f"properties.policyRules[{position}]"
        if rule["objectType"] == "AzureRetentionRule":
            if longest[rule["name"]] > record.max_retention_days:
                raise invalid_input(f"Retention rule '{rule['name']}' keeps backups longer than the maximum of "
                                    f"{record.max_retention_days / 365.25:g} years supported for {label}.",
                                    f"{path}.lifecycles")
            if not any(cycle["sourceDataStore"]["dataStoreType"] in record.data_stores
                       for cycle in rule["lifecycles"]):
                raise invalid_input(f"Retention rule '{rule['name']}' must have a lifecycle for the {stores}.",
                                    f"{path}.lifecycles")
            continue
        if rule["dataStore"]["dataStoreType"] not in record.data_stores:
            raise invalid_input(f"{label} are backed up to the {stores} only; got "
                                f"{rule['dataStore']['dataStoreType']}.", f"{path}.dataStore.dataStoreType")
        backup_type = (rule.get("backupParameters") or {}).get("backupType")
        if not any(same(backup_type, allowed) for allowed in record.backup_types):
            raise invalid_input(f"{label} support {', '.join(record.backup_types)} backups only; got backupType "
                                f"'{backup_type}'.", f"{path}.backupParameters.backupType")
        if rule["trigger"]["objectType"] != "ScheduleBasedTriggerContext":
            raise invalid_input(f"The backup rule of a policy for {label} needs a ScheduleBasedTriggerContext.",
                                f"{path}.trigger.objectType")
        for index, text in enumerate(rule["trigger"]["schedule"]["repeatingTimeIntervals"]):
            period = _INTERVAL.match(text).group("period")
            if period.upper() not in record.schedule_periods:
                raise invalid_input(f"Backup schedule '{text}' is not supported for {label}: only "
                                    f"{record.schedule_description} are supported.",
                                    f"{path}.trigger.schedule.repeatingTimeIntervals[{index}]")
    if sum(1 for rule in rules if rule["objectType"] == "AzureBackupRule") != record.backup_rules:
        raise invalid_input(f"A policy for {label} needs exactly {record.backup_rules} backup rule "
                            "(AzureBackupRule).", "properties.policyRules")


# --------------------------------------------------------------------------------------------- rendering


def _with_tag_ids(properties):
    """A copy of the stored properties with the read-only ``tagInfo.id`` the service adds."""
    rules = []
    for rule in properties["policyRules"]:
        trigger = rule.get("trigger")
        if trigger and isinstance(trigger.get("taggingCriteria"), list):
            tags = [dict(tag, tagInfo={"tagName": tag["tagInfo"]["tagName"],
                                       "id": f"{tag['tagInfo']['tagName']}_"}) for tag in trigger["taggingCriteria"]]
            rule = dict(rule, trigger=dict(trigger, taggingCriteria=tags))
        elif trigger and isinstance(trigger.get("taggingCriteria"), dict):
            name = trigger["taggingCriteria"]["tagInfo"]["tagName"]
            rule = dict(rule, trigger=dict(trigger, taggingCriteria={"tagInfo": {"tagName": name, "id": f"{name}_"}}))
        rules.append(rule)
    return dict(properties, policyRules=rules)


def render_policy(record):
    """The policy as the service returns it."""
    return {"properties": _with_tag_ids(record["properties"]), "id": record["id"], "name": record["name"],
            "type": POLICY_TYPE}


def find_policy(store, policy_id):
    """The stored policy record (``render_policy`` gives its body) or None; for other resource modules."""
    return store.table(TABLE).get((policy_id or "").rstrip("/").lower())


def policy_users(store, policy_id):
    """Names of the live backup instances that use a policy (``policy_users`` hooks)."""
    return sorted({name for names in registry.call_hooks("policy_users", store, policy_id) for name in names})


def _soft_deleted_users(store, policy_id):
    return sorted({name for names in registry.call_hooks("policy_soft_deleted_users", store, policy_id)
                   for name in names})


def _policy_id(vault, name):
    return f"{vault['id']}/backupPolicies/{name}"


# ------------------------------------------------------------------------------------------------ routes


@registry.route(POLICY_RULE, ["PUT"], action=f"{POLICY_TYPE}/write", provider=PROVIDER)
def put_policy(request):
    vault = get_vault_or_404(request)
    name = request.values["policy"]
    if _BAD_NAME_CHARS.search(name) or len(name) > 150:
        raise invalid_input(f"The backup policy name '{name}' is invalid: use at most 150 letters, digits, hyphens "
                            "and underscores.", "name")
    properties = parse_policy(request.json_object())
    policy_id = _policy_id(vault, name)
    existing = find_policy(request.store, policy_id)
    if existing is not None and existing["properties"] != properties:
        raise _user_error("UserErrorBMSUpdatePolicyNotSupported", "Update of existing policy is not supported.",
                          "Please create a new policy.")
    record = existing or {"id": policy_id, "name": name, "vaultId": vault["id"]}
    record["properties"] = properties
    request.store.table(TABLE)[policy_id.lower()] = record
    return json_response(200, render_policy(record))


@registry.route(POLICY_RULE, ["GET"], action=f"{POLICY_TYPE}/read", provider=PROVIDER)
def get_policy(request):
    record, _vault = vault_child_or_404(request, TABLE, "backupPolicies", "policy", POLICY_TYPE)
    return json_response(200, render_policy(record))


@registry.route(POLICIES_RULE, ["GET"], action=f"{POLICY_TYPE}/read", provider=PROVIDER)
def list_policies(request):
    return paged(request, [render_policy(record) for record in vault_children(request, TABLE, "backupPolicies")])


@registry.route(POLICY_RULE, ["DELETE"], action=f"{POLICY_TYPE}/delete", provider=PROVIDER)
def delete_policy(request):
    record, _vault = vault_child(request, TABLE, "backupPolicies", "policy")
    if record is None:
        return json_response(204)
    if policy_users(request.store, record["id"]):
        raise _user_error("UserErrorDppPolicyObjectInUse",
                          "Cannot delete the backup policy as one or more backup instances have been configured for "
                          "protection with this policy.",
                          "Stop protection of the backup instances that use this policy, or move them to another "
                          "policy, and retry the operation.")
    if _soft_deleted_users(request.store, record["id"]):
        raise _user_error("UserErrorPolicyAssociatedWithSoftDeletedItems",
                          "Cannot delete Backup Policy as it is associated with soft deleted items",
                          "Delete the soft deleted backup instances permanently, or wait until their soft delete "
                          "retention ends, and retry the operation.")
    request.store.table(TABLE).pop(record["id"].lower(), None)
    return json_response(200)


@registry.hook("vault_deleted")
def _drop_vault_policies(store, vault_record):
    """Policies go with their vault."""
    store.drop_under(TABLE, f"{vault_record['id']}/backupPolicies/")
