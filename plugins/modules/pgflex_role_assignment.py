# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pgflex_role_assignment
short_description: Grant a Backup vault's identity the roles PostgreSQL Flexible Server backup needs, or hand over a template
version_added: 0.1.0
description:
  - Works out the role assignments the identity of a Backup vault needs to back up Azure Database for PostgreSQL
    Flexible Servers (C(Reader) on each server's resource group and C(PostgreSQL Flexible Server Long Term Retention
    Backup Role) on each server) or to restore into a storage account (C(Storage Blob Data Contributor) on the
    account), by role definition id, not by name.
  - An assignment of the same role to the same principal at the same scope is C(existing); at a parent scope
    (resource group, subscription, management group, tenant root) it is C(inherited) and already satisfies the need.
    Only what is missing is created, under deterministic names (a GUID derived from scope, principal and role),
    so reruns and parallel runs converge; C(409 RoleAssignmentExists) counts as success.
  - Before writing anything the module reads the caller's permissions at every scope it would write to
    (C(Microsoft.Authorization/permissions)). When the caller lacks C(Microsoft.Authorization/roleAssignments/write)
    on any of them (the portal's "User cannot assign roles"), nothing is written and the module returns
    RV(role_assignment_template), an ARM template that creates exactly the missing assignments, the equivalent
    RV(az_cli_commands) and RV(missing). A C(403 AuthorizationFailed) on a write is handled the same way (the
    writes stop there).
  - New role assignments can take several minutes to take effect. The module does not wait for that; the backup
    instance step retries Azure's validation while they propagate.
author:
  - azbackup maintainers (@azbackup)
options:
  user_assigned_identity_id:
    description:
      - Resource id of one of the vault's user-assigned managed identities; its principal gets the roles.
      - Without it (and without O(principal_id)), the vault's system-assigned identity gets them.
    type: str
  principal_id:
    description:
      - Object id of the principal (a managed identity, that is a service principal) to grant the roles to, instead
        of naming the vault. Mutually exclusive with O(vault_name), O(vault_id) and O(user_assigned_identity_id).
    type: str
  server_name:
    description:
      - Names of the PostgreSQL Flexible Servers, in O(server_resource_group). Use O(server_id) for servers in
        several resource groups or subscriptions.
      - Required for O(operation=backup) (this or O(server_id)); optional for O(operation=restore).
    type: list
    elements: str
  server_id:
    description:
      - Resource ids of the PostgreSQL Flexible Servers, instead of O(server_name) and O(server_resource_group).
    type: list
    elements: str
  operation:
    description:
      - What the identity must be able to do. V(backup) needs C(Reader) on the server's resource group and the
        C(PostgreSQL Flexible Server Long Term Retention Backup Role) on the server; V(restore) needs C(Storage Blob
        Data Contributor) on O(storage_account_id).
    type: str
    choices: [backup, restore]
    default: backup
  storage_account_id:
    description:
      - Resource id of the storage account restores write their files to. Required with O(operation=restore).
    type: str
  scope:
    description:
      - How wide the grants are. V(resource) is the narrowest that works (C(Reader) on the server's resource group,
        the other roles on the server or storage account); V(resource_group) puts every role on the resource group
        of the server (or storage account); V(subscription) on its subscription.
    type: str
    choices: [resource, resource_group, subscription]
    default: resource
  state:
    description:
      - V(present) creates the missing assignments. V(absent) deletes exactly the assignments this module would
        create for the same options (same role, scope and principal); assignments at parent scopes, or of other
        roles, are never touched.
      - With a vault (O(vault_name) or O(vault_id)) and O(operation=backup), an assignment that another server
        protected by the same vault still needs (for example Reader on a resource group that holds several protected
        servers) is kept and reported with status V(shared).
    type: str
    choices: [present, absent]
    default: present
  on_missing_permission:
    description:
      - What to do when the caller may not create (or delete) the role assignments. Nothing is written in either case.
      - V(fail) fails with a message that names the caller, the missing roles and scopes, and who must grant them;
        the result still carries RV(role_assignment_template) and RV(az_cli_commands).
      - V(template) does not fail, so a playbook can save the template and stop politely; RV(permission_denied) and
        RV(missing) say what is left to do.
    type: str
    choices: [fail, template]
    default: fail
  template_path:
    description:
      - Write RV(role_assignment_template) to this file (JSON) when there is one, that is when assignments are
        missing and the caller may not create them. An unchanged file is not rewritten.
      - The file is written on the host the module runs on; it is not written in check mode.
    type: path
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.vault
  - azbackup.dataprotection.server
  - azbackup.dataprotection.attributes
attributes:
  check_mode:
    support: full
    description:
      - Reads the assignments and the caller's permissions, and predicts the result (C(created), or the template
        when the caller may not assign roles); writes nothing to Azure and does not write O(template_path).
  diff_mode:
    support: full
    description: Shows the assignments that satisfy the need before and after the task.
