# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: deleted_backup_instance_info
short_description: List the soft-deleted backup instances of a Backup vault
version_added: 0.1.0
description:
  - Lists the backup instances a vault keeps soft-deleted (deleted while the vault's soft delete was on), with when
    they were deleted, when Azure purges them and how many recovery points they keep.
  - Undelete one with M(azbackup.dataprotection.pgflex_backup_instance_undelete) before its purge time.
author:
  - azbackup maintainers (@azbackup)
options:
  name:
    description: Name of one soft-deleted backup instance.
    type: str
  recovery_points:
    description: Count the recovery points of each instance (one request per instance).
    type: bool
    default: true
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.vault
  - azbackup.dataprotection.server
  - azbackup.dataprotection.attributes
  - azbackup.dataprotection.attributes.info_module
seealso:
  - module: azbackup.dataprotection.pgflex_backup_instance_undelete
"""

EXAMPLES = r"""
- name: What is soft-deleted in the vault, and until when
  azbackup.dataprotection.deleted_backup_instance_info:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
  register: deleted
"""

RETURN = r"""
deleted_backup_instances:
  description: The soft-deleted instances, each as M(azbackup.dataprotection.pgflex_backup_instance_info) describes an
    instance, plus the keys below.
  returned: always
  type: list
  elements: dict
  contains:
    deletion_time:
      description: When the instance was deleted.
      type: str
    scheduled_purge_time:
      description: When Azure deletes it and its recovery points for good.
      type: str
    billing_end_date:
      description: When billing for it ends.
      type: str
    recovery_point_count:
      description: Recovery points it keeps (null with O(recovery_points=false)).
      type: int
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import deleted_instances, references
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX


def argument_spec():
    return references.argument_spec(server=True, name=dict(type="str"),
                                    recovery_points=dict(type="bool", default=True))


def main():
    azure = AzureBackupModule(argument_spec(), **references.reference_rules(server=True))
    server_id = azure.server_id(PGFLEX, required=False)
    api = azure.dataprotection_api()
    with azure.azure_errors("listing the soft-deleted backup instances of vault {0}".format(api.vault_name)):
        found = deleted_instances.deleted_info(api, azure.params["name"], server_id, azure.params["recovery_points"])
    azure.exit(False, deleted_backup_instances=found)


if __name__ == "__main__":
    main()
