"""Microsoft.DataProtection backupVaults/backupJobs: list and get, plus the job records other modules create.

Shapes follow the 2026-06-01 spec (AzureBackupJobResource, Jobs_List / Jobs_Get, example JobCRUD/GetJob.json)
and recorded traffic (azure-cli-extensions dataprotection test recordings: a PostgreSQL flexible server ad hoc
backup job polled with ``az dataprotection job show``, and ``az dataprotection job list``):

- GET list -> 200 ``{"value": [...], "nextLink"}`` oldest first; the spec defines no ``$filter`` for this list, so
  clients filter on their side. Listed jobs carry ``extendedInfo: null`` (as recorded); GET one has it.
- GET one -> 200; 404 ``ResourceNotFound`` for an unknown job id.
- A backup job is ``operationCategory: "Backup"``, ``operation: "Backup"`` whether ad hoc or scheduled (the
  real values); ``isUserTriggered`` tells them apart. ``status`` InProgress -> Completed / Failed. ``duration``
  is ``"PT0S"`` while running and a .NET TimeSpan (``"00:03:39.7214322"``) once finished, as recorded.
  ``supportedActions`` is ``[""]`` while running, ``[]`` after. A failed job has ``errorDetails``: a list of
  UserFacingError objects (code, message, recommendedAction, ...).

Failures are injected with the control surface: ``POST /_emulator/faults {"job_failure": {...}}`` makes the next
``count`` backup jobs fail (see ``take_job_failure``).
"""

import re

from emulator import registry
from emulator.arm import json_response, new_guid, paged, resource_not_found
from emulator.clock import iso
from emulator.resources.vaults import PROVIDER, VAULT_RULE, VAULT_TYPE, get_vault_or_404

TABLE = "backupJobs"
JOB_TYPE = f"{VAULT_TYPE}/backupJobs"
IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
FAILED = "Failed"

# The default error of an injected job failure: what the service reports for a PostgreSQL flexible server that
# is not ready for a vaulted backup (Azure docs, "Troubleshoot Azure Database for PostgreSQL - Flexible server
# backup": error code PostgreSQLFlexOperationFailedUserError, inner error ServerNotReadyForLongTermBackup).
DEFAULT_FAILURE_CODE = "PostgreSQLFlexOperationFailedUserError"
DEFAULT_FAILURE_MESSAGE = "Resource isn't in a valid state to perform the backup operation."
DEFAULT_FAILURE_ACTION = ("Validate that the PostgreSQL flexible server's state is Ready. If not, wait for the state "
                          "to change or fix the server properties to make it ready for backup, then retry.")


def job_id(vault_id, name):
    return f"{vault_id}/backupJobs/{name}"


def operation_job_id(vault_id, name):
    """The job id as the service hands it out in OperationJobExtendedInfo (recorded: 'resourcegroups' and
    'BackupVaults' spelled that way)."""
    parts = vault_id.split("/")
    return (f"/subscriptions/{parts[2]}/resourcegroups/{parts[4]}/providers/{PROVIDER}/BackupVaults/{parts[8]}"
            f"/backupJobs/{name}")


def user_facing_error(code, message, recommended_action=None, inner_code=None, detail=None):
    """A UserFacingError object as the service fills it."""
    error = {"code": code, "details": None, "innerError": None, "isRetryable": False, "isUserError": True,
             "message": message, "properties": {"ActivityId": new_guid()},
             "recommendedAction": [recommended_action] if recommended_action else [], "target": ""}
    if inner_code or detail:
        error["innerError"] = {"code": inner_code or code,
                               "additionalInfo": {"DetailedNonLocalisedMessage": detail or message}}
    return error


def take_job_failure(store, instance_name):
    """The job_failure fault rule that applies to the next job of this instance (count decremented), or None."""
    for rule in list(store.faults):
        if rule.get("kind") != "job_failure":
            continue
        if rule.get("instance_regex") and not re.search(rule["instance_regex"], instance_name):
            continue
        if rule["remaining"] is not None:
            rule["remaining"] -= 1
            if rule["remaining"] <= 0:
                store.faults.remove(rule)
        return rule
    return None


def failure_error(rule):
    """The UserFacingError a job failure rule produces."""
    if not rule.get("code") and not rule.get("message"):
        return user_facing_error(DEFAULT_FAILURE_CODE, DEFAULT_FAILURE_MESSAGE, DEFAULT_FAILURE_ACTION,
                                 inner_code="ServerNotReadyForLongTermBackup")
    return user_facing_error(rule.get("code") or DEFAULT_FAILURE_CODE, rule.get("message") or DEFAULT_FAILURE_MESSAGE,
                             rule.get("recommended_action") or "Resolve the error and retry the backup.")


def create_backup_job(store, context, start, user_triggered, tag, rule_name):
    """Record a backup job (InProgress) for an instance; ``context`` is the instance's job context dict."""
    name = new_guid()
    record = dict(context)
    record.update(id=job_id(context["vaultId"], name), name=name, activityId=f"{new_guid()}", status=IN_PROGRESS,
                  operation="Backup", operationCategory="Backup", isUserTriggered=user_triggered,
                  startTime=start, endTime=None, errorDetails=None, retentionTag=tag, ruleName=rule_name,
                  etagTime=start)
    store.table(TABLE)[record["id"].lower()] = record
    return record


