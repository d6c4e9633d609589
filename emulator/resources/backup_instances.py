"""Microsoft.DataProtection backupInstances of PostgreSQL flexible servers, their operations and deleted instances.

Status codes and long-running-operation headers follow the 2026-06-01 spec (BackupInstances_*,
DeletedBackupInstances_*, examples under BackupInstanceOperations/ and DeletedBackupInstanceOperations/) and
recorded real traffic (azure-cli-extensions dataprotection recordings ``test_dataprotection_backup_and_restore_pgflex``
and ``test_dataprotection_backup_instance_softdelete``; the REST how-to "Back up PostgreSQL databases by using the
Data Protection REST API"):

- PUT -> 201 (new) / 200 (update) + the instance (``provisioningState`` Provisioning/Updating,
  ``ConfiguringProtection`` / ``UpdatingProtection``) + ``Azure-AsyncOperation`` (vault ``operationStatus``) +
  ``Retry-After``; no ``Location`` (recorded). The SDK then GETs the instance.
- GET -> 200; list -> 200 ``{"value", "nextLink"}``; 404 ``ResourceNotFound``.
- DELETE -> 202 + ``Azure-AsyncOperation`` (vault ``operationStatus``) + ``Location`` (subscription + location
  ``operationResults``) + ``Retry-After``; 204 when there is no such instance (recorded).
- POST validateForBackup / backup / stopProtection / suspendBackups / resumeProtection / resumeBackups /
  deletedBackupInstances/{name}/undelete -> 202 with the same three headers. The location ``operationResults``
  then answers 200 ``{"objectType": "OperationJobExtendedInfo"}`` (plus ``jobId``, the job's full id, for
  ``backup``), and the operation status carries ``properties.jobId`` for ``backup`` (recorded). Asking to resume
  an instance that is already protected answers 200 with no body and does nothing (recorded); the other
  "already there" requests do the same.
- ``.../backupInstances/{name}/operationResults/{id}`` (BackupInstances_GetBackupInstanceOperationResult) -> 202
  while running, then 200 + the instance.
- ``/{server id}/providers/Microsoft.DataProtection/backupInstances`` (BackupInstancesExtensionRouting_List): the
  instances protecting that server, in any vault.

Behaviour:

- Protection: after the PUT's operation completes (``--lro-seconds``) the service checks that the vault identity
  named by ``identityDetails`` holds its roles, then keeps configuring for ``protection_seconds`` (settings;
  default ``--lro-seconds``) and ends ``ProtectionConfigured``, or ``ProtectionError`` with
  ``protectionStatus.errorDetails`` (UserFacingError) when roles are missing: the PUT itself succeeds, as the real
  service does (terraform-provider-azurerm#15844: "unexpected state 'ProtectionError'"). With
  ``validationType: DeepValidation`` the PUT's operation fails instead. A PUT that changes the policy (or the
  identity) is ``UpdatingProtection`` -> ``ProtectionConfigured``; changing the data source is refused.
- validateForBackup checks synchronously what needs no time (400s: body, data source type and existence, region,
  policy, identity, already protected) and, in the operation, the roles: Reader (acdd72a7-...) on the server's
  resource group and PostgreSQL Flexible Server Long Term Retention Backup Role (c088a766-...) on the server, each
  at that scope or above, counted once older than ``--propagation-seconds``. Missing ones fail the operation with
  ``UserErrorMissingRequiredPermissions`` ("Appropriate permissions to perform the operation is missing.", the
  documented code and message), the message naming each missing role, its definition id and the scope.
- Ad hoc backup: a job (``isUserTriggered: true``) InProgress for ``job_seconds`` (settings; default
  ``--lro-seconds``), then Completed with a recovery point tagged ``retentionTagOverride`` (Default when absent)
  and kept for that rule's duration, or Failed when a ``job_failure`` fault applies. One backup at a time per
  instance (``UserErrorMaxConcurrentOperationLimitReached``, documented for PostgreSQL flexible servers).
- Simulated clock: advancing it runs each ProtectionConfigured instance's scheduled backups (``emulator.schedule``)
  as ScheduledBackup jobs (``isUserTriggered: false``) and recovery points, expires recovery points (not those of
  stopped or soft-deleted instances) and purges soft-deleted instances whose purge time has come.
- Stop protection keeps the data and stops expiry (ProtectionStopped); suspend backups keeps expiring data per
  policy (BackupSchedulesSuspended); resumeProtection / resumeBackups return them to ProtectionConfigured.
- DELETE with the vault's soft delete On or AlwaysOn moves the instance (and its recovery points) to
  ``deletedBackupInstances`` (``SoftDeleted``, ``deletionInfo`` with ``scheduledPurgeTime`` = now + the vault's
  retention days, as recorded); undelete brings it back ProtectionStopped. Otherwise it is gone with its points.
- Hooks: ``policy_users`` / ``policy_soft_deleted_users`` (policies.py refuses deleting a policy in use),
  ``vault_delete_blockers`` (a vault with instances, live or soft-deleted, cannot be deleted), ``vault_deleted``.

Error codes: ``UserErrorMissingRequiredPermissions``, ``UserErrorDppDatasourceAlreadyProtected`` (documented) and
``UserErrorMaxConcurrentOperationLimitReached`` (documented for PostgreSQL flexible servers),
``UserErrorGenericResourceNotFound`` (recorded for undelete of nothing); body errors use the service's
``BMSUserErrorInvalidInput`` shape. Not found in public material, hence chosen: ``BMSUserErrorMismatchedRegion``
(server and vault in different regions), ``UserErrorInvalidStateForOperation`` (an operation the instance's
state does not allow) and ``UserErrorVaultNotEmpty`` (vault delete with instances).
"""

import copy
import time
from datetime import timedelta

