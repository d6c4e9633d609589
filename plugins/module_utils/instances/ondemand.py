# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""On-demand backups: trigger a backup of a protected server now and, when asked, wait for its job."""

import time

try:
    from azure.core.exceptions import AzureError
except ImportError:  # the modules fail with missing_required_lib before any of this runs

    class AzureError(Exception):  # noqa: D101
        pass

from ansible_collections.azbackup.dataprotection.plugins.module_utils import (
    arm,
    contract,
    datasources,
    jobs,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.arm import error_text, last_segment
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.lookup import find_instance
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.readable import to_readable, wire_state


def ondemand_backup(api, params, server_id, check_mode, warn, sleep=time.sleep, clock=time.monotonic):
    """Trigger a backup of a protected server now; returns the result dict of pgflex_ondemand_backup.

    Fails (InputError) before triggering when the server is not protected, protection is not configured, or
    the retention tag is not a rule of the instance's policy; fails after triggering (with ``job_id``) when
    ``wait`` is set and the job does not complete.
    """
    api.require_vault()
    body = find_instance(api, params.get("backup_instance_name"), server_id)
    what = "backup instance '{0}'".format(params["backup_instance_name"]) if params.get("backup_instance_name") \
        else "server '{0}'".format(last_segment(server_id))
    if body is None:
        raise InputError(
            "There is no backup instance for {0} in vault '{1}'. Protect the server first with {2}.".format(
                what, api.vault_name, (datasources.of_resource(server_id) or datasources.default()).instance_module))
    instance = to_readable(body)
    datasource = datasources.get(instance["datasource_type"]) or datasources.of_resource(instance["server_id"])
    if instance["state"] != "present":
        module = datasource.instance_module.rsplit(".", 1)[-1]
        if instance["state"] in ("stopped", "suspended"):
            advice = "Resume it with {0} state=present.".format(module)
        else:
            advice = error_text(instance["error"]) or "Wait for it, or fix it with {0}.".format(module)
        raise InputError(
            "Backup instance '{0}' is {1} ({2}); on-demand backups need protection configured "
            "(ProtectionConfigured). {3}".format(instance["name"], instance["state"], wire_state(body), advice),
            backup_instance=instance)
    policy = api.policy(instance["policy_name"]) if instance["policy_name"] else None
    tag = params.get("retention_tag") or "Default"
    if policy is None:
        warn("The policy of backup instance '{0}' ({1}) could not be read; using rule {2} and retention tag {3} as "
             "given.".format(instance["name"], instance["policy_id"], params.get("rule_name") or
                             datasource.backup_rule_name, tag))
        rule_name = params.get("rule_name") or datasource.backup_rule_name
    else:
        rule_name = params.get("rule_name") or datasource.policy_backup_rule_name(policy)
        try:
            tag = jobs.resolve_retention_tag(tag, datasource.policy_retention_tags(policy))
        except jobs.JobInputError as exc:
            raise InputError(str(exc) + " (policy {0})".format(instance["policy_name"]),
                             backup_instance=instance) from None
    trigger = {"backup_instance_name": instance["name"], "server_id": instance["server_id"], "rule_name": rule_name,
               "retention_tag": tag, "policy_name": instance["policy_name"]}
    result = {"backup_instance": instance, "trigger": trigger, "job_id": None, "job": None, "started": True,
              "already_running": False}
    running = jobs.select(api.jobs(), {"backup_instance": instance["name"], "operations": ["on_demand"],
                                       "statuses": ["in_progress"]})
    if running:
        # A backup of this instance is already under way (a previous run whose job read failed, the portal): the
        # service runs one at a time, and a second one would only duplicate it.
        result.update(job_id=running[0]["job_id"], job=running[0], started=False, already_running=True)
        job = running[0]
        waits = " and waits for it" if params.get("wait") else ""
        warn("An on-demand backup of {0} is already running (job {1}, started {2}): no second backup was "
             "started; this run reports that job{3}.".format(what, job["job_id"], job["start_time"], waits))
    if check_mode:
        return result
    if not running:
        job_id = api.adhoc_backup(instance["name"], jobs.adhoc_backup_body(rule_name, tag))
        result["job_id"] = jobs.job_id_of(job_id) if job_id else None
    try:
        return _follow_job(api, params, result, warn, sleep, clock)
    except AzureError as exc:
        started = "was started" if result["started"] else "was already running"
        raise InputError(
            "The on-demand backup of {0} {1}{2}, but its job could not be read ({3}). The backup goes on in Azure: "
            "rerun the task (it finds the running job instead of starting another backup), or see "
            "azbackup.dataprotection.backup_job_info.".format(
                what, started, " (job {0})".format(result["job_id"]) if result["job_id"] else "", _reason(exc)),
            job_read_failed=True, **result) from None


def _reason(exc):
    error = arm.error_from_exception(exc)
    status = "HTTP {0} ".format(error["status_code"]) if error.get("status_code") else ""
    return "{0}{1}: {2}".format(status, error.get("code") or type(exc).__name__,
                                str(error.get("message") or exc).strip().splitlines()[0].rstrip("."))


def _follow_job(api, params, result, warn, sleep, clock):
    """Find, read and (with ``wait``) wait for the job of a triggered backup; Azure errors are the caller's."""
    instance = result["backup_instance"]
    if result["job_id"] is None:
        # The service gave no job id: the newest on-demand job of this instance is ours.
        candidates = jobs.select(api.jobs(), {"backup_instance": instance["name"], "operations": ["on_demand"]})
        result["job_id"] = candidates[0]["job_id"] if candidates else None
    job_id = result["job_id"]
    if job_id is None:
        warn("The service accepted the backup but named no job; see backup_job_info.")
        return result
    timeout = contract.waits(params, 1800)[1]
    if not params.get("wait") or not timeout:
        result["job"] = jobs.to_readable(api.job(job_id))
        return result
    job = jobs.wait_until_terminal(lambda: jobs.to_readable(api.job(job_id)), timeout,
                                   "backup job {0} to finish".format(job_id), sleep=sleep, clock=clock)
    result["job"] = job
    if job is None:
        raise InputError("Backup job {0} could not be found after it was triggered.".format(job_id), **result)
    if not job["succeeded"]:
        raise InputError(jobs.failure_message(job, "On-demand backup job"), **result)
    return result
