# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: backup_vault_info
short_description: List Azure Backup vaults or get one
version_added: 0.1.0
description:
  - Returns the Backup vaults of a resource group or of the whole subscription, or one vault by name, in
    the same form as M(azbackup.dataprotection.backup_vault) returns it.
author:
  - azbackup maintainers (@azbackup)
options:
  resource_group:
    description: Resource group to list; the whole subscription when not set.
    type: str
  name:
    description: Name of one vault; needs O(resource_group).
    type: str
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.attributes
  - azbackup.dataprotection.attributes.info_module
seealso:
  - module: azbackup.dataprotection.backup_vault
"""

EXAMPLES = r"""
- name: All vaults of the subscription
  azbackup.dataprotection.backup_vault_info:
  register: all_vaults

- name: One vault
  azbackup.dataprotection.backup_vault_info:
    resource_group: rg-backup
    name: bv-pg-prod-eastus
  register: one

- name: Show who the vault's identity is
  ansible.builtin.debug:
    msg: "{{ one.backup_vaults[0].identity.principal_id }}"
"""

RETURN = r"""
backup_vaults:
  description:
    - The vaults found, each as M(azbackup.dataprotection.backup_vault) returns C(backup_vault).
    - Empty when O(name) does not exist.
  returned: always
  type: list
  elements: dict
  sample:
    - id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1
      name: bv1
      location: eastus
      redundancy: GeoRedundant
      soft_delete: enabled
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import vaults
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import (
    AzureBackupModule,
    as_dict,
    get_or_none,
)


def list_vaults(client, resource_group=None, name=None):
    """Readable vaults: one by name, those of a resource group, or those of the subscription."""
    if name:
        vault = get_or_none(client.backup_vaults.get, resource_group, name)
        return [vaults.to_readable(vault)] if vault else []
    if resource_group:
        items = client.backup_vaults.get_in_resource_group(resource_group)
    else:
        items = client.backup_vaults.get_in_subscription()
    return sorted((vaults.to_readable(as_dict(item)) for item in items), key=lambda vault: vault["id"].lower())


def main():
    azure = AzureBackupModule(
        dict(resource_group=dict(type="str"), name=dict(type="str")),
        required_by={"name": "resource_group"},
        name_kind="Backup vault",
    )
    params = azure.params
    with azure.azure_errors("listing backup vaults"):
        found = list_vaults(azure.dataprotection, params["resource_group"], params["name"])
    azure.exit(False, backup_vaults=found)


if __name__ == "__main__":
    main()