from emulator import rbac, regions, registry, seed
from emulator.arm import ArmError, ci_get, json_response, new_guid, paged, resource_not_found
from emulator.clock import iso
from emulator.lro import OperationManager
from emulator.resources import jobs, recovery_points
from emulator.resources.policies import PGFLEX, find_policy
from emulator.resources.postgres import TABLE as SERVERS_TABLE
from emulator.resources.vaults import (
    GROUP_RULE,
    PROVIDER,
    VAULT_RULE,
    VAULT_TYPE,
    find_vault,
    get_vault_or_404,
    invalid_input,
)
from emulator.schedule import (
    FirstTracker,
    backup_rule,
    expiry_time,
    occurrences,
    plan_one,
    policy_zone,
    retention_duration,
    retention_rule,
)

TABLE = recovery_points.INSTANCE_TABLE
DELETED_TABLE = "deletedBackupInstances"
INSTANCE_TYPE = f"{VAULT_TYPE}/backupInstances"
DELETED_TYPE = f"{VAULT_TYPE}/deletedBackupInstances"
INSTANCES_RULE = f"{VAULT_RULE}/backupInstances"
INSTANCE_RULE = f"{INSTANCES_RULE}/<instance>"

CONFIGURING = "ConfiguringProtection"
UPDATING = "UpdatingProtection"
CONFIGURED = "ProtectionConfigured"
PROTECTION_ERROR = "ProtectionError"
STOPPED = "ProtectionStopped"
SUSPENDED = "BackupSchedulesSuspended"
SOFT_DELETED = "SoftDeleted"

READER = seed.READER_ROLE
PG_LTR = seed.PG_LTR_BACKUP_ROLE
SCHEDULED_JOB_MINUTES = 3


# ----------------------------------------------------------------------------------------------- helpers


def _settings_seconds(store, name):
    value = getattr(store.settings, name, None)
    return store.settings.lro_seconds if value is None else value


def _user_error(status, code, message, recommended, target="", detail=None):
    """An ARM error in the service's user-error shape (code + message + additionalInfo[UserFacingError])."""
    info = jobs.user_facing_error(code, message, recommended, detail=detail)
    info["target"] = target
    return ArmError(status, code, message, additionalInfo=[{"info": info, "type": "UserFacingError"}])


def _state_error(record, operation, hint):
    return _user_error(400, "UserErrorInvalidStateForOperation",
                       f"{operation} is not allowed for backup instance '{record['name']}' in state "
                       f"'{record['state']}'. {hint}", hint)


def instance_id_of(vault, name):
    return f"{vault['id']}/backupInstances/{name}"


def deleted_id_of(vault, name):
    return f"{vault['id']}/deletedBackupInstances/{name}"


def find_instance(store, instance_id):
    return store.table(TABLE).get(instance_id.lower())


def _instance_or_404(request, vault=None):
    vault = vault or get_vault_or_404(request)
    record = find_instance(request.store, instance_id_of(vault, request.values["instance"]))
    if record is None:
        raise resource_not_found(INSTANCE_TYPE, f"{request.values['vault']}/{request.values['instance']}",
                                 request.values["resource_group"])
    return record, vault


def _vault_location(vault):
    return regions.normalize(vault["location"])


def _lro_headers(request, vault, op, location=True):
    """Azure-AsyncOperation on the vault, Location on the subscription + vault region, Retry-After (recorded)."""
    version = {"api-version": request.api_version}
    headers = {"Azure-AsyncOperation": request.url(f"{vault['id']}/operationStatus/{op.op_id}", **version)}
    if location:
        headers["Location"] = request.url(
            f"/subscriptions/{request.subscription_id}/providers/{PROVIDER}/locations/{_vault_location(vault)}"
            f"/operationResults/{op.op_id}", **version)
    headers["Retry-After"] = str(OperationManager.retry_after(op)) if op.running else "1"
    return headers


def _soft_delete(vault):
    """(enabled, retention days) of the vault's soft delete settings."""
    settings = (vault.get("settings") or {}).get("securitySettings", {}).get("softDeleteSettings") or {}
    state = str(settings.get("state") or "Off").lower()
    return state in ("on", "alwayson"), float(settings.get("retentionDurationInDays") or 14)


# ----------------------------------------------------------------------------------------- body parsing


def _object(value, path, required=True):
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        kind = "missing" if value is None else f"a {type(value).__name__}, not an object"
        raise invalid_input(f"'{path}' is {kind}; a JSON object is required.", path)
    return value


def _string(value, path, required=True):
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise invalid_input(f"'{path}' is required: a non-empty string.", path)
    return value


def _same(left, right):
    return isinstance(left, str) and isinstance(right, str) and left.strip().rstrip("/").lower() == \
        right.strip().rstrip("/").lower()


def _find_server(store, resource_id):
    return store.table(SERVERS_TABLE).get((resource_id or "").strip().rstrip("/").lower())


def _parse_datasource(raw, path, object_type):
    raw = _object(raw, path)
    kind = ci_get(raw, "objectType")
    if kind is not None and not _same(kind, object_type):
        raise invalid_input(f"Invalid value '{kind}' for '{path}.objectType'; expected '{object_type}'.",
                            f"{path}.objectType")
    resource_id = _string(ci_get(raw, "resourceID"), f"{path}.resourceID")
    datasource_type = _string(ci_get(raw, "datasourceType"), f"{path}.datasourceType")
    if not _same(datasource_type, PGFLEX):
        raise invalid_input(f"Datasource type '{datasource_type}' in '{path}.datasourceType' is not supported here: "
                            f"only {PGFLEX} (Azure Database for PostgreSQL flexible servers) can be protected.",
                            f"{path}.datasourceType")
    resource_type = ci_get(raw, "resourceType")
    if resource_type not in (None, "") and not _same(resource_type, PGFLEX):
        raise invalid_input(f"'{path}.resourceType' is '{resource_type}' but the datasource type is {PGFLEX}.",
                            f"{path}.resourceType")
    for key in ("resourceName", "resourceLocation", "resourceUri"):
        _string(ci_get(raw, key), f"{path}.{key}", required=False)
    return raw, resource_id


