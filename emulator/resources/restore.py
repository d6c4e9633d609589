"""Restore as files of PostgreSQL flexible server recovery points: validateRestore, restore and Restore jobs.

Shapes and status codes follow the 2026-06-01 spec (BackupInstances_ValidateForRestore /
BackupInstances_TriggerRestore, examples TriggerRestoreAsFiles.json and ValidateRestore.json; models
AzureBackupRecoveryPointBasedRestoreRequest, RestoreFilesTargetInfo, TargetDetails, JobExtendedInfo,
RestoreJobRecoveryPointDetails):

- POST ``.../backupInstances/{name}/validateRestore`` (``{"objectType": "ValidateRestoreRequestObject",
  "restoreRequestObject": {...}}``) and ``.../restore`` (the request itself) -> 202 + ``Azure-AsyncOperation``
  + ``Location`` + ``Retry-After``. The final status of a restore carries ``properties.jobId``; the Location
  answers ``{"objectType": "OperationJobExtendedInfo", "jobId"}`` (spec: final-state-via location).
- Synchronous 400s (``BMSUserErrorInvalidInput`` naming the field) for what the service rejects on sight: the
  request objectType (PostgreSQL flexible servers restore recovery-point based only), sourceDataStoreType
  (VaultStore), restoreTargetInfo.objectType (RestoreFilesTargetInfo: restore as files is the only restore of
  this data source), recoveryOption (FailIfExists), restoreLocation (the vault's region; the secondary region
  for cross-region restore), targetDetails (filePrefix, restoreTargetLocationType AzureBlobs, a container URL on
  a known storage account's blob endpoint, a targetResourceArmId naming the same container), identityDetails.
  An unknown recovery point is 400 ``UserErrorRecoveryPointNotFound``; a target account in another subscription
  while the vault's cross-subscription restore is not Enabled is 400 ``UserErrorCrossSubscriptionRestoreNotEnabled``.
- validateRestore's operation fails with ``UserErrorMissingRequiredPermissions`` while the vault identity lacks
  Storage Blob Data Contributor (ba92f5b4-...) on the target account (assignments older than
  ``propagation_seconds`` count).
- The restore starts a job (``operationCategory`` / ``operation`` Restore, ``extendedInfo.recoveryDestination``
  = the container URL, ``sourceRecoverPoint``, subtask "Trigger Restore") InProgress for ``job_seconds``. It then
  fails with ``UserErrorMSIMissingPermissions`` when the identity lacks the role, with
  ``UserErrorCrossTenantReplicationNotAllowed`` when the account's ``allowCrossTenantReplication`` is not true
  (restore as files needs it; accounts default to false), else completes. With the data
  plane on it uploads the recovery point's dumps as ``<prefix>_database_<db>.sql``, ``<prefix>_roles.sql``,
  ``<prefix>_schema.sql``, ``<prefix>_tablespace.sql`` (failing when the container is missing or a file exists);
  without it nothing is written and the names it would write are recorded. ``GET /_emulator/restores`` lists
  both.

Not found in public material, hence chosen: ``UserErrorRecoveryPointNotFound``,
``UserErrorCrossSubscriptionRestoreNotEnabled``, ``UserErrorCrossTenantReplicationNotAllowed``,
``UserErrorStorageContainerNotFound``,
``UserErrorRestoreFileAlreadyExists``.
"""

import re
from urllib.parse import urlparse

from emulator import dataplane, datasources, rbac, regions, registry
from emulator.arm import ci_get, json_response, new_guid
from emulator.clock import iso
from emulator.dataplane import sample
from emulator.resources import jobs, recovery_points
from emulator.resources.backup_instances import (
    INSTANCE_RULE,
    INSTANCE_TYPE,
    _instance_or_404,
    _settings_seconds,
    datasource_of,
    lro_headers,
    vault_principal,
)
from emulator.resources.storage import TABLE as STORAGE_TABLE
from emulator.resources.vaults import PROVIDER
from emulator.validators import (
    enum_value,
    invalid_input,
    require_object,
    require_string,
    same,
    user_error,
    user_facing_error,
)

