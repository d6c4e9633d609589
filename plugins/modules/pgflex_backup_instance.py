# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pgflex_backup_instance
short_description: Protect an Azure Database for PostgreSQL Flexible Server in a Backup vault
version_added: 0.1.0
description:
  - Manages the backup instance (C(Microsoft.DataProtection/backupVaults/backupInstances)) that protects a
    PostgreSQL Flexible Server with a long-term retention backup policy of a Backup vault.
  - Before anything is written it checks that the vault and the server exist and are in the same region, that the
    policy exists in the vault and is made for PostgreSQL Flexible Server, that the vault has the identity asked for,
    and that the server is not larger than vaulted backup supports (1 TB).
  - For a new instance it then asks the service to validate the configuration (validateForBackup). While that fails
    only because the vault identity's access is missing or not yet effective (role assignments take minutes to
    propagate), it retries with a growing pause for at most O(validation_timeout) seconds, then fails with the
    service's message, the missing roles and the M(azbackup.dataprotection.pgflex_role_assignment) task that grants
    them. No fixed sleep is needed after granting roles in the same play.
  - After the instance is created the module waits until the service reports C(ProtectionConfigured); a
    C(ProtectionError) fails with the service's error code, message and recommended action.
  - The policy and the identity change in place. The server of an instance cannot change.
author:
  - azbackup maintainers (@azbackup)
options:
  name:
    description:
      - Name of the backup instance.
      - When not set, the instance that already protects the server in the vault is used whatever its name (so
        instances created in the portal or with the Azure CLI are adopted), and a new one is named
        C(<server>-<server>-<uuid>) like the Azure CLI does, with a uuid derived from the server's resource id so
        that reruns and parallel runs pick the same name.
    type: str
  policy_name:
    description:
      - Name of the backup policy in the vault. Required with O(state=present) unless O(policy_id) is set.
      - Changing it on an existing instance updates the instance in place.
    type: str
  policy_id:
    description:
      - Resource id of the backup policy, instead of O(policy_name). It must be a policy of the vault.
    type: str
  identity:
    description:
      - Which managed identity of the vault reaches the server. V(system_assigned), or the resource id of a
        user-assigned identity attached to the vault.
      - When not set, an existing instance keeps its identity and a new one uses the vault's system-assigned identity.
        A vault that has only user-assigned identities needs this option.
    type: str
    aliases: [user_assigned_identity_id]
  state:
    description:
      - V(present) protects the server (and resumes protection or backups that were stopped or suspended).
      - V(stopped) stops protection and keeps the existing recovery points (they no longer expire).
      - V(suspended) stops scheduled backups; existing recovery points keep expiring by the policy.
      - V(absent) deletes the instance; in a vault with soft delete the instance and its recovery points are kept
        as a soft-deleted instance for the vault's retention period. Without soft delete its recovery points are
        deleted for good, which needs O(allow_data_loss=true) when there are any.
    type: str
    choices: [present, absent, stopped, suspended]
    default: present
  validate:
    description:
      - Ask the service to validate access before creating the instance (validateForBackup), retrying while access
        is missing or propagating. The read-only checks (region, policy, identity, size) always run.
    type: bool
    default: true
  validation_timeout:
    description:
      - Seconds to keep retrying validation while it fails because the vault identity's roles are missing or not
        yet effective. V(0) validates once.
    type: int
    default: 300
  on_unsupported_size:
    description:
      - What to do when the server's storage is larger than the 1 TB vaulted backup supports.
      - V(warn) protects it anyway with a warning; V(fail) refuses before anything is written.
    type: str
    choices: [warn, fail]
    default: warn
  wait:
    description:
      - Wait until the protection state is reached (C(ProtectionConfigured), C(ProtectionStopped),
        C(BackupsSuspended)) or the instance is gone.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait at most for each long-running operation and for the protection state.
      - V(0) means do not wait.
    type: int
    default: 600
  keep_current_policy:
    description:
      - An existing instance keeps the policy it has; O(policy_name) / O(policy_id) apply only to a server that has no
        instance yet. Used to protect new servers without moving the others to another policy.
    type: bool
    default: false
    version_added: 0.2.0
  allow_data_loss:
    description:
      - With O(state=absent) in a vault whose soft delete is off, delete an instance that holds recovery points
        (they are removed for good). Without it the task fails, in check mode too, saying how many recovery points
        would be lost.
      - Not needed when the instance has no recovery point, or the vault keeps deleted instances (soft delete on).
    type: bool
    default: false
    version_added: 0.2.0
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.vault
  - azbackup.dataprotection.server
  - azbackup.dataprotection.server_list
  - azbackup.dataprotection.attributes