def parse_instance(store, vault, properties):
    """Validate a BackupInstance body (PUT properties or validateForBackup's backupInstance).

    Returns (stored body, server resource, policy record, identity (principal id, description)); raises the
    synchronous 400s of the service.
    """
    properties = _object(properties, "properties")
    kind = ci_get(properties, "objectType")
    if not _same(kind, "BackupInstance"):
        raise invalid_input(f"'properties.objectType' must be 'BackupInstance'; got {kind!r}.", "properties.objectType")
    source, resource_id = _parse_datasource(ci_get(properties, "dataSourceInfo"), "properties.dataSourceInfo",
                                            "Datasource")
    server = _find_server(store, resource_id)
    if server is None:
        raise _user_error(400, "UserErrorGenericResourceNotFound",
                          f"Azure resource '{resource_id}' does not exist. Please make sure required resources exist. "
                          "If the issue persists, contact Microsoft support.",
                          "Check properties.dataSourceInfo.resourceID: it must be the ARM id of an existing "
                          "PostgreSQL flexible server.", "properties.dataSourceInfo.resourceID")
    source_set = ci_get(properties, "dataSourceSetInfo")
    if source_set is not None:
        source_set, set_id = _parse_datasource(source_set, "properties.dataSourceSetInfo", "DatasourceSet")
        if not _same(set_id, resource_id):
            raise invalid_input("'properties.dataSourceSetInfo.resourceID' must be the server itself "
                                f"('{resource_id}') for {PGFLEX}; got '{set_id}'.",
                                "properties.dataSourceSetInfo.resourceID")
    server_region = regions.normalize(server["location"])
    vault_region = regions.normalize(vault["location"])
    if server_region != vault_region:
        message = (f"The datasource '{server['name']}' is in region '{server_region}' but the backup vault "
                   f"'{vault['name']}' is in region '{vault_region}'. Azure Backup protects a PostgreSQL flexible "
                   "server only with a backup vault in the same region.")
        raise _user_error(400, "BMSUserErrorMismatchedRegion", message,
                          f"Use a backup vault in region '{server_region}'.", "properties.dataSourceInfo")
    policy_info = _object(ci_get(properties, "policyInfo"), "properties.policyInfo")
    policy_id = _string(ci_get(policy_info, "policyId"), "properties.policyInfo.policyId")
    policy = find_policy(store, policy_id)
    if policy is None or not _same(policy.get("vaultId"), vault["id"]):
        raise invalid_input(f"Backup policy '{policy_id}' was not found in backup vault '{vault['name']}'. A backup "
                            "instance uses a policy of its own vault.", "properties.policyInfo.policyId")
    kinds = policy["properties"].get("datasourceTypes") or []
    if not any(_same(item, PGFLEX) for item in kinds):
        raise invalid_input(f"Backup policy '{policy['name']}' is for {', '.join(kinds)}, not for {PGFLEX}.",
                            "properties.policyInfo.policyId")
    identity_details = _object(ci_get(properties, "identityDetails"), "properties.identityDetails", required=False)
    principal = vault_principal(vault, identity_details)
    body = {"friendlyName": _string(ci_get(properties, "friendlyName"), "properties.friendlyName", required=False)
            or server["name"],
            "dataSourceInfo": _render_source(source, resource_id, server, "Datasource")}
    if source_set is not None:
        body["dataSourceSetInfo"] = _render_source(source_set, resource_id, server, "DatasourceSet")
    stored_policy = {"policyId": policy_id}
    if ci_get(policy_info, "policyParameters") is not None:
        stored_policy["policyParameters"] = ci_get(policy_info, "policyParameters")
    body["policyInfo"] = stored_policy
    if identity_details is not None:
        keys = ("useSystemAssignedIdentity", "userAssignedIdentityArmUrl")
        pairs = [(key, ci_get(identity_details, key)) for key in keys]
        body["identityDetails"] = {key: value for key, value in pairs if value is not None}
    validation = ci_get(properties, "validationType")
    if validation is not None and not (_same(validation, "ShallowValidation") or _same(validation, "DeepValidation")):
        raise invalid_input(f"Invalid value '{validation}' for 'properties.validationType'. Allowed values are: "
                            "ShallowValidation, DeepValidation.", "properties.validationType")
    return body, server, policy, principal, _same(validation, "DeepValidation")


def _render_source(raw, resource_id, server, object_type):
    """dataSourceInfo as the service echoes it (recorded key order), missing fields filled from the server."""
    return {"resourceID": resource_id,
            "resourceUri": ci_get(raw, "resourceUri") if ci_get(raw, "resourceUri") is not None else "",
            "datasourceType": ci_get(raw, "datasourceType"),
            "resourceName": ci_get(raw, "resourceName") or server["name"],
            "resourceType": ci_get(raw, "resourceType") or ci_get(raw, "datasourceType"),
            "resourceLocation": ci_get(raw, "resourceLocation") or regions.normalize(server["location"]),
            "objectType": object_type}


def vault_principal(vault, identity_details):
    """(principal id, description) of the vault identity a backup instance uses; 400 when the vault lacks it."""
    identity = vault.get("identity") or {}
    details = identity_details or {}
    use_system = ci_get(details, "useSystemAssignedIdentity")
    user_url = ci_get(details, "userAssignedIdentityArmUrl")
    if use_system is not None and not isinstance(use_system, bool):
        raise invalid_input("'properties.identityDetails.useSystemAssignedIdentity' must be true or false.",
                            "properties.identityDetails.useSystemAssignedIdentity")
    if use_system is False or (use_system is None and user_url):
        if not isinstance(user_url, str) or not user_url.strip():
            raise invalid_input("'properties.identityDetails.userAssignedIdentityArmUrl' is required when "
                                "useSystemAssignedIdentity is false.",
                                "properties.identityDetails.userAssignedIdentityArmUrl")
        for key, value in (identity.get("userAssignedIdentities") or {}).items():
            if _same(key, user_url):
                return value["principalId"], f"user-assigned identity '{key}'"
        names = ", ".join(identity.get("userAssignedIdentities") or {}) or "none"
        raise invalid_input(f"The user-assigned identity '{user_url}' is not an identity of backup vault "
                            f"'{vault['name']}' (its user-assigned identities: {names}). Add it to the vault's "
                            "identity first.", "properties.identityDetails.userAssignedIdentityArmUrl")
    if not identity.get("principalId"):
        raise invalid_input(f"Backup vault '{vault['name']}' has no system-assigned managed identity "
                            f"(identity type: {identity.get('type', 'None')}). Enable it, or name one of the vault's "
                            "user-assigned identities in properties.identityDetails.userAssignedIdentityArmUrl with "
                            "useSystemAssignedIdentity false.", "properties.identityDetails")
    return identity["principalId"], f"system-assigned identity of backup vault '{vault['name']}'"