RESTORES_TABLE = "restores"
_CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_SOURCE_STORES = ("ArchiveStore", "SnapshotStore", "OperationalStore", "VaultStore")
_LOCATION_TYPES = ("AzureBlobs", "AzureFiles", "Invalid")


def _text(value, path, required=True):
    """A required (or optional) non-empty string, stripped."""
    value = require_string(value, path, required)
    return value.strip() if isinstance(value, str) else value


# ------------------------------------------------------------------------------------------ the target


def _account_for_url(store, url, path):
    """(storage account record, container name) for a container URL on a known account's blob endpoint."""
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.netloc:
        raise invalid_input(f"'{path}' must be the https URL of a blob container, such as "
                            f"https://<account>.blob.core.windows.net/<container>; got '{url}'.", path)
    for account in store.table(STORAGE_TABLE).values():
        endpoint = urlparse(account["properties"]["primaryEndpoints"]["blob"])
        if parsed.netloc.lower() != endpoint.netloc.lower():
            continue
        base = endpoint.path.rstrip("/")
        if base and not parsed.path.lower().startswith(base.lower() + "/"):
            continue
        rest = parsed.path[len(base):].strip("/")
        if not rest or "/" in rest:
            raise invalid_input(f"'{path}' must name exactly one container of storage account '{account['name']}' "
                                f"({account['properties']['primaryEndpoints']['blob']}<container>); got '{url}'.", path)
        if not _CONTAINER_NAME.match(rest):
            raise invalid_input(f"'{rest}' in '{path}' is not a valid container name: 3-63 lowercase letters, digits "
                                "and single hyphens, starting and ending with a letter or digit.", path)
        return account, rest
    raise user_error(400, "UserErrorGenericResourceNotFound",
                     f"The storage account of '{url}' ({path}) does not exist. Please make sure required resources "
                     "exist.", "Use the blob endpoint (properties.primaryEndpoints.blob) of an existing storage "
                     "account.", path)


def _check_target_arm_id(arm_id, account, container, path):
    expected = f"{account['id']}/blobServices/default/containers/{container}"
    if not same(arm_id, expected):
        raise invalid_input(f"'{path}' must be the ARM id of the container named by the URL ('{expected}'); got "
                            f"'{arm_id}'.", path)


def _cross_subscription_state(vault):
    settings = (vault.get("settings") or {}).get("featureSettings") or {}
    return str((settings.get("crossSubscriptionRestoreSettings") or {}).get("state") or "Enabled")


