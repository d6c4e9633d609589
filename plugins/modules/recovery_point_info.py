# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: recovery_point_info
short_description: List the recovery points of a protected PostgreSQL Flexible Server
version_added: 0.1.0
description:
  - Lists the recovery points a Backup vault holds for a server (or a backup instance), newest first, as
    M(azbackup.dataprotection.pgflex_restore) can restore them.
  - O(start_time) and O(end_time) go to the API's filter; O(retention_tag) and O(latest) filter the answer.
  - With O(use_secondary_region=true) it lists the paired region's copies (cross-region restore), which needs a
    GeoRedundant vault with cross-region restore enabled.
author:
  - azbackup maintainers (@azbackup)
options:
  backup_instance_name:
    description: Name of the backup instance; when not set, the instance that protects the server is used.
    type: str
  start_time:
    description: Only points taken at or after this ISO 8601 date and time (for example C(2026-01-01T00:00:00Z)).
    type: str
  end_time:
    description: Only points taken at or before this ISO 8601 date and time.
    type: str
  retention_tag:
    description: Only points kept by this retention rule (C(Default), C(Weekly), C(Monthly), C(Yearly); any case).
    type: str
  latest:
    description: Only the newest point (after the other filters).
    type: bool
    default: false
  use_secondary_region:
    description: List the paired region's recovery points (cross-region restore) instead of the primary region's.
    type: bool
    default: false
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.vault
  - azbackup.dataprotection.server
  - azbackup.dataprotection.attributes
  - azbackup.dataprotection.attributes.info_module
seealso:
  - module: azbackup.dataprotection.pgflex_restore
  - module: azbackup.dataprotection.pgflex_backup_instance_info
"""

EXAMPLES = r"""
- name: The newest recovery point of pg-orders
  azbackup.dataprotection.recovery_point_info:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
    latest: true
  register: newest

- name: The monthly points of January
  azbackup.dataprotection.recovery_point_info:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
    start_time: "2026-01-01T00:00:00Z"
    end_time: "2026-02-01T00:00:00Z"
    retention_tag: monthly
"""

RETURN = r"""
recovery_points:
  description: The recovery points, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Resource id of the point.
      type: str
    recovery_point_id:
      description: The id a restore names (O(azbackup.dataprotection.pgflex_restore#module:recovery_point)).
      type: str
    time:
      description: When the point was taken (UTC).
      type: str
    type:
      description: Recovery point type (C(Full)).
      type: str
    retention_tag:
      description: The retention rule that keeps it.
      type: str
    expiry_time:
      description: When it expires.
      type: str
    state:
      description: C(Completed) or C(Partial).
      type: str
    is_partial:
      description: Whether the point is partial.
      type: bool
    policy_name:
      description: The policy that took it.
      type: str
    policy_version:
      description: The policy version.
      type: str
backup_instance:
  description: The backup instance the points belong to.
  returned: always
  type: dict
region:
  description: The region the points were read from (the paired region with O(use_secondary_region=true)).
  returned: always
  type: str
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import recovery_points, references
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.readable import to_readable


def argument_spec():
    return references.argument_spec(
        server=True,
        backup_instance_name=dict(type="str"),
        start_time=dict(type="str"),
        end_time=dict(type="str"),
        retention_tag=dict(type="str"),
        latest=dict(type="bool", default=False),
        use_secondary_region=dict(type="bool", default=False),
    )


MODULE_RULES = references.reference_rules(
    server=True, required_one_of=[["server_name", "server_id", "backup_instance_name"]])


def main():
    azure = AzureBackupModule(argument_spec(), **MODULE_RULES)
    params = azure.params
    with azure.input_errors():
        recovery_points.date_filter(params["start_time"], params["end_time"])  # bad times fail before any request
    server_id = azure.server_id(PGFLEX, required=False)
    api = azure.dataprotection_api()
    with azure.azure_errors("listing recovery points in vault {0}".format(api.vault_name)):
        vault = api.require_vault()
        secondary = recovery_points.secondary_region(api, vault) if params["use_secondary_region"] else None
        body = recovery_points.protected_instance(api, params, server_id, "listing its recovery points")
        points, source, secondary = recovery_points.list_points(api, vault, body,
                                                                dict(params, secondary_region=secondary))
    azure.exit(False, recovery_points=points, backup_instance=to_readable(body), region=secondary or source)


if __name__ == "__main__":
    main()