def _protecting(store, resource_id, exclude_id=None):
    """(record, soft deleted?) of an instance (any vault) that protects a data source, or (None, False)."""
    for table, deleted in ((TABLE, False), (DELETED_TABLE, True)):
        for key, record in store.table(table).items():
            if exclude_id and key == exclude_id.lower():
                continue
            if _same(record["body"]["dataSourceInfo"]["resourceID"], resource_id):
                return record, deleted
    return None, False


def _refuse_if_protected(store, resource_id, exclude_id=None):
    record, deleted = _protecting(store, resource_id, exclude_id)
    if record is None:
        return
    vault_id = record["vaultId"]
    state = " (soft deleted: undelete it, or wait until it is purged)" if deleted else ""
    raise _user_error(400, "UserErrorDppDatasourceAlreadyProtected",
                      f"Datasource is already protected under the Backup vault {vault_id}.",
                      f"Delete the backup instance {record['name']} from the Backup vault {vault_id}{state} to "
                      "re-protect the datasource in any other vault.")


# ------------------------------------------------------------------------------------------ permissions


def _role_name(guid):
    return rbac.ROLE_DEFINITIONS[guid]["roleName"]


def missing_roles(store, principal_id, server):
    """[(role guid, scope)] the vault identity lacks for backup, counting assignments older than propagation."""
    server_id = server["id"]
    group_scope = server_id.split("/providers/")[0]
    delay = store.settings.propagation_seconds
    needed = ((READER, group_scope), (PG_LTR, server_id))
    return [(role, scope) for role, scope in needed
            if not rbac.role_covered(store, principal_id, role, scope, min_age_seconds=delay)]


def permission_error(principal, missing):
    """The UserErrorMissingRequiredPermissions error (operation ``error`` / UserFacingError) for missing roles."""
    principal_id, description = principal
    parts = [f"role '{_role_name(role)}' (role definition id {role}) on scope '{scope}'" for role, scope in missing]
    detail = (f"The {description} (principal id {principal_id}) is missing " + "; ".join(parts) + ". Assign these "
              "roles to it (an assignment at a parent scope also counts). New role assignments can take a few minutes "
              "to propagate.")
    message = "Appropriate permissions to perform the operation is missing. " + detail
    action = ("Grant appropriate permissions to perform this operation as mentioned at "
              "https://aka.ms/UserErrorMissingRequiredPermissions and retry the operation.")
    info = jobs.user_facing_error("UserErrorMissingRequiredPermissions", message, action,
                                  inner_code="UserErrorMissingRequiredPermissions",
                                  detail=f"Validate for Protection failed. {detail}")
    return info


def _operation_error(info):
    """An operation's ``error`` (ARM shape) from a UserFacingError."""
    return {"code": info["code"], "message": info["message"],
            "additionalInfo": [{"type": "UserFacingError", "info": info}]}


def _check_permissions(store, record):
    """The UserFacingError for an instance whose vault identity lacks roles, or None (also None if gone)."""
    vault = find_vault(store, record["vaultId"])
    server = _find_server(store, record["body"]["dataSourceInfo"]["resourceID"])
    if vault is None or server is None:
        return jobs.user_facing_error("UserErrorGenericResourceNotFound", "Azure resource does not exist. Please "
                                      "make sure required resources exist.", "Check the data source and the vault.")
    try:
        principal = vault_principal(vault, record["body"].get("identityDetails"))
    except ArmError as exc:
        return jobs.user_facing_error(exc.code, exc.message, "Fix the vault identity and retry.")
    missing = missing_roles(store, principal[0], server)
    return permission_error(principal, missing) if missing else None


# ------------------------------------------------------------------------------------------- rendering


def _status_block(record):
    state = record["state"]
    status = {"status": state}
    if state == PROTECTION_ERROR and record.get("error"):
        status["errorDetails"] = record["error"]
    return status


def render_instance(record):
    """The instance as the service returns it (recorded key order)."""
    body = record["body"]
    properties = {"friendlyName": body["friendlyName"], "dataSourceInfo": body["dataSourceInfo"]}
    if "dataSourceSetInfo" in body:
        properties["dataSourceSetInfo"] = body["dataSourceSetInfo"]
    properties["policyInfo"] = body["policyInfo"]
    if "identityDetails" in body:
        properties["identityDetails"] = body["identityDetails"]
    properties["protectionStatus"] = _status_block(record)
    properties["currentProtectionState"] = record["state"]
    if record["state"] == PROTECTION_ERROR and record.get("error"):
        properties["protectionErrorDetails"] = record["error"]
    properties["provisioningState"] = record["provisioningState"]
    properties["objectType"] = "BackupInstance"
    return {"properties": properties, "id": record["id"], "name": record["name"], "type": INSTANCE_TYPE}


def render_deleted(record):
    body = record["body"]
    info = record["deletionInfo"]
    deletion = {"deletionTime": iso(info["deletionTime"]), "billingEndDate": iso(info["deletionTime"]),
                "scheduledPurgeTime": iso(info["purgeTime"]), "deleteActivityID": info["activityId"]}
    properties = {"deletionInfo": deletion, "friendlyName": body["friendlyName"],
                  "dataSourceInfo": body["dataSourceInfo"]}
    if "dataSourceSetInfo" in body:
        properties["dataSourceSetInfo"] = body["dataSourceSetInfo"]
    properties["policyInfo"] = body["policyInfo"]
    if "identityDetails" in body:
        properties["identityDetails"] = body["identityDetails"]
    properties.update(protectionStatus={"status": SOFT_DELETED}, currentProtectionState=SOFT_DELETED,
                      provisioningState="Succeeded", objectType="DeletedBackupInstance")
    return {"properties": properties, "id": record["deletedId"], "name": record["name"], "type": DELETED_TYPE}


