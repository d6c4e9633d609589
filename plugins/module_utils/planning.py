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

try:
    from azure.core.exceptions import HttpResponseError
except ImportError:  # the modules fail with missing_required_lib before any of this runs

    class HttpResponseError(Exception):  # noqa: D101
        pass

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, policies, references, servers, vaults
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances import lookup
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.decision import protection_action
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.readable import (
    lifecycle_state,
    to_readable,
)

# What a server needs, in the order an operator reads them: protection_action's, and blocked (soft-deleted instance).
ACTIONS = ("protect", "repair", "resume", "change_policy", "change_identity", "blocked", "none")


class Reads:
    """What a plan reads: ``api`` (the vault's DataProtectionApi: vault, policy, instances, resource),
    ``list_group(group_id)`` (the datasource's servers of a resource group), ``group_location(name)`` (the region
    of a resource group of the vault's subscription, None when it does not exist) and ``vaults`` (the other vaults the
    caller can read: ``subscriptions()``, ``vaults(subscription_id)``, ``instances(vault_id)``,
    ``deleted_instances(vault_id)``, as ``server_inventory.AzureReader`` reads them; None: not checked)."""

    def __init__(self, api, list_group, group_location, vaults=None):
        self.api = api
        self.list_group = list_group
        self.group_location = group_location
        self.vaults = vaults


def _listed(read, *args):
    """``read(*args)``, or None when the caller may not read it (403): a vault the caller cannot read is skipped."""
    try:
        return read(*args)
    except HttpResponseError as exc:
        if getattr(exc, "status_code", None) in (401, 403):
            return None
        raise


def protection_elsewhere(vaults, vault_id, server_ids):
    """({server key: [(vault id, instance name, soft deleted?)]}, vault ids skipped as unreadable) for the servers
    protected by a vault other than ``vault_id``, live or soft-deleted: one listing per vault, not per server."""
    wanted = set(arm.normalize_id(server_id) for server_id in server_ids)
    subscriptions = set(arm.subscription_of(server_id) for server_id in server_ids)
    subscriptions.add(arm.subscription_of(vault_id))
    subscriptions.update(_listed(vaults.subscriptions) or [])
    found, skipped = {}, []
    for subscription_id in sorted(item.lower() for item in subscriptions):
        for vault in _listed(vaults.vaults, subscription_id) or []:
            if arm.same_id(vault.get("id"), vault_id):
                continue
            for read, deleted in ((vaults.instances, False), (vaults.deleted_instances, True)):
                listed = _listed(read, vault["id"])
                if listed is None:
                    skipped.append(vault["id"])
                    break
                for body in listed:
                    server = (arm.properties(body).get("dataSourceInfo") or {}).get("resourceID")
                    if server and arm.normalize_id(server) in wanted:
                        soft = deleted or lifecycle_state(body) == "deleted"
                        found.setdefault(arm.normalize_id(server), []).append((vault["id"], body.get("name"), soft))
    return found, sorted(set(skipped))


def elsewhere_problem(server_name, vault_id, instance_name, soft_deleted):
    """Why a server protected by another vault cannot be protected by this one, and what to do."""
    where = "vault '{0}' (resource group {1}, subscription {2})".format(
        arm.last_segment(vault_id), arm.parse_resource_id(vault_id)["resource_group"], arm.subscription_of(vault_id))
    if soft_deleted:
        return ("Server '{0}' has a soft-deleted backup instance '{1}' in {2}; Azure protects a server in one vault "
                "only, soft-deleted instances included: protect it in that vault ({3}), or wait until that vault "
                "purges the instance at the end of its soft-delete retention.".format(
                    server_name, instance_name, where, lookup.undelete_advice(vault_id, instance_name)))
    return ("Server '{0}' is already protected by backup instance '{1}' in {2}; Azure protects a server in one vault "
            "only: keep it there (leave the server out of this plan), or delete that instance first (stop "
            "protection and keep its data with state: stopped, or delete it to move the server).".format(
                server_name, instance_name, where))


def server_action(current, server_id, policy_id, identity_id, vault_id=None, vault_name=None, soft_deleted=False):
    """(action, reason) of one server: ``protection_action``, or ``blocked`` for a soft-deleted instance (found in the
    vault's deleted list, or in that state; a run refuses to protect it again until it is undeleted or purged)."""
    if current is not None and (soft_deleted or lifecycle_state(current) == "deleted"):
        return "blocked", lookup.soft_deleted_here(
            vault_id or "<vault id>", vault_name or "the vault", current.get("name"),
            (arm.properties(current).get("deletionInfo") or {}).get("scheduledPurgeTime"))
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


def requested_servers(request, subscription_id, datasource, names, host_servers=None):
    """(server ids in request order, problems): from ``servers`` and ``server_ids`` or, when both are empty, from the
    play's ``hosts`` (one host per server). A host that names no server is a problem, not silently left out.
    ``host_servers``: a dict that receives each host's server id."""
    ids, problems = [], []
    host_servers = {} if host_servers is None else host_servers
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
        if entry["source"]:
            host_servers[entry["source"]] = server_id
        problem = datasource.name_problem(arm.last_segment(server_id))
        if problem:
            problems.append(problem + where)
        elif arm.normalize_id(server_id) not in seen:
            seen.add(arm.normalize_id(server_id))
            ids.append(server_id)
    return ids, problems


