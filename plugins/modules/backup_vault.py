# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: backup_vault
short_description: Create, update and delete Azure Backup vaults
version_added: 0.1.0
description:
  - Manages a Backup vault (C(Microsoft.DataProtection/backupVaults)), the store that keeps long-term
    retention backups of Azure Database for PostgreSQL Flexible Server isolated from the server's tenant.
  - Changes Azure does not allow (redundancy after creation; leaving C(always_on) soft delete, C(locked)
    immutability or enabled cross-region restore) fail before anything is written.
  - Deleting a vault that still holds backup instances fails, and deletes nothing.
author:
  - azbackup maintainers (@azbackup)
options:
  resource_group:
    description: Resource group of the vault.
    type: str
    required: true
  name:
    description: Name of the vault, 2 to 50 letters, digits and hyphens.
    type: str
    required: true
  location:
    description:
      - Azure region of the vault. It must be the region of the servers it protects.
      - Defaults to the resource group's location when the vault is created. Cannot change later.
    type: str
  redundancy:
    description:
      - How the vault store is replicated. Set when the vault is created (V(GeoRedundant) if not given);
        Azure does not allow changing it afterwards.
    type: str
    choices: [LocallyRedundant, GeoRedundant, ZoneRedundant]
  soft_delete:
    description:
      - Soft delete keeps deleted backups for O(soft_delete_retention_days) before purging them.
      - V(always_on) cannot be turned off again and needs O(allow_irreversible=true).
      - V(enabled) when the vault is created without it.
    type: str
    choices: [disabled, enabled, always_on]
  soft_delete_retention_days:
    description: Days a soft-deleted backup is kept, 14 to 180 (14 when the vault is created without it).
    type: int
  immutability:
    description:
      - Immutable vaults refuse operations that would delete recovery points before their expiry.
      - V(locked) cannot be undone and needs O(allow_irreversible=true).
      - V(disabled) when the vault is created without it.
    type: str
    choices: [disabled, unlocked, locked]
  cross_region_restore:
    description:
      - Allow restores in the paired region. Needs O(redundancy=GeoRedundant); once enabled, Azure does not
        allow disabling it.
    type: bool
  cross_subscription_restore:
    description:
      - Whether restores may write to storage accounts in other subscriptions of the tenant.
      - V(enabled) is what Azure applies when a vault is created without it.
      - V(permanently_disabled) cannot be undone and needs O(allow_irreversible=true).
    type: str
    choices: [disabled, enabled, permanently_disabled]
  identity:
    description:
      - Managed identity of the vault; the identity is what gets access to the servers it backs up.
      - A system-assigned identity when the vault is created without it.
    type: dict
    suboptions:
      type:
        description: Which identities the vault has.
        type: str
        choices: [none, system_assigned, user_assigned, system_and_user_assigned]
        default: system_assigned
      user_assigned_identities:
        description: Resource ids of user-assigned managed identities.
        type: list
        elements: str
  alerts_for_all_job_failures:
    description: Raise an Azure Monitor alert for every failed job (on when the vault is created without it).
    type: bool
  tags:
    description: Tags of the vault. Not managed when not set.
    type: dict
  purge_tags:
    description: Remove tags that are not in O(tags). Has no effect when O(tags) is not set.
    type: bool
    default: true
  allow_irreversible:
    description:
      - Confirms a change into a state Azure does not let you leave (O(soft_delete=always_on),
        O(immutability=locked), O(cross_subscription_restore=permanently_disabled)).
    type: bool
    default: false
  state:
    description: Whether the vault should exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: Wait for Azure to finish creating, updating or deleting the vault.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait at most when O(wait=true). V(0) means do not wait.
    type: int
    default: 600
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.attributes
attributes:
  check_mode:
    support: full
    description: Reports the vault that would be created or changed, and writes nothing.
  diff_mode:
    support: full
    description: Shows the vault's settings before and after.
seealso:
  - module: azbackup.dataprotection.backup_vault_info
notes:
  - Creating and deleting a vault are long-running operations; the module follows Azure's status URL and
    waits as its Retry-After says, at most O(wait_timeout) seconds.
"""

EXAMPLES = r"""
- name: Create a geo-redundant vault next to the servers it will protect
  azbackup.dataprotection.backup_vault:
    resource_group: rg-backup
    name: bv-pg-prod-eastus
    location: eastus
    redundancy: GeoRedundant
    soft_delete: enabled
    soft_delete_retention_days: 30
    tags:
      owner: dba-team

- name: Lock soft delete on for good
  azbackup.dataprotection.backup_vault:
    resource_group: rg-backup
    name: bv-pg-prod-eastus
    soft_delete: always_on
    allow_irreversible: true