def job_context(store, record):
    """The instance facts a job records."""
    vault_parts = record["vaultId"].split("/")
    source = record["body"]["dataSourceInfo"]
    source_parts = source["resourceID"].split("/")
    policy = find_policy(store, record["body"]["policyInfo"]["policyId"])
    return {"vaultId": record["vaultId"], "vaultName": vault_parts[8], "subscriptionId": vault_parts[2],
            "backupInstanceId": record["id"], "backupInstanceFriendlyName": record["body"]["friendlyName"],
            "policyId": policy["id"] if policy else record["body"]["policyInfo"]["policyId"],
            "policyName": policy["name"] if policy else record["body"]["policyInfo"]["policyId"].split("/")[-1],
            "dataSourceId": source["resourceID"], "dataSourceName": source["resourceName"],
            "dataSourceLocation": source["resourceLocation"], "dataSourceType": source["datasourceType"],
            "sourceResourceGroup": source_parts[4] if len(source_parts) > 4 else "",
            "sourceSubscriptionID": source_parts[2] if len(source_parts) > 2 else ""}


# --------------------------------------------------------------------------------------- state changes


def enter_state(store, record, state, error=None):
    """Move an instance to a protection state. Scheduled backups run from the moment it (re)enters
    ProtectionConfigured (the ``watermark``); states without backups forget the watermark (no catch-up)."""
    if state == CONFIGURED:
        if record.get("watermark") is None:
            record["watermark"] = store.clock.now()
    elif state != UPDATING:
        record["watermark"] = None
    record["state"] = state
    record["error"] = error if state == PROTECTION_ERROR else None


def _finish_protection(store, instance_id, generation, error):
    record = find_instance(store, instance_id)
    if record is not None and record.get("generation") == generation:
        enter_state(store, record, PROTECTION_ERROR if error else CONFIGURED, error)
    return None


def _finish_put(store, op, generation, deep, previous):
    """The PUT's operation: provisioning done, roles checked; protection completes ``protection_seconds`` later."""
    record = find_instance(store, op.resource_id)
    if record is None or record.get("generation") != generation:
        return None
    error = _check_permissions(store, record)
    if error and deep:
        if previous is None:
            store.table(TABLE).pop(record["id"].lower(), None)
        else:
            store.table(TABLE)[record["id"].lower()] = previous
        return _operation_error(error)
    record["provisioningState"] = "Succeeded"
    store.operations.start("backupInstances/configureProtection", record["id"], op.location,
                           on_complete=lambda st, _op: _finish_protection(st, record["id"], generation, error),
                           seconds=_settings_seconds(store, "protection_seconds"))
    return None


_BACKGROUND = ("backupInstances/configureProtection", "backupJobs/run")


def _busy(store, record):
    return [op for op in store.operations.running_for(record["id"]) if op.kind not in _BACKGROUND]


def _refuse_if_busy(store, record):
    if _busy(store, record) or record.get("deleting"):
        raise _user_error(409, "UserErrorAnotherOperationInProgress",
                          f"Another operation is in progress on backup instance '{record['name']}'. Retry after it "
                          "completes.", "Retry the operation after the current one completes.")


# ---------------------------------------------------------------------------------------------- routes


@registry.route(INSTANCE_RULE, ["PUT"], action=f"{INSTANCE_TYPE}/write", provider=PROVIDER)
def put_instance(request):
    vault = get_vault_or_404(request)
    name = request.values["instance"]
    if not name.strip() or len(name) > 150 or any(char in name for char in "<>%&:\\?/#*"):
        raise invalid_input(f"The backup instance name '{name}' is invalid.", "name")
    body = request.json_object()
    properties = ci_get(body, "properties")
    stored, server, _policy, _principal, deep = parse_instance(request.store, vault, properties)
    instance_id = instance_id_of(vault, name)
    existing = find_instance(request.store, instance_id)
    previous = copy.deepcopy(existing) if existing else None
    if existing is not None:
        _refuse_if_busy(request.store, existing)
        old_source = existing["body"]["dataSourceInfo"]
        if not _same(old_source["resourceID"], stored["dataSourceInfo"]["resourceID"]):
            raise invalid_input(f"The data source of backup instance '{name}' cannot be changed (current "
                                f"'{old_source['resourceID']}', requested '{stored['dataSourceInfo']['resourceID']}'). "
                                "Only the policy can be changed in place; protect another server with a new backup "
                                "instance.", "properties.dataSourceInfo.resourceID")
        if existing["state"] in (STOPPED, SUSPENDED):
            raise _state_error(existing, "Updating the backup instance",
                               "Resume protection (resumeProtection or resumeBackups) first, then update it.")
        changed = (not _same(existing["body"]["policyInfo"]["policyId"], stored["policyInfo"]["policyId"])
                   or existing["body"].get("identityDetails") != stored.get("identityDetails"))
        if existing["state"] == CONFIGURED:
            new_state = UPDATING if changed else CONFIGURED
        else:
            new_state = CONFIGURING
        record = existing
        record.update(body=stored, provisioningState="Updating")
        enter_state(request.store, record, new_state)
    else:
        _refuse_if_protected(request.store, server["id"])
        record = {"id": instance_id, "name": name, "vaultId": vault["id"], "body": stored, "state": CONFIGURING,
                  "provisioningState": "Provisioning", "error": None, "watermark": None, "tracker": FirstTracker()}
    generation = request.store.bump(f"bi-generation:{instance_id.lower()}")
    record["generation"] = generation
    request.store.table(TABLE)[instance_id.lower()] = record
    rendered = render_instance(record)
    op = request.store.operations.start(
        "backupInstances/write", instance_id, _vault_location(vault),
        on_complete=lambda store, op: _finish_put(store, op, generation, deep, previous))
    return json_response(201 if existing is None else 200, rendered, _lro_headers(request, vault, op, location=False))


