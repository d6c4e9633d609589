"""Cross-region restore: the location-scoped operations of a GeoRedundant vault with cross-region restore on.

All under ``/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.DataProtection/locations/{region}/``
where ``{region}`` is the secondary region, the Azure pair of the vault's region (2026-06-01 spec:
FetchSecondaryRecoveryPoints_List, BackupInstances_ValidateCrossRegionRestore,
BackupInstances_TriggerCrossRegionRestore, FetchCrossRegionRestoreJob_Get, FetchCrossRegionRestoreJobs_List):

- POST ``fetchSecondaryRecoveryPoints`` ``{"sourceBackupInstanceId", "sourceRegion"}`` (+ ``$filter`` as the
  recovery point list) -> 200 ``{"value", "nextLink"}``. The SDK follows ``nextLink`` with a GET without body,
  so the next link carries a ``$skipToken`` that names the stored result; the same path answers that GET.
- POST ``validateCrossRegionRestore`` / ``crossRegionRestore`` ``{"restoreRequestObject",
  "crossRegionRestoreDetails": {"sourceRegion", "sourceBackupInstanceId"}}`` -> 202 + ``Azure-AsyncOperation``
  + ``Location`` + ``Retry-After``, as validateRestore / restore (restore.py), with ``restoreLocation`` and the
  target storage account in the secondary region. The restore job lives in the secondary region: it is not in
  the vault's job list but in:
- POST ``fetchCrossRegionRestoreJob`` ``{"sourceRegion", "sourceBackupVaultId", "jobId"}`` -> 200 the job;
  POST ``fetchCrossRegionRestoreJobs`` ``{"sourceRegion", "sourceBackupVaultId"}`` -> 200 the list (paged as
  above).

The secondary region holds every recovery point of the primary (the emulator replicates at once). Refusals
(400): a vault that is not GeoRedundant or whose cross-region restore is not Enabled
(``UserErrorCrossRegionRestoreNotEnabled``, not found in public material, hence chosen), a ``{region}`` that is
not the pair of ``sourceRegion``, or a ``sourceRegion`` that is not the vault's (``BMSUserErrorInvalidInput``).
"""

from emulator import regions, registry
from emulator.arm import PAGE_SIZE, ArmError, ci_get, json_response, new_guid, require_resource_group
from emulator.protection import find_instance
from emulator.resources import jobs, recovery_points
from emulator.resources.backup_instances import lro_headers
from emulator.resources.restore import parse_request, start_restore_job, validation_check
from emulator.resources.vaults import GROUP_RULE, PROVIDER, find_vault
from emulator.validators import invalid_input, user_error

LOCATION_RULE = f"{GROUP_RULE}/locations/<location>"
LOCATION_ACTION = f"{PROVIDER}/locations"
CRR_JOBS_TABLE = "crossRegionRestoreJobs"
PAGES_TABLE = "crossRegionPages"


def _string(body, key, path):
    value = ci_get(body, key)
    if not isinstance(value, str) or not value.strip():
        raise invalid_input(f"'{path}' is required: a non-empty string.", path)
    return value.strip()


def _secondary_vault(request, vault, source_region, path):
    """Check the vault may restore in the request's region; returns the secondary region."""
    location = regions.normalize(request.values["location"])
    primary = regions.normalize(vault["location"])
    if regions.normalize(source_region) != primary:
        raise invalid_input(f"'{path}' is '{source_region}' but backup vault '{vault['name']}' is in '{primary}'.",
                            path)
    settings = vault.get("settings") or {}
    geo = any(str(item.get("type")).lower() == "georedundant" for item in settings.get("storageSettings") or [])
    crr = str(((settings.get("featureSettings") or {}).get("crossRegionRestoreSettings") or {}).get("state") or
              "Disabled")
    if not geo or crr.lower() != "enabled":
        redundancy = ", ".join(str(item.get("type")) for item in settings.get("storageSettings") or []) or "none"
        raise user_error(400, "UserErrorCrossRegionRestoreNotEnabled",
                         f"Cross region restore is not enabled for backup vault '{vault['name']}' (storage "
                         f"redundancy {redundancy}, cross region restore {crr}).",
                         "Use a GeoRedundant backup vault with cross region restore Enabled.")
    secondary = regions.paired_region(primary)
    if location != secondary:
        raise invalid_input(f"Cross region operations of backup vault '{vault['name']}' ({primary}) run in its paired "
                            f"region '{secondary}', not in '{location}'.", "location")
    return secondary


