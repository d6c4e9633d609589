# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pgflex_backup_instance_undelete
short_description: Undelete a soft-deleted backup instance of a PostgreSQL Flexible Server
version_added: 0.1.0
description:
  - Brings back the soft-deleted backup instance of a server (or the one named) with its recovery points, as
    C(az dataprotection backup-instance deleted-backup-instance undelete) does. The instance comes back with
    protection stopped and its data retained: restore from it with M(azbackup.dataprotection.pgflex_restore), or
    resume protection with M(azbackup.dataprotection.pgflex_backup_instance) O(azbackup.dataprotection.pgflex_backup_instance#module:state=present).
  - Idempotent; an instance that is not soft-deleted (already undeleted) is reported unchanged.
  - A separate module rather than a state of M(azbackup.dataprotection.pgflex_backup_instance), because undelete is
    its own operation in Azure (on the vault's deleted instances) and leaves protection stopped.
author:
  - azbackup maintainers (@azbackup)
options:
  backup_instance_name:
    description: Name of the soft-deleted backup instance; when not set, the soft-deleted instance of the server.
    type: str
  wait_timeout:
    description: Seconds to wait at most for the undelete; V(0) means do not wait.
    type: int
    default: 600
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.vault
  - azbackup.dataprotection.server
  - azbackup.dataprotection.attributes
attributes:
  check_mode:
    support: full
    description: Reports whether an undelete would happen; writes nothing.
  diff_mode:
    support: none
    description: An action; see RV(backup_instance).
seealso:
  - module: azbackup.dataprotection.deleted_backup_instance_info
  - module: azbackup.dataprotection.pgflex_backup_instance
"""

EXAMPLES = r"""
- name: Undelete the backup instance of pg-orders, then protect it again
  azbackup.dataprotection.pgflex_backup_instance_undelete:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
"""

RETURN = r"""
backup_instance:
  description: The instance afterwards (in check mode, the soft-deleted one).
  returned: always
  type: dict
msg:
  description: What happened and what to do next.
  returned: always
  type: str
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import deleted_instances, references
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX


def argument_spec():
    return references.argument_spec(server=True, backup_instance_name=dict(type="str"),
                                    wait_timeout=dict(type="int", default=600))


MODULE_RULES = references.reference_rules(
    server=True, required_one_of=[["server_name", "server_id", "backup_instance_name"]])


def main():
    azure = AzureBackupModule(argument_spec(), **MODULE_RULES)
    server_id = azure.server_id(PGFLEX, required=False)
    api = azure.dataprotection_api()
    with azure.azure_errors("undeleting a backup instance in vault {0}".format(api.vault_name)):
        changed, instance, message = deleted_instances.undelete(api, azure.params["backup_instance_name"], server_id,
                                                                azure.check_mode)
    azure.exit(changed, backup_instance=instance, msg=message)


if __name__ == "__main__":
    main()
