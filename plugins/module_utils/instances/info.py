# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The backup instances of a vault with their last backup and recovery points (the ``_info`` module's list)."""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, jobs
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.lookup import find_for_server
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.readable import to_readable


def readable_recovery_point(body):
    props = arm.properties(body)
    return {
        "id": body.get("id"),
        "recovery_point_id": props.get("recoveryPointId") or body.get("name"),
        "time": props.get("recoveryPointTime"),
        "type": props.get("recoveryPointType"),
        "retention_tag": props.get("retentionTagName"),
        "expiry_time": props.get("expiryTime"),
        "state": props.get("recoveryPointState"),
        "policy_name": props.get("policyName"),
    }


def _newest(values):
    values = [v for v in values if v]
    return max(values, key=jobs.parse_time) if values else None


def _oldest(values):
    values = [v for v in values if v]
    return min(values, key=jobs.parse_time) if values else None


def backup_summary(instance_jobs):
    """last_backup (newest backup job, any outcome) and the end of the newest successful one."""
    backups = [job for job in instance_jobs if job["operation"] in ("on_demand", "scheduled")]
    last = backups[0] if backups else None
    successful = [job for job in backups if job["succeeded"]]
    summary = None
    if last:
        summary = dict((key, last.get(key)) for key in (
            "job_id", "operation", "status", "start_time", "end_time", "duration_seconds", "retention_tag",
            "error_code", "error_message", "recommended_action"))
    return summary, (successful[0].get("end_time") or successful[0].get("start_time")) if successful else None


def instances_info(api, params, server_id, datasource, policy_id=None):
    """The backup instances of ``datasource`` in the vault that pass the filters, newest data first."""
    api.require_vault()
    name = params.get("name")
    if name:
        body = api.instance(name)
        bodies = [body] if body else []
    else:
        bodies = api.instances()
    bodies = [body for body in bodies if datasource.is_type(
        (arm.properties(body).get("dataSourceInfo") or {}).get("datasourceType") or datasource.arm_type)]
    if server_id:
        bodies = find_for_server(bodies, server_id)
    if policy_id:
        bodies = [body for body in bodies
                  if arm.same_id((arm.properties(body).get("policyInfo") or {}).get("policyId"), policy_id)]
    all_jobs = jobs.select(api.jobs(), {}) if bodies and params.get("include_jobs", True) else []
    result = []
    for body in sorted(bodies, key=lambda item: item.get("name") or ""):
        item = to_readable(body)
        if params.get("include_jobs", True):
            mine = [job for job in all_jobs if str(job.get("backup_instance_name") or "").lower() ==
                    str(item["name"]).lower() or arm.same_id(job.get("server_id"), item["server_id"])]
            item["last_backup"], last_success = backup_summary(mine)
            item["last_backup_status"] = item["last_backup"]["status"] if item["last_backup"] else None
            item["last_backup_time"] = item["last_backup"]["start_time"] if item["last_backup"] else None
        else:
            last_success = None
        if params.get("include_recovery_points", True):
            points = [readable_recovery_point(point) for point in api.recovery_points(item["name"])]
            points.sort(key=lambda point: point["time"] or "", reverse=True)
            by_tag = {}
            for point in points:
                tag = point["retention_tag"] or "unknown"
                by_tag[tag] = by_tag.get(tag, 0) + 1
            item["recovery_point_count"] = len(points)
            item["recovery_points_by_tag"] = by_tag
            item["latest_recovery_point_time"] = _newest([p["time"] for p in points])
            item["oldest_recovery_point_time"] = _oldest([p["time"] for p in points])
            if params.get("list_recovery_points"):
                item["recovery_points"] = points
            last_success = _newest([last_success, item["latest_recovery_point_time"]])
        item["last_successful_backup_time"] = last_success
        result.append(item)
    return result