def _source_instance(request, details, path):
    require_resource_group(request.store, request.subscription_id, request.values["resource_group"])
    instance_id = _string(details, "sourceBackupInstanceId", f"{path}.sourceBackupInstanceId")
    source_region = _string(details, "sourceRegion", f"{path}.sourceRegion")
    instance = find_instance(request.store, instance_id)
    if instance is None:
        raise user_error(400, "UserErrorGenericResourceNotFound",
                         f"Backup instance '{instance_id}' ({path}.sourceBackupInstanceId) does not exist.",
                         "Name an existing backup instance of a GeoRedundant vault.", f"{path}.sourceBackupInstanceId")
    vault = find_vault(request.store, instance["vaultId"])
    secondary = _secondary_vault(request, vault, source_region, f"{path}.sourceRegion")
    return instance, vault, secondary


def _vault_from_body(request, body):
    require_resource_group(request.store, request.subscription_id, request.values["resource_group"])
    vault_id = _string(body, "sourceBackupVaultId", "sourceBackupVaultId")
    source_region = _string(body, "sourceRegion", "sourceRegion")
    vault = find_vault(request.store, vault_id)
    if vault is None:
        raise user_error(400, "UserErrorGenericResourceNotFound", f"Backup vault '{vault_id}' does not exist.",
                         "Name an existing backup vault.", "sourceBackupVaultId")
    _secondary_vault(request, vault, source_region, "sourceRegion")
    return vault


# ---------------------------------------------------------------------------------------------- paging


def _page(request, items, context=None):
    """One page; the next link's ``$skipToken`` is ``<context>:<offset>`` of a stored result."""
    if context is None:
        context = new_guid()
        request.store.table(PAGES_TABLE)[context] = items
        start = 0
    else:
        start = int(request.query["$skipToken"].split(":")[1])
    body = {"value": items[start:start + PAGE_SIZE]}
    if start + PAGE_SIZE < len(items):
        body["nextLink"] = request.url(request.path, **{"api-version": request.api_version,
                                                        "$skipToken": f"{context}:{start + PAGE_SIZE}"})
    return json_response(200, body)


def _next_page(request):
    token = request.query.get("$skipToken") or ""
    context, _sep, offset = token.partition(":")
    if context not in request.store.table(PAGES_TABLE) or not offset.isdigit():
        raise ArmError(400, "InvalidSkipToken", "The skip token is not valid.")
    return _page(request, request.store.table(PAGES_TABLE)[context], context)


# ----------------------------------------------------------------------------------------------- routes


@registry.route(f"{LOCATION_RULE}/fetchSecondaryRecoveryPoints", ["POST"],
                action=f"{LOCATION_ACTION}/fetchSecondaryRecoveryPoints/action", provider=PROVIDER)
def fetch_secondary_points(request):
    instance, _vault, _secondary = _source_instance(request, request.json_object(), "parameters")
    start, end = recovery_points.parse_filter(request.query.get("$filter"))
    records = [record for record in recovery_points.points_of(request.store, instance["id"])
               if (start is None or record["time"] >= start) and (end is None or record["time"] <= end)]
    records.sort(key=lambda record: (record["time"], record["name"]), reverse=True)
    return _page(request, [recovery_points.render_point(record) for record in records])


@registry.route(f"{LOCATION_RULE}/fetchSecondaryRecoveryPoints", ["GET"],
                action=f"{LOCATION_ACTION}/fetchSecondaryRecoveryPoints/action", provider=PROVIDER)
def fetch_secondary_points_next(request):
    return _next_page(request)


