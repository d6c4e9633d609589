"""Microsoft.DataProtection backupVaults, operationStatus and operationResults.

Status codes and long-running-operation headers follow the 2026-06-01 spec, its examples and
recordings of real traffic (azure-cli-extensions dataprotection tests, Az.DataProtection tests):

- PUT  -> 201 + vault body (provisioningState Provisioning/Updating) + ``Azure-AsyncOperation`` on the
  vault (``.../backupVaults/{name}/operationStatus/{id}``) + ``Retry-After``; also for an update.
- PATCH -> 202, no body, ``Azure-AsyncOperation`` (vault operationStatus), ``Location`` (vault
  operationResults) and ``Retry-After`` (PatchBackupVault.json).
- DELETE -> 202, no body, ``Azure-AsyncOperation`` (resource group + location operationStatus) and
  ``Location`` (subscription + location operationResults), ``Retry-After``; 204 when there is no vault.
- operationStatus -> 200 ``{id, name, status, startTime, endTime[, error]}``; ``Retry-After`` while running.
- operationResults -> 202 + ``Location``/``Retry-After`` while running; then 200 (the vault, or
  ``{"objectType": "OperationJobExtendedInfo"}`` at location level) or 204 when nothing is left.

Fields the service fills in (observed in real responses): soft delete On/14 days when omitted,
``isVaultProtectedByResourceGuard``, ``secureScore``, ``bcdrSecurityLevel`` and ``replicatedRegions``.
Sections the request leaves out of an update keep their current values, so irreversible settings
(AlwaysOn soft delete, Locked immutability, enabled cross-region restore) cannot be dropped by omission.
"""

import json
import re

from emulator import identity, regions, registry, seed
from emulator.arm import (
    ArmError,
    ci_get,
    json_response,
    paged,
    require_known_location,
    require_resource_group,
    resource_group_id,
    resource_not_found,
)
from emulator.clock import iso
from emulator.lro import status_body
from emulator.resources.managed_identity import find_identity
from emulator.validators import enum_value, invalid_input, require_object, same

PROVIDER = "Microsoft.DataProtection"
TABLE = "backupVaults"
VAULT_TYPE = "Microsoft.DataProtection/backupVaults"
GROUP_RULE = "/subscriptions/<subscription>/resourceGroups/<resource_group>/providers/Microsoft.DataProtection"
VAULT_RULE = f"{GROUP_RULE}/backupVaults/<vault>"
SUB_RULE = "/subscriptions/<subscription>/providers/Microsoft.DataProtection"

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,49}$")
STORAGE_TYPES = ("GeoRedundant", "LocallyRedundant", "ZoneRedundant")
DATASTORE_TYPES = ("ArchiveStore", "OperationalStore", "VaultStore")
SOFT_DELETE_STATES = ("Off", "On", "AlwaysOn")
IMMUTABILITY_STATES = ("Disabled", "Unlocked", "Locked")
CRR_STATES = ("Disabled", "Enabled")
CSR_STATES = ("Disabled", "PermanentlyDisabled", "Enabled")
ALERT_STATES = ("Enabled", "Disabled")
GRANULARITY_LEVELS = ("VaultLevel", "ProtectedItemLevel", "ProtectedItemWithParentTag")
IDENTITY_TYPES = ("None", "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned")
SOFT_DELETE_DAYS = (14, 180)


def as_sent(value, allowed, path):
    """A valid enum value, echoed as sent (what the vault resource does)."""
    return enum_value(value, allowed, path, canonical=False)


# --------------------------------------------------------------------------------------- body parsing


def _parse_storage_settings(raw):
    if not isinstance(raw, list) or not raw:
        raise invalid_input("'properties.storageSettings' is required: a list of objects with a datastoreType "
                            "(VaultStore) and a type (LocallyRedundant, GeoRedundant or ZoneRedundant).",
                            "properties.storageSettings")
    settings = []
    for index, item in enumerate(raw):
        path = f"properties.storageSettings[{index}]"
        require_object(item, path)
        store_type = as_sent(ci_get(item, "datastoreType"), DATASTORE_TYPES, f"{path}.datastoreType")
        redundancy = as_sent(ci_get(item, "type"), STORAGE_TYPES, f"{path}.type")
        settings.append({"datastoreType": store_type, "type": redundancy})
    return settings