- name: Delete a vault that no longer protects anything
  azbackup.dataprotection.backup_vault:
    resource_group: rg-backup
    name: bv-pg-test
    state: absent
"""

RETURN = r"""
backup_vault:
  description: The vault after the task (predicted in check mode); empty when it does not exist.
  returned: always
  type: dict
  contains:
    id:
      description: Resource id.
      type: str
      sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1
    name:
      description: Vault name.
      type: str
    resource_group:
      description: Resource group.
      type: str
    location:
      description: Azure region.
      type: str
    tags:
      description: Tags.
      type: dict
    redundancy:
      description: Storage redundancy.
      type: str
      sample: GeoRedundant
    soft_delete:
      description: Soft delete state.
      type: str
      sample: enabled
    soft_delete_retention_days:
      description: Days soft-deleted backups are kept.
      type: int
    immutability:
      description: Immutability state.
      type: str
      sample: disabled
    cross_region_restore:
      description: Whether restores to the paired region are enabled.
      type: bool
    cross_subscription_restore:
      description: Whether restores to other subscriptions are C(enabled), C(disabled) or C(permanently_disabled).
      type: str
      sample: enabled
    alerts_for_all_job_failures:
      description: Whether every failed job raises an Azure Monitor alert.
      type: bool
    identity:
      description: Managed identities; C(principal_id) is what roles are granted to (null until Azure creates it).
      type: dict
      sample: {type: system_assigned, principal_id: 1f0b6a4e-0000-0000-0000-000000000000, user_assigned_identities: []}
    provisioning_state:
      description: Azure's provisioning state.
      type: str
      sample: Succeeded
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, azure_waits, vaults
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.dataprotection import DataProtectionApi


def argument_spec():
    return dict(
        resource_group=dict(type="str", required=True),
        name=dict(type="str", required=True),
        location=dict(type="str"),
        redundancy=dict(type="str", choices=vaults.REDUNDANCY),
        soft_delete=dict(type="str", choices=list(vaults.SOFT_DELETE)),
        soft_delete_retention_days=dict(type="int"),
        immutability=dict(type="str", choices=list(vaults.IMMUTABILITY)),
        cross_region_restore=dict(type="bool"),
        cross_subscription_restore=dict(type="str", choices=list(vaults.CROSS_SUBSCRIPTION_RESTORE)),
        identity=dict(type="dict", options=dict(
            type=dict(type="str", choices=list(vaults.IDENTITY_TYPES), default="system_assigned"),
            user_assigned_identities=dict(type="list", elements="str"),
        )),
        alerts_for_all_job_failures=dict(type="bool"),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
        allow_irreversible=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )


def main():
    azure = AzureBackupModule(argument_spec())
    params = azure.params
    resource_group, name = params["resource_group"], params["name"]
    with azure.input_errors():
        vaults.desired_from_params(params)  # bad input fails here, before any request
    should_wait, timeout = azure.waits

    def wait(poller, what):
        return azure.wait(poller, what) if should_wait else None

    vault_id = arm.resource_id(azure.subscription_id, resource_group, arm.VAULT_TYPE, name)
    api = DataProtectionApi(azure.dataprotection, vault_id, azure.arm_get, wait)

    def wait_until_gone():
        if should_wait:
            azure_waits.poll_until(api.vault, lambda body: body is None, timeout,
                                   "backup vault {0} to disappear".format(name))

    with azure.azure_errors("reading backup vault {0}".format(name)):
        current = api.vault()
    if params["state"] == "absent":
        with azure.azure_errors("deleting backup vault {0}".format(name)):
            outcome = vaults.ensure_absent(api, current, params, azure.check_mode, wait_until_gone)
        azure.exit(outcome.changed, diff=outcome.diff, backup_vault={})
    location = params["location"]
    if current is None and not location:
        location = azure.resource_group(resource_group)["location"]
    elif current is None:
        # ARM would refuse the PUT; refuse it before any write, in check mode too.
        regions = azure.arm_get("/subscriptions/{0}/locations".format(azure.subscription_id),
                                arm.api_version(arm.SUBSCRIPTION), "listing the regions of the subscription")
        problem = vaults.location_problem(location, (regions or {}).get("value"))
        if problem:
            azure.fail(problem + " Nothing was written.", option="location")
    with azure.azure_errors("creating or updating backup vault {0}".format(name)):
        outcome = vaults.ensure_present(api, current, params, location, azure.check_mode)
    azure.exit(outcome.changed, diff=outcome.diff, backup_vault=outcome.resource)


if __name__ == "__main__":
    main()
