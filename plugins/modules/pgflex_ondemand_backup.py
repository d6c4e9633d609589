# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pgflex_ondemand_backup
short_description: Back up a protected PostgreSQL Flexible Server now
version_added: 0.1.0
description:
  - Triggers an on-demand (ad hoc) backup of a server that a Backup vault protects, with the backup rule of the
    instance's policy, and returns the job that runs it.
  - With O(wait=true) it waits (at most O(wait_timeout) seconds) for the job to finish and fails with the job's
    error code, message and recommended action when the job does not complete.
  - It is an action, not a state, so every run that triggers a backup reports C(changed).
  - Before triggering, it looks for an on-demand backup of the instance that is still running (a previous run whose
    job could not be read, the portal); when there is one, no second backup is started, the task reports that job
    (and waits for it with O(wait=true)) and is not C(changed).
  - When the backup was triggered but its job could not be read, the task fails saying so (RV(started), RV(job_id)
    when known); a rerun then finds the running job instead of starting another backup.
author:
  - azbackup maintainers (@azbackup)
options:
  backup_instance_name:
    description:
      - Name of the backup instance. When not set, the instance that protects the server named by the server
        options is used.
    type: str
  retention_tag:
    description:
      - Which retention rule of the policy keeps this backup (C(Default), C(Weekly), C(Monthly), C(Yearly), as the
        policy names them). It must be a rule of the instance's policy.
    type: str
    default: Default
  rule_name:
    description: The backup rule to run; the policy's backup rule (C(BackupWeekly)) when not set.
    type: str
  wait:
    description: Wait for the backup job to finish.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait at most for the trigger and, with O(wait=true), for the job.
      - V(0) means do not wait (the job is found among the vault's newest on-demand jobs).
    type: int
    default: 1800
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.vault
  - azbackup.dataprotection.server
  - azbackup.dataprotection.server_list
  - azbackup.dataprotection.attributes
attributes:
  check_mode:
    support: full
    description: Checks that the backup can be triggered and reports RV(trigger); triggers nothing.
  diff_mode:
    support: none
    description: An action has no before and after.
seealso:
  - module: azbackup.dataprotection.pgflex_backup_instance
  - module: azbackup.dataprotection.backup_job_info
"""

EXAMPLES = r"""
- name: Back up the server now and wait for the job
  azbackup.dataprotection.pgflex_ondemand_backup:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
    wait: true
  register: backup

- name: Keep a backup before a migration as long as the monthly ones
  azbackup.dataprotection.pgflex_ondemand_backup:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
    retention_tag: Monthly
  register: pre_migration

- name: Back up many servers at once, waiting for every job
  azbackup.dataprotection.pgflex_ondemand_backup:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    servers:
      - /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-pg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-orders
      - /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-pg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-billing
    wait: true
  register: backups

- name: Follow it later
  azbackup.dataprotection.backup_job_info:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    job_id: "{{ pre_migration.job_id }}"
    wait_for: completed
"""

RETURN = r"""
job_id:
  description: Id of the backup job; null in check mode.
  returned: when O(servers) is not set
  type: str
job:
  description:
    - The job as M(azbackup.dataprotection.backup_job_info) returns it; its final state with O(wait=true).
    - Null in check mode.
  returned: when O(servers) is not set
  type: dict
trigger:
  description: What was (or in check mode would be) triggered.
  returned: when O(servers) is not set
  type: dict
  contains:
    backup_instance_name:
      description: The backup instance.
      type: str
    server_id:
      description: The server it protects.
      type: str
    rule_name:
      description: The backup rule run.
      type: str
    retention_tag:
      description: The retention rule that keeps the backup.
      type: str
    policy_name:
      description: The instance's policy.
      type: str
backup_instance:
  description: The backup instance, as M(azbackup.dataprotection.pgflex_backup_instance) returns it.
  returned: when O(servers) is not set
  type: dict
started:
  description: Whether this run started (in check mode would start) a backup; false when one was already running.
  returned: when O(servers) is not set
  type: bool
  version_added: 0.2.0
already_running:
  description: Whether an on-demand backup of the instance was already running, so none was started.
  returned: when O(servers) is not set
  type: bool
  version_added: 0.2.0
servers:
  description:
    - List mode, one entry per server of O(servers), in the order given. Each entry holds what a single-server run
      returns (RV(job_id), RV(job), RV(trigger), RV(backup_instance)) and the keys below.
  returned: when O(servers) is set
  type: list
  elements: dict
  contains:
    server_id:
      description: Resource id of the server.
      type: str
    server_name:
      description: Name of the server.
      type: str
    changed:
      description: Whether a backup was (in check mode would be) triggered for this server.
      type: bool
    failed:
      description: Whether this server failed; the other servers were handled all the same.
      type: bool
    msg:
      description: Why this server failed (with RV(job_id) when the backup was triggered and the job failed).
      type: str
      returned: when failed
    warnings:
      description: Warnings about this server (also shown as the task's warnings, prefixed with the server name).
      type: list
      elements: str
failed_servers:
  description: List mode, the resource ids of the servers that failed (empty when none did).
  returned: when O(servers) is set
  type: list
  elements: str
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import references, server_list
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances import ondemand


def argument_spec():
    return references.argument_spec(
        server=True,
        backup_instance_name=dict(type="str"),
        retention_tag=dict(type="str", default="Default"),
        rule_name=dict(type="str"),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=1800),
        **server_list.argument_spec()
    )


MODULE_RULES = references.reference_rules(
    server=True,
    required_one_of=[["server_name", "server_id", "backup_instance_name", "servers"]],
    mutually_exclusive=[["servers", "backup_instance_name"]] + server_list.MUTUALLY_EXCLUSIVE,
)


def trigger(azure, api, server_id):
    """The single-server task: the result of pgflex_ondemand_backup. Azure and input errors fail through ``azure``."""
    with azure.azure_errors("triggering an on-demand backup in vault {0}".format(api.vault_name)):
        return ondemand.ondemand_backup(api, azure.params, server_id, azure.check_mode, azure.warn)


def run_list(azure):
    """List mode: a backup of every server of ``servers`` in one run, ``max_parallel`` at a time."""
    server_ids = server_list.resolve(azure, PGFLEX)
    shared = server_list.SharedReads.read(azure, azure.dataprotection_api())

    def work(scope, server_id):
        result = trigger(scope, shared.bind(scope.dataprotection_api()), server_id)
        return result["started"], result, None

    server_list.run(azure, server_ids, work)


def main():
    azure = AzureBackupModule(argument_spec(), **MODULE_RULES)
    if azure.params["servers"] is not None:
        run_list(azure)
    result = trigger(azure, azure.dataprotection_api(), azure.server_id(PGFLEX, required=False))
    azure.exit(result["started"], **result)


if __name__ == "__main__":
    main()