seealso:
  - module: azbackup.dataprotection.backup_vault
  - name: Azure Backup for PostgreSQL Flexible Server, permissions
    description: The roles the Backup vault needs and why.
    link: https://learn.microsoft.com/azure/backup/backup-azure-database-postgresql-flex-overview
notes:
  - Reading the assignments needs C(Microsoft.Authorization/roleAssignments/read) on the subscriptions of the
    targets (Reader has it); writing needs C(Microsoft.Authorization/roleAssignments/write) (Owner, User Access
    Administrator, Role Based Access Control Administrator).
  - Assignments are listed per subscription with C($filter=principalId eq '<id>'), which also returns the
    assignments at management groups above the subscription and at the tenant root; those count as inherited.
"""

EXAMPLES = r"""
- name: Give the vault's system-assigned identity what backup of two servers needs
  azbackup.dataprotection.pgflex_role_assignment:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_resource_group: rg-pg-eastus
    server_name: [pg-orders, pg-inventory]

- name: Grant at the resource group instead, for servers added later
  azbackup.dataprotection.pgflex_role_assignment:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_resource_group: rg-pg-eastus
    server_name: [pg-orders]
    scope: resource_group

- name: Let the vault restore into a storage account
  azbackup.dataprotection.pgflex_role_assignment:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    operation: restore
    storage_account_id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backup/providers/Microsoft.Storage/storageAccounts/stpgrestore

- name: Without the right to assign roles, save the template for an administrator and stop
  azbackup.dataprotection.pgflex_role_assignment:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_resource_group: rg-pg-eastus
    server_name: [pg-orders]
    on_missing_permission: template
    template_path: "{{ playbook_dir }}/role-assignments.json"
  register: roles

- name: Stop politely until the roles are granted
  ansible.builtin.meta: end_play
  when: roles.missing | length > 0

- name: Remove the grants this module made for a server
  azbackup.dataprotection.pgflex_role_assignment:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_id:
      - /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-pg-eastus/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-orders
    state: absent
"""

RETURN = r"""
principal_id:
  description: Object id of the principal the roles are for.
  returned: always
  type: str
  sample: 2b1c5f0e-9d8a-4c3b-8e7f-6a5b4c3d2e1f
vault_id:
  description: Resource id of the vault whose identity it is; null with O(principal_id).
  returned: always
  type: str
