# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Planning the protection of many servers in one vault, read-only: every problem at once, and what each server needs.

``build_plan(reads, request)`` works per vault, not per server: one read of the vault, one list of its backup
instances, one read of the policy, and the servers read one list per resource group (``servers.lookup``). ``reads``
is the only thing that talks to Azure (``AzureReads`` in a module, a fake in the unit tests). The vault and policy
settings are checked with the same helpers ``backup_vault`` and ``backup_policy`` use in check mode, and each server's
need with ``protection_action``, the decision ``pgflex_backup_instance`` list mode reports.

A vault or policy that does not exist yet is not a problem when the plan manages it: the plan then says it would be
created, and every server needs ``protect``.
"""

import re

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, policies, references, servers, vaults
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances import lookup
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.decision import protection_action
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.readable import (
    lifecycle_state,
    to_readable,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.recovery_points import UNDELETE_MODULE

# What a server needs, in the order an operator reads them: protection_action's, and blocked (soft-deleted instance).
ACTIONS = ("protect", "repair", "resume", "change_policy", "change_identity", "blocked", "none")


class Reads:
    """What a plan reads: ``api`` (the vault's DataProtectionApi: vault, policy, instances, resource),
    ``list_group(group_id)`` (the datasource's servers of a resource group) and ``group_location(name)`` (the region
    of a resource group of the vault's subscription, None when it does not exist)."""

    def __init__(self, api, list_group, group_location):
        self.api = api
        self.list_group = list_group
        self.group_location = group_location


def server_action(current, server_id, policy_id, identity_id, soft_deleted=False):
    """(action, reason) of one server: ``protection_action``, or ``blocked`` for a soft-deleted instance (which a
    run refuses to protect again until it is undeleted or purged)."""
    if current is not None and (soft_deleted or lifecycle_state(current) == "deleted"):
        purge = (arm.properties(current).get("deletionInfo") or {}).get("scheduledPurgeTime")
        return "blocked", ("its backup instance '{0}' is soft-deleted in the vault{1}: undelete it with {2}, or wait "
                           "until its soft-delete retention ends, before protecting the server again".format(
                               current.get("name"), " (purged {0})".format(purge) if purge else "",
                               UNDELETE_MODULE))
    return protection_action(current, server_id, policy_id, "present", identity_id)


class Names:
    """How messages name the options: a caller (a role) passes the variables its users set instead."""

    def __init__(self, mapping=None):
        self.mapping = dict(mapping or {})

    def __call__(self, option):
        return self.mapping.get(option) or option

    def reword(self, message, option, prefix):
        """``message`` with the options it names (``prefix`` + option: ``vault.soft_delete``, ``policy.retention``)
        named as the caller names them. ``option``: the option the error names, when it names one."""
        if option:
            if prefix + option in self.mapping:
                return message.replace(option, self.mapping[prefix + option], 1)
            if prefix.rstrip(".") in self.mapping:
                return message.replace(option, self.mapping[prefix.rstrip(".")] + "." + option, 1)
            return message
        for key, named in self.mapping.items():
            if key.startswith(prefix):
                message = re.sub(r"\b{0}\b".format(re.escape(key[len(prefix):])), named, message, count=1)
        return message


def requested_servers(request, subscription_id, datasource, names):
    """(server ids in request order, problems): from ``servers`` and ``server_ids`` or, when both are empty, from the
    play's ``hosts`` (one host per server). A host that names no server is a problem, not silently left out."""
    ids, problems = [], []
    entries = [dict(entry, source=None) for entry in request.get("servers") or []]
    entries += [{"id": server_id, "source": None} for server_id in request.get("server_ids") or []]
    if not entries:
        for host in request.get("hosts") or []:
            if host.get("id") or host.get("resource_group"):
                entries.append(dict(host, name=host.get("name") or host.get("host"), source=host.get("host")))
            else:
                problems.append("Host '{0}' names no server: give it {1}, or {2} (and {3} when the server is not named "
                                "like the host), or leave it out of the play.".format(
                                    host.get("host"), names("hosts.id"), names("hosts.resource_group"),
                                    names("hosts.name")))
    seen = set()
    for entry in entries:
        where = " (host {0})".format(entry["source"]) if entry["source"] else ""
        try:
            if entry.get("id"):
                server_id = references.server_references({"server_id": entry["id"]}, subscription_id, datasource)[0]
            elif not datasource.name_problem(entry.get("name")) and not entry.get("resource_group"):
                raise InputError("Server '{0}' needs a resource group.".format(entry.get("name")))
            else:
                server_id = datasource.server_id(subscription_id, entry.get("resource_group") or "-", entry.get("name"))
        except InputError as exc:
            problems.append(str(exc).replace("server_id", names("server_ids")) + where)
            continue
        problem = datasource.name_problem(arm.last_segment(server_id))
        if problem:
            problems.append(problem + where)
        elif arm.normalize_id(server_id) not in seen:
            seen.add(arm.normalize_id(server_id))
            ids.append(server_id)
    return ids, problems


def vault_settings(request):
    """The backup_vault options the plan checks: the caller's settings plus the identity the servers use."""
    settings = dict((key, value) for key, value in (request.get("vault") or {}).items() if value is not None)
    if request.get("identity"):
        settings["identity"] = {"type": "system_and_user_assigned",
                                "user_assigned_identities": [request["identity"]]}
    return settings


def _plan_vault(reads, request, names, label, problems, warnings):
    api = reads.api
    current = api.vault()
    result = {"name": api.vault_name, "resource_group": api.resource_group, "id": api.vault_id,
              "exists": current is not None, "managed": bool(request.get("manage_vault")), "action": "none",
              "vault": vaults.to_readable(current) if current else None}
    settings = vault_settings(request)
    result["identity"] = settings.get("identity")
    if result["managed"]:
        params = dict(settings, name=api.vault_name, resource_group=api.resource_group,
                      allow_irreversible=bool(request.get("allow_irreversible")), purge_tags=True)
        location = settings.get("location")
        if current is None and not location:
            location = reads.group_location(api.resource_group)
            if location is None:
                problems.append("{0}: resource group '{1}' does not exist. Create it first.".format(
                    label, api.resource_group))
        try:
            outcome = vaults.ensure_present(api, current, params, location, True)
        except InputError as exc:
            problems.append("{0}: {1}".format(label, names.reword(str(exc), exc.option or "", "vault.")))
        else:
            result["vault"] = outcome.resource
            result["action"] = ("create" if current is None else "update") if outcome.changed else "none"
    elif current is None:
        problems.append("{0} does not exist, and {1} is false: create it first, or let the plan manage it.".format(
            label, names("manage_vault")))
    result["location"] = (result["vault"] or {}).get("location") or settings.get("location")
    result["region"] = arm.canonical_region(result["location"])
    if not result["region"]:
        warnings.append("The region of {0} is not known, so the servers' regions were not checked.".format(label))
    return current, result


def _plan_policy(reads, request, datasource, names, vault_exists, vault_label, problems):
    api = reads.api
    name = request["policy_name"]
    label = "Backup policy '{0}'".format(name)
    wanted = request.get("policy") or {}
    result = {"name": name, "id": lookup.policy_id_for(api.vault_id, name), "managed": bool(wanted),
              "exists": False, "action": "none", "policy": None}
    current = api.policy(name) if vault_exists else None
    result["exists"] = current is not None
    if wanted:
        schedule = wanted.get("schedule")
        if isinstance(schedule, dict) and not schedule.get("timezone"):
            schedule = dict(schedule, timezone="UTC")  # backup_policy's default
        params = {"name": name, "resource_group": api.resource_group, "vault_name": api.vault_name,
                  "vault_id": api.vault_id, "datasource_type": datasource.arm_type, "schedule": schedule,
                  "retention": wanted.get("retention")}
        try:
            outcome = policies.ensure_present(api, current, params, True)
        except InputError as exc:
            problems.append("{0}: {1}".format(label, names.reword(str(exc), exc.option or "", "policy.")))
        else:
            result["policy"] = outcome.resource
            result["action"] = ("create" if current is None else "update") if outcome.changed else "none"
    elif not vault_exists:
        problems.append("{0} should already exist ({1} is empty), but {2} does not exist yet: give the policy in {1} "
                        "so that it is created.".format(label, names("policy"), vault_label))
    elif current is None:
        problems.append("{0} does not exist in {1} ({2} is empty, so an existing policy is used): create it, or give "
                        "it in {2}.".format(label, vault_label, names("policy")))
    else:
        result["policy"] = policies.to_result(current)
        if not datasource.policy_is_for(current):
            problems.append("{0} is for {1}, not for {2} ({3}).".format(
                label, ", ".join(datasource.policy_datasource_types(current)) or "no datasource type",
                datasource.label, datasource.arm_type))
    return result


def _plan_identity(reads, identity_id, names, problems):
    if not identity_id:
        return
    try:
        arm.parse_typed_id(identity_id, arm.USER_ASSIGNED_IDENTITY_TYPE, names("identity"))
    except InputError as exc:
        problems.append(str(exc))
        return
    if reads.api.resource(identity_id) is None:
        problems.append("The user-assigned identity {0} ({1}) does not exist, or the caller cannot read it.".format(
            identity_id, names("identity")))


def build_plan(reads, request, subscription_id, datasource):
    """The plan of one vault: problems, warnings, the vault, the policy and what each server needs.

    ``request`` holds the module's options (``vault``, ``manage_vault``, ``policy_name``, ``policy``, ``servers``,
    ``server_ids``, ``hosts``, ``identity``, ``on_unsupported_size``, ``option_names``).
    """
    names = Names(request.get("option_names"))
    api = reads.api
    problems, warnings = [], []
    vault_label = "Backup vault '{0}' (resource group {1})".format(api.vault_name, api.resource_group)
    ids, request_problems = requested_servers(request, subscription_id, datasource, names)
    if not ids and not request_problems:
        problems.append("No server to protect: set {0} or {1}, or give the hosts of the play {2} or {3}.".format(
            names("servers"), names("server_ids"), names("hosts.id"), names("hosts.resource_group")))
    current_vault, vault = _plan_vault(reads, request, names, vault_label, problems, warnings)
    problems.extend(request_problems)
    found = servers.lookup(datasource, api.server, reads.list_group, ids, vault["region"]) if ids else \
        {"servers": [], "problems": []}
    problems.extend(found["problems"])
    size_action = request.get("on_unsupported_size") or "warn"
    for server in found["servers"]:
        if server["over_size_limit"]:
            if size_action == "fail":
                problems.append(server["size_problem"] + " ({0}: fail)".format(names("on_unsupported_size")))
            else:
                warnings.append(server["size_problem"] + " It is protected anyway ({0}: warn).".format(
                    names("on_unsupported_size")))
    policy_plan = _plan_policy(reads, request, datasource, names, current_vault is not None, vault_label, problems)
    _plan_identity(reads, request.get("identity"), names, problems)
    instances = api.instances() if current_vault is not None else []
    deleted = api.deleted_instances() if current_vault is not None else []
    planned = []
    for server in found["servers"]:
        existing = lookup.find_for_server(instances, server["id"])
        soft = [] if existing else lookup.find_for_server(deleted, server["id"])
        current = (existing or soft or [None])[0]
        action, reason = server_action(current, server["id"], policy_plan["id"], request.get("identity"), bool(soft))
        if action == "blocked":
            problems.append("Server '{0}': {1}.".format(server["name"], reason))
        before = to_readable(current)
        planned.append({
            "id": server["id"], "name": server["name"], "resource_group": server["resource_group"],
            "region": server["region"], "storage_size_gb": server["storage_size_gb"],
            "over_size_limit": server["over_size_limit"], "action": action, "reason": reason,
            "before": {"name": before["name"], "state": before["state"], "policy_name": before["policy_name"]}
            if before else None,
        })
    counts = dict((action, 0) for action in ACTIONS)
    for item in planned:
        counts[item["action"]] = counts.get(item["action"], 0) + 1
    return {
        "problems": problems,
        "plan_warnings": warnings,
        "vault": vault,
        "policy": policy_plan,
        "servers": planned,
        "server_ids": [item["id"] for item in planned],
        "to_configure": [item["id"] for item in planned if item["action"] not in ("none", "blocked")],
        "counts": counts,
    }
