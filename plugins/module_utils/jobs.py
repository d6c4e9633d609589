# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backup jobs: the readable form, filters, waiting for a job to end, and the on-demand backup trigger.

Pure functions over the ARM job body (``AzureBackupJobResource``), so backup_job_info, pgflex_ondemand_backup and
pgflex_backup_instance_info share one reading of it.

How the service describes a job, and what we make of it:

* ``operationCategory`` is Backup, Restore, ... and ``operation`` the specific kind (``Backup``, ``OnDemandBackup``,
  ``ScheduledBackup``, ``ConfigureBackup``, ``Restore``...); ``isUserTriggered`` tells an on-demand backup (true)
  from a scheduled one (false) when ``operation`` is the generic ``Backup``. ``kind()`` folds these into the four
  words users filter on: ``configure``, ``on_demand``, ``scheduled``, ``restore`` (else ``other``).
* ``status``: InProgress / Started / Cancelling / Paused are running; Completed, CompletedWithWarnings, Failed,
  Cancelled (and the LRO spellings Succeeded / Canceled) are terminal. Readable statuses are snake_case
  (``in_progress``, ``completed``, ``completed_with_warnings``, ``failed``, ``cancelled``).
* ``duration`` comes as a .NET TimeSpan (``00:04:16.28``, ``1.02:00:00``) or ISO 8601 (``PT4M16.28S``); both are
  turned into seconds.
* The jobs API has no server-side filters: filtering happens here, on the listed jobs.
"""

import re
import time
from datetime import datetime, timedelta, timezone

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, azure_waits, contract
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError

KINDS = ("configure", "on_demand", "scheduled", "restore")
STATUSES = ("in_progress", "completed", "completed_with_warnings", "failed", "cancelled", "cancelling", "paused")
TERMINAL = frozenset(("completed", "completed_with_warnings", "failed", "cancelled"))
SUCCESSFUL = frozenset(("completed", "completed_with_warnings"))
WAIT_FOR = ("terminal", "completed")

_STATUS_ALIASES = {
    "inprogress": "in_progress",
    "started": "in_progress",
    "running": "in_progress",
    "notstarted": "in_progress",
    "completed": "completed",
    "succeeded": "completed",
    "completedwithwarnings": "completed_with_warnings",
    "failed": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "cancelling": "cancelling",
    "canceling": "cancelling",
    "paused": "paused",
}
_TIMESPAN_RE = re.compile(r"^(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$")
_ISO_DURATION_RE = re.compile(
    r"^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE)


# A filter option is malformed, or a job failed; ``extra`` goes into the failure result.
JobInputError = InputError


def _fold(value):
    return str(value or "").replace(" ", "").replace("_", "").lower()


def readable_status(status):
    return _STATUS_ALIASES.get(_fold(status), _snake(status) if status else None)


def _snake(text):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", str(text)).replace(" ", "_").lower()


def kind(props):
    """``configure``, ``on_demand``, ``scheduled``, ``restore`` or ``other`` for a job's properties."""
    operation = _fold(props.get("operation"))
    category = _fold(props.get("operationCategory"))
    if "restore" in operation or category == "restore":
        return "restore"
    if "configure" in operation or ("protect" in operation and "backup" not in operation):
        return "configure"
    if operation in ("ondemandbackup", "adhocbackup") or "ondemand" in operation or "adhoc" in operation:
        return "on_demand"
    if "scheduled" in operation:
        return "scheduled"
    if operation == "backup" or category == "backup":
        return "on_demand" if props.get("isUserTriggered") else "scheduled"
    if category in ("management", "configure", "configurebackup"):
        return "configure"
    return "other"


def parse_duration_seconds(text):
    """Seconds in a .NET TimeSpan or ISO 8601 duration, or None."""
    if text is None or text == "":
        return None
    text = str(text).strip()
    match = _TIMESPAN_RE.match(text)
    if match:
        days, hours, minutes, seconds = match.groups()
        return round(int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds), 3)
    match = _ISO_DURATION_RE.match(text)
    if match and text.upper() not in ("P", "PT"):
        years, months, weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
        return round(((years * 365 + months * 30 + weeks * 7 + days) * 86400) + hours * 3600 + minutes * 60 + seconds,
                     3)
    return None