def _crr_request(request):
    body = request.json_object()
    details = ci_get(body, "crossRegionRestoreDetails")
    if not isinstance(details, dict):
        raise invalid_input("'crossRegionRestoreDetails' is required: an object with sourceRegion and "
                            "sourceBackupInstanceId.", "crossRegionRestoreDetails")
    instance, vault, secondary = _source_instance(request, details, "crossRegionRestoreDetails")
    parsed = parse_request(request.store, vault, instance, ci_get(body, "restoreRequestObject"),
                           "restoreRequestObject", secondary)
    account_region = regions.normalize(parsed["account"]["location"])
    if account_region != secondary:
        raise invalid_input(f"A cross region restore writes to a storage account in the secondary region "
                            f"'{secondary}'; storage account '{parsed['account']['name']}' is in '{account_region}'.",
                            "restoreRequestObject.restoreTargetInfo.targetDetails.url")
    return parsed, vault, instance


@registry.route(f"{LOCATION_RULE}/validateCrossRegionRestore", ["POST"],
                action=f"{LOCATION_ACTION}/validateCrossRegionRestore/action", provider=PROVIDER)
def validate_cross_region_restore(request):
    parsed, vault, instance = _crr_request(request)
    op = request.store.operations.start("validateCrossRegionRestore", f"{instance['id']}/validateCrossRegionRestore",
                                        parsed["location"], on_complete=validation_check(parsed))
    return json_response(202, None, lro_headers(request, vault, op))


@registry.route(f"{LOCATION_RULE}/crossRegionRestore", ["POST"],
                action=f"{LOCATION_ACTION}/crossRegionRestore/action", provider=PROVIDER)
def cross_region_restore(request):
    parsed, vault, instance = _crr_request(request)
    job = start_restore_job(request.store, parsed, table=CRR_JOBS_TABLE, cross_region=True)
    op = request.store.operations.start("crossRegionRestore", f"{instance['id']}/crossRegionRestore",
                                        parsed["location"],
                                        result={"jobId": jobs.operation_job_id(vault["id"], job["name"])})
    return json_response(202, None, lro_headers(request, vault, op))


def _crr_jobs_of(store, vault):
    records = store.under(CRR_JOBS_TABLE, f"{vault['id']}/backupJobs/")
    return sorted(records, key=lambda job: (job["startTime"], job["name"]))


@registry.route(f"{LOCATION_RULE}/fetchCrossRegionRestoreJob", ["POST"],
                action=f"{LOCATION_ACTION}/fetchCrossRegionRestoreJob/action", provider=PROVIDER)
def fetch_cross_region_job(request):
    body = request.json_object()
    vault = _vault_from_body(request, body)
    job_name = _string(body, "jobId", "jobId").rstrip("/").split("/")[-1]
    record = request.store.table(CRR_JOBS_TABLE).get(jobs.job_id(vault["id"], job_name).lower())
    if record is None:
        raise ArmError(404, "ResourceNotFound", f"The cross region restore job '{job_name}' of backup vault "
                       f"'{vault['name']}' was not found.")
    return json_response(200, jobs.render_job(record))


@registry.route(f"{LOCATION_RULE}/fetchCrossRegionRestoreJobs", ["POST"],
                action=f"{LOCATION_ACTION}/fetchCrossRegionRestoreJobs/action", provider=PROVIDER)
def fetch_cross_region_jobs(request):
    vault = _vault_from_body(request, request.json_object())
    return _page(request, [jobs.render_job(job, listed=True) for job in _crr_jobs_of(request.store, vault)])


@registry.route(f"{LOCATION_RULE}/fetchCrossRegionRestoreJobs", ["GET"],
                action=f"{LOCATION_ACTION}/fetchCrossRegionRestoreJobs/action", provider=PROVIDER)
def fetch_cross_region_jobs_next(request):
    return _next_page(request)


@registry.hook("vault_deleted")
def _drop_crr_jobs(store, vault_record):
    store.drop_under(CRR_JOBS_TABLE, f"{vault_record['id']}/backupJobs/")
