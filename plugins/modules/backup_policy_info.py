# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: backup_policy_info
short_description: Read the backup policies of a Backup vault in a readable form
version_added: 0.1.0
description:
  - Returns one backup policy (O(name)) or every policy of a Backup vault, each in the readable form that
    M(azbackup.dataprotection.backup_policy) takes (schedule and retention) and as the raw body Azure stores.
author:
  - azbackup maintainers (@azbackup)
options:
  name:
    description:
      - Name of one policy; its newest version is returned (C(<name>), C(<name>-v2), C(<name>-v3)... as
        M(azbackup.dataprotection.backup_policy) names them). All policies of the vault when not set.
    type: str
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.vault
  - azbackup.dataprotection.attributes
  - azbackup.dataprotection.attributes.info_module
seealso:
  - module: azbackup.dataprotection.backup_policy
"""

EXAMPLES = r"""
- name: All policies of a vault
  azbackup.dataprotection.backup_policy_info:
    resource_group: rg-backup
    vault_name: bv-pg-prod-eastus
  register: all_policies

- name: One policy
  azbackup.dataprotection.backup_policy_info:
    resource_group: rg-backup
    vault_name: bv-pg-prod-eastus
    name: pg-weekly-ltr
  register: one

- name: How long are yearly backups kept?
  ansible.builtin.debug:
    msg: "{{ one.backup_policies[0].retention.yearly.duration }}"
"""

RETURN = r"""
backup_policies:
  description:
    - The policies found, sorted by name, each as M(azbackup.dataprotection.backup_policy) returns C(backup_policy).
    - Empty when O(name) does not exist.
  returned: always
  type: list
  elements: dict
  sample:
    - id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1/backupPolicies/pol1
      name: pol1
      vault_name: bv1
      resource_group: rg-backup
      datasource_types: [Microsoft.DBforPostgreSQL/flexibleServers]
      schedule: {days_of_week: [Sunday], time: "02:00", timezone: UTC}
      retention: {default: {duration: P3M}, weekly: {duration: P12W}}
      custom: false
      custom_reason: null
      policy: {objectType: BackupPolicy, datasourceTypes: [Microsoft.DBforPostgreSQL/flexibleServers], policyRules: []}
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import policies, references
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources import pgflex

# The readable form of a policy follows the constraints of the datasource record.
DATASOURCE = pgflex.PGFLEX


def list_policies(api, name=None):
    """Readable policies of a vault: the newest version of one by name (empty when none exists) or all of them."""
    if name:
        found = api.current_policy(name)
        items = [found] if found else []
    else:
        items = api.policies()
    results = [policies.to_result(item, api.vault_name, api.resource_group) for item in items]
    return sorted(results, key=lambda item: (item["name"] or "").lower())


def main():
    spec = references.vault_argument_spec()
    spec.update(name=dict(type="str"))
    azure = AzureBackupModule(spec, mutually_exclusive=[("vault_id", "vault_name"), ("vault_id", "resource_group")],
                              name_kind="backup policy")
    params = azure.params
    api = azure.dataprotection_api()
    with azure.azure_errors("listing the backup policies of vault {0}".format(api.vault_name)):
        api.require_vault()
        found = list_policies(api, params["name"])
    azure.exit(False, backup_policies=found)


if __name__ == "__main__":
    main()