def parse_request(store, vault, instance, raw, path, expected_location):
    """Validate an AzureBackupRecoveryPointBasedRestoreRequest for an instance; the facts a restore needs."""
    body = require_object(raw, path)
    kind = _text(ci_get(body, "objectType"), f"{path}.objectType")
    if not same(kind, "AzureBackupRecoveryPointBasedRestoreRequest"):
        raise invalid_input(f"Invalid value '{kind}' for '{path}.objectType': PostgreSQL flexible server backups are "
                            "restored from a recovery point (AzureBackupRecoveryPointBasedRestoreRequest).",
                            f"{path}.objectType")
    point_id = _text(ci_get(body, "recoveryPointId"), f"{path}.recoveryPointId")
    store_type = enum_value(ci_get(body, "sourceDataStoreType"), _SOURCE_STORES, f"{path}.sourceDataStoreType")
    if store_type != "VaultStore":
        raise invalid_input(f"'{path}.sourceDataStoreType' must be VaultStore for PostgreSQL flexible server "
                            f"backups; got {store_type}.", f"{path}.sourceDataStoreType")
    target = require_object(ci_get(body, "restoreTargetInfo"), f"{path}.restoreTargetInfo")
    target_kind = _text(ci_get(target, "objectType"), f"{path}.restoreTargetInfo.objectType")
    if not same(target_kind, "RestoreFilesTargetInfo"):
        raise invalid_input(f"Invalid value '{target_kind}' for '{path}.restoreTargetInfo.objectType': PostgreSQL "
                            "flexible server backups are restored as files (RestoreFilesTargetInfo).",
                            f"{path}.restoreTargetInfo.objectType")
    enum_value(ci_get(target, "recoveryOption"), ("FailIfExists",), f"{path}.restoreTargetInfo.recoveryOption")
    location = _text(ci_get(target, "restoreLocation"), f"{path}.restoreTargetInfo.restoreLocation", required=False)
    if location is not None and regions.normalize(location) != regions.normalize(expected_location):
        raise invalid_input(f"'{path}.restoreTargetInfo.restoreLocation' is '{location}' but this restore runs in "
                            f"'{regions.normalize(expected_location)}'.", f"{path}.restoreTargetInfo.restoreLocation")
    details_path = f"{path}.restoreTargetInfo.targetDetails"
    details = require_object(ci_get(target, "targetDetails"), details_path)
    prefix = _text(ci_get(details, "filePrefix"), f"{details_path}.filePrefix")
    location_type = enum_value(ci_get(details, "restoreTargetLocationType"), _LOCATION_TYPES,
                               f"{details_path}.restoreTargetLocationType")
    if location_type != "AzureBlobs":
        raise invalid_input(f"'{details_path}.restoreTargetLocationType' must be AzureBlobs; got {location_type}.",
                            f"{details_path}.restoreTargetLocationType")
    url = _text(ci_get(details, "url"), f"{details_path}.url")
    account, container = _account_for_url(store, url, f"{details_path}.url")
    arm_id = _text(ci_get(details, "targetResourceArmId"), f"{details_path}.targetResourceArmId", required=False)
    if arm_id is not None:
        _check_target_arm_id(arm_id, account, container, f"{details_path}.targetResourceArmId")
    identity = ci_get(body, "identityDetails")
    if identity is not None:
        require_object(identity, f"{path}.identityDetails")
    principal = vault_principal(vault, identity)
    point = store.table(recovery_points.TABLE).get(f"{instance['id']}/recoveryPoints/{point_id}".lower())
    if point is None:
        raise user_error(400, "UserErrorRecoveryPointNotFound",
                         f"Recovery point '{point_id}' was not found for backup instance '{instance['name']}'.",
                         "List the instance's recovery points and name one of them.", f"{path}.recoveryPointId")
    account_subscription = account["id"].split("/")[2]
    vault_subscription = vault["id"].split("/")[2]
    if account_subscription.lower() != vault_subscription.lower() and \
            _cross_subscription_state(vault).lower() != "enabled":
        raise user_error(400, "UserErrorCrossSubscriptionRestoreNotEnabled",
                         f"Cross subscription restore is {_cross_subscription_state(vault)} for backup vault "
                         f"'{vault['name']}', but the target storage account '{account['name']}' is in subscription "
                         f"'{account_subscription}'.", "Restore into a storage account of the vault's subscription, "
                         "or enable cross subscription restore on the vault.", f"{details_path}.url")
    return {"point": point, "account": account, "container": container, "prefix": prefix, "url": url,
            "principal": principal, "location": regions.normalize(expected_location), "instance": instance,
            "vault": vault}


def _missing_restore_roles(store, parsed):
    """[(role guid, scope)] the vault identity lacks for this restore (the datasource's restore roles)."""
    datasource = datasource_of(parsed["instance"])
    needed = datasources.role_scopes(datasource.restore_roles, parsed["instance"]["body"]["dataSourceInfo"]
                                     ["resourceID"], target_id=parsed["account"]["id"])
    return [(role, scope) for role, scope in needed
            if not rbac.role_covered(store, parsed["principal"][0], role, scope,
                                     min_age_seconds=store.settings.propagation_seconds)]


def _role_message(parsed, missing):
    principal_id, description = parsed["principal"]
    roles = "; ".join(f"role '{rbac.ROLE_DEFINITIONS[role]['roleName']}' (role definition id {role}) on scope "
                      f"'{scope}'" for role, scope in missing)
    return (f"The {description} (principal id {principal_id}) is missing {roles}. Assign it (an assignment at a "
            "parent scope also counts); new role assignments can take a few minutes to propagate.")