def _parse_soft_delete(raw):
    path = "properties.securitySettings.softDeleteSettings"
    require_object(raw, path)
    state = as_sent(ci_get(raw, "state"), SOFT_DELETE_STATES, f"{path}.state")
    days = ci_get(raw, "retentionDurationInDays")
    if days is None:
        days = 14
    if isinstance(days, bool) or not isinstance(days, (int, float)):
        raise invalid_input(f"'{path}.retentionDurationInDays' must be a number of days.",
                            f"{path}.retentionDurationInDays")
    if not SOFT_DELETE_DAYS[0] <= days <= SOFT_DELETE_DAYS[1]:
        raise invalid_input(f"Soft delete retention must be between {SOFT_DELETE_DAYS[0]} and {SOFT_DELETE_DAYS[1]} "
                            f"days; got {days}.", f"{path}.retentionDurationInDays")
    return {"state": state, "retentionDurationInDays": float(days)}


def _parse_security(raw):
    """securitySettings sections present in the request (absent ones are not returned)."""
    raw = require_object(raw, "properties.securitySettings", required=False)
    if raw is None:
        return {}
    section = {}
    if ci_get(raw, "softDeleteSettings") is not None:
        section["softDeleteSettings"] = _parse_soft_delete(ci_get(raw, "softDeleteSettings"))
    immutability = ci_get(raw, "immutabilitySettings")
    if immutability is not None:
        path = "properties.securitySettings.immutabilitySettings"
        require_object(immutability, path)
        section["immutabilitySettings"] = {"state": as_sent(ci_get(immutability, "state"), IMMUTABILITY_STATES,
                                                            f"{path}.state")}
    encryption = ci_get(raw, "encryptionSettings")
    if encryption is not None:
        section["encryptionSettings"] = dict(require_object(encryption,
                                                            "properties.securitySettings.encryptionSettings"))
    return section


def _parse_features(raw):
    raw = require_object(raw, "properties.featureSettings", required=False)
    if raw is None:
        return {}
    section = {}
    for key, allowed in (("crossRegionRestoreSettings", CRR_STATES), ("crossSubscriptionRestoreSettings", CSR_STATES)):
        value = ci_get(raw, key)
        if value is not None:
            path = f"properties.featureSettings.{key}"
            require_object(value, path)
            section[key] = {"state": as_sent(ci_get(value, "state"), allowed, f"{path}.state")}
    return section


def _parse_monitoring(raw):
    raw = require_object(raw, "properties.monitoringSettings", required=False)
    if raw is None:
        return {}
    alerts = ci_get(raw, "azureMonitorAlertSettings")
    if alerts is None:
        return {}
    path = "properties.monitoringSettings.azureMonitorAlertSettings"
    require_object(alerts, path)
    return {"azureMonitorAlertSettings": {"alertsForAllJobFailures": as_sent(
        ci_get(alerts, "alertsForAllJobFailures"), ALERT_STATES, f"{path}.alertsForAllJobFailures")}}


def _parse_cost(raw):
    raw = require_object(raw, "properties.costManagementSettings", required=False)
    if raw is None:
        return {}
    return {"granularityLevel": as_sent(ci_get(raw, "granularityLevel"), GRANULARITY_LEVELS,
                                        "properties.costManagementSettings.granularityLevel")}


def _parse_tags(raw):
    if raw is None:
        return None
    if not isinstance(raw, dict) or not all(isinstance(value, str) for value in raw.values()):
        raise ArmError(400, "InvalidTag", "The tags must be a JSON object of string values.")
    return dict(raw)


def _merge_sections(current, request_properties):
    """Settings after a PUT/PATCH: sections and sub-sections in the request replace the current ones."""
    merged = {key: json.loads(json.dumps(value)) for key, value in current.items()}
    parsed = {
        "securitySettings": _parse_security(ci_get(request_properties, "securitySettings")),
        "featureSettings": _parse_features(ci_get(request_properties, "featureSettings")),
        "monitoringSettings": _parse_monitoring(ci_get(request_properties, "monitoringSettings")),
        "costManagementSettings": _parse_cost(ci_get(request_properties, "costManagementSettings")),
    }
    for key, section in parsed.items():
        if section:
            merged.setdefault(key, {}).update(section)
    return merged