attributes:
  check_mode:
    support: full
    description:
      - Runs every read-only check, compares the vault identity's role assignments with the roles the server
        needs (reported in RV(validation)), and returns the predicted instance. Writes nothing, and does not call
        validateForBackup (a POST).
  diff_mode:
    support: full
    description: Shows the instance's server, policy, identity and state before and after.
seealso:
  - module: azbackup.dataprotection.pgflex_role_assignment
  - module: azbackup.dataprotection.pgflex_backup_instance_info
  - module: azbackup.dataprotection.pgflex_ondemand_backup
  - module: azbackup.dataprotection.backup_job_info
notes:
  - The vault's identity needs Reader on the server's resource group and the PostgreSQL Flexible Server Long Term
    Retention Backup Role on the server; grant them with M(azbackup.dataprotection.pgflex_role_assignment).
  - validateForBackup, stop, suspend, resume and delete are long-running operations; each is bounded by
    O(wait_timeout).
"""

EXAMPLES = r"""
- name: Grant the vault's identity the roles it needs
  azbackup.dataprotection.pgflex_role_assignment:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg

- name: Protect the server (retries validation while the new roles propagate)
  azbackup.dataprotection.pgflex_backup_instance:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
    policy_name: pg-weekly-ltr
    validation_timeout: 600

- name: Move the instance to another policy (in place)
  azbackup.dataprotection.pgflex_backup_instance:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
    policy_name: pg-weekly-ltr-10y

- name: Protect many servers in one module run, ten at a time
  azbackup.dataprotection.pgflex_backup_instance:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_resource_group: rg-pg
    servers: [pg-orders, pg-billing, pg-inventory]
    policy_name: pg-weekly-ltr
    max_parallel: 10
  register: protected

- name: Stop backups for a maintenance window, keeping recovery points per policy
  azbackup.dataprotection.pgflex_backup_instance:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
    state: suspended

- name: Protect with a user-assigned identity of the vault
  azbackup.dataprotection.pgflex_backup_instance:
    vault_id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1
    server_id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-pg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-orders
    policy_name: pg-weekly-ltr
    identity: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-backup

- name: Stop protecting and delete the backup instance
  azbackup.dataprotection.pgflex_backup_instance:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
    state: absent
"""

RETURN = r"""
backup_instance:
  description: The backup instance after the task (predicted in check mode); empty after O(state=absent).
  returned: when O(servers) is not set
  type: dict
  contains:
    id:
      description: Resource id of the backup instance.
      type: str
    name:
      description: Name of the backup instance.
      type: str
      sample: pg-orders-pg-orders-0f4b2a9e-6c1d-5e3f-8a7b-9c0d1e2f3a4b
    friendly_name:
      description: Friendly name (the server name).
      type: str
    server_id:
      description: Resource id of the protected server.
      type: str
    server_name:
      description: Name of the protected server.
      type: str
    server_location:
      description: Region of the server.
      type: str
    policy_id:
      description: Resource id of the backup policy.
      type: str
    policy_name:
      description: Name of the backup policy.
      type: str
    identity:
      description: C(system_assigned) or the resource id of the user-assigned identity the instance uses.
      type: str
    protection_status:
      description: Azure's C(protectionStatus.status).
      type: str
      sample: ProtectionConfigured
    current_protection_state:
      description: Azure's C(currentProtectionState).
      type: str
      sample: ProtectionConfigured
    state:
      description: >-
        The state in this module's terms: C(present), C(stopped), C(suspended), C(configuring), C(error),
        C(not_protected).
      type: str
    provisioning_state:
      description: Azure's provisioning state.
      type: str
    error:
      description: The service's protection error (code, message, recommended_action, ...), null when none.
      type: dict
validation:
  description:
    - What was checked before writing (regions, identity and its principal, size warnings) and how the service
      validation went (C(service_validation) passed / failed / skipped / not needed, C(attempts), C(waited_seconds)).
    - In check mode, C(roles) lists the required roles with C(existing), C(inherited) or C(missing), and
      C(missing_roles) and C(fix_task) say what to grant.
  returned: when O(state) is not V(absent) and O(servers) is not set
  type: dict
soft_deleted:
  description: Whether the deleted instance is kept in the vault's soft delete.
  returned: when O(state=absent)
  type: bool
deleted_instance:
  description: The instance that was (or in check mode would be) deleted.
  returned: when O(state=absent) and an instance existed
  type: dict
