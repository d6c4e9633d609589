# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The roles the vault identity needs on a server for backup: what is missing, how to say it, and the task that grants
them (the datasource record names the module)."""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import datasources, role_assignments
from ansible_collections.azbackup.dataprotection.plugins.module_utils.arm import last_segment
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError


def role_plan(api, principal_id, server_id):
    """The backup roles the principal needs on the server, each with status existing/inherited/missing.

    None when the caller may not read role assignments (the plan is then unknown, not empty).
    """
    required = role_assignments.required_assignments(datasources.of_resource(server_id), principal_id, [server_id],
                                                     "backup", "resource")
    listed = api.assignments(principal_id, [item["scope"] for item in required])
    if listed is None:
        return None
    existing, management_groups = listed
    return role_assignments.plan(required, existing, management_groups)


def roles_report(planned):
    if planned is None:
        return None
    return [{"role_name": item["role_name"], "role_definition_id": item["role_definition_id"], "scope": item["scope"],
             "status": item["status"], "inherited_from": item.get("inherited_from")} for item in planned]


def required_roles_text(server_id, planned=None):
    """``Reader on <rg>, PostgreSQL ... on <server>``: the missing roles, or all required ones when unknown."""
    if planned is not None:
        items = [item for item in planned if item["status"] == "missing"]
    else:
        items = role_assignments.required_assignments(datasources.of_resource(server_id),
                                                      "00000000-0000-0000-0000-000000000000", [server_id], "backup",
                                                      "resource")
    return ", ".join("{0} ({1}) on {2}".format(item["role_name"], item["role_definition_id"], item["scope"])
                     for item in items)


def fix_task(vault_id, server_id, identity_id=None):
    """The task (YAML) of the datasource's role assignment module that grants the vault identity what backup of the
    server needs."""
    lines = [
        "- name: Grant the Backup vault's identity the roles backup of {0} needs".format(last_segment(server_id)),
        "  {0}:".format(datasources.of_resource(server_id).role_assignment_module),
        "    vault_id: {0}".format(vault_id),
    ]
    if identity_id:
        lines.append("    user_assigned_identity_id: {0}".format(identity_id))
    lines.extend([
        "    server_id: {0}".format(server_id),
        "    operation: backup",
    ])
    return "\n".join(lines) + "\n"


def require_roles(api, name, server_id, identity_id, principal_id):
    """Before switching an instance to another identity: that identity must hold the roles (read-only check)."""
    planned = role_plan(api, principal_id, server_id)
    missing = [item for item in planned or [] if item["status"] == "missing"]
    if missing:
        raise InputError(
            "The identity {0} ({1}) lacks {2}; switching backup instance '{3}' to it would break its backups. "
            "Nothing was written. Grant the roles first:\n{4}".format(
                identity_id or "system_assigned", principal_id, required_roles_text(server_id, planned), name,
                fix_task(api.vault_id, server_id, identity_id)),
            missing_roles=roles_report(missing), fix_task=fix_task(api.vault_id, server_id, identity_id))