def parse_time(text, option="time"):
    """An aware datetime from ISO 8601 text (``Z`` or an offset; naive means UTC)."""
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=timezone.utc)
    value = str(text or "").strip()
    if not value:
        return None
    value = value.replace("z", "Z")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    # Python < 3.11 accepts only 3 or 6 fractional digits; Azure sends up to 7.
    value = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "000000")[:6], value, count=1)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise JobInputError("{0} '{1}' is not an ISO 8601 date and time (for example 2026-01-31T02:00:00Z).".format(
            option, text)) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _iso(when):
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def window(since=None, until=None, last=None, now=None):
    """(start, end) aware datetimes (either may be None) from the since/until/last options."""
    if last and since:
        raise JobInputError("last and since are mutually exclusive: give a start time or a duration back from now.")
    now = now or datetime.now(timezone.utc)
    start = parse_time(since, "since") if since else None
    end = parse_time(until, "until") if until else None
    if last:
        seconds = parse_duration_seconds(last)
        if seconds is None or not str(last).upper().startswith("P"):
            raise JobInputError("last '{0}' is not an ISO 8601 duration such as P1D, PT12H or P7D.".format(last))
        start = (end or now) - timedelta(seconds=seconds)
    if start and end and start > end:
        raise JobInputError("since ({0}) is after until ({1}).".format(_iso(start), _iso(end)))
    return start, end


JOB_ERROR_KEYS = ("code", "message", "recommended_action", "is_retryable", "is_user_error")


def readable_error(error):
    """A job's error in snake_case: the keys of ``JOB_ERROR_KEYS`` of the one readable ARM error form."""
    readable = arm.readable_error(error)
    return dict((key, readable[key]) for key in JOB_ERROR_KEYS) if readable else None


job_id_of = arm.last_segment


def to_readable(body):
    """The snake_case form of a job."""
    if not body:
        return None
    props = arm.properties(body)
    extended = props.get("extendedInfo") or {}
    additional = extended.get("additionalDetails") or {}
    errors = [readable_error(item) for item in props.get("errorDetails") or [] if item]
    first = errors[0] if errors else {}
    status = readable_status(props.get("status"))
    sub_tasks = [{"id": task.get("taskId"), "name": task.get("taskName"), "status": task.get("taskStatus"),
                  "progress": task.get("taskProgress")} for task in extended.get("subTasks") or []]
    done_tasks = [task for task in sub_tasks if readable_status(task["status"]) in TERMINAL]
    start = props.get("startTime")
    end = props.get("endTime")
    duration = parse_duration_seconds(props.get("duration"))
    if duration is None and start and end:
        duration = round((parse_time(end) - parse_time(start)).total_seconds(), 3)
    return {
        "id": body.get("id"),
        "job_id": body.get("name") or job_id_of(body.get("id")),
        "operation": kind(props),
        "operation_name": props.get("operation"),
        "operation_category": props.get("operationCategory"),
        "is_user_triggered": props.get("isUserTriggered"),
        "status": status,
        "service_status": props.get("status"),
        "terminal": status in TERMINAL,
        "succeeded": status in SUCCESSFUL,
        "start_time": start,
        "end_time": end,
        "duration": props.get("duration"),
        "duration_seconds": duration,
        "progress": {
            "enabled": props.get("progressEnabled"),
            "url": props.get("progressUrl"),
            "sub_tasks_done": len(done_tasks),
            "sub_tasks_total": len(sub_tasks),
            "sub_tasks": sub_tasks,
            "data_transferred_bytes": extended.get("dataTransferredInBytes"),
        },
        "backup_instance_id": props.get("backupInstanceId"),
        "backup_instance_name": job_id_of(props.get("backupInstanceId")) if props.get("backupInstanceId") else None,
        "backup_instance_friendly_name": props.get("backupInstanceFriendlyName"),
        "server_id": props.get("dataSourceId"),
        "server_name": props.get("dataSourceName"),
        "datasource_type": props.get("dataSourceType"),
        "policy_id": props.get("policyId"),
        "policy_name": props.get("policyName"),
        "retention_tag": additional.get("RetentionTag"),
        "rule_name": additional.get("PolicyRuleName"),
        "error_code": first.get("code"),
        "error_message": first.get("message"),
        "recommended_action": first.get("recommended_action") or [],
        "errors": errors,
        "warnings": [{"code": (w.get("error") or {}).get("code") if isinstance(w, dict) else None,
                      "message": (w.get("error") or {}).get("message") if isinstance(w, dict) else None}
                     for w in extended.get("warningDetails") or []],
    }


def matches(job, filters):
    """Whether a readable job passes ``filters`` (keys: server_id, backup_instance, operations, statuses, start,
    end); None values do not filter."""
    if filters.get("server_id") and not arm.same_id(job.get("server_id"), filters["server_id"]):
        return False
    instance = filters.get("backup_instance")
    if instance and not (
        str(job.get("backup_instance_name") or "").lower() == instance.lower()
        or arm.same_id(job.get("backup_instance_id"), instance)
    ):
        return False
    if filters.get("operations") and job.get("operation") not in filters["operations"]:
        return False
    if filters.get("statuses") and job.get("status") not in filters["statuses"]:
        return False
    start, end = filters.get("start"), filters.get("end")
    if start or end:
        started = parse_time(job.get("start_time")) if job.get("start_time") else None
        if started is None:
            return False
        if start and started < start:
            return False
        if end and started > end:
            return False
    return True


