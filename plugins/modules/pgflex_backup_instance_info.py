# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pgflex_backup_instance_info
short_description: List the PostgreSQL Flexible Server backup instances of a Backup vault
version_added: 0.1.0
description:
  - Returns the backup instances of a vault that protect PostgreSQL Flexible Servers, in the form
    M(azbackup.dataprotection.pgflex_backup_instance) returns them, with their protection status, the last backup
    (from the vault's jobs) and the recovery points they hold.
author:
  - azbackup maintainers (@azbackup)
options:
  name:
    description: Name of one backup instance.
    type: str
  policy_name:
    description: Only the instances that use this policy of the vault.
    type: str
  policy_id:
    description: Only the instances that use this policy (resource id), instead of O(policy_name).
    type: str
  include_jobs:
    description:
      - Read the vault's jobs to report each instance's last backup (RV(backup_instances[].last_backup)).
    type: bool
    default: true
  include_recovery_points:
    description: List each instance's recovery points to count them (one request per instance).
    type: bool
    default: true
  list_recovery_points:
    description: Also return the recovery points themselves (RV(backup_instances[].recovery_points)).
    type: bool
    default: false
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.vault
  - azbackup.dataprotection.server
  - azbackup.dataprotection.attributes
  - azbackup.dataprotection.attributes.info_module
seealso:
  - module: azbackup.dataprotection.pgflex_backup_instance
  - module: azbackup.dataprotection.backup_job_info
notes:
  - The server options (O(server_name) and O(server_resource_group), or O(server_id)) filter the list to the
    instance that protects that server.
"""

EXAMPLES = r"""
- name: Every protected server of a vault, with its last backup
  azbackup.dataprotection.pgflex_backup_instance_info:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
  register: protected

- name: Servers whose last backup did not succeed
  ansible.builtin.debug:
    msg: "{{ protected.backup_instances | rejectattr('last_backup_status', 'in', ['completed', None]) | list }}"

- name: The instance of one server, with its recovery points
  azbackup.dataprotection.pgflex_backup_instance_info:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
    list_recovery_points: true
  register: orders
"""

RETURN = r"""
backup_instances:
  description:
    - The instances found, each as M(azbackup.dataprotection.pgflex_backup_instance) returns C(backup_instance),
      plus the keys below. Empty when none matches.
  returned: always
  type: list
  elements: dict
  contains:
    last_backup:
      description:
        - The newest backup job (on-demand or scheduled) of the instance, whatever its outcome; null when none.
        - C(job_id), C(operation), C(status), C(start_time), C(end_time), C(duration_seconds), C(retention_tag),
          C(error_code), C(error_message), C(recommended_action).
      type: dict
      returned: when O(include_jobs=true)
    last_backup_status:
      description: C(status) of RV(backup_instances[].last_backup) (C(completed), C(failed), C(in_progress), ...).
      type: str
      returned: when O(include_jobs=true)
    last_backup_time:
      description: Start time of RV(backup_instances[].last_backup).
      type: str
      returned: when O(include_jobs=true)
    last_successful_backup_time:
      description: End of the newest completed backup job, or the newest recovery point's time if later.
      type: str
    recovery_point_count:
      description: Number of recovery points the instance holds.
      type: int
      returned: when O(include_recovery_points=true)
    recovery_points_by_tag:
      description: Recovery points per retention tag (C(Default), C(Weekly), ...).
      type: dict
      returned: when O(include_recovery_points=true)
    latest_recovery_point_time:
      description: Time of the newest recovery point.
      type: str
      returned: when O(include_recovery_points=true)
    oldest_recovery_point_time:
      description: Time of the oldest recovery point.
      type: str
      returned: when O(include_recovery_points=true)
    recovery_points:
      description: The recovery points, newest first (C(recovery_point_id), C(time), C(type), C(retention_tag),
        C(expiry_time), C(state)).
      type: list
      elements: dict
      returned: when O(list_recovery_points=true)
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import references
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances import info, lookup


def argument_spec():
    return references.argument_spec(
        server=True,
        policy=True,
        name=dict(type="str"),
        include_jobs=dict(type="bool", default=True),
        include_recovery_points=dict(type="bool", default=True),
        list_recovery_points=dict(type="bool", default=False),
    )


MODULE_RULES = references.reference_rules(server=True, mutually_exclusive=[["policy_name", "policy_id"]])


def main():
    azure = AzureBackupModule(argument_spec(), name_kind="backup instance", **MODULE_RULES)
    params = azure.params
    server_id = azure.server_id(PGFLEX, required=False)
    api = azure.dataprotection_api()
    policy_id = params["policy_id"]
    if params["policy_name"]:
        policy_id = lookup.policy_id_for(api.vault_id, params["policy_name"])
    with azure.azure_errors("listing the backup instances of vault {0}".format(api.vault_name)):
        found = info.instances_info(api, params, server_id, PGFLEX, policy_id)
    azure.exit(False, backup_instances=found)


if __name__ == "__main__":
    main()
