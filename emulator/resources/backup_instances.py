"""Microsoft.DataProtection backupInstances of PostgreSQL flexible servers and their operations.

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
- POST validateForBackup / backup / stopProtection / suspendBackups / resumeProtection / resumeBackups -> 202 with
  the same three headers. The location ``operationResults``
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
  ``--lro-seconds``; a hold on ``backupJobs/run`` keeps it there), then Completed with a recovery point tagged
  ``retentionTagOverride`` (``default``, lower case as real Azure reports it, for the default rule) and kept for
  that rule's duration, or Failed when a ``job_failure`` fault applies. One backup at a time per
  instance (``UserErrorMaxConcurrentOperationLimitReached``, documented for PostgreSQL flexible servers).
- Simulated clock: ``emulator.schedule`` runs each ProtectionConfigured instance's scheduled backups as jobs
  (``isUserTriggered: false``) and recovery points and expires recovery points (not those of stopped or
  soft-deleted instances).
- Stop protection keeps the data and stops expiry (ProtectionStopped); suspend backups keeps expiring data per
  policy (``BackupsSuspended`` in both protectionStatus.status and currentProtectionState, as recorded);
  resumeProtection (from either state, as recorded) / resumeBackups return them to ProtectionConfigured.
- DELETE: the instance goes with its recovery points, unless a ``backup_instance_deleted`` hook keeps it
  (``deleted_backup_instances``: the vault's soft delete).
- The datasource's facts (type, resource table, roles) come from ``emulator.datasources``.
- Hooks: ``policy_users`` (policies.py refuses deleting a policy in use), ``vault_delete_blockers`` (a vault with
  instances cannot be deleted), ``vault_deleted``.

Error codes: ``UserErrorMissingRequiredPermissions``, ``UserErrorDppDatasourceAlreadyProtected`` (documented) and
``UserErrorMaxConcurrentOperationLimitReached`` (documented for PostgreSQL flexible servers); body errors use the
service's ``BMSUserErrorInvalidInput`` shape. Not found in public material, hence chosen:
``BMSUserErrorMismatchedRegion`` (server and vault in different regions), ``UserErrorInvalidStateForOperation`` (an
operation the instance's state does not allow) and ``UserErrorVaultNotEmpty`` (vault delete with instances).
"""

import copy

from emulator import datasources, rbac, regions, registry
from emulator.arm import ArmError, ci_get, json_response, paged
from emulator.protection import (
    CONFIGURED,
    CONFIGURING,
    DELETED_TABLE,
    INSTANCE_TABLE,
    PROTECTION_ERROR,
    STOPPED,
    SUSPENDED,
    UPDATING,
    enter_state,
    find_deleted,
    find_instance,
)
from emulator.resources import jobs, recovery_points
from emulator.resources.policies import find_policy
from emulator.resources.vaults import (
    GROUP_RULE,
    PROVIDER,
    VAULT_RULE,
    VAULT_TYPE,
    find_vault,
    get_vault_or_404,
    vault_child,
    vault_child_or_404,
    vault_children,
)
from emulator.schedule import FirstTracker, backup_rule, expiry_time, retention_duration, retention_rule
from emulator.validators import invalid_input, require_object, require_string, same, user_error, user_facing_error

TABLE = INSTANCE_TABLE
INSTANCE_TYPE = f"{VAULT_TYPE}/backupInstances"
INSTANCES_RULE = f"{VAULT_RULE}/backupInstances"
INSTANCE_RULE = f"{INSTANCES_RULE}/<instance>"


# ----------------------------------------------------------------------------------------------- helpers


def _settings_seconds(store, name):
    value = getattr(store.settings, name, None)
    return store.settings.lro_seconds if value is None else value


def _state_error(record, operation, hint):
    return user_error(400, "UserErrorInvalidStateForOperation",
                      f"{operation} is not allowed for backup instance '{record['name']}' in state "
                      f"'{record['state']}'. {hint}", hint)


def instance_id_of(vault, name):
    return f"{vault['id']}/backupInstances/{name}"


def _instance_or_404(request):
    return vault_child_or_404(request, TABLE, "backupInstances", "instance", INSTANCE_TYPE)