def select(bodies, filters):
    """Readable jobs that pass ``filters``, newest first."""
    jobs = [to_readable(body) for body in bodies or []]
    jobs = [job for job in jobs if matches(job, filters)]
    return sorted(jobs, key=lambda job: job.get("start_time") or "", reverse=True)


def describe(jobs):
    """``<id>: <status>`` of each job, for a timeout message."""
    if isinstance(jobs, dict):
        jobs = [jobs]
    return ", ".join("{0}: {1}".format(job.get("job_id"), job.get("service_status")) for job in jobs or []) or "none"


def wait_until_terminal(read, timeout, what, sleep=time.sleep, clock=time.monotonic):
    """Poll ``read()`` (one readable job, or a list) until every job is terminal; returns the last value."""
    def done(value):
        if value is None:
            return True
        items = value if isinstance(value, list) else [value]
        return all(item.get("terminal") for item in items)

    return azure_waits.poll_until(read, done, timeout, what, describe=describe, sleep=sleep, clock=clock)


def failure_message(job, what="Job"):
    """Why a job failed: its error code, message and recommended action."""
    text = "{0} {1} ({2} of {3}) ended {4}".format(
        what, job.get("job_id"), job.get("operation_name") or job.get("operation"),
        job.get("server_name") or job.get("backup_instance_name") or "the backup instance",
        job.get("service_status") or job.get("status"))
    if job.get("error_code") or job.get("error_message"):
        text += ": {0}: {1}".format(job.get("error_code") or "error", job.get("error_message") or "(no message)")
    if job.get("recommended_action"):
        text += " Recommended action: " + " ".join(job["recommended_action"])
    for extra in (job.get("errors") or [])[1:]:
        text += " [{0}: {1}]".format(extra.get("code"), extra.get("message"))
    return text if text.endswith(".") else text + "."


# ---------------------------------------------------------------------------------------------------------------
# On-demand backup
# ---------------------------------------------------------------------------------------------------------------


def adhoc_backup_body(rule_name, retention_tag):
    """``TriggerBackupRequest``: back up now with the policy's backup rule, kept by the retention rule named."""
    return {"backupRuleOptions": {"ruleName": rule_name, "triggerOption": {"retentionTagOverride": retention_tag}}}


def resolve_retention_tag(requested, available):
    """The retention rule name as the policy spells it; fails naming the rules the policy has."""
    for name in available or []:
        if str(name).lower() == str(requested).lower():
            return name
    raise JobInputError(
        "retention_tag '{0}' is not a retention rule of the instance's policy; it has: {1}.".format(
            requested, ", ".join(available or []) or "none"))


# ---------------------------------------------------------------------------------------------------------------
# backup_job_info
# ---------------------------------------------------------------------------------------------------------------


def filters_from_params(params, server_id=None, now=None):
    """The filters of backup_job_info, validated (bad values fail here, before any request)."""
    start, end = window(params.get("since"), params.get("until"), params.get("last"), now=now)
    return {
        "server_id": server_id,
        "backup_instance": params.get("backup_instance_name"),
        "operations": list(params.get("operation") or []) or None,
        "statuses": list(params.get("status") or []) or None,
        "start": start,
        "end": end,
    }


def job_info(api, params, filters, sleep=time.sleep, clock=time.monotonic):
    """The backup_job_info list: one job by id, or the vault's jobs that pass ``filters``; waits when asked.

    ``api`` needs ``job(job_id)`` and ``jobs()`` (dataprotection.DataProtectionApi). With ``wait_for`` the jobs found
    at the start are polled until every one is terminal (``wait_timeout: 0``: not waited for); ``completed`` also
    fails when one did not complete.
    """
    job_id = params.get("job_id")
    wait_for = params.get("wait_for")
    timeout = contract.waits(params, 1800)[1]

    if job_id:
        def read():
            job = to_readable(api.job(job_id_of(job_id)))
            return [job] if job else []
    else:
        def read():
            return select(api.jobs(), filters)

    found = read()
    if job_id and not found:
        raise JobInputError("Job {0} does not exist in vault '{1}'.".format(job_id, api.vault_name))
    if wait_for and timeout and found and not all(job["terminal"] for job in found):
        ids = set(job["job_id"] for job in found)

        def read_tracked():
            current = read() if job_id else [job for job in select(api.jobs(), {}) if job["job_id"] in ids]
            return current

        found = wait_until_terminal(read_tracked, timeout, "{0} job(s) to finish".format(len(ids)), sleep=sleep,
                                    clock=clock)
    if wait_for == "completed":
        failed = [job for job in found if job["terminal"] and not job["succeeded"]]
        if failed:
            raise JobInputError(" ".join(failure_message(job) for job in failed), backup_jobs=found)
    return found
