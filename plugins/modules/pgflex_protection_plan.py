#!/usr/bin/python
# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pgflex_protection_plan
short_description: Plan the protection of PostgreSQL Flexible Servers in a Backup vault, reading only
version_added: 0.2.0
description:
  - Checks, without writing anything, everything that must hold before servers are protected in a Backup vault, and
    lists every problem and warning at once - servers that do not exist, have invalid names, sit outside the vault's
    region or exceed the size vaulted backup supports, vault settings Azure refuses, a policy that is invalid, missing
    or not made for PostgreSQL Flexible Server, a user-assigned identity that does not exist, servers whose backup
    instance is soft-deleted in this vault, servers protected (or soft-deleted) in another vault the caller can read.
  - Says per server what protection needs - V(protect), V(change_policy), V(change_identity), V(resume),
    V(repair), V(none), or V(blocked) (its instance is soft-deleted, or another vault protects it) - with the same
    decision M(azbackup.dataprotection.pgflex_backup_instance) reports in list mode.
  - Works per vault, not per server - one read of the vault, one list of its backup instances and of its soft-deleted
    ones, one read of the policy, and the servers read with one list per resource group. To find servers another vault
    protects, it lists the subscriptions the caller can read, their Backup vaults, and each vault's backup instances
    and soft-deleted instances (one listing per vault); a vault the caller may not read is skipped with a warning.
  - A vault or policy that does not exist yet is planned as created (when O(manage_vault) / O(policy) say the caller
    manages it), and every server then needs V(protect).
  - It never fails because of what it finds (problems are returned in RV(problems)); it fails only on bad options or
    when Azure cannot be read.
  - The role P(azbackup.dataprotection.pgflex_protection#role) runs it first, for its validation and for its plan.
author:
  - azbackup maintainers (@azbackup)
options:
  manage_vault:
    description:
      - Whether the caller creates or updates the vault with O(vault). V(false) plans with the vault as it is; a
        missing vault is then a problem.
    type: bool
    default: true
  vault:
    description:
      - The vault settings the caller will apply with M(azbackup.dataprotection.backup_vault); checked as that module
        checks them in check mode. Unset (null) settings are not managed.
    type: dict
    default: {}
    suboptions:
      location:
        description: Region of the vault; the resource group's region when the vault does not exist and this is not set.
        type: str
      redundancy:
        description: Storage redundancy.
        type: str
        choices: [LocallyRedundant, GeoRedundant, ZoneRedundant]
      soft_delete:
        description: Soft delete.
        type: str
        choices: [disabled, enabled, always_on]
      soft_delete_retention_days:
        description: Days soft-deleted backups are kept.
        type: int
      immutability:
        description: Immutability.
        type: str
        choices: [disabled, unlocked, locked]
      cross_region_restore:
        description: Cross-region restore.
        type: bool
      tags:
        description: Tags of the vault.
        type: dict
  allow_irreversible:
    description: The caller confirms settings Azure does not let undo (as in M(azbackup.dataprotection.backup_vault)).
    type: bool
    default: false
  identity:
    description:
      - Resource id of a user-assigned managed identity the servers are protected with; it is attached to the vault
        next to the system-assigned identity. When not set, the instances keep their identity.
    type: str
  policy_name:
    description: Name of the backup policy the servers are protected with.
    type: str
    required: true
  policy:
    description:
      - The policy in the readable form of M(azbackup.dataprotection.backup_policy) (C(schedule), C(retention)) that
        the caller will create or update. V({}) uses the existing policy as it is (a missing policy is then a problem).
    type: dict
    default: {}
  keep_current_policy:
    description:
      - A server that already has a backup instance keeps its policy (its action is never V(change_policy)); the
        policy is for the servers that have none (RV(policy_needed) says whether any does).
      - Without it every server is moved to the policy, and each move is a V(change_policy) of the plan.
    type: bool
    default: false
    version_added: 0.2.0
  servers:
    description: Servers, each by C(id), or by C(name) and C(resource_group).
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Resource id of the server.
        type: str
      name:
        description: Name of the server.
        type: str
      resource_group:
        description: Resource group of the server.
        type: str
  server_ids:
    description: Resource ids of servers, in addition to O(servers).
    type: list
    elements: str
    default: []
  hosts:
    description:
      - One host per server (inventory pattern), used only when O(servers) and O(server_ids) are empty. Each host
        gives its server's C(id), or C(resource_group) and C(name) (the host name when not set). A host that gives
        neither is a problem naming the host.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: Inventory host name.
        type: str
        required: true
      id:
        description: Resource id of the host's server.
        type: str
      name:
        description: Name of the host's server.
        type: str
      resource_group:
        description: Resource group of the host's server.
        type: str
  on_unsupported_size:
    description:
      - A server larger than the 1 TB vaulted backup supports is a warning (V(warn)) or a problem (V(fail)).
    type: str
    choices: [warn, fail]
    default: warn
  option_names:
    description:
      - How the messages name the options, for a caller whose users set other variables (a role passes its own
        variable names), for example C(manage_vault) named C(my_manage_vault).
      - Keys are option names, C(vault.<setting>), C(policy), C(hosts.id), C(hosts.name), C(hosts.resource_group);
        values are the names to use.
    type: dict
    default: {}
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.vault
  - azbackup.dataprotection.attributes
attributes:
  check_mode:
    support: full
    description: Reads only, in check mode and out of it.
  diff_mode:
    support: none
    description: Reads only; there is nothing to compare.
seealso:
  - module: azbackup.dataprotection.pgflex_backup_instance
  - module: azbackup.dataprotection.pgflex_server_info
  - module: azbackup.dataprotection.backup_vault
  - module: azbackup.dataprotection.backup_policy
"""

EXAMPLES = r"""
- name: Plan the protection of three servers
  azbackup.dataprotection.pgflex_protection_plan:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    vault:
      location: eastus
      redundancy: LocallyRedundant
    policy_name: pg-weekly
    policy:
      schedule: {days_of_week: [Sunday], time: "02:00"}
      retention: {default: {duration: P3M}}
    servers:
      - {name: pg-orders, resource_group: rg-pg}
      - {name: pg-billing, resource_group: rg-pg}
      - {id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-pg2/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-hr}
  register: plan

- name: Stop on any problem, listing all of them
  ansible.builtin.assert:
    that: plan.problems | length == 0
    fail_msg: "{{ plan.problems | join(' ') }}"

- name: Protect what needs it, in one module run
  azbackup.dataprotection.pgflex_backup_instance:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    servers: "{{ plan.to_configure }}"
    policy_name: pg-weekly
  when: plan.to_configure | length > 0
"""

RETURN = r"""
problems:
  description: Everything that stands in the way, one sentence each; empty when the servers can be protected.
  returned: always
  type: list
  elements: str
plan_warnings:
  description:
    - What does not stop protection but deserves attention (oversized servers with O(on_unsupported_size=warn), a
      vault region that is not known). Each is also shown as a warning of the task.
  returned: always
  type: list
  elements: str
vault:
  description: The vault as it is and as the plan leaves it.
  returned: always
  type: dict
  contains:
    id:
      description: Resource id of the vault.
      type: str
    name:
      description: Name of the vault.
      type: str
    resource_group:
      description: Resource group of the vault.
      type: str
    exists:
      description: Whether the vault exists now.
      type: bool
    managed:
      description: O(manage_vault).
      type: bool
    action:
      description: V(create), V(update) or V(none).
      type: str
    location:
      description: Region of the vault (after the plan).
      type: str
    region:
      description: The region in programmatic form (V(eastus)); null when unknown.
      type: str
    identity:
      description: The identity option M(azbackup.dataprotection.backup_vault) needs for O(identity); null without.
      type: dict
    vault:
      description: The vault as M(azbackup.dataprotection.backup_vault) returns it (predicted when it changes).
      type: dict
policy:
  description: The policy as it is and as the plan leaves it.
  returned: always
  type: dict
  contains:
    id:
      description: Resource id of the policy.
      type: str
    name:
      description: Name of the policy's current version (its newest, or the one the plan would create).
      type: str
    exists:
      description: Whether the policy exists now.
      type: bool
    managed:
      description: Whether O(policy) was given.
      type: bool
    action:
      description:
        - V(create), V(new_version) (the policy changed, so its next version C(<name>-v2)... is created and the
          servers move to it), V(clean_up_versions) (older versions to move away from or delete) or V(none).
      type: str
    versions:
      description:
        - What M(azbackup.dataprotection.backup_policy) would do with the versions of the policy, as its
          RV(azbackup.dataprotection.backup_policy#module:policy_versions) (when O(policy) is given).
      type: dict
      returned: when the policy is managed
    policy:
      description: The policy as M(azbackup.dataprotection.backup_policy) returns it (predicted when it changes).
      type: dict
servers:
  description: Every server found, in the order requested, with what protecting it needs.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Resource id.
      type: str
    name:
      description: Server name.
      type: str
    resource_group:
      description: Resource group.
      type: str
    region:
      description: Region (V(eastus)).
      type: str
    storage_size_gb:
      description: Provisioned storage in GB.
      type: int
    over_size_limit:
      description: Whether the server is larger than vaulted backup supports.
      type: bool
    action:
      description: V(protect), V(change_policy), V(change_identity), V(resume), V(repair), V(blocked) or V(none).
      type: str
    reason:
      description: Why, in words.
      type: str
    before:
      description: The server's backup instance now (C(name), C(state), C(policy_name)); null when none.
      type: dict
server_ids:
  description: Resource ids of every server found, in order.
  returned: always
  type: list
  elements: str
to_configure:
  description: Resource ids of the servers whose action is neither V(none) nor V(blocked).
  returned: always
  type: list
  elements: str
host_servers:
  description: With O(hosts) (one host per server), the resource id of each host's server, by host name.
  returned: always
  type: dict
  version_added: 0.2.0
host_problems:
  description:
    - With O(hosts), the problems of each host, by host name - those that name the host or its server, and those that
      name no host (the vault, the policy), which are every host's. Empty without O(hosts).
    - A role fails each host with its own problems, so that the play recap counts the hosts whose servers failed.
  returned: always
  type: dict
  version_added: 0.2.0
policy_needed:
  description: Whether a server is to be protected with the policy (always true without O(keep_current_policy)).
  returned: always
  type: bool
  version_added: 0.2.0
counts:
  description: Number of servers per action.
  returned: always
  type: dict
  sample: {protect: 2, change_policy: 1, none: 47}
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import (
    arm,
    planning,
    references,
    server_inventory,
    vaults,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances import state


def argument_spec():
    spec = references.vault_argument_spec()
    spec.update(
        manage_vault=dict(type="bool", default=True),
        vault=dict(type="dict", default={}, options=dict(
            location=dict(type="str"),
            redundancy=dict(type="str", choices=vaults.REDUNDANCY),
            soft_delete=dict(type="str", choices=list(vaults.SOFT_DELETE)),
            soft_delete_retention_days=dict(type="int"),
            immutability=dict(type="str", choices=list(vaults.IMMUTABILITY)),
            cross_region_restore=dict(type="bool"),
            tags=dict(type="dict"),
        )),
        allow_irreversible=dict(type="bool", default=False),
        identity=dict(type="str"),
        policy_name=dict(type="str", required=True),
        policy=dict(type="dict", default={}),
        keep_current_policy=dict(type="bool", default=False),
        servers=dict(type="list", elements="dict", default=[], options=dict(
            id=dict(type="str"),
            name=dict(type="str"),
            resource_group=dict(type="str"),
        )),
        server_ids=dict(type="list", elements="str", default=[]),
        hosts=dict(type="list", elements="dict", default=[], options=dict(
            host=dict(type="str", required=True),
            id=dict(type="str"),
            name=dict(type="str"),
            resource_group=dict(type="str"),
        )),
        on_unsupported_size=dict(type="str", choices=list(state.SIZE_ACTIONS), default="warn"),
        option_names=dict(type="dict", default={}),
    )
    return spec


def main():
    azure = AzureBackupModule(argument_spec(), **references.reference_rules())
    api = azure.dataprotection_api()

    def list_group(group_id):
        return azure.arm_list(PGFLEX.list_path(group_id), PGFLEX.api_version, "listing servers")

    def group_location(name):
        group = azure.arm_get("/subscriptions/{0}/resourceGroups/{1}".format(arm.subscription_of(api.vault_id), name),
                              arm.api_version(arm.RESOURCE_GROUP))
        return (group or {}).get("location")

    with azure.azure_errors("planning protection in vault {0}".format(api.vault_name)):
        reads = planning.Reads(api, list_group, group_location, server_inventory.AzureReader(azure.session, PGFLEX))
        result = planning.build_plan(reads, azure.params,
                                     azure.subscription_id, PGFLEX)
    for warning in result["plan_warnings"]:
        azure.warn(warning)
    azure.exit(False, **result)


if __name__ == "__main__":
    main()