def vault_location(vault):
    return regions.normalize(vault["location"])


def lro_headers(request, vault, op, location=True):
    """Azure-AsyncOperation on the vault, Location on the subscription + vault region, Retry-After (recorded)."""
    version = {"api-version": request.api_version}
    headers = {"Azure-AsyncOperation": request.url(f"{vault['id']}/operationStatus/{op.op_id}", **version)}
    if location:
        headers["Location"] = request.url(
            f"/subscriptions/{request.subscription_id}/providers/{PROVIDER}/locations/{vault_location(vault)}"
            f"/operationResults/{op.op_id}", **version)
    headers.update(request.store.operations.start_headers(op))
    return headers


# ----------------------------------------------------------------------------------------- body parsing


def find_resource(store, datasource, resource_id):
    """The protected resource (a seeded PostgreSQL flexible server) named by a data source, or None."""
    return store.table(datasource.resource_table).get((resource_id or "").strip().rstrip("/").lower())


def datasource_of(record):
    """The datasource record of a backup instance."""
    return datasources.find(record["body"]["dataSourceInfo"]["datasourceType"]) or datasources.PGFLEX


def _parse_datasource(raw, path, object_type):
    """(raw object, resource id, datasource record) of dataSourceInfo / dataSourceSetInfo."""
    raw = require_object(raw, path)
    kind = ci_get(raw, "objectType")
    if kind is not None and not same(kind, object_type):
        raise invalid_input(f"Invalid value '{kind}' for '{path}.objectType'; expected '{object_type}'.",
                            f"{path}.objectType")
    resource_id = require_string(ci_get(raw, "resourceID"), f"{path}.resourceID")
    datasource_type = require_string(ci_get(raw, "datasourceType"), f"{path}.datasourceType")
    datasource = datasources.find(datasource_type)
    if datasource is None:
        known = ", ".join(f"{item.datasource_type} ({item.label})" for item in datasources.DATASOURCES)
        raise invalid_input(f"Datasource type '{datasource_type}' in '{path}.datasourceType' is not supported here: "
                            f"only {known} can be protected.", f"{path}.datasourceType")
    resource_type = ci_get(raw, "resourceType")
    if resource_type not in (None, "") and not same(resource_type, datasource.datasource_type):
        raise invalid_input(f"'{path}.resourceType' is '{resource_type}' but the datasource type is "
                            f"{datasource.datasource_type}.", f"{path}.resourceType")
    for key in ("resourceName", "resourceLocation", "resourceUri"):
        require_string(ci_get(raw, key), f"{path}.{key}", required=False)
    return raw, resource_id, datasource