def problems_by_host(problems, hosts, host_servers):
    """{host: the problems that name the host or its server} for one host per server; a problem that names no host
    (the vault, the policy) is every host's."""
    if not hosts:
        return {}
    named = dict((host, [quoted for quoted in ("'{0}'".format(host), "'{0}'".format(
        arm.last_segment(host_servers.get(host) or "")), "host {0})".format(host)) if quoted != "''"])
        for host in hosts)
    found = dict((host, []) for host in hosts)
    for problem in problems:
        owners = [host for host in hosts if any(text in problem for text in named[host])]
        for host in owners or hosts:
            found[host].append(problem)
    return found


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
    versions = api.policy_versions(name) if vault_exists else []
    current = versions[-1] if versions else None  # the newest version of the policy (policies.py)
    result = {"name": current.get("name") if current else name, "id": (current or {}).get("id")
              or lookup.policy_id_for(api.vault_id, name), "managed": bool(wanted), "exists": False,
              "action": "none", "policy": None}
    result["exists"] = current is not None
    if wanted:
        schedule = wanted.get("schedule")
        if isinstance(schedule, dict) and not schedule.get("timezone"):
            schedule = dict(schedule, timezone="UTC")  # backup_policy's default
        params = {"name": name, "resource_group": api.resource_group, "vault_name": api.vault_name,
                  "vault_id": api.vault_id, "datasource_type": datasource.arm_type, "schedule": schedule,
                  "retention": wanted.get("retention")}
        try:
            outcome = policies.ensure_present(api, current, params, True, versions)
        except InputError as exc:
            problems.append("{0}: {1}".format(label, names.reword(str(exc), exc.option or "", "policy.")))
        else:
            result["policy"] = outcome.resource
            result["name"], result["id"] = outcome.resource["name"], outcome.resource["id"]
            result["versions"] = outcome.extra["policy_versions"]
            created = result["versions"]["created"]
            result["action"] = "create" if current is None else "new_version" if created else \
                "clean_up_versions" if outcome.changed else "none"
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

    ``request`` holds the module's options (``vault``, ``manage_vault``, ``policy_name``, ``policy``,
    ``keep_current_policy``, ``servers``, ``server_ids``, ``hosts``, ``identity``, ``on_unsupported_size``,
    ``option_names``). With ``keep_current_policy``, a server that has an instance keeps its policy (its action never
    is ``change_policy``) and the policy is for the servers that have none; ``policy_needed`` says whether any does.
    """
    names = Names(request.get("option_names"))
    api = reads.api
    problems, warnings = [], []
    vault_label = "Backup vault '{0}' (resource group {1})".format(api.vault_name, api.resource_group)
    host_servers = {}
    ids, request_problems = requested_servers(request, subscription_id, datasource, names, host_servers)
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
    deleted = api.deleted_instances() if current_vault is not None and found["servers"] else []
    elsewhere, unreadable = {}, []
    if reads.vaults is not None and found["servers"]:
        elsewhere, unreadable = protection_elsewhere(reads.vaults, api.vault_id,
                                                     [server["id"] for server in found["servers"]])
    for skipped in unreadable:
        warnings.append("Backup vault {0} could not be read, so the plan does not know whether it protects one of "
                        "the servers.".format(skipped))
    planned = []
    for server in found["servers"]:
        live = lookup.find_for_server(instances, server["id"])
        existing = live or lookup.find_for_server(deleted, server["id"])
        current = existing[0] if existing else None
        keep = bool(request.get("keep_current_policy")) and current is not None
        action, reason = server_action(current, server["id"], None if keep else policy_plan["id"],
                                       request.get("identity"), api.vault_id, api.vault_name,
                                       soft_deleted=bool(existing) and not live)
        kept = to_readable(current)["policy_name"] if keep else None
        if kept and kept.lower() != policy_plan["name"].lower() and action != "blocked":
            reason += "; it keeps its policy '{0}' ({1} and {2} are not set)".format(
                kept, names("policy_name"), names("policy"))
        if action == "blocked":
            problems.append("Server '{0}': {1}.".format(server["name"], reason))
        others = elsewhere.get(arm.normalize_id(server["id"])) or []
        if others and action == "protect":
            action, reason = "blocked", "protected by another vault"
            problems.extend(elsewhere_problem(server["name"], *other) for other in others)
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
        "host_servers": host_servers,
        "host_problems": problems_by_host(problems, [host.get("host") for host in request.get("hosts") or []
                                                     if host.get("host")], host_servers)
        if not (request.get("servers") or request.get("server_ids")) else {},
        "plan_warnings": warnings,
        "vault": vault,
        "policy": policy_plan,
        "servers": planned,
        "server_ids": [item["id"] for item in planned],
        "to_configure": [item["id"] for item in planned if item["action"] not in ("none", "blocked")],
        "policy_needed": not request.get("keep_current_policy") or any(item["action"] == "protect"
                                                                       for item in planned),
        "counts": counts,
    }
