"""Microsoft.DataProtection backupVaults/backupJobs: list and get, plus the job records other modules create.

Shapes follow the 2026-06-01 spec (AzureBackupJobResource, Jobs_List / Jobs_Get, example JobCRUD/GetJob.json)
and recorded traffic (azure-cli-extensions dataprotection test recordings: a PostgreSQL flexible server ad hoc
backup job polled with ``az dataprotection job show``, and ``az dataprotection job list``):

- GET list -> 200 ``{"value": [...], "nextLink"}`` oldest first; the spec defines no ``$filter`` for this list, so
  clients filter on their side. Listed jobs carry ``extendedInfo: null`` (as recorded); GET one has it.
- GET one -> 200; 404 ``ResourceNotFound`` for an unknown job id.
- A backup job is ``operationCategory: "Backup"``, ``operation: "Backup"`` whether ad hoc or scheduled (the
  real values); ``isUserTriggered`` tells them apart. ``status`` InProgress -> Completed / Failed. ``duration``
  is ISO 8601 on GET one (``"PT0S"`` while running, ``"PT3M39.67S"``) and a TimeSpan in the list
  (``"00:03:49.17"``), as recorded. ``supportedActions`` is ``["Cancellable"]`` while running, ``[]`` after.
  A failed job has ``errorDetails``: a list of UserFacingError objects (code such as
  ``PostgreSQLFlexOperationFailedUserError``, message, recommendedAction, isUserError,
  ``innerError.embeddedInnerError``, and ``details`` nested two levels deep: ``PostgreSQLFlexServerError`` around
  the root cause, innermost), and its subtask carries ``additionalDetails`` with the error.

Failures are injected with the control surface: ``POST /_emulator/faults {"job_failure": {...}}`` makes the next
``count`` backup jobs fail (see ``take_job_failure``).
"""

import re

from emulator import registry
from emulator.arm import json_response, new_guid, paged
from emulator.clock import iso
from emulator.resources.policies import find_policy
from emulator.resources.vaults import PROVIDER, VAULT_RULE, VAULT_TYPE, vault_child_or_404, vault_children
from emulator.validators import user_facing_error

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
DEFAULT_CAUSE_CODE = "ServerNotReadyForLongTermBackup"
DEFAULT_CAUSE_MESSAGE = "The server is not in the Ready state, so a long-term backup cannot start."
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


# The middle level of a failed PostgreSQL job's error: the server-side failure that wraps the root cause.
SERVER_ERROR_CODE = "PostgreSQLFlexServerError"
SERVER_ERROR_MESSAGE = "The PostgreSQL flexible server reported an error during the backup."


def job_error(code, message, recommended_action, cause_code, cause_message):
    """A failed job's error as the service reports it: the operation's code on top, ``details`` two levels deep
    (the server error, then the root cause innermost), ``innerError.embeddedInnerError`` naming the cause."""
    cause = user_facing_error(cause_code, cause_message, recommended_action)
    server = user_facing_error(SERVER_ERROR_CODE, SERVER_ERROR_MESSAGE, recommended_action, details=[cause])
    error = user_facing_error(code, message, recommended_action, inner_code=cause_code, detail=cause_message,
                              details=[server])
    error["innerError"]["embeddedInnerError"] = {"code": cause_code, "additionalInfo": {
        "DetailedNonLocalisedMessage": cause_message}, "embeddedInnerError": None}
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
        return job_error(DEFAULT_FAILURE_CODE, DEFAULT_FAILURE_MESSAGE, DEFAULT_FAILURE_ACTION, DEFAULT_CAUSE_CODE,
                         DEFAULT_CAUSE_MESSAGE)
    code = rule.get("code") or DEFAULT_FAILURE_CODE
    message = rule.get("message") or DEFAULT_FAILURE_MESSAGE
    return job_error(code, message, rule.get("recommended_action") or "Resolve the error and retry the backup.",
                     code, message)


def job_context(store, record):
    """The backup instance facts a job records."""
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


def _split(seconds):
    """(days, hours, minutes, whole seconds, hundredths) of a duration."""
    hundredths = round(seconds * 100)
    days, rest = divmod(hundredths, 8_640_000)
    hours, rest = divmod(rest, 360_000)
    minutes, rest = divmod(rest, 6_000)
    whole, fraction = divmod(rest, 100)
    return days, hours, minutes, whole, fraction


def timespan(seconds):
    """A TimeSpan string ('00:03:49.17', '1.02:00:00') as the job list writes durations."""
    days, hours, minutes, whole, fraction = _split(seconds)
    text = f"{hours:02d}:{minutes:02d}:{whole:02d}" + (f".{fraction:02d}" if fraction else "")
    return f"{days}.{text}" if days else text


def iso_duration(seconds):
    """An ISO 8601 duration ('PT3M39.67S', 'P1DT2H', 'PT0S') as GET one job writes it."""
    days, hours, minutes, whole, fraction = _split(seconds)
    clock = "".join(f"{value}{unit}" for value, unit in ((hours, "H"), (minutes, "M")) if value)
    if whole or fraction:
        clock += f"{whole}.{fraction:02d}".rstrip("0").rstrip(".") + "S"
    text = "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
    return text if text != "P" else "PT0S"


def _subtask_details(record):
    """A failed subtask names the error, as the service does; otherwise nothing."""
    if not record["errorDetails"]:
        return None
    error = record["errorDetails"][0]
    return {"ErrorCode": error["code"], "ErrorMessage": error["message"]}


def render_job(record, listed=False):
    """The job as the service returns it (key order as recorded)."""
    running = record["status"] == IN_PROGRESS
    elapsed = 0.0 if running else (record["endTime"] - record["startTime"]).total_seconds()
    duration = timespan(elapsed) if listed else iso_duration(elapsed)
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
                                  "taskProgress": None, "additionalDetails": _subtask_details(record)}],
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
        "supportedActions": ["Cancellable"] if running else [],
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
    records = sorted(vault_children(request, TABLE, "backupJobs"), key=lambda job: (job["startTime"], job["name"]))
    return paged(request, [render_job(job, listed=True) for job in records])


@registry.route(f"{VAULT_RULE}/backupJobs/<job>", ["GET"], action=f"{JOB_TYPE}/read", provider=PROVIDER)
def get_job(request):
    record, _vault = vault_child_or_404(request, TABLE, "backupJobs", "job", JOB_TYPE)
    return json_response(200, render_job(record))


@registry.hook("vault_deleted")
def _drop_vault_jobs(store, vault_record):
    store.drop_under(TABLE, f"{vault_record['id']}/backupJobs/")