def parse_instance(store, vault, properties):
    """Validate a BackupInstance body (PUT properties or validateForBackup's backupInstance).

    Returns (stored body, server resource, policy record, identity (principal id, description)); raises the
    synchronous 400s of the service.
    """
    properties = require_object(properties, "properties")
    kind = ci_get(properties, "objectType")
    if not same(kind, "BackupInstance"):
        raise invalid_input(f"'properties.objectType' must be 'BackupInstance'; got {kind!r}.", "properties.objectType")
    source, resource_id, datasource = _parse_datasource(ci_get(properties, "dataSourceInfo"),
                                                        "properties.dataSourceInfo", "Datasource")
    server = find_resource(store, datasource, resource_id)
    if server is None:
        raise user_error(400, "UserErrorGenericResourceNotFound",
                         f"Azure resource '{resource_id}' does not exist. Please make sure required resources exist. "
                         "If the issue persists, contact Microsoft support.",
                         "Check properties.dataSourceInfo.resourceID: it must be the ARM id of an existing "
                         f"resource of type {datasource.datasource_type}.", "properties.dataSourceInfo.resourceID")
    source_set = ci_get(properties, "dataSourceSetInfo")
    if source_set is not None:
        source_set, set_id, _kind = _parse_datasource(source_set, "properties.dataSourceSetInfo", "DatasourceSet")
        if not same(set_id, resource_id):
            raise invalid_input("'properties.dataSourceSetInfo.resourceID' must be the server itself "
                                f"('{resource_id}') for {datasource.datasource_type}; got '{set_id}'.",
                                "properties.dataSourceSetInfo.resourceID")
    server_region = regions.normalize(server["location"])
    vault_region = regions.normalize(vault["location"])
    if server_region != vault_region:
        message = (f"The datasource '{server['name']}' is in region '{server_region}' but the backup vault "
                   f"'{vault['name']}' is in region '{vault_region}'. Azure Backup protects {datasource.label} only "
                   "with a backup vault in the same region.")
        raise user_error(400, "BMSUserErrorMismatchedRegion", message,
                         f"Use a backup vault in region '{server_region}'.", "properties.dataSourceInfo")
    policy_info = require_object(ci_get(properties, "policyInfo"), "properties.policyInfo")
    policy_id = require_string(ci_get(policy_info, "policyId"), "properties.policyInfo.policyId")
    policy = find_policy(store, policy_id)
    if policy is None or not same(policy.get("vaultId"), vault["id"]):
        raise invalid_input(f"Backup policy '{policy_id}' was not found in backup vault '{vault['name']}'. A backup "
                            "instance uses a policy of its own vault.", "properties.policyInfo.policyId")
    kinds = policy["properties"].get("datasourceTypes") or []
    if not any(same(item, datasource.datasource_type) for item in kinds):
        raise invalid_input(f"Backup policy '{policy['name']}' is for {', '.join(kinds)}, not for "
                            f"{datasource.datasource_type}.", "properties.policyInfo.policyId")
    identity_details = require_object(ci_get(properties, "identityDetails"), "properties.identityDetails",
                                      required=False)
    principal = vault_principal(vault, identity_details)
    friendly = require_string(ci_get(properties, "friendlyName"), "properties.friendlyName", required=False)
    body = {"friendlyName": friendly or server["name"],
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
    if validation is not None and not (same(validation, "ShallowValidation") or same(validation, "DeepValidation")):
        raise invalid_input(f"Invalid value '{validation}' for 'properties.validationType'. Allowed values are: "
                            "ShallowValidation, DeepValidation.", "properties.validationType")
    return body, server, policy, principal, same(validation, "DeepValidation")


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
            if same(key, user_url):
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
            if same(record["body"]["dataSourceInfo"]["resourceID"], resource_id):
                return record, deleted
    return None, False


def _refuse_if_protected(store, resource_id, exclude_id=None):
    record, deleted = _protecting(store, resource_id, exclude_id)
    if record is None:
        return
    vault_id = record["vaultId"]
    state = " (soft deleted: undelete it, or wait until it is purged)" if deleted else ""
    raise user_error(400, "UserErrorDppDatasourceAlreadyProtected",
                     f"Datasource is already protected under the Backup vault {vault_id}.",
                     f"Delete the backup instance {record['name']} from the Backup vault {vault_id}{state} to "
                     "re-protect the datasource in any other vault.")


# ------------------------------------------------------------------------------------------ permissions


def _role_name(guid):
    return rbac.ROLE_DEFINITIONS[guid]["roleName"]


def missing_roles(store, principal_id, datasource, resource):
    """[(role guid, scope)] the vault identity lacks for backup, counting assignments older than propagation."""
    return rbac.missing_datasource_roles(store, principal_id, datasource.backup_roles, resource["id"],
                                         min_age_seconds=store.settings.propagation_seconds)


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
    info = user_facing_error("UserErrorMissingRequiredPermissions", message, action,
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
    datasource = datasource_of(record)
    server = find_resource(store, datasource, record["body"]["dataSourceInfo"]["resourceID"])
    if vault is None or server is None:
        return user_facing_error("UserErrorGenericResourceNotFound", "Azure resource does not exist. Please "
                                 "make sure required resources exist.", "Check the data source and the vault.")
    try:
        principal = vault_principal(vault, record["body"].get("identityDetails"))
    except ArmError as exc:
        return user_facing_error(exc.code, exc.message, "Fix the vault identity and retry.")
    missing = missing_roles(store, principal[0], datasource, server)
    return permission_error(principal, missing) if missing else None


# ------------------------------------------------------------------------------------------- rendering


def _status_block(record):
    state = record["state"]
    status = {"status": state}
    if state == PROTECTION_ERROR and record.get("error"):
        status["errorDetails"] = record["error"]
    return status


def instance_properties(body, first=None):
    """The instance body's properties in the recorded key order (``first``: keys the service puts before them)."""
    properties = dict(first or {})
    properties.update(friendlyName=body["friendlyName"], dataSourceInfo=body["dataSourceInfo"])
    if "dataSourceSetInfo" in body:
        properties["dataSourceSetInfo"] = body["dataSourceSetInfo"]
    properties["policyInfo"] = body["policyInfo"]
    if "identityDetails" in body:
        properties["identityDetails"] = body["identityDetails"]
    return properties


def render_instance(record):
    """The instance as the service returns it (recorded key order)."""
    properties = instance_properties(record["body"])
    properties["protectionStatus"] = _status_block(record)
    properties["currentProtectionState"] = record["state"]
    if record["state"] == PROTECTION_ERROR and record.get("error"):
        properties["protectionErrorDetails"] = record["error"]
    properties["provisioningState"] = record["provisioningState"]
    properties["objectType"] = "BackupInstance"
    return {"properties": properties, "id": record["id"], "name": record["name"], "type": INSTANCE_TYPE}


# --------------------------------------------------------------------------------------- state changes


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
        raise user_error(409, "UserErrorAnotherOperationInProgress",
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
        if not same(old_source["resourceID"], stored["dataSourceInfo"]["resourceID"]):
            raise invalid_input(f"The data source of backup instance '{name}' cannot be changed (current "
                                f"'{old_source['resourceID']}', requested '{stored['dataSourceInfo']['resourceID']}'). "
                                "Only the policy can be changed in place; protect another server with a new backup "
                                "instance.", "properties.dataSourceInfo.resourceID")
        if existing["state"] in (STOPPED, SUSPENDED):
            raise _state_error(existing, "Updating the backup instance",
                               "Resume protection (resumeProtection or resumeBackups) first, then update it.")
        changed = (not same(existing["body"]["policyInfo"]["policyId"], stored["policyInfo"]["policyId"])
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
        "backupInstances/write", instance_id, vault_location(vault),
        on_complete=lambda store, op: _finish_put(store, op, generation, deep, previous))
    return json_response(201 if existing is None else 200, rendered, lro_headers(request, vault, op, location=False))


@registry.route(INSTANCE_RULE, ["GET"], action=f"{INSTANCE_TYPE}/read", provider=PROVIDER)
def get_instance(request):
    record, _vault = _instance_or_404(request)
    return json_response(200, render_instance(record))


@registry.route(INSTANCES_RULE, ["GET"], action=f"{INSTANCE_TYPE}/read", provider=PROVIDER)
def list_instances(request):
    return paged(request, [render_instance(record) for record in vault_children(request, TABLE, "backupInstances")])


@registry.route(f"{GROUP_RULE.replace('Microsoft.DataProtection', 'Microsoft.DBforPostgreSQL')}/flexibleServers/"
                f"<server>/providers/{PROVIDER}/backupInstances", ["GET"], action=f"{PROVIDER}/backupInstances/read",
                provider=PROVIDER)
def list_instances_of_server(request):
    """BackupInstancesExtensionRouting_List for a PostgreSQL flexible server: its instances in any vault."""
    server_id = request.path.split(f"/providers/{PROVIDER}/")[0]
    items = [render_instance(record) for _key, record in sorted(request.store.table(TABLE).items())
             if same(record["body"]["dataSourceInfo"]["resourceID"], server_id)]
    return paged(request, items)


def _finish_delete(store, op):
    """The instance goes; its recovery points go too unless a ``backup_instance_deleted`` hook keeps them (the
    vault's soft delete: ``deleted_backup_instances``)."""
    record = find_instance(store, op.resource_id)
    if record is None:
        return None
    store.table(TABLE).pop(record["id"].lower(), None)
    record["deleting"] = False
    if not any(registry.call_hooks("backup_instance_deleted", store, record)):
        recovery_points.delete_points_of(store, record["id"])
    return None


@registry.route(INSTANCE_RULE, ["DELETE"], action=f"{INSTANCE_TYPE}/delete", provider=PROVIDER)
def delete_instance(request):
    record, vault = vault_child(request, TABLE, "backupInstances", "instance")
    if record is None:
        return json_response(204)
    _refuse_if_busy(request.store, record)
    record["deleting"] = True
    op = request.store.operations.start("backupInstances/delete", record["id"], vault_location(vault),
                                        on_complete=_finish_delete)
    return json_response(202, None, lro_headers(request, vault, op))


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
                                         **request.store.operations.poll_headers(op)})
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
    stored, server, _policy, principal, _deep = parse_instance(request.store, vault, instance)
    _refuse_if_protected(request.store, server["id"])
    datasource = datasource_of({"body": stored})

    def check(store, _op):
        current = find_vault(store, vault["id"])
        if current is None:
            return {"code": "UserErrorGenericResourceNotFound", "message": "The backup vault no longer exists."}
        missing = missing_roles(store, principal[0], datasource, server)
        return _operation_error(permission_error(principal, missing)) if missing else None

    # Not keyed on the vault itself: a validation in flight must not make vault writes answer 409.
    op = request.store.operations.start("validateForBackup", f"{vault['id']}/validateForBackup",
                                        vault_location(vault), on_complete=check)
    return json_response(202, None, lro_headers(request, vault, op))


# ------------------------------------------------------------------------------------------ ad hoc backup


def _run_job_now(store, record, job, failure):
    """Finish a job: Failed with the fault's error, or Completed with a recovery point (if the instance is left)."""
    now = store.clock.now()
    if failure is not None:
        jobs.finish_job(job, now, jobs.failure_error(failure))
        return None
    if find_instance(store, record["id"]) is None and find_deleted(store, record["id"]) is None:
        jobs.finish_job(job, now)
        return None
    policy = find_policy(store, record["body"]["policyInfo"]["policyId"])
    rule = retention_rule(policy["properties"], job["retentionTag"]) if policy else None
    expiry = expiry_time(job["startTime"], retention_duration(rule))
    recovery_points.create_recovery_point(store, record["id"], job["startTime"], job["retentionTag"], expiry,
                                          job["policyName"])
    jobs.finish_job(job, now)
    return None


def _adhoc_tag(retention):
    """The retention tag an on-demand backup reports: the rule's name, but ``default`` in lower case for the default
    rule (what real Azure reports for an on-demand backup kept by the default rule)."""
    if retention is None or retention.get("isDefault"):
        return "default"
    return retention["name"]


@registry.route(f"{INSTANCE_RULE}/backup", ["POST"], action=f"{INSTANCE_TYPE}/backup/action", provider=PROVIDER)
def adhoc_backup(request):
    record, vault = _instance_or_404(request)
    body = request.json_object()
    options = require_object(ci_get(body, "backupRuleOptions"), "backupRuleOptions")
    rule_name = require_string(ci_get(options, "ruleName"), "backupRuleOptions.ruleName")
    trigger = require_object(ci_get(options, "triggerOption"), "backupRuleOptions.triggerOption")
    tag = require_string(ci_get(trigger, "retentionTagOverride"),
                         "backupRuleOptions.triggerOption.retentionTagOverride", required=False)
    if record["state"] != CONFIGURED or record.get("deleting"):
        raise _state_error(record, "An on-demand backup",
                           "Back up an instance whose protection is configured (ProtectionConfigured); resume "
                           "protection or fix the protection error first.")
    policy = find_policy(request.store, record["body"]["policyInfo"]["policyId"])
    rule = backup_rule(policy["properties"]) if policy else None
    if rule is None or not same(rule["name"], rule_name):
        raise invalid_input(f"backupRuleOptions.ruleName '{rule_name}' is not a backup rule of policy "
                            f"'{policy['name'] if policy else '?'}' (its backup rule: "
                            f"{rule['name'] if rule else 'none'}).", "backupRuleOptions.ruleName")
    retention = retention_rule(policy["properties"], tag or "Default")
    if tag and (retention is None or not same(retention["name"], tag)):
        names = ", ".join(item["name"] for item in policy["properties"]["policyRules"]
                          if item["objectType"] == "AzureRetentionRule")
        raise invalid_input(f"backupRuleOptions.triggerOption.retentionTagOverride '{tag}' does not name a retention "
                            f"rule of policy '{policy['name']}' "
                            f"(rules: {names}).", "backupRuleOptions.triggerOption.retentionTagOverride")
    if jobs.running_backup_jobs(request.store, record["id"]):
        raise user_error(400, "UserErrorMaxConcurrentOperationLimitReached",
                         "Limit to the number of backups that can be performed on a backup instance has reached to "
                         "maximum.", "Try to trigger a backup operation once the current backup job is complete.")
    store = request.store
    job = jobs.create_backup_job(store, jobs.job_context(store, record), store.clock.now(), True,
                                 _adhoc_tag(retention), rule["name"])
    failure = jobs.take_job_failure(store, record["name"])
    store.operations.start("backupJobs/run", record["id"], vault_location(vault),
                           on_complete=lambda st, _op: _run_job_now(st, record, job, failure),
                           seconds=_settings_seconds(store, "job_seconds"))
    op = store.operations.start("backupInstances/backup", record["id"], vault_location(vault),
                                result={"jobId": jobs.operation_job_id(vault["id"], job["name"])})
    return json_response(202, None, lro_headers(request, vault, op))


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

    op = request.store.operations.start(f"backupInstances/{operation}", record["id"], vault_location(vault),
                                        on_complete=finish)
    return json_response(202, None, lro_headers(request, vault, op))


# operation -> (states it applies to, the state it leads to, what to do instead)
TRANSITIONS = {
    "stopProtection": ((CONFIGURED, SUSPENDED, PROTECTION_ERROR), STOPPED,
                       "Stop protection applies to a protected (or suspended) instance; wait until protection is "
                       "configured."),
    "suspendBackups": ((CONFIGURED,), SUSPENDED,
                       "Suspend backups applies to an instance whose protection is configured; a stopped instance "
                       "must be resumed (resumeProtection) first."),
    # resumeProtection is accepted for a suspended instance too (recorded real traffic).
    "resumeProtection": ((STOPPED, SUSPENDED), CONFIGURED,
                         "resumeProtection resumes a stopped (ProtectionStopped) or suspended (BackupsSuspended) "
                         "instance."),
    "resumeBackups": ((SUSPENDED,), CONFIGURED,
                      "resumeBackups resumes an instance whose backups are suspended (BackupsSuspended); use "
                      "resumeProtection for a stopped instance."),
}


def _register_transition(operation, allowed, target, hint):
    def handler(request):
        return _transition(request, operation, allowed, target, hint)

    handler.__name__ = operation
    registry.route(f"{INSTANCE_RULE}/{operation}", ["POST"], action=f"{INSTANCE_TYPE}/{operation}/action",
                   provider=PROVIDER)(handler)


for _operation, (_allowed, _target, _hint) in TRANSITIONS.items():
    _register_transition(_operation, _allowed, _target, _hint)


# ------------------------------------------------------------------------------------------------ hooks


def users_of_policy(store, table, policy_id):
    """Names of the instances of a table (live or deleted) that use a policy."""
    return [record["name"] for record in store.table(table).values()
            if same(record["body"]["policyInfo"]["policyId"], policy_id)]


@registry.hook("policy_users")
def _policy_users(store, policy_id):
    return users_of_policy(store, TABLE, policy_id)


def vault_not_empty(vault_record, names, why, action, note=""):
    return user_error(400, "UserErrorVaultNotEmpty", f"Backup vault '{vault_record['name']}' cannot be deleted as "
                      f"there are {why}: {', '.join(names)}.{note}", action)


@registry.hook("vault_delete_blockers")
def _vault_blockers(store, vault_record):
    live = [record["name"] for record in store.under(TABLE, f"{vault_record['id']}/")]
    if live:
        return vault_not_empty(vault_record, live, "backup instances associated with it",
                               "Delete the backup instances (stop protection and delete data) and retry the vault "
                               "deletion.")
    return None


@registry.hook("vault_deleted")
def _drop_vault_instances(store, vault_record):
    store.drop_under(TABLE, f"{vault_record['id']}/")