def finish_job(record, end, error=None):
    """InProgress -> Completed, or Failed with a UserFacingError."""
    record["endTime"] = max(end, record["startTime"])
    record["etagTime"] = record["endTime"]
    record["status"] = FAILED if error else COMPLETED
    record["errorDetails"] = [error] if error else None


def find_job(store, vault_id, name):
    return store.table(TABLE).get(job_id(vault_id, name).lower())


def jobs_of_instance(store, instance_id):
    key = instance_id.lower()
    return [job for job in store.table(TABLE).values() if job["backupInstanceId"].lower() == key]


def running_backup_jobs(store, instance_id):
    return [job for job in jobs_of_instance(store, instance_id) if job["status"] == IN_PROGRESS]


def _timespan(seconds):
    """A .NET TimeSpan string ('00:03:39.7214322', '1.02:00:00') as the service writes job durations."""
    ticks = round(seconds * 10_000_000)
    days, rest = divmod(ticks, 864_000_000_000)
    hours, rest = divmod(rest, 36_000_000_000)
    minutes, rest = divmod(rest, 600_000_000)
    whole, fraction = divmod(rest, 10_000_000)
    text = f"{hours:02d}:{minutes:02d}:{whole:02d}"
    if fraction:
        text += f".{fraction:07d}"
    return f"{days}.{text}" if days else text


def render_job(record, listed=False):
    """The job as the service returns it (key order as recorded)."""
    running = record["status"] == IN_PROGRESS
    duration = "PT0S" if running else _timespan((record["endTime"] - record["startTime"]).total_seconds())
    stamp = iso(record["etagTime"]).replace(":", "%3A")
    sub_status = {IN_PROGRESS: "InProgress", COMPLETED: "Completed", FAILED: "Failed"}[record["status"]]
    extended = None
    if not listed:
        details = {"RetentionTag": record["retentionTag"]}
        if not record["isUserTriggered"]:
            details["PolicyRuleName"] = record["ruleName"]
        extended = {"backupInstanceState": None, "dataTransferredInBytes": None, "targetRecoverPoint": None,
                    "sourceRecoverPoint": None, "recoveryDestination": None,
                    "subTasks": [{"taskId": 1, "taskName": "Trigger Backup", "taskStatus": sub_status,
                                  "taskProgress": None, "additionalDetails": None}],
                    "additionalDetails": details, "warningDetails": None}
    properties = {
        "activityID": record["activityId"],
        "subscriptionId": record["subscriptionId"],
        "backupInstanceId": record["backupInstanceId"],
        "policyId": record["policyId"],
        "dataSourceId": record["dataSourceId"],
        "vaultName": record["vaultName"],
        "backupInstanceFriendlyName": record["backupInstanceFriendlyName"],
        "policyName": record["policyName"],
        "sourceResourceGroup": record["sourceResourceGroup"],
        "dataSourceSetName": None,
        "dataSourceName": record["dataSourceName"],
        "sourceDataStoreName": None,
        "sourceDataStoreType": None,
        "destinationDataStoreName": None if running else "VaultStore",
        "progressEnabled": True,
        "etag": f"W/\"datetime'{stamp}'\"",
        "sourceSubscriptionID": record["sourceSubscriptionID"],
        "dataSourceLocation": record["dataSourceLocation"],
        "startTime": iso(record["startTime"]),
        "endTime": None if running else iso(record["endTime"]),
        "dataSourceType": record["dataSourceType"],
        "operationCategory": record["operationCategory"],
        "operation": record["operation"],
        "status": record["status"],
        "restoreType": None,
        "isUserTriggered": record["isUserTriggered"],
        "rehydrationPriority": None,
        "supportedActions": [""] if running else [],
        "duration": duration,
        "progressUrl": None,
        "isCrossRegionRestore": None,
        "errorDetails": record["errorDetails"],
        "extendedInfo": extended,
    }
    registry.call_hooks("render_job", record, properties, listed)
    return {"properties": properties, "id": record["id"], "name": record["name"], "type": JOB_TYPE}


# ---------------------------------------------------------------------------------------------- routes


@registry.route(f"{VAULT_RULE}/backupJobs", ["GET"], action=f"{JOB_TYPE}/read", provider=PROVIDER)
def list_jobs(request):
    vault = get_vault_or_404(request)
    records = request.store.under(TABLE, f"{vault['id']}/backupJobs/")
    records.sort(key=lambda job: (job["startTime"], job["name"]))
    return paged(request, [render_job(job, listed=True) for job in records])


@registry.route(f"{VAULT_RULE}/backupJobs/<job>", ["GET"], action=f"{JOB_TYPE}/read", provider=PROVIDER)
def get_job(request):
    vault = get_vault_or_404(request)
    record = find_job(request.store, vault["id"], request.values["job"])
    if record is None:
        raise resource_not_found(JOB_TYPE, f"{request.values['vault']}/{request.values['job']}",
                                 request.values["resource_group"])
    return json_response(200, render_job(record))


@registry.hook("vault_deleted")
def _drop_vault_jobs(store, vault_record):
    store.drop_under(TABLE, f"{vault_record['id']}/backupJobs/")