# ------------------------------------------------------------------------------------------ invariants


def _vault_store_type(settings):
    for item in settings.get("storageSettings", []):
        if same(item["datastoreType"], "VaultStore"):
            return item["type"]
    return settings["storageSettings"][0]["type"] if settings.get("storageSettings") else None


def _state(settings, section, key):
    value = settings.get(section, {}).get(key, {})
    return (value.get("state") or "").lower()


def _check_consistency(settings):
    if _state(settings, "featureSettings", "crossRegionRestoreSettings") == "enabled" \
            and not same(_vault_store_type(settings), "GeoRedundant"):
        raise invalid_input("Cross region restore can be enabled only for a vault whose storage redundancy is "
                            f"GeoRedundant; this vault is {_vault_store_type(settings)}.",
                            "properties.featureSettings.crossRegionRestoreSettings.state",
                            code="UserErrorCrossRegionRestoreNotSupportedForRedundancy")


# Settings that cannot be undone once reached: (section, setting, state, the service's refusal, its code).
_IRREVERSIBLE = (
    ("securitySettings", "softDeleteSettings", "AlwaysOn",
     "Soft delete is AlwaysOn for this vault; AlwaysOn is irreversible and cannot be changed.",
     "UserErrorSoftDeleteStateChangeNotAllowed"),
    ("securitySettings", "immutabilitySettings", "Locked",
     "Immutability is Locked for this vault; a locked vault cannot be made mutable.",
     "UserErrorImmutabilityStateChangeNotAllowed"),
    ("featureSettings", "crossRegionRestoreSettings", "Enabled",
     "Cross region restore cannot be disabled once it has been enabled for a vault.",
     "UserErrorCrossRegionRestoreDisableNotAllowed"),
    ("featureSettings", "crossSubscriptionRestoreSettings", "PermanentlyDisabled",
     "Cross subscription restore is PermanentlyDisabled for this vault and cannot be changed.",
     "UserErrorCrossSubscriptionRestoreStateChangeNotAllowed"),
)


def _check_transitions(old, new):
    """Changes the service refuses on an existing vault."""
    if old.get("storageSettings") and not same(_vault_store_type(new), _vault_store_type(old) or ""):
        raise invalid_input(f"Storage redundancy of a backup vault cannot be changed after creation (current "
                            f"{_vault_store_type(old)}, requested {_vault_store_type(new)}). Create a new vault "
                            "instead.", "properties.storageSettings", code="UserErrorStorageSettingsUpdateNotAllowed")
    for section, setting, kept, message, code in _IRREVERSIBLE:
        if _state(old, section, setting) == kept.lower() and _state(new, section, setting) != kept.lower():
            raise invalid_input(message, f"properties.{section}.{setting}.state", code=code)


def _scores(settings):
    """secureScore, bcdrSecurityLevel and replicatedRegions as the service derives them (approximation)."""
    soft_delete = _state(settings, "securitySettings", "softDeleteSettings") in ("on", "alwayson")
    immutable = _state(settings, "securitySettings", "immutabilitySettings") in ("unlocked", "locked")
    geo = same(_vault_store_type(settings), "GeoRedundant")
    crr = _state(settings, "featureSettings", "crossRegionRestoreSettings") == "enabled"
    if soft_delete and immutable:
        score = "Adequate"
    elif immutable:
        score = "Minimum"
    else:
        score = "None"
    if score == "None":
        bcdr = "Poor"
    elif score == "Minimum" or not geo:
        bcdr = "Fair"
    elif crr and _state(settings, "securitySettings", "softDeleteSettings") == "alwayson" \
            and _state(settings, "securitySettings", "immutabilitySettings") == "locked":
        bcdr = "Excellent"
    else:
        bcdr = "Good"
    return score, bcdr, ([regions.paired_region(settings["location"])] if geo and crr else [])


# ------------------------------------------------------------------------------------------ identity


