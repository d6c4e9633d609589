# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: pgflex_servers
short_description: PostgreSQL Flexible Servers and their Azure Backup protection as an inventory
version_added: 0.1.0
description:
  - One host per Azure Database for PostgreSQL Flexible Server of one or more subscriptions (by default every
    subscription the caller can read), with the server's properties and its Azure Backup protection as host variables.
  - Groups by region (C(region_<region>)) and by protection state (V(protected), V(unprotected),
    V(protection_configuring), V(protection_suspended), V(protection_stopped), V(protection_error)), plus
    V(soft_deleted) for servers with a soft-deleted backup instance, so that
    C(ansible-playbook azbackup.dataprotection.protect -i prod.pgflex_servers.yml -e pgflex_protection_hosts=all
    --limit unprotected) closes the gaps.
  - Every host gets C(pgflex_protection_server_id) (what the role azbackup.dataprotection.pgflex_protection reads from
    the play's hosts) and C(ansible_connection=local) (the servers are reached through Azure's API, from the controller).
  - Reads are lists, each paged - the subscriptions, the servers and Backup vaults of each subscription, and per vault
    its backup instances, soft-deleted instances and jobs. Recovery points are listed once per protected server
    (O(recovery_points)).
  - Only vaults of the listed subscriptions are read. A server protected from a vault in another subscription shows as
    unprotected unless that subscription is listed too.
  - The configuration file name must end with C(pgflex_servers.yml) or C(pgflex_servers.yaml).
author:
  - azbackup maintainers (@azbackup)
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - azbackup.dataprotection.azure
options:
  plugin:
    description: Marks the file as a configuration of this plugin.
    type: str
    required: true
    choices: [azbackup.dataprotection.pgflex_servers]
  subscriptions:
    description:
      - Subscription ids whose servers to list.
      - When not set, every subscription the caller can read (C(GET /subscriptions)).
    type: list
    elements: str
    default: []
  recovery_points:
    description:
      - Count the recovery points of each protected server (C(backup.recovery_point_count)), one list request per
        protected server. V(false) leaves the count null and reads only per subscription and per vault.
    type: bool
    default: true
  filters:
    description:
      - Jinja2 conditions on the host variables; a server is kept only when all are true.
    type: list
    elements: str
    default: []
  exclude:
    description:
      - Jinja2 conditions on the host variables; a server is left out when any is true.
    type: list
    elements: str
    default: []
  default_groups:
    description:
      - Add the groups by region and by protection state. V(false) leaves grouping to O(groups) and O(keyed_groups).
    type: bool
    default: true
notes:
  - "Host variables: C(server_id), C(server_name), C(resource_group), C(subscription_id), C(location), C(region),
    C(sku_name), C(sku_tier), C(storage_size_gb), C(over_size_limit), C(postgres_version), C(server_state),
    C(server_tags), C(public_network_access), C(fqdn), C(protection_group), and C(backup) with C(protected), C(state), C(protection_status), C(vault_id),
    C(vault_name), C(vault_resource_group), C(policy_id), C(policy_name), C(backup_instance_name), C(error),
    C(last_backup_time), C(last_backup_status), C(last_successful_backup_time), C(recovery_point_count) and
    C(soft_deleted_instance) (C(id), C(vault_name), C(deletion_time), C(scheduled_purge_time), or null)."
  - Authentication is that of the modules (see the options above), from this file or the C(AZURE_*) environment
    variables; AWX and Automation Platform "Microsoft Azure Resource Manager" credentials work unchanged.
seealso:
  - module: azbackup.dataprotection.pgflex_backup_instance_info
  - module: azbackup.dataprotection.pgflex_server_info
"""

EXAMPLES = r"""
# prod.pgflex_servers.yml: every server of every subscription the caller can read
plugin: azbackup.dataprotection.pgflex_servers

