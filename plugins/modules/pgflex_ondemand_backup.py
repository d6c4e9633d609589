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
  returned: always
  type: str
job:
  description:
    - The job as M(azbackup.dataprotection.backup_job_info) returns it; its final state with O(wait=true).
    - Null in check mode.
  returned: always
  type: dict
trigger:
  description: What was (or in check mode would be) triggered.
  returned: always
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
  returned: always
  type: dict
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import references
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
    )


MODULE_RULES = references.reference_rules(
    server=True, required_one_of=[["server_name", "server_id", "backup_instance_name"]])


def main():
    azure = AzureBackupModule(argument_spec(), **MODULE_RULES)
    params = azure.params
    server_id = azure.server_id(PGFLEX, required=False)
    api = azure.dataprotection_api()
    with azure.azure_errors("triggering an on-demand backup in vault {0}".format(api.vault_name)):
        result = ondemand.ondemand_backup(api, params, server_id, azure.check_mode, azure.warn)
    azure.exit(True, **result)


if __name__ == "__main__":
    main()