def _canonical_identity_type(value):
    if not isinstance(value, str):
        raise invalid_input("'identity.type' is required: one of " + ", ".join(IDENTITY_TYPES) + ".", "identity.type")
    compact = value.replace(" ", "").lower()
    for item in IDENTITY_TYPES:
        if item.lower() == compact:
            return item
    raise invalid_input(f"Invalid value '{value}' for 'identity.type'. Allowed values are: "
                        f"{', '.join(IDENTITY_TYPES)}.", "identity.type")


def _parse_identity(request, raw, current, vault_id, vault_name):
    """The vault's identity after this request; creates/removes the system-assigned principal as needed."""
    if raw is None:
        return current
    require_object(raw, "identity")
    kind = _canonical_identity_type(ci_get(raw, "type"))
    user_assigned = ci_get(raw, "userAssignedIdentities") or {}
    if not isinstance(user_assigned, dict):
        raise invalid_input("'identity.userAssignedIdentities' must be an object keyed by identity ARM id.",
                            "identity.userAssignedIdentities")
    wants_user = "UserAssigned" in kind
    if wants_user and not user_assigned:
        raise invalid_input("'identity.userAssignedIdentities' is required when identity.type includes "
                            "UserAssigned.", "identity.userAssignedIdentities")
    if user_assigned and not wants_user:
        raise invalid_input("'identity.userAssignedIdentities' is allowed only when identity.type includes "
                            "UserAssigned.", "identity.userAssignedIdentities")
    result = {"type": kind}
    if wants_user:
        resolved = {}
        for key in user_assigned:
            found = find_identity(request.store, key)
            if found is None:
                raise ArmError(400, "FailedIdentityOperation",
                               f"Identity operation for resource '{vault_id}' failed with error 'Failed to perform "
                               f"resource identity operation. Status: 'NotFound'. Response: '{{\"error\":{{\"code\":"
                               f"\"NotFound\",\"message\":\"Resource '{key}' was not found.\"}}}}'.'.")
            resolved[key] = {"clientId": found["properties"]["clientId"],
                             "principalId": found["properties"]["principalId"]}
        result["userAssignedIdentities"] = resolved
    had_system = bool(current and current.get("principalId"))
    if "SystemAssigned" in kind:
        if had_system:
            principal_id = current["principalId"]
        else:
            generation = request.store.bump(f"vault-identity:{vault_id.lower()}")
            principal_id = seed.derived_guid("vault-system-identity", vault_id, generation)
            identity.add_principal(request.store, principal_id, vault_name, kind="ManagedIdentity",
                                   resource_id=vault_id)
        result["principalId"] = principal_id
        result["tenantId"] = seed.TENANT_ID
    elif had_system:
        identity.remove_principal(request.store, current["principalId"])
    return result


# ---------------------------------------------------------------------------------------- rendering


# What the service fills in on every vault GET when the settings were never set (recorded real answers).
_RENDERED_DEFAULTS = {
    "securitySettings": {"immutabilitySettings": {"state": "Disabled"}},
    "featureSettings": {"crossSubscriptionRestoreSettings": {"state": "Enabled"},
                        "crossRegionRestoreSettings": {"state": "Disabled"}},
}


def _with_defaults(section, stored):
    defaults = _RENDERED_DEFAULTS.get(section, {})
    return {**defaults, **(stored or {})} if defaults else stored


def _render(record):
    """The vault as the service returns it (key order as observed in real responses)."""
    settings = record["settings"]
    score, bcdr, replicated = _scores(dict(settings, location=record["location"]))
    properties = {"provisioningState": record["provisioningState"],
                  "storageSettings": settings["storageSettings"],
                  "isVaultProtectedByResourceGuard": False}
    for key in ("securitySettings", "featureSettings", "monitoringSettings", "costManagementSettings"):
        rendered = _with_defaults(key, settings.get(key))
        if rendered:
            properties[key] = rendered
    properties.update(secureScore=score, bcdrSecurityLevel=bcdr, replicatedRegions=replicated)
    body = {"location": record["location"]}
    if record.get("tags") is not None:
        body["tags"] = record["tags"]
    if record.get("identity") is not None:
        body["identity"] = record["identity"]
    body.update(properties=properties, id=record["id"], name=record["name"], type=VAULT_TYPE)
    return body