@registry.route(INSTANCE_RULE, ["GET"], action=f"{INSTANCE_TYPE}/read", provider=PROVIDER)
def get_instance(request):
    record, _vault = _instance_or_404(request)
    return json_response(200, render_instance(record))


@registry.route(INSTANCES_RULE, ["GET"], action=f"{INSTANCE_TYPE}/read", provider=PROVIDER)
def list_instances(request):
    vault = get_vault_or_404(request)
    items = [render_instance(record) for record in request.store.under(TABLE, f"{vault['id']}/backupInstances/")]
    return paged(request, items)


@registry.route(f"{GROUP_RULE.replace('Microsoft.DataProtection', 'Microsoft.DBforPostgreSQL')}/flexibleServers/"
                f"<server>/providers/{PROVIDER}/backupInstances", ["GET"], action=f"{PROVIDER}/backupInstances/read",
                provider=PROVIDER)
def list_instances_of_server(request):
    """BackupInstancesExtensionRouting_List for a PostgreSQL flexible server: its instances in any vault."""
    server_id = request.path.split(f"/providers/{PROVIDER}/")[0]
    items = [render_instance(record) for _key, record in sorted(request.store.table(TABLE).items())
             if _same(record["body"]["dataSourceInfo"]["resourceID"], server_id)]
    return paged(request, items)


def _finish_delete(store, op):
    record = find_instance(store, op.resource_id)
    if record is None:
        return None
    store.table(TABLE).pop(record["id"].lower(), None)
    vault = find_vault(store, record["vaultId"])
    enabled, days = _soft_delete(vault or {})
    if not enabled:
        recovery_points.delete_points_of(store, record["id"])
        return None
    now = store.clock.now()
    vault_id = record["vaultId"]
    record.update(deleting=False, deletedId=f"{vault_id}/deletedBackupInstances/{record['name']}",
                  deletionInfo={"deletionTime": now, "purgeTime": now + timedelta(days=days),
                                "activityId": new_guid()})
    store.table(DELETED_TABLE)[record["deletedId"].lower()] = record
    return None


@registry.route(INSTANCE_RULE, ["DELETE"], action=f"{INSTANCE_TYPE}/delete", provider=PROVIDER)
def delete_instance(request):
    vault = get_vault_or_404(request)
    record = find_instance(request.store, instance_id_of(vault, request.values["instance"]))
    if record is None:
        return json_response(204)
    _refuse_if_busy(request.store, record)
    record["deleting"] = True
    op = request.store.operations.start("backupInstances/delete", record["id"], _vault_location(vault),
                                        on_complete=_finish_delete)
    return json_response(202, None, _lro_headers(request, vault, op))


@registry.route(f"{INSTANCE_RULE}/operationResults/<operation>", ["GET"], action=f"{INSTANCE_TYPE}/read",
                provider=PROVIDER)
def instance_operation_result(request):
    vault = get_vault_or_404(request)
    op = request.store.operations.get(request.values["operation"])
    instance_id = instance_id_of(vault, request.values["instance"])
    if op is None or op.resource_id.lower() != instance_id.lower():
        raise ArmError(404, "OperationNotFound", f"The operation '{request.values['operation']}' was not found.")
    if op.running:
        return json_response(202, None, {"Location": request.url(request.path, **{"api-version": request.api_version}),
                                         "Retry-After": str(OperationManager.retry_after(op))})
    if op.error:
        raise ArmError(400, op.error.get("code", "InternalError"), op.error.get("message", "The operation failed."))
    record = find_instance(request.store, instance_id)
    if record is None:
        return json_response(204)
    return json_response(200, render_instance(record))


# ------------------------------------------------------------------------------------- validateForBackup


@registry.route(f"{VAULT_RULE}/validateForBackup", ["POST"], action=f"{VAULT_TYPE}/validateForBackup/action",
                provider=PROVIDER)
def validate_for_backup(request):
    vault = get_vault_or_404(request)
    body = request.json_object()
    instance = ci_get(body, "backupInstance")
    if instance is None:
        raise invalid_input("'backupInstance' is required: the BackupInstance to validate.", "backupInstance")
    _stored, server, _policy, principal, _deep = parse_instance(request.store, vault, instance)
    _refuse_if_protected(request.store, server["id"])

    def check(store, _op):
        current = find_vault(store, vault["id"])
        if current is None:
            return {"code": "UserErrorGenericResourceNotFound", "message": "The backup vault no longer exists."}
        missing = missing_roles(store, principal[0], server)
        return _operation_error(permission_error(principal, missing)) if missing else None

    # Not keyed on the vault itself: a validation in flight must not make vault writes answer 409.
    op = request.store.operations.start("validateForBackup", f"{vault['id']}/validateForBackup",
                                        _vault_location(vault), on_complete=check)
    return json_response(202, None, _lro_headers(request, vault, op))


# ------------------------------------------------------------------------------------------ ad hoc backup


def _run_job_now(store, record, job, failure):
    """Finish a job: Failed with the fault's error, or Completed with a recovery point (if the instance is left)."""
    now = store.clock.now()
    if failure is not None:
        jobs.finish_job(job, now, jobs.failure_error(failure))
        return None
    if find_instance(store, record["id"]) is None and \
            store.table(DELETED_TABLE).get(record["id"].replace("/backupInstances/", "/deletedBackupInstances/")
                                           .lower()) is None:
        jobs.finish_job(job, now)
        return None
    policy = find_policy(store, record["body"]["policyInfo"]["policyId"])
    rule = retention_rule(policy["properties"], job["retentionTag"]) if policy else None
    expiry = expiry_time(job["startTime"], retention_duration(rule))
    recovery_points.create_recovery_point(store, record["id"], job["startTime"], (rule or {}).get("name", "Default"),
                                          expiry, job["policyName"])
    jobs.finish_job(job, now)
    return None


