# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read-only checks before any write: the vault identity to use, the policy (of the vault, for the datasource), and the
server (exists, same region as the vault, not larger than vaulted backup supports)."""

import re

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm
from ansible_collections.azbackup.dataprotection.plugins.module_utils.arm import last_segment
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.dataprotection import vault_identities
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.lookup import policy_id_for

_POLICY_ID_RE = re.compile(r"^(.*)/backupPolicies/[^/]+$", re.I)


def resolve_identity(api, vault, requested):
    """(identity id or None for system-assigned, principal id) the instance uses; fails before any write."""
    vault_name = (vault or {}).get("name") or api.vault_name
    system, users = vault_identities(vault)
    if requested in (None, "", "system_assigned"):
        if system:
            return None, system
        if users:
            raise InputError(
                "Backup vault '{0}' has no system-assigned identity, only user-assigned ones: set identity to the one "
                "that should reach the server ({1}), or give the vault a system-assigned identity with "
                "azbackup.dataprotection.backup_vault.".format(vault_name, ", ".join(sorted(users))),
                vault_user_assigned_identities=sorted(users))
        raise InputError(
            "Backup vault '{0}' has no managed identity, so it cannot reach any server. Give it one with "
            "azbackup.dataprotection.backup_vault (identity: {{type: system_assigned}}).".format(vault_name))
    for key, principal in users.items():
        if arm.same_id(key, requested):
            return key, principal or api.identity_principal(key)
    raise InputError(
        "identity '{0}' is not an identity of Backup vault '{1}' (its user-assigned identities: {2}; system-assigned: "
        "{3}). Add it to the vault with azbackup.dataprotection.backup_vault first.".format(
            requested, vault_name, ", ".join(sorted(users)) or "none", "yes" if system else "no"),
        vault_user_assigned_identities=sorted(users))


def resolve_policy(api, params, datasource):
    """(policy id, policy body) of policy_name / policy_id, checked to be a PostgreSQL Flexible Server policy."""
    policy_id = params.get("policy_id")
    if policy_id:
        match = _POLICY_ID_RE.match(policy_id.rstrip("/"))
        if not match or not arm.same_id(match.group(1), api.vault_id):
            raise InputError(
                "policy_id '{0}' is not a policy of Backup vault '{1}': an instance can only use a policy of its own "
                "vault ({2}/backupPolicies/<name>).".format(policy_id, api.vault_name, api.vault_id))
        name = last_segment(policy_id)
    else:
        name = params.get("policy_name")
        if not name:
            raise InputError("Set policy_name (or policy_id): the backup policy that protects the server.")
    # policy_id names one version; policy_name the policy, whose newest version protects (policies.py).
    policy = api.policy(name) if policy_id else api.current_policy(name)
    if policy is None:
        raise InputError(
            "Backup policy '{0}' does not exist in vault '{1}'. Create it with azbackup.dataprotection.backup_policy "
            "first, or check policy_name.".format(name, api.vault_name))
    if not datasource.policy_is_for(policy):
        raise InputError(
            "Backup policy '{0}' is for {1}, not for {2} ({3}): choose a policy made for {2}.".format(
                name, ", ".join(datasource.policy_datasource_types(policy)) or "no datasource type",
                datasource.label, datasource.arm_type))
    return policy.get("id") or policy_id_for(api.vault_id, name), policy


def check_server(api, vault, server_id, size_action, datasource):
    """The server body, after checking it exists, sits in the vault's region and is not too large.

    Returns (server, warnings).
    """
    server = api.server(server_id)
    if server is None:
        raise InputError(
            "{0} '{1}' does not exist, or the caller cannot read it ({2}).".format(
                datasource.label, last_segment(server_id), server_id))
    vault_location = arm.canonical_region((vault or {}).get("location"))
    server_location = arm.canonical_region(server.get("location"))
    if server_location != vault_location:
        raise InputError(
            "Server '{0}' is in region {1} but Backup vault '{2}' is in region {3}: Azure Backup protects a "
            "{4} only from a vault in the same region. Use a vault in {1}. Nothing was "
            "written.".format(server.get("name") or last_segment(server_id), server_location,
                              (vault or {}).get("name") or api.vault_name, vault_location, datasource.label),
            server_location=server_location, vault_location=vault_location)
    warnings = []
    problem = datasource.size_problem(server)
    if problem:
        if size_action == "fail":
            raise InputError(problem + " Nothing was written (on_unsupported_size=fail).",
                             storage_size_gb=datasource.storage_size_gb(server))
        warnings.append(problem + " Set on_unsupported_size=fail to refuse such servers.")
    return server, warnings
