# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pgflex_server_info
short_description: Look up Azure Database for PostgreSQL Flexible Servers before protecting them
version_added: 0.1.0
description:
  - Reads PostgreSQL Flexible Servers (C(Microsoft.DBforPostgreSQL/flexibleServers)) by id or name, or lists those
    of a resource group or of the subscription, and says what stands in the way of protecting them from a Backup
    vault - servers that do not exist, invalid names, servers outside the vault's region, servers larger than vaulted
    backup supports.
  - It never fails because of a missing or misplaced server; it lists every problem in RV(problems), so a playbook
    can check all servers before anything is written and report them in one message.
  - Servers requested in the same resource group are read with one list request for the group.
author:
  - azbackup maintainers (@azbackup)
options:
  server_name:
    description:
      - Names of servers in O(server_resource_group). Invalid names are reported in RV(problems) and not looked up.
    type: list
    elements: str
  server_resource_group:
    description:
      - Resource group of O(server_name). Alone, every server of the group is listed.
    type: str
  server_id:
    description:
      - Resource ids of servers, instead of O(server_name) and O(server_resource_group). They may be in other
        subscriptions.
    type: list
    elements: str
  location:
    description:
      - The region the servers must be in (a Backup vault's region, V(eastus) or V(East US)). Servers elsewhere are
        listed in RV(wrong_region) and RV(problems).
    type: str
extends_documentation_fragment:
  - azbackup.dataprotection.azure
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only; there is nothing to compare.
  action_group:
    support: full
    membership: [azbackup.dataprotection.azure]
    description: Use C(group/azbackup.dataprotection.azure) in C(module_defaults) to set the auth options once.
seealso:
  - module: azbackup.dataprotection.pgflex_backup_instance
notes:
  - Without O(server_name), O(server_id) and O(server_resource_group), every server of the subscription is listed.
"""

EXAMPLES = r"""
- name: Check the servers before protecting them from a vault in eastus
  azbackup.dataprotection.pgflex_server_info:
    server_name: [pg-orders, pg-inventory]
    server_resource_group: rg-pg
    location: eastus
  register: lookup

- name: Stop on any problem, listing all of them
  ansible.builtin.assert:
    that: lookup.problems | length == 0
    fail_msg: "{{ lookup.problems | join(' ') }}"
"""

RETURN = r"""
servers:
  description: The servers found, in the order requested.
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
    subscription_id:
      description: Subscription.
      type: str
    resource_group:
      description: Resource group.
      type: str
    location:
      description: Region as Azure returns it.
      type: str
      sample: East US
    region:
      description: The region in lowercase without spaces.
      type: str
      sample: eastus
    storage_size_gb:
      description: Provisioned storage.
      type: int
    over_size_limit:
      description: Whether the storage exceeds the 1 TB vaulted backup supports.
      type: bool
    size_problem:
      description: Why the size is a problem; null when it is not.
      type: str
    version:
      description: PostgreSQL major version.
      type: str
    sku_name:
      description: Compute SKU.
      type: str
    sku_tier:
      description: Compute tier.
      type: str
    state:
      description: Server state.
      type: str
    public_network_access:
      description: C(Enabled) or C(Disabled).
      type: str
    tags:
      description: Tags.
      type: dict
missing:
  description: Requested server ids that do not exist (or that the caller cannot read).
  returned: always
  type: list
  elements: str
wrong_region:
  description: Servers outside O(location) (C(id), C(name), C(region), C(expected_region)).
  returned: always
  type: list
  elements: dict
problems:
  description: One sentence per invalid name, missing server and server outside O(location); empty when none.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import references, servers
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX


def main():
    spec = references.server_argument_spec(multiple=True)
    spec.update(location=dict(type="str"))
    azure = AzureBackupModule(spec, mutually_exclusive=[["server_name", "server_id"]])
    params = azure.params
    with azure.input_errors():
        ids, invalid = servers.requested_ids(params, azure.subscription_id, PGFLEX)

    def read(server_id):
        return azure.arm_get(server_id, PGFLEX.api_version)

    def list_group(group_id):
        path = group_id or "/subscriptions/{0}".format(azure.subscription_id)
        if ids is None and params["server_resource_group"]:
            path = "/subscriptions/{0}/resourceGroups/{1}".format(
                azure.subscription_id, params["server_resource_group"])
        return azure.arm_list(PGFLEX.list_path(path), PGFLEX.api_version, "listing servers")

    result = servers.lookup(PGFLEX, read, list_group, ids, params["location"])
    result["problems"] = invalid + result["problems"]
    azure.exit(False, **result)


if __name__ == "__main__":
    main()
