# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: backup_job_info
short_description: List the jobs of a Backup vault, or follow one until it ends
version_added: 0.1.0
description:
  - Returns one job of a Backup vault by id, or the vault's jobs filtered by server or backup instance, operation,
    status and time window, newest first; each with its operation, status, start and end, duration, progress and
    error code, message and recommended action.
  - With O(wait_for) it polls the jobs found until each one has ended (bounded by O(wait_timeout)), the way the
    portal's job view follows a backup.
author:
  - azbackup maintainers (@azbackup)
options:
  job_id:
    description: Id (or resource id) of one job.
    type: str
  backup_instance_name:
    description: Only the jobs of this backup instance.
    type: str
  operation:
    description:
      - Only jobs of these kinds. V(configure) (configure protection), V(on_demand) (ad hoc backups),
        V(scheduled) (backups run by the policy's schedule), V(restore).
    type: list
    elements: str
    choices: [configure, on_demand, scheduled, restore]
  status:
    description: Only jobs in these states.
    type: list
    elements: str
    choices: [in_progress, completed, completed_with_warnings, failed, cancelled, cancelling, paused]
  since:
    description: Only jobs that started at or after this time (ISO 8601, for example C(2026-01-31T00:00:00Z)).
    type: str
  until:
    description: Only jobs that started at or before this time (ISO 8601).
    type: str
  last:
    description:
      - Only jobs that started in this period before O(until) or now (ISO 8601 duration such as C(P1D) or
        C(PT12H)). Mutually exclusive with O(since).
    type: str
  wait_for:
    description:
      - V(terminal) waits until every job found has ended (completed, failed or cancelled) and returns them.
      - V(completed) waits the same way and fails, with each job's error, unless every one completed.
    type: str
    choices: [terminal, completed]
  wait_timeout:
    description: Seconds to wait at most with O(wait_for). V(0) means do not wait.
    type: int
    default: 1800
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.vault
  - azbackup.dataprotection.server
  - azbackup.dataprotection.attributes
  - azbackup.dataprotection.attributes.info_module
attributes:
  check_mode:
    support: full
    description: Reads only (and waits, with O(wait_for)).
  diff_mode:
    support: none
    description: Reads only; there is nothing to compare.
seealso:
  - module: azbackup.dataprotection.pgflex_ondemand_backup
  - module: azbackup.dataprotection.pgflex_backup_instance_info
notes:
  - The server options (O(server_name) and O(server_resource_group), or O(server_id)) filter the jobs to those of
    that server.
  - The jobs API has no server-side filters; the module lists the vault's jobs and filters them.
"""

EXAMPLES = r"""
- name: Failed backups of the last day
  azbackup.dataprotection.backup_job_info:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    operation: [on_demand, scheduled]
    status: [failed]
    last: P1D
  register: failures

- name: Wait for a backup job and fail with its error if it fails
  azbackup.dataprotection.backup_job_info:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    job_id: "{{ backup.job_id }}"
    wait_for: completed
    wait_timeout: 3600

- name: Jobs of one server this month
  azbackup.dataprotection.backup_job_info:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
    since: "2026-01-01T00:00:00Z"
"""

RETURN = r"""
backup_jobs:
  description: The jobs found, newest first. Empty when none matches.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Resource id of the job.
      type: str
    job_id:
      description: Id of the job.
      type: str
    operation:
      description: V(configure), V(on_demand), V(scheduled), V(restore) or V(other).
      type: str
    operation_name:
      description: The service's C(operation) (C(OnDemandBackup), C(ScheduledBackup), C(Backup), C(Restore), ...).
      type: str
    operation_category:
      description: The service's C(operationCategory) (C(Backup), C(Restore), ...).
      type: str
    status:
      description: C(in_progress), C(completed), C(completed_with_warnings), C(failed), C(cancelled), ...
      type: str
    service_status:
      description: The status as the service spells it.
      type: str
    terminal:
      description: Whether the job has ended.
      type: bool
    succeeded:
      description: Whether it ended completed (with or without warnings).
      type: bool
    start_time:
      description: Start (UTC, ISO 8601).
      type: str
    end_time:
      description: End (UTC, ISO 8601); null while running.
      type: str
    duration_seconds:
      description: Run time in seconds.
      type: float
    progress:
      description: C(enabled), C(url), C(sub_tasks) (name, status, progress), C(sub_tasks_done), C(sub_tasks_total),
        C(data_transferred_bytes).
      type: dict
    backup_instance_name:
      description: The backup instance.
      type: str
    server_id:
      description: Resource id of the server (the data source).
      type: str
    server_name:
      description: Name of the server.
      type: str
    policy_name:
      description: The policy.
      type: str
    retention_tag:
      description: The retention rule that keeps the backup.
      type: str
    error_code:
      description: Code of the job's (first) error; null when none.
      type: str
    error_message:
      description: Message of the job's (first) error.
      type: str
    recommended_action:
      description: What the service recommends doing about the error.
      type: list
      elements: str
    errors:
      description: Every error of the job (code, message, recommended_action, ...).
      type: list
      elements: dict
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import jobs, references
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX


def argument_spec():
    return references.argument_spec(
        server=True,
        job_id=dict(type="str"),
        backup_instance_name=dict(type="str"),
        operation=dict(type="list", elements="str", choices=list(jobs.KINDS)),
        status=dict(type="list", elements="str", choices=list(jobs.STATUSES)),
        since=dict(type="str"),
        until=dict(type="str"),
        last=dict(type="str"),
        wait_for=dict(type="str", choices=list(jobs.WAIT_FOR)),
        wait_timeout=dict(type="int", default=1800),
    )


MODULE_RULES = references.reference_rules(server=True, mutually_exclusive=[["since", "last"]])


def main():
    azure = AzureBackupModule(argument_spec(), **MODULE_RULES)
    params = azure.params
    with azure.input_errors():
        jobs.filters_from_params(params)  # bad dates and durations fail before any request
    server_id = azure.server_id(PGFLEX, required=False)
    api = azure.dataprotection_api()
    with azure.azure_errors("reading the jobs of vault {0}".format(api.vault_name)):
        api.require_vault()
        found = jobs.job_info(api, params, jobs.filters_from_params(params, server_id))
    azure.exit(False, backup_jobs=found)


if __name__ == "__main__":
    main()
