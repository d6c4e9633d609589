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

from ansible_collections.azbackup.dataprotection.plugins.module_utils import (
    backup_instances,
    compare,
    pgflex,
    policies,
    policy,
    references,
    servers,
    vaults,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import as_dict, get_or_none

try:
    from azure.core.rest import HttpRequest
except ImportError:  # the modules fail with missing_required_lib before any of this runs
    HttpRequest = None

RESOURCE_GROUP_API_VERSION = "2021-04-01"

# What a server needs, in the order an operator reads them.
ACTIONS = ("protect", "change_policy", "change_identity", "resume", "repair", "wait", "blocked", "none")


def protection_action(current, server_id, desired_policy_id, desired_state="present", identity_id=None):
    """(action, reason): what protecting ``server_id`` with ``desired_policy_id`` needs, given its instance body.

    ``current`` is the server's backup instance in the vault (ARM body) or None; ``identity_id`` the user-assigned
    identity asked for (None keeps the instance's identity). Actions: protect, change_policy, change_identity,
    resume, repair, wait (configuring now), blocked (soft-deleted: a run would refuse it) and none.
    """
    server = backup_instances.last_segment(server_id)
    if current is None:
        if desired_state != "present":
            return "none", "server '{0}' has no backup instance".format(server)
        return "protect", "server '{0}' has no backup instance in the vault".format(server)
    instance = backup_instances.to_readable(current)
    state = instance["state"]
    if state == "deleted":
        return "blocked", ("the backup instance '{0}' of server '{1}' is soft-deleted: undelete it, or wait until its "
                           "soft-delete retention ends".format(instance["name"], server))
    if desired_state != "present":
        return ("none", "already {0}".format(state)) if state == desired_state else (desired_state, state)
    if state in ("stopped", "suspended"):
        return "resume", "protection is {0}".format(state)
    if state == "configuring":
        return "wait", "protection is being configured"
    if state != "present":
        return "repair", "the instance is in {0}".format(instance["current_protection_state"] or state)
    if desired_policy_id and not compare.same_id(instance["policy_id"], desired_policy_id):
        return "change_policy", "protected with policy '{0}'".format(instance["policy_name"])
    if identity_id and not compare.same_id(instance["identity"], identity_id):
        return "change_identity", "uses identity {0}".format(instance["identity"])
    return "none", "protected with policy '{0}'".format(instance["policy_name"])


class AzureReads:
    """The reads a plan makes, through the module façade (every Azure error fails the module, naming the read)."""

    def __init__(self, azure, vault_subscription, vault_id):
        self.azure = azure
        self.vault_id = vault_id
        self.resource_group = vault_id.split("/")[4]
        self.vault_name = vault_id.split("/")[-1]
        self.client = azure.dataprotection_for(vault_subscription)

    def _read(self, what, operation, *args):
        with self.azure.azure_errors(what):
            return get_or_none(operation, *args)

    def vault(self):
        return self._read("reading backup vault " + self.vault_name, self.client.backup_vaults.get,
                          self.resource_group, self.vault_name)

    def policy(self, name):
        return self._read("reading backup policy " + name, self.client.backup_policies.get, self.resource_group,
                          self.vault_name, name)

    def instances(self):
        with self.azure.azure_errors("listing the backup instances of vault " + self.vault_name):
            return [as_dict(item)
                    for item in self.client.backup_instances.list(self.resource_group, self.vault_name)]

    def resource_group_location(self, name):
        group = self.azure.arm_get("/subscriptions/{0}/resourceGroups/{1}".format(
            self.vault_id.split("/")[2], name), RESOURCE_GROUP_API_VERSION)
        return group.get("location") if group else None

    def server(self, server_id):
        return self.azure.arm_get(server_id, references.POSTGRES_API_VERSION)

    def identity(self, identity_id):
        return self.azure.arm_get(identity_id, backup_instances.MANAGED_IDENTITY_API_VERSION)

    def list_servers(self, group_id):
        return list_servers(self.azure, group_id)


def list_servers(azure, group_id):
    """Every PostgreSQL Flexible Server of a resource group or subscription id (all pages)."""
    page = azure.arm_get(group_id + "/providers/" + pgflex.DATASOURCE_TYPE, references.POSTGRES_API_VERSION) or {}
    bodies = list(page.get("value") or [])
    while page.get("nextLink"):
        with azure.azure_errors("listing servers"):
            response = azure.session.client("dataprotection").send_request(HttpRequest("GET", page["nextLink"]))
            response.raise_for_status()
            page = response.json()
        bodies.extend(page.get("value") or [])
    return bodies


def requested_servers(request, subscription_id):
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
                problems.append(
                    "Host '{0}' names no server: give it pgflex_protection_server_id, or "
                    "pgflex_protection_server_resource_group (and pgflex_protection_server_name when the server is "
                    "not named like the host), or leave it out of the play.".format(host.get("host")))
    for entry in entries:
        where = " (host {0})".format(entry["source"]) if entry["source"] else ""
        try:
            if entry.get("id"):
                server_id = references.server_references({"server_id": entry["id"]}, subscription_id)[0]
            else:
                problem = servers.name_problem(entry.get("name"))
                if problem:
                    problems.append(problem + where)
                    continue
                if not entry.get("resource_group"):
                    raise references.ReferenceInputError(
                        "Server '{0}' needs a resource group.".format(entry.get("name")))
                server_id = pgflex.server_id(subscription_id, entry["resource_group"], entry["name"])
        except references.ReferenceInputError as exc:
            problems.append(str(exc) + where)
            continue
        problem = servers.name_problem(backup_instances.last_segment(server_id))
        if problem:
            problems.append(problem + where)
        elif server_id.lower() not in [known.lower() for known in ids]:
            ids.append(server_id)
    return ids, problems


def vault_settings(request):
    """The backup_vault options the plan checks: the role's settings plus the identity the servers use."""
    settings = dict((key, value) for key, value in (request.get("vault") or {}).items()
                    if value is not None and value != "")
    if request.get("identity"):
        settings["identity"] = {"type": "system_and_user_assigned",
                                "user_assigned_identities": [request["identity"]]}
    return settings


def _plan_vault(reads, request, vault_label, problems, warnings):
    current = reads.vault()
    result = {"name": reads.vault_name, "resource_group": reads.resource_group, "id": reads.vault_id,
              "exists": current is not None, "managed": bool(request.get("manage_vault")), "action": "none",
              "vault": vaults.to_readable(current) if current else None}
    settings = vault_settings(request)
    result["identity"] = settings.get("identity")
    if result["managed"]:
        params = dict(settings, name=reads.vault_name, resource_group=reads.resource_group,
                      allow_irreversible=bool(request.get("allow_irreversible")), purge_tags=True)
        location = settings.get("location")
        if current is None and not location:
            location = reads.resource_group_location(reads.resource_group)
            if location is None:
                problems.append("{0}: resource group '{1}' does not exist. Create it first.".format(
                    vault_label, reads.resource_group))
        try:
            changed, after, dummy = vaults.ensure_present(None, current, params, location, True, None)
        except vaults.VaultInputError as exc:
            problems.append("{0}: {1}".format(vault_label, exc))
        else:
            result["vault"] = after
            result["action"] = ("create" if current is None else "update") if changed else "none"
    elif current is None:
        problems.append("{0} does not exist, and pgflex_protection_manage_vault is false: create it first, or let "
                        "the role create it.".format(vault_label))
    result["location"] = (result["vault"] or {}).get("location") or settings.get("location")
    result["region"] = servers.canonical_region(result["location"])
    if not result["region"]:
        warnings.append("The region of {0} is not known, so the servers' regions were not checked.".format(
            vault_label))
    return current, result


def _plan_policy(reads, request, vault_exists, vault_label, problems):
    name = request["policy_name"]
    label = "Backup policy '{0}'".format(name)
    wanted = request.get("policy") or {}
    result = {"name": name, "id": backup_instances.policy_id_for(reads.vault_id, name), "managed": bool(wanted),
              "exists": False, "action": "none", "policy": None}
    current = reads.policy(name) if vault_exists else None
    result["exists"] = current is not None
    if wanted:
        schedule = wanted.get("schedule")
        if isinstance(schedule, dict) and not schedule.get("timezone"):
            schedule = dict(schedule, timezone="UTC")  # backup_policy's default
        params = {"name": name, "resource_group": reads.resource_group, "vault_name": reads.vault_name,
                  "vault_id": reads.vault_id, "schedule": schedule, "retention": wanted.get("retention")}
        try:
            changed, after, dummy = policies.ensure_present(None, current, params, True)
        except policy.PolicyError as exc:
            problems.append("{0}: {1}".format(label, exc))
        else:
            result["policy"] = after
            result["action"] = ("create" if current is None else "update") if changed else "none"
    elif not vault_exists:
        problems.append("{0} should already exist (pgflex_protection_policy is empty), but {1} does not exist yet: "
                        "give the policy in pgflex_protection_policy so the role creates it.".format(
                            label, vault_label))
    elif current is None:
        problems.append("{0} does not exist in {1} (pgflex_protection_policy is empty, so the role uses an existing "
                        "policy): create it, or give it in pgflex_protection_policy.".format(label, vault_label))
    else:
        result["policy"] = policies.to_result(current)
        if not pgflex.policy_is_for_datasource(current):
            problems.append("{0} is for {1}, not for {2} ({3}).".format(
                label, ", ".join(pgflex.policy_datasource_types(current)) or "no datasource type",
                pgflex.DATASOURCE_LABEL, pgflex.DATASOURCE_TYPE))
    return result


def _plan_identity(reads, identity_id, problems):
    if not identity_id:
        return
    try:
        references.parse_typed_id(identity_id, backup_instances.USER_ASSIGNED_IDENTITY_TYPE,
                                  "pgflex_protection_user_assigned_identity_id")
    except references.ReferenceInputError as exc:
        problems.append(str(exc))
        return
    if reads.identity(identity_id) is None:
        problems.append("The user-assigned identity {0} (pgflex_protection_user_assigned_identity_id) does not exist, "
                        "or the caller cannot read it.".format(identity_id))


def build_plan(reads, request, subscription_id):
    """The plan of one vault: problems, warnings, the vault, the policy and what each server needs."""
    problems, warnings = [], []
    vault_label = "Backup vault '{0}' (resource group {1})".format(reads.vault_name, reads.resource_group)
    ids, request_problems = requested_servers(request, subscription_id)
    if not ids and not request_problems:
        problems.append("No server to protect: set pgflex_protection_servers or pgflex_protection_server_ids, or "
                        "give the hosts of the play pgflex_protection_server_id or "
                        "pgflex_protection_server_resource_group.")
    current_vault, vault = _plan_vault(reads, request, vault_label, problems, warnings)
    problems.extend(request_problems)
    found = servers.lookup(reads.server, reads.list_servers, ids, vault["region"]) if ids else \
        {"servers": [], "problems": []}
    problems.extend(found["problems"])
    size_action = request.get("on_unsupported_size") or "warn"
    for server in found["servers"]:
        if server["over_size_limit"]:
            if size_action == "fail":
                problems.append(server["size_problem"] + " (pgflex_protection_on_unsupported_size: fail)")
            else:
                warnings.append(server["size_problem"] + " It is protected anyway "
                                "(pgflex_protection_on_unsupported_size: warn).")
    policy_plan = _plan_policy(reads, request, current_vault is not None, vault_label, problems)
    _plan_identity(reads, request.get("identity"), problems)
    instances = reads.instances() if current_vault is not None else []
    planned = []
    for server in found["servers"]:
        existing = backup_instances.find_for_server(instances, server["id"])
        current = existing[0] if existing else None
        action, reason = protection_action(current, server["id"], policy_plan["id"], "present",
                                           request.get("identity"))
        if action == "blocked":
            problems.append("Server '{0}': {1}.".format(server["name"], reason))
        before = backup_instances.to_readable(current)
        planned.append({
            "id": server["id"], "name": server["name"], "resource_group": server["resource_group"],
            "region": server["region"], "storage_size_gb": server["storage_size_gb"],
            "over_size_limit": server["over_size_limit"], "action": action, "reason": reason,
            "before": {"name": before["name"], "state": before["state"], "policy_name": before["policy_name"]}
            if before else None,
        })
    counts = dict((action, 0) for action in ACTIONS)
    for item in planned:
        counts[item["action"]] += 1
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