@registry.route(f"{INSTANCE_RULE}/backup", ["POST"], action=f"{INSTANCE_TYPE}/backup/action", provider=PROVIDER)
def adhoc_backup(request):
    record, vault = _instance_or_404(request)
    body = request.json_object()
    options = _object(ci_get(body, "backupRuleOptions"), "backupRuleOptions")
    rule_name = _string(ci_get(options, "ruleName"), "backupRuleOptions.ruleName")
    trigger = _object(ci_get(options, "triggerOption"), "backupRuleOptions.triggerOption")
    tag = _string(ci_get(trigger, "retentionTagOverride"), "backupRuleOptions.triggerOption.retentionTagOverride",
                  required=False)
    if record["state"] != CONFIGURED or record.get("deleting"):
        raise _state_error(record, "An on-demand backup",
                           "Back up an instance whose protection is configured (ProtectionConfigured); resume "
                           "protection or fix the protection error first.")
    policy = find_policy(request.store, record["body"]["policyInfo"]["policyId"])
    rule = backup_rule(policy["properties"]) if policy else None
    if rule is None or not _same(rule["name"], rule_name):
        raise invalid_input(f"backupRuleOptions.ruleName '{rule_name}' is not a backup rule of policy "
                            f"'{policy['name'] if policy else '?'}' (its backup rule: "
                            f"{rule['name'] if rule else 'none'}).", "backupRuleOptions.ruleName")
    retention = retention_rule(policy["properties"], tag or "Default")
    if tag and (retention is None or not _same(retention["name"], tag)):
        names = ", ".join(item["name"] for item in policy["properties"]["policyRules"]
                          if item["objectType"] == "AzureRetentionRule")
        raise invalid_input(f"backupRuleOptions.triggerOption.retentionTagOverride '{tag}' does not name a retention "
                            f"rule of policy '{policy['name']}' "
                            f"(rules: {names}).", "backupRuleOptions.triggerOption.retentionTagOverride")
    if jobs.running_backup_jobs(request.store, record["id"]):
        raise _user_error(400, "UserErrorMaxConcurrentOperationLimitReached",
                          "Limit to the number of backups that can be performed on a backup instance has reached to "
                          "maximum.", "Try to trigger a backup operation once the current backup job is complete.")
    store = request.store
    job = jobs.create_backup_job(store, job_context(store, record), store.clock.now(), True,
                                 (tag or "Default"), rule["name"])
    failure = jobs.take_job_failure(store, record["name"])
    store.operations.start("backupJobs/run", record["id"], _vault_location(vault),
                           on_complete=lambda st, _op: _run_job_now(st, record, job, failure),
                           seconds=_settings_seconds(store, "job_seconds"))
    op = store.operations.start("backupInstances/backup", record["id"], _vault_location(vault),
                                result={"jobId": jobs.operation_job_id(vault["id"], job["name"])})
    return json_response(202, None, _lro_headers(request, vault, op))


# --------------------------------------------------------------------------------- stop / suspend / resume


def _transition(request, operation, allowed, target, hint):
    record, vault = _instance_or_404(request)
    request.json()  # optional body (resourceGuardOperationRequests); malformed JSON is a 400
    _refuse_if_busy(request.store, record)
    if record["state"] == target:
        return json_response(200)
    if record["state"] not in allowed:
        raise _state_error(record, operation, hint)

    def finish(store, _op):
        current = find_instance(store, record["id"])
        if current is not None:
            enter_state(store, current, target)
        return None

    op = request.store.operations.start(f"backupInstances/{operation}", record["id"], _vault_location(vault),
                                        on_complete=finish)
    return json_response(202, None, _lro_headers(request, vault, op))


@registry.route(f"{INSTANCE_RULE}/stopProtection", ["POST"], action=f"{INSTANCE_TYPE}/stopProtection/action",
                provider=PROVIDER)
def stop_protection(request):
    return _transition(request, "stopProtection", (CONFIGURED, SUSPENDED, PROTECTION_ERROR), STOPPED,
                       "Stop protection applies to a protected (or suspended) instance; wait until protection is "
                       "configured.")


@registry.route(f"{INSTANCE_RULE}/suspendBackups", ["POST"], action=f"{INSTANCE_TYPE}/suspendBackups/action",
                provider=PROVIDER)
def suspend_backups(request):
    return _transition(request, "suspendBackups", (CONFIGURED,), SUSPENDED,
                       "Suspend backups applies to an instance whose protection is configured; a stopped instance "
                       "must be resumed (resumeProtection) first.")


@registry.route(f"{INSTANCE_RULE}/resumeProtection", ["POST"], action=f"{INSTANCE_TYPE}/resumeProtection/action",
                provider=PROVIDER)
def resume_protection(request):
    return _transition(request, "resumeProtection", (STOPPED,), CONFIGURED,
                       "resumeProtection resumes a stopped instance (ProtectionStopped); use resumeBackups for an "
                       "instance whose backups are suspended.")


@registry.route(f"{INSTANCE_RULE}/resumeBackups", ["POST"], action=f"{INSTANCE_TYPE}/resumeBackups/action",
                provider=PROVIDER)
def resume_backups(request):
    return _transition(request, "resumeBackups", (SUSPENDED,), CONFIGURED,
                       "resumeBackups resumes an instance whose backups are suspended (BackupSchedulesSuspended); "
                       "use resumeProtection for a stopped instance.")


# ------------------------------------------------------------------------------------ deleted instances


def purge_due(store, now=None):
    """Permanently delete soft-deleted instances (and their recovery points) whose purge time has come."""
    now = now or store.clock.now()
    for key, record in list(store.table(DELETED_TABLE).items()):
        if record["deletionInfo"]["purgeTime"] <= now:
            del store.table(DELETED_TABLE)[key]
            recovery_points.delete_points_of(store, record["id"])