# Two subscriptions, only servers tagged env=prod, groups by the "team" tag, and a cache of one hour
# plugin: azbackup.dataprotection.pgflex_servers
# subscriptions:
#   - 8c4f2a6e-1b3d-4a5c-9e7f-0d2b4c6e8a1f
#   - 2e6a8c0f-4b1d-4e3a-8c5f-7a9b1d3e5f60
# filters:
#   - server_tags.env | default('') == 'prod'
# exclude:
#   - over_size_limit
# keyed_groups:
#   - key: server_tags.team | default('none')
#     prefix: team
# groups:
#   needs_backup_now: backup.protected and backup.last_backup_status != 'completed'
# compose:
#   backup_vault: backup.vault_name
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.cache/ansible-inventory
# cache_timeout: 3600

# Then protect what is not protected yet, region by region:
#   ansible-inventory -i prod.pgflex_servers.yml --graph
#   ansible-playbook azbackup.dataprotection.protect -i prod.pgflex_servers.yml -e pgflex_protection_hosts=all \
#     --limit 'unprotected:&region_eastus' -e pgflex_protection_vault_name=bv-eastus \
#     -e pgflex_protection_vault_resource_group=rg-backup --check --diff
"""

import os

from ansible.errors import AnsibleError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.azbackup.dataprotection.plugins.module_utils import (
    azure_auth,
    azure_module,
    server_inventory,
)

# The module's auth options that this plugin takes from its configuration file (the environment is read as the
# modules read it, by azure_auth.resolve_auth).
AUTH_OPTIONS = tuple(azure_auth.auth_argument_spec())


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "azbackup.dataprotection.pgflex_servers"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(
            ("pgflex_servers.yml", "pgflex_servers.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        hosts = None
        if use_cache:
            try:
                hosts = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if hosts is None:
            hosts = self._read_hosts()
        if update_cache:
            self._cache[cache_key] = hosts
        self._populate(hosts)

    def _read_hosts(self):
        if not azure_module.azure_available():
            raise AnsibleError("The inventory plugin {0} needs {1}: {2}".format(
                self.NAME, azure_module.AZURE_REQUIREMENTS, azure_module.AZURE_IMPORT_ERROR))
        params = dict((name, self.get_option(name)) for name in AUTH_OPTIONS)
        params["auth_source"] = params.get("auth_source") or os.environ.get("ANSIBLE_AZURE_AUTH_SOURCE")
        session = None
        action = "authenticating"
        try:
            session = azure_module.AzureSession(params, os.environ, azure_module.read_credential_file())
            reader = server_inventory.AzureReader(session)
            action = "listing PostgreSQL Flexible Servers and their protection"
            return server_inventory.collect(reader, self.get_option("subscriptions") or None,
                                            self.get_option("recovery_points"))
        except azure_module.AZURE_ERRORS as exc:
            raise AnsibleError(azure_module.describe_error(exc, action, session)["msg"]) from exc

    def _populate(self, hosts):
        strict = self.get_option("strict")
        for host_vars in hosts:
            if not self._keep(host_vars, strict):
                continue
            name = host_vars["server_name"]
            self.inventory.add_host(name)
            for key, value in host_vars.items():
                self.inventory.set_variable(name, key, value)
            self.inventory.set_variable(name, "pgflex_protection_server_id", host_vars["server_id"])
            self.inventory.set_variable(name, "ansible_connection", "local")
            if self.get_option("default_groups"):
                for group in self._default_groups(host_vars):
                    self.inventory.add_group(group)
                    self.inventory.add_child(group, name)
            self._set_composite_vars(self.get_option("compose"), host_vars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), host_vars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, name, strict=strict)

    def _keep(self, host_vars, strict):
        try:
            if any(not self._compose(condition, host_vars) for condition in self.get_option("filters")):
                return False
            return not any(self._compose(condition, host_vars) for condition in self.get_option("exclude"))
        except AnsibleError as exc:  # a template error in the user's condition
            if strict:
                raise AnsibleError("Could not evaluate the filters of {0} for {1}: {2}".format(
                    self.NAME, host_vars["server_name"], exc)) from exc
            return False

    @staticmethod
    def _default_groups(host_vars):
        groups = [host_vars["protection_group"]]
        if host_vars["region"]:
            groups.append("region_" + host_vars["region"])
        if host_vars["backup"]["soft_deleted_instance"]:
            groups.append("soft_deleted")
        return groups