def vault_id_of(request):
    group = require_resource_group(request.store, request.subscription_id, request.values["resource_group"])
    return f"{group['id']}/providers/{VAULT_TYPE}/{request.values['vault']}", group


def find_vault(store, vault_id):
    """The stored vault record (``_render`` gives its body), or None; used by other resource modules."""
    return store.table(TABLE).get(vault_id.lower())


def get_vault_or_404(request):
    vault_id, _group = vault_id_of(request)
    record = find_vault(request.store, vault_id)
    if record is None:
        raise resource_not_found(VAULT_TYPE, request.values["vault"], request.values["resource_group"])
    return record


def vault_child(request, table, collection, key):
    """(record or None, vault) of the vault's child named by route value ``key`` (``{vault}/{collection}/{name}``)."""
    vault = get_vault_or_404(request)
    return request.store.table(table).get(f"{vault['id']}/{collection}/{request.values[key]}".lower()), vault


def vault_child_or_404(request, table, collection, key, child_type):
    """Like ``vault_child``, with the 404 ARM answers for a missing child."""
    record, vault = vault_child(request, table, collection, key)
    if record is None:
        raise resource_not_found(child_type, f"{request.values['vault']}/{request.values[key]}",
                                 request.values["resource_group"])
    return record, vault


def vault_children(request, table, collection):
    """The records of one of the vault's child collections, in id order."""
    vault = get_vault_or_404(request)
    return request.store.under(table, f"{vault['id']}/{collection}/")


def _system_data_header(request, created):
    stamp = iso(request.store.clock.now())
    data = {"lastModifiedBy": request.caller.client_id, "lastModifiedByType": "Application", "lastModifiedAt": stamp}
    if created:
        data = {"createdBy": request.caller.client_id, "createdByType": "Application", "createdAt": stamp, **data}
    return {"x-ms-arm-resource-system-data": json.dumps(data)}


def _finish_write(store, op):
    record = find_vault(store, op.resource_id)
    if record is not None:
        record["provisioningState"] = "Succeeded"


def _finish_delete(store, op):
    record = store.table(TABLE).pop(op.resource_id.lower(), None)
    if record is not None:
        principal = (record.get("identity") or {}).get("principalId")
        if principal:
            identity.remove_principal(store, principal)
        registry.call_hooks("vault_deleted", store, record)


def _refuse_if_busy(request, vault_id):
    if request.store.operations.running_for(vault_id):
        raise ArmError(409, "UserErrorAnotherOperationInProgress",
                       "Another operation is in progress on this backup vault. Retry after it completes.")


# ---------------------------------------------------------------------------------------------- routes


@registry.route(VAULT_RULE, ["PUT"], action=f"{VAULT_TYPE}/write", provider=PROVIDER)
def put_vault(request):
    name = request.values["vault"]
    if not _NAME.match(name):
        raise invalid_input(f"The vault name '{name}' is invalid. Vault names must be 2-50 characters long, start with "
                            "a letter and contain only letters, numbers and hyphens.", "name",
                            code="UserErrorInvalidVaultName")
    vault_id, _group = vault_id_of(request)
    body = request.json_object()
    location = ci_get(body, "location")
    if not isinstance(location, str) or not location.strip():
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    require_known_location(location, VAULT_TYPE)
    existing = find_vault(request.store, vault_id)
    if existing is not None:
        _refuse_if_busy(request, vault_id)
        if regions.normalize(existing["location"]) != regions.normalize(location):
            raise ArmError(409, "InvalidResourceLocation",
                           f"The resource '{name}' already exists in location '{existing['location']}' in resource "
                           f"group '{request.values['resource_group']}'. A resource with the same name cannot be "
                           f"created in location '{location}'. Please select a new resource name.")
    properties = require_object(ci_get(body, "properties"), "properties")
    current = existing["settings"] if existing else {}
    settings = _merge_sections(current, properties)
    if ci_get(properties, "storageSettings") is not None or not existing:
        settings["storageSettings"] = _parse_storage_settings(ci_get(properties, "storageSettings"))
    settings.setdefault("securitySettings", {}).setdefault(
        "softDeleteSettings", {"state": "On", "retentionDurationInDays": 14.0})
    if existing:
        _check_transitions(current, settings)
    _check_consistency(settings)
    tags = _parse_tags(ci_get(body, "tags"))
    vault_identity = _parse_identity(request, ci_get(body, "identity"), existing.get("identity") if existing else None,
                                     vault_id, name)
    record = existing if existing else {"id": vault_id, "name": name}
    record.update(location=existing["location"] if existing else location, settings=settings,
                  identity=vault_identity, provisioningState="Updating" if existing else "Provisioning")
    record["tags"] = tags  # PUT replaces tags, as ARM does; PATCH below keeps them unless given
    request.store.table(TABLE)[vault_id.lower()] = record
    op = request.store.operations.start("backupVaults/write", vault_id, location, on_complete=_finish_write)
    headers = {"Azure-AsyncOperation": request.url(f"{vault_id}/operationStatus/{op.op_id}",
                                                   **{"api-version": request.api_version}),
               **request.store.operations.start_headers(op)}
    headers.update(_system_data_header(request, created=existing is None))
    return json_response(201, _render(record), headers)