note:
  description: What soft delete means for the deleted instance.
  returned: when O(state=absent) and the vault has soft delete
  type: str
recovery_points_lost:
  description: How many recovery points the deletion removed (in check mode would remove) for good.
  returned: when O(state=absent), an instance existed and the vault's soft delete is off
  type: int
  version_added: 0.2.0
servers:
  description:
    - List mode, one entry per server of O(servers), in the order given. Each entry holds what a single-server run
      returns (RV(backup_instance), RV(validation), RV(soft_deleted), ...) and the keys below.
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
      description: Whether this server's instance changed (would change in check mode).
      type: bool
    failed:
      description: Whether this server failed; the other servers were handled all the same.
      type: bool
    msg:
      description: Why this server failed.
      type: str
      returned: when failed
    action:
      description:
        - What the server went through - V(protect), V(repair), V(resume), V(change_policy), V(change_identity),
          V(stop), V(suspend), V(delete), or V(none) (nothing changed). The decision
          M(azbackup.dataprotection.pgflex_protection_plan) plans with.
      type: str
      returned: when not failed
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

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, references, server_list
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances import lookup, state
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.decision import protection_action


def argument_spec():
    return references.argument_spec(
        server=True,
        policy=True,
        name=dict(type="str"),
        identity=dict(type="str", aliases=["user_assigned_identity_id"]),
        state=dict(type="str", choices=list(state.STATES), default="present"),
        validate=dict(type="bool", default=True),
        validation_timeout=dict(type="int", default=300),
        on_unsupported_size=dict(type="str", choices=list(state.SIZE_ACTIONS), default="warn"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        allow_data_loss=dict(type="bool", default=False),
        keep_current_policy=dict(type="bool", default=False),
        **server_list.argument_spec()
    )


MODULE_RULES = references.reference_rules(
    server=True,
    mutually_exclusive=[["policy_name", "policy_id"], ["servers", "name"]] + server_list.MUTUALLY_EXCLUSIVE,
    required_one_of=[["server_name", "server_id", "servers"]],
    required_if=[["state", "present", ["policy_name", "policy_id"], True]],
)


def apply(azure, api, server_id):
    """The single-server task: (changed, result, diff). Azure and input errors fail through ``azure``."""
    params = azure.params
    if params["state"] == "absent":
        with azure.azure_errors("deleting the backup instance of {0}".format(server_id)):
            outcome = state.ensure_absent(api, params, server_id, azure.check_mode)
        return outcome.changed, dict(outcome.extra, backup_instance={}), outcome.diff
    with azure.azure_errors("protecting {0}".format(server_id)):
        outcome = state.ensure_present(api, params, server_id, azure.check_mode, azure.warn)
    return outcome.changed, dict(outcome.extra, backup_instance=outcome.resource), outcome.diff


def run_list(azure):
    """List mode: every server of ``servers`` in one run, ``max_parallel`` at a time, each with its ``action``."""
    params = azure.params
    server_ids = server_list.resolve(azure, PGFLEX)
    api = azure.dataprotection_api(azure.waits[1])
    shared = server_list.SharedReads.read(azure, api, required=params["state"] != "absent")
    policy_id = params["policy_id"] or (
        lookup.policy_id_for(api.vault_id, params["policy_name"]) if params["policy_name"] else None)

    def work(scope, server_id):
        found = lookup.find_for_server(shared.instances(), server_id)
        before = found[0] if found else None
        changed, result, diff = apply(scope, shared.bind(scope.dataprotection_api(scope.waits[1])), server_id)
        wanted_policy = None if params["keep_current_policy"] and before is not None else policy_id
        action = protection_action(before, server_id, wanted_policy, params["state"], params["identity"])[0]
        if params["state"] == "absent":
            action = "delete"
        return changed, dict(result, action=action if changed else "none"), diff

    server_list.run(azure, server_ids, work)


def main():
    azure = AzureBackupModule(argument_spec(), name_kind="backup instance", **MODULE_RULES)
    params = azure.params
    identity = params["identity"]
    if identity and identity != "system_assigned":
        try:
            arm.parse_typed_id(identity, arm.USER_ASSIGNED_IDENTITY_TYPE, "identity")
        except InputError as exc:
            azure.fail(str(exc) + " Use system_assigned for the vault's system-assigned identity.", option="identity")
    if params["servers"] is not None:
        run_list(azure)
    changed, result, diff = apply(azure, azure.dataprotection_api(azure.waits[1]), azure.server_id(PGFLEX))
    azure.exit(changed, diff=diff, **result)


if __name__ == "__main__":
    main()