def _deleted_or_404(request):
    vault = get_vault_or_404(request)
    purge_due(request.store)
    record = request.store.table(DELETED_TABLE).get(deleted_id_of(vault, request.values["instance"]).lower())
    if record is None:
        raise ArmError(404, "UserErrorGenericResourceNotFound", "Azure resource does not exist. Please make sure "
                       "required resources exist. If the issue persists, contact Microsoft support.")
    return record, vault


@registry.route(f"{VAULT_RULE}/deletedBackupInstances", ["GET"], action=f"{DELETED_TYPE}/read", provider=PROVIDER)
def list_deleted(request):
    vault = get_vault_or_404(request)
    purge_due(request.store)
    items = [render_deleted(record)
             for record in request.store.under(DELETED_TABLE, f"{vault['id']}/deletedBackupInstances/")]
    return paged(request, items)


@registry.route(f"{VAULT_RULE}/deletedBackupInstances/<instance>", ["GET"], action=f"{DELETED_TYPE}/read",
                provider=PROVIDER)
def get_deleted(request):
    record, _vault = _deleted_or_404(request)
    return json_response(200, render_deleted(record))


@registry.route(f"{VAULT_RULE}/deletedBackupInstances/<instance>/undelete", ["POST"],
                action=f"{DELETED_TYPE}/undelete/action", provider=PROVIDER)
def undelete(request):
    record, vault = _deleted_or_404(request)
    if find_instance(request.store, record["id"]) is not None:
        raise _user_error(409, "UserErrorAnotherOperationInProgress",
                          f"A backup instance named '{record['name']}' already exists in the vault.",
                          "Delete or rename the existing backup instance, then undelete.")

    def finish(store, _op):
        deleted = store.table(DELETED_TABLE).pop(record["deletedId"].lower(), None)
        if deleted is None:
            return {"code": "UserErrorGenericResourceNotFound", "message": "The deleted backup instance is gone."}
        for key in ("deletedId", "deletionInfo"):
            deleted.pop(key, None)
        deleted.update(provisioningState="Succeeded", deleting=False)
        enter_state(store, deleted, STOPPED)
        store.table(TABLE)[deleted["id"].lower()] = deleted
        return None

    op = request.store.operations.start("deletedBackupInstances/undelete", record["id"], _vault_location(vault),
                                        on_complete=finish)
    return json_response(202, None, _lro_headers(request, vault, op))


# ------------------------------------------------------------------------------------------------ hooks


def _users(store, table, policy_id):
    return [record["name"] for record in store.table(table).values()
            if _same(record["body"]["policyInfo"]["policyId"], policy_id)]


@registry.hook("policy_users")
def _policy_users(store, policy_id):
    return _users(store, TABLE, policy_id)


@registry.hook("policy_soft_deleted_users")
def _policy_soft_deleted_users(store, policy_id):
    purge_due(store)
    return _users(store, DELETED_TABLE, policy_id)


@registry.hook("vault_delete_blockers")
def _vault_blockers(store, vault_record):
    prefix = f"{vault_record['id']}/".lower()
    live = sorted(record["name"] for key, record in store.table(TABLE).items() if key.startswith(prefix))
    if live:
        return _user_error(400, "UserErrorVaultNotEmpty",
                           f"Backup vault '{vault_record['name']}' cannot be deleted as there are backup instances "
                           f"associated with it: {', '.join(live)}.",
                           "Delete the backup instances (stop protection and delete data) and retry the vault "
                           "deletion.")
    purge_due(store)
    deleted = sorted(record["name"] for key, record in store.table(DELETED_TABLE).items() if key.startswith(prefix))
    if deleted:
        return _user_error(400, "UserErrorVaultNotEmpty",
                           f"Backup vault '{vault_record['name']}' cannot be deleted as there are backup instances in "
                           f"soft deleted state in the vault: {', '.join(deleted)}. Soft deleted items are permanently "
                           "deleted when their soft delete retention ends.",
                           "Retry the vault deletion after the soft deleted backup instances are permanently deleted.")
    return None


@registry.hook("vault_deleted")
def _drop_vault_instances(store, vault_record):
    for table in (TABLE, DELETED_TABLE):
        store.drop_under(table, f"{vault_record['id']}/")


# ------------------------------------------------------------------------------------ the simulated clock


def run_scheduled_backups(store, record, until):
    """Run the instance's scheduled backups due in (watermark, until]; returns the number of jobs."""
    policy = find_policy(store, record["body"]["policyInfo"]["policyId"])
    start = record.get("watermark")
    record["watermark"] = until
    if policy is None or start is None or start >= until:
        return 0
    properties = policy["properties"]
    rule = backup_rule(properties)
    schedule = (rule or {}).get("trigger", {}).get("schedule", {})
    tz = policy_zone(properties)
    context = job_context(store, record)
    tracker = record.setdefault("tracker", FirstTracker())
    count = 0
    for moment in occurrences(schedule.get("repeatingTimeIntervals"), schedule.get("timeZone"), start, until):
        _moment, local, _tag, retention_name, expiry = plan_one(properties, moment, tz, tracker)
        job = jobs.create_backup_job(store, context, moment, False, retention_name, rule["name"])
        end = min(moment + timedelta(minutes=SCHEDULED_JOB_MINUTES), until)
        failure = jobs.take_job_failure(store, record["name"])
        if failure is not None:
            jobs.finish_job(job, end, jobs.failure_error(failure))
        else:
            recovery_points.create_recovery_point(store, record["id"], moment, retention_name, expiry, policy["name"])
            tracker.record(local)
            jobs.finish_job(job, end)
        count += 1
    return count


@registry.on_clock_advance
def _advance(store, _before, after):
    started = time.monotonic()
    for _key, record in sorted(store.table(TABLE).items()):
        if record["state"] == CONFIGURED and not record.get("deleting"):
            run_scheduled_backups(store, record, after)
    for record in store.table(TABLE).values():
        if record["state"] != STOPPED:
            recovery_points.expire_points(store, record["id"], after)
    purge_due(store, after)
    store.counters["clock_hook_ms"] = round((time.monotonic() - started) * 1000)