@registry.route(VAULT_RULE, ["GET"], action=f"{VAULT_TYPE}/read", provider=PROVIDER)
def get_vault(request):
    return json_response(200, _render(get_vault_or_404(request)))


@registry.route(VAULT_RULE, ["PATCH"], action=f"{VAULT_TYPE}/write", provider=PROVIDER)
def patch_vault(request):
    record = get_vault_or_404(request)
    vault_id = record["id"]
    _refuse_if_busy(request, vault_id)
    body = request.json_object()
    properties = require_object(ci_get(body, "properties"), "properties", required=False) or {}
    settings = _merge_sections(record["settings"], properties)
    _check_transitions(record["settings"], settings)
    _check_consistency(settings)
    tags = _parse_tags(ci_get(body, "tags"))
    record["identity"] = _parse_identity(request, ci_get(body, "identity"), record.get("identity"), vault_id,
                                         record["name"])
    record["settings"] = settings
    if tags is not None:
        record["tags"] = tags
    record["provisioningState"] = "Updating"
    op = request.store.operations.start("backupVaults/patch", vault_id, record["location"], on_complete=_finish_write)
    version = {"api-version": request.api_version}
    headers = {"Azure-AsyncOperation": request.url(f"{vault_id}/operationStatus/{op.op_id}", **version),
               "Location": request.url(f"{vault_id}/operationResults/{op.op_id}", **version),
               **request.store.operations.start_headers(op)}
    headers.update(_system_data_header(request, created=False))
    return json_response(202, None, headers)


@registry.route(VAULT_RULE, ["DELETE"], action=f"{VAULT_TYPE}/delete", provider=PROVIDER)
def delete_vault(request):
    vault_id, _group = vault_id_of(request)
    record = find_vault(request.store, vault_id)
    if record is None:
        return json_response(204)
    _refuse_if_busy(request, vault_id)
    blockers = registry.call_hooks("vault_delete_blockers", request.store, record)
    if blockers:
        raise blockers[0]
    location = regions.normalize(record["location"])
    op = request.store.operations.start("backupVaults/delete", vault_id, location, on_complete=_finish_delete)
    group_id = resource_group_id(request.subscription_id, request.values["resource_group"])
    version = {"api-version": request.api_version}
    headers = {
        "Azure-AsyncOperation": request.url(
            f"{group_id}/providers/{PROVIDER}/locations/{location}/operationStatus/{op.op_id}", **version),
        "Location": request.url(
            f"/subscriptions/{request.subscription_id}/providers/{PROVIDER}/locations/{location}/operationResults/"
            f"{op.op_id}", **version),
        **request.store.operations.start_headers(op),
    }
    return json_response(202, None, headers)


@registry.route(f"{GROUP_RULE}/backupVaults", ["GET"], action=f"{VAULT_TYPE}/read", provider=PROVIDER)
def list_vaults_in_group(request):
    group = require_resource_group(request.store, request.subscription_id, request.values["resource_group"])
    items = [_render(record) for record in request.store.under(TABLE, f"{group['id']}/")]
    return paged(request, items)