scope_alternative:
  description:
    - When servers share resource groups and O(scope=resource), how many assignments O(scope=resource_group) would
      need instead (Azure allows 4000 role assignments per subscription); null otherwise.
    - Before the first write, what the run would add is counted against that limit; a run that would pass it fails
      on O(scope) and writes nothing.
  returned: always
  type: dict
  sample: {"scope": "resource_group", "assignments": 2, "instead_of": 501, "message": "scope resource_group would
    need 2 role assignments instead of 501 (the servers share resource groups; Azure allows 4000 per subscription)."}
assignments:
  description: One entry per required grant (role and scope), in a stable order.
  returned: always
  type: list
  elements: dict
  contains:
    role_name:
      description: Display name of the role (for reading only; the id is what counts).
      type: str
      sample: PostgreSQL Flexible Server Long Term Retention Backup Role
    role_definition_id:
      description: GUID of the role definition.
      type: str
      sample: c088a766-074b-43ba-90d4-1fb21feae531
    scope:
      description: Where the grant is needed.
      type: str
    principal_id:
      description: Object id of the principal.
      type: str
    name:
      description: The deterministic name (GUID) this module gives the assignment.
      type: str
    status:
      description:
        - With O(state=present) V(created) (also predicted in check mode), V(existing) (same scope), V(inherited)
          (a parent scope has it, see RV(assignments[].inherited_from)) or V(missing) (the caller may not create it).
        - With O(state=absent) V(removed), V(absent) (nothing to remove), V(inherited) (a parent scope grants it,
          which is not this module's to remove), V(existing) (the caller may not delete it) or V(shared) (another
          protected server of the vault still needs it, see RV(assignments[].needed_by)).
      type: str
      sample: created
    inherited_from:
      description: Scope of the parent assignment that satisfies the need; null unless inherited.
      type: str
    needed_by:
      description: With status V(shared), the other protected servers of the vault that still need the assignment.
      type: list
      elements: str
      returned: when status is shared
    assignment_id:
      description: Resource id of the assignment that satisfies (or satisfied) the need; null when missing.
      type: str
    targets:
      description: The servers or storage account the grant serves.
      type: list
      elements: str
missing:
  description:
    - The grants still missing after the task, in the shape of RV(assignments); empty when nothing is missing.
    - These are what RV(role_assignment_template) and RV(az_cli_commands) create.
  returned: always
  type: list
  elements: dict
permission_denied:
  description: Whether the caller may not create (or delete) some of the assignments.
  returned: always
  type: bool
role_assignment_template:
  description:
    - An ARM deployment template (resource group deployment) that creates exactly RV(missing) under the same names
      this module uses, for someone who may assign roles. Null when nothing is missing.
    - Deploy it with RV(deployment_command).
  returned: always
  type: dict
deployment_command:
  description: The C(az deployment group create) line that deploys RV(role_assignment_template); null without one.
  returned: always
  type: str
az_cli_commands:
  description:
    - C(az role assignment create) lines equivalent to RV(role_assignment_template); with O(state=absent), the
      C(az role assignment delete) lines for what the caller could not remove. Empty when there is nothing to hand over.
  returned: always
  type: list
  elements: str
template_path:
  description: Absolute path of the template file written (or that would be written in check mode).
  returned: when O(template_path) is set and a template was returned
  type: str
msg:
  description:
    - What happened. When assignments were created it says that they may take minutes to take effect. When the
      caller may not assign roles, it names the caller, the missing roles and scopes, and who must grant them.
  returned: always
  type: str
"""

import os

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, references
from ansible_collections.azbackup.dataprotection.plugins.module_utils import role_assignment_resource as rar
from ansible_collections.azbackup.dataprotection.plugins.module_utils import role_assignments as ra
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX

# Stands in for the principal while the options are validated, before anything is read.
_PLACEHOLDER_PRINCIPAL = "00000000-0000-0000-0000-000000000000"


def argument_spec():
    return references.argument_spec(
        server=True, multiple=True,
        user_assigned_identity_id=dict(type="str"),
        principal_id=dict(type="str"),
        operation=dict(type="str", choices=["backup", "restore"], default="backup"),
        storage_account_id=dict(type="str"),
        scope=dict(type="str", choices=list(ra.SCOPES), default="resource"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        on_missing_permission=dict(type="str", choices=["fail", "template"], default="fail"),
        template_path=dict(type="path"),
    )


MODULE_RULES = dict(
    mutually_exclusive=[
        ["principal_id", "vault_name"],
        ["principal_id", "vault_id"],
        ["principal_id", "user_assigned_identity_id"],
        ["vault_name", "vault_id"],
        ["server_name", "server_id"],
    ],
    required_one_of=[["principal_id", "vault_name", "vault_id"]],
    required_by={"vault_name": "resource_group", "server_name": "server_resource_group"},
    required_if=[["operation", "restore", ["storage_account_id"]]],
)


def main():
    azure = AzureBackupModule(argument_spec(), **MODULE_RULES)
    params = azure.params
    subscription_id = azure.subscription_id

    def read(path, api_version):
        return azure.arm_get(path, api_version, "reading {0}".format(path))

    with azure.input_errors():
        servers, storage = rar.targets_from_params(params, subscription_id, PGFLEX)
        # Every option is checked before the first request.
        ra.required_assignments(PGFLEX, _PLACEHOLDER_PRINCIPAL, servers, params["operation"], params["scope"], storage)
        principal_id, vault_id = rar.resolve_principal(params, subscription_id, read)
        required = ra.required_assignments(PGFLEX, principal_id, servers, params["operation"], params["scope"],
                                           storage)
        alternative = ra.scope_alternative(PGFLEX, principal_id, servers, params["operation"], params["scope"],
                                           storage)
        if params["state"] == "present":
            rar.check_targets_exist(servers, storage, read)
    if params["template_path"]:
        problem = rar.template_path_problem(params["template_path"])
        if problem:
            azure.fail(problem + " Nothing was written.", option="template_path")

    client = azure.authorization
    read_permissions = rar.permission_reader(azure.dataprotection.send_request)
    with azure.azure_errors("listing the role assignments of principal {0}".format(principal_id)):
        existing, management_groups = rar.list_assignments(client, principal_id, [i["scope"] for i in required])
    with azure.azure_errors(
        "{0} role assignments for principal {1}".format(
            "creating" if params["state"] == "present" else "deleting", principal_id
        )
    ):
        if params["state"] == "present":
            outcome = rar.ensure_present(client, read_permissions, required, existing, management_groups,
                                         azure.check_mode, alternative)
        else:
            others = []
            if vault_id and params["operation"] == "backup":
                vault_subscription, vault_group, vault_name = references.parse_typed_id(
                    vault_id, arm.VAULT_TYPE, "vault_id")
                instances = azure.session.client("dataprotection", vault_subscription).backup_instances.list(
                    vault_group, vault_name)
                others = rar.other_protected_servers(instances, servers)
            still_needed = (ra.required_assignments(PGFLEX, principal_id, others, "backup", params["scope"])
                            if others else [])
            outcome = rar.ensure_absent(client, read_permissions, required, existing, management_groups,
                                        azure.check_mode, still_needed)

    caller = None
    if outcome.denied:
        with azure.azure_errors("identifying the caller"):
            caller = azure.session.caller()
    result, problem = rar.result(outcome, principal_id, caller, params["template_path"])
    result["vault_id"] = vault_id
    result["scope_alternative"] = alternative
    if alternative and params["state"] == "present":
        azure.warn(alternative["message"][0].upper() + alternative["message"][1:])
    changed = outcome.changed
    diff = result.pop("diff")
    if result["role_assignment_template"] is not None and params["template_path"]:
        path = params["template_path"]
        try:
            written = rar.write_template(path, ra.template_json(result["role_assignment_template"]), azure.check_mode)
        except OSError as exc:
            result.pop("msg", None)
            azure.fail("Could not write template_path {0}: {1}".format(path, exc), changed=changed, **result)
        result["template_path"] = os.path.abspath(path)
        changed = changed or written

    if problem:
        if params["on_missing_permission"] == "fail":
            message = result.pop("msg")
            azure.fail(message, changed=changed, **result)
        azure.warn(
            "The caller may not {0} every role assignment; see missing and az_cli_commands{1}.".format(
                "create" if params["state"] == "present" else "delete",
                " and role_assignment_template" if result["role_assignment_template"] else "",
            )
        )
    azure.exit(changed, diff=diff, **result)


if __name__ == "__main__":
    main()