def validation_check(parsed):
    """The operation completion of validateRestore / validateCrossRegionRestore."""

    def check(store, _op):
        missing = _missing_restore_roles(store, parsed)
        if not missing:
            return None
        message = "Appropriate permissions to perform the operation is missing. " + _role_message(parsed, missing)
        info = user_facing_error("UserErrorMissingRequiredPermissions", message,
                                 "Grant appropriate permissions to perform this operation as mentioned at "
                                 "https://aka.ms/UserErrorMissingRequiredPermissions and retry the operation.",
                                 inner_code="UserErrorMissingRequiredPermissions",
                                 detail=f"Validate for Restore failed. {_role_message(parsed, missing)}")
        return {"code": info["code"], "message": info["message"],
                "additionalInfo": [{"type": "UserFacingError", "info": info}]}

    return check


# -------------------------------------------------------------------------------------------- the job


def _planned_files(store, parsed):
    """[{name, size, database}] a restore writes; sizes only known with the data plane."""
    point_id = parsed["point"]["name"]
    plane = dataplane.ACTIVE
    if plane is not None and plane.dumps.content(point_id) is not None:
        return [{"name": f"{parsed['prefix']}_{name}", "size": None, "database": database}
                for name, database in plane.dumps.files(point_id)]
    names = sample.database_files(parsed["prefix"])
    databases = list(sample.DATABASES) + [None, None, None]
    return [{"name": name, "size": None, "database": database} for name, database in zip(names, databases, strict=True)]


def start_restore_job(store, parsed, table=jobs.TABLE, cross_region=False):
    """Record a Restore job (InProgress) and schedule its end; returns the job record. One job (backup or
    restore) at a time per instance: 400 UserErrorMaxConcurrentOperationLimitReached otherwise."""
    instance = parsed["instance"]
    if jobs.running_backup_jobs(store, instance["id"]) or any(
            job["status"] == jobs.IN_PROGRESS and same(job["backupInstanceId"], instance["id"])
            for job in store.table(table).values()):
        raise user_error(400, "UserErrorMaxConcurrentOperationLimitReached",
                         f"Another job is in progress on backup instance '{instance['name']}'.",
                         "Trigger the restore once the current job is complete.")
    name = new_guid()
    record = jobs.job_context(store, instance)
    now = store.clock.now()
    record.update(id=jobs.job_id(instance["vaultId"], name), name=name, activityId=new_guid(),
                  status=jobs.IN_PROGRESS, operation="Restore", operationCategory="Restore", isUserTriggered=True,
                  startTime=now, endTime=None, errorDetails=None, retentionTag=None, ruleName=None, etagTime=now,
                  restore={"destination": parsed["url"], "pointId": parsed["point"]["name"],
                           "pointTime": parsed["point"]["time"], "crossRegion": cross_region,
                           "location": parsed["location"]})
    store.table(table)[record["id"].lower()] = record
    restore = {"jobId": record["id"], "status": jobs.IN_PROGRESS, "recoveryPoint": parsed["point"]["name"],
               "instanceId": instance["id"], "storageAccount": parsed["account"]["id"],
               "container": parsed["container"], "prefix": parsed["prefix"], "crossRegion": cross_region,
               "written": False, "files": []}
    store.table(RESTORES_TABLE)[record["id"].lower()] = restore

    def finish(st, _op):
        error = None
        missing = _missing_restore_roles(st, parsed)
        if missing:
            error = user_facing_error("UserErrorMSIMissingPermissions", "Datasource MSI does not have required "
                                      "permissions for the restore operation. " + _role_message(parsed, missing),
                                      "Grant the Storage Blob Data Contributor role on the target storage account "
                                      "to the backup vault's managed identity and retry the operation.")
        elif not parsed["account"]["properties"].get("allowCrossTenantReplication"):
            error = user_facing_error("UserErrorCrossTenantReplicationNotAllowed",
                                      f"Storage account '{parsed['account']['name']}' does not allow cross tenant "
                                      "replication, which restore as files needs.",
                                      "Set allowCrossTenantReplication to true on the storage account and retry.")
        elif dataplane.ACTIVE is not None:
            try:
                restore["files"] = dataplane.ACTIVE.write_restore(parsed["point"]["name"], parsed["account"]["name"],
                                                                  parsed["container"], parsed["prefix"])
                restore["written"] = True
            except dataplane.RestoreError as exc:
                error = user_facing_error(exc.code, exc.message, "Fix the restore target and retry.")
        else:
            restore["files"] = _planned_files(st, parsed)
        jobs.finish_job(record, st.clock.now(), error)
        restore["status"] = record["status"]
        if error:
            restore["files"] = []
        return None

    store.operations.start("restoreJobs/run", instance["id"], parsed["location"], on_complete=finish,
                           seconds=_settings_seconds(store, "job_seconds"))
    return record