@registry.route(f"{SUB_RULE}/backupVaults", ["GET"], action=f"{VAULT_TYPE}/read", provider=PROVIDER)
def list_vaults_in_subscription(request):
    items = [_render(record) for record in request.store.under(TABLE, f"/subscriptions/{request.subscription_id}/")]
    return paged(request, items)


@registry.route(f"{GROUP_RULE}/locations/<location>/checkNameAvailability", ["POST"],
                action=f"{PROVIDER}/locations/checkNameAvailability/action", provider=PROVIDER)
def check_name_availability(request):
    group = require_resource_group(request.store, request.subscription_id, request.values["resource_group"])
    body = request.json_object()
    name = ci_get(body, "name")
    if not isinstance(name, str):
        raise invalid_input("'name' is required.", "name")
    if find_vault(request.store, f"{group['id']}/providers/{VAULT_TYPE}/{name}") is not None:
        return json_response(200, {"nameAvailable": False, "reason": "AlreadyExists",
                                   "message": f"A backup vault named '{name}' already exists."})
    if not _NAME.match(name):
        return json_response(200, {"nameAvailable": False, "reason": "Invalid",
                                   "message": "Vault names must be 2-50 characters long, start with a letter and "
                                              "contain only letters, numbers and hyphens."})
    return json_response(200, {"nameAvailable": True})


# ----------------------------------------------------------------------------------- async operations


def _operation_or_404(request):
    op = request.store.operations.get(request.values["operation"])
    if op is None or f"/subscriptions/{request.subscription_id}/".lower() not in op.resource_id.lower() + "/":
        raise ArmError(404, "OperationNotFound", f"The operation '{request.values['operation']}' was not found.")
    return op


def _status(request):
    op = _operation_or_404(request)
    return json_response(200, status_body(op, request.path), request.store.operations.poll_headers(op))


def _pending(request, op):
    """202 for a running operation, pointing back at the same result URL."""
    version = {"api-version": request.api_version}
    return json_response(202, None, {
        "Location": request.url(request.path, **version),
        "Azure-AsyncOperation": request.url(
            f"/subscriptions/{request.subscription_id}/providers/{PROVIDER}/locations/{regions.normalize(op.location)}"
            f"/operationStatus/{op.op_id}", **version),
        **request.store.operations.poll_headers(op),
    })


def _failed(op):
    error = op.error or {"code": "InternalError", "message": "The operation failed."}
    return ArmError(400, error.get("code", "InternalError"), error.get("message", "The operation failed."))


def _operation_routes(kind, *prefixes):
    """Register a handler for ``{prefix}/{kind}/<operation>`` in each URL form the service hands out; the vault's own
    form needs the vault's action, the others the provider's location action."""
    def decorate(handler):
        for prefix in prefixes:
            owner = VAULT_TYPE if prefix == VAULT_RULE else f"{PROVIDER}/locations"
            registry.route(f"{prefix}/{kind}/<operation>", ["GET"], action=f"{owner}/{kind}/read",
                           provider=PROVIDER)(handler)
        return handler
    return decorate


@_operation_routes("operationStatus", f"{SUB_RULE}/locations/<location>", f"{GROUP_RULE}/locations/<location>",
                   GROUP_RULE, VAULT_RULE)
def operation_status(request):
    """Every URL form the service hands out for an operation's status. The resource-group location form is not in
    the spec, but the service gives it for vault deletes (recorded traffic) and serves it."""
    return _status(request)


@_operation_routes("operationResults", f"{SUB_RULE}/locations/<location>", GROUP_RULE, VAULT_RULE)
def operation_result(request):
    """202 while the operation runs, its error once failed; then the job it started (location forms) or the vault
    (the vault's own form; 204 after a delete)."""
    op = _operation_or_404(request)
    if op.running:
        return _pending(request, op)
    if op.error:
        raise _failed(op)
    if "vault" not in request.values:
        return json_response(200, {"objectType": "OperationJobExtendedInfo", **op.result})
    record = find_vault(request.store, op.resource_id)
    if record is None or op.kind == "backupVaults/delete":
        return json_response(204)
    return json_response(200, _render(record))
