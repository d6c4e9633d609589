# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""On-demand backups: trigger a backup of a protected server now and, when asked, wait for its job."""

import time

from ansible_collections.azbackup.dataprotection.plugins.module_utils import (
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
    result = {"backup_instance": instance, "trigger": trigger, "job_id": None, "job": None}
    if check_mode:
        return result
    job_id = api.adhoc_backup(instance["name"], jobs.adhoc_backup_body(rule_name, tag))
    job_id = jobs.job_id_of(job_id) if job_id else None
    if job_id is None:
        # The service gave no job id: the newest on-demand job of this instance is ours.
        candidates = jobs.select(api.jobs(), {"backup_instance": instance["name"], "operations": ["on_demand"]})
        job_id = candidates[0]["job_id"] if candidates else None
    result["job_id"] = job_id
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