@registry.hook("render_job")
def _render_restore(record, properties, listed):
    """A Restore job's own fields (the backup job's rendering covers the rest); as in the documented restore job
    of the REST how-to "Restore Azure Managed Disks": restoreType and destinationDataStoreName null."""
    restore = record.get("restore")
    if not restore:
        return
    properties.update(restoreType=None, isCrossRegionRestore=restore["crossRegion"], destinationDataStoreName=None)
    if listed:
        return
    status = {jobs.IN_PROGRESS: "InProgress", jobs.COMPLETED: "Completed", jobs.FAILED: "Failed"}[record["status"]]
    properties["extendedInfo"] = {
        "backupInstanceState": None, "dataTransferredInBytes": None, "targetRecoverPoint": None,
        "sourceRecoverPoint": {"recoveryPointID": restore["pointId"], "recoveryPointTime": iso(restore["pointTime"])},
        "recoveryDestination": restore["destination"],
        "subTasks": [{"taskId": 1, "taskName": "Trigger Restore", "taskStatus": status, "taskProgress": None,
                      "additionalDetails": None}],
        "additionalDetails": None, "warningDetails": None}


# ----------------------------------------------------------------------------------------------- routes


@registry.route(f"{INSTANCE_RULE}/validateRestore", ["POST"], action=f"{INSTANCE_TYPE}/validateRestore/action",
                provider=PROVIDER)
def validate_restore(request):
    record, vault = _instance_or_404(request)
    body = request.json_object()
    kind = ci_get(body, "objectType")
    if not same(kind, "ValidateRestoreRequestObject"):
        raise invalid_input(f"'objectType' must be 'ValidateRestoreRequestObject'; got {kind!r}.", "objectType")
    parsed = parse_request(request.store, vault, record, ci_get(body, "restoreRequestObject"), "restoreRequestObject",
                           vault["location"])
    op = request.store.operations.start("backupInstances/validateRestore", f"{record['id']}/validateRestore",
                                        parsed["location"], on_complete=validation_check(parsed))
    return json_response(202, None, lro_headers(request, vault, op))


@registry.route(f"{INSTANCE_RULE}/restore", ["POST"], action=f"{INSTANCE_TYPE}/restore/action", provider=PROVIDER)
def trigger_restore(request):
    record, vault = _instance_or_404(request)
    parsed = parse_request(request.store, vault, record, request.json_object(), "parameters", vault["location"])
    job = start_restore_job(request.store, parsed)
    op = request.store.operations.start("backupInstances/restore", f"{record['id']}/restore", parsed["location"],
                                        result={"jobId": jobs.operation_job_id(vault["id"], job["name"])})
    return json_response(202, None, lro_headers(request, vault, op))


@registry.seeder(order=40)
def _point_storage_at_azurite(store):
    """With the data plane on, the seeded accounts' blob endpoints are Azurite's; recovery points are forgotten."""
    plane = dataplane.ACTIVE
    if plane is None:
        return
    plane.reset()
    for account in store.table(STORAGE_TABLE).values():
        if account["name"] in plane.azurite.accounts:
            account["properties"]["primaryEndpoints"]["blob"] = plane.azurite.endpoint(account["name"])


@registry.hook("recovery_point_created")
def _take_dumps(store, point):
    """With the data plane on, a new recovery point gets real dumps of its server's databases."""
    plane = dataplane.ACTIVE
    if plane is None:
        return
    instance = store.table(recovery_points.INSTANCE_TABLE).get(point["instanceId"].lower()) or {}
    server = ((instance.get("body") or {}).get("dataSourceInfo") or {}).get("resourceName")
    if server:
        plane.dumps.attach(point["name"], server, iso(point["time"]))


def restores(store):
    """The restores so far (``GET /_emulator/restores``)."""
    return [dict(item) for item in store.table(RESTORES_TABLE).values()]
