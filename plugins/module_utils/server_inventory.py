# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PostgreSQL Flexible Servers of some subscriptions with their Azure Backup protection, for the inventory plugin.

Reads are listed, never fetched one server at a time: the subscriptions, the servers of each subscription, the
Backup vaults of each subscription, and per vault its backup instances, soft-deleted instances and jobs (every list
paged). Recovery points are listed per protected server, and only when asked. ``collect(reader, ...)`` is pure over a
reader object, so it is unit-tested with a fake one; ``AzureReader`` is the reader over the façade's session.
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, jobs, servers
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import as_dict
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances import info, readable

# The protection groups: one per lifecycle state of instances.readable.LIFECYCLE, plus "unprotected" for servers no
# vault protects (never protected, or only a soft-deleted instance left).
PROTECTION_GROUPS = {
    "present": "protected",
    "configuring": "protection_configuring",
    "suspended": "protection_suspended",
    "stopped": "protection_stopped",
    "error": "protection_error",
    "unknown": "protection_unknown",
}
UNPROTECTED = "unprotected"


class AzureReader:
    """The lists the inventory needs, through one AzureSession (credentials, cloud, retries of the modules)."""

    def __init__(self, session, datasource=PGFLEX):
        self.session = session
        self.datasource = datasource

    def _client(self, subscription_id):
        return self.session.client("dataprotection", subscription_id)

    def subscriptions(self):
        return [item["subscriptionId"] for item in self.session.arm_list(
            "/subscriptions", arm.api_version(arm.SUBSCRIPTION), subscription_id=self.session.subscription_id or "-")
            if str(item.get("state") or "Enabled").lower() in ("enabled", "pastdue", "warned")]

    def servers(self, subscription_id):
        return self.session.arm_list(self.datasource.list_path("/subscriptions/" + subscription_id),
                                     self.datasource.api_version, subscription_id=subscription_id)

    def vaults(self, subscription_id):
        return [as_dict(item) for item in self._client(subscription_id).backup_vaults.get_in_subscription()]

    def _vault_call(self, vault_id, operation, *args):
        vault = arm.parse_resource_id(vault_id)
        client = self._client(vault["subscription_id"])
        return [as_dict(item) for item in getattr(client, operation).list(vault["resource_group"], vault["name"],
                                                                          *args)]

    def instances(self, vault_id):
        return self._vault_call(vault_id, "backup_instances")

    def deleted_instances(self, vault_id):
        return self._vault_call(vault_id, "deleted_backup_instances")

    def jobs(self, vault_id):
        return self._vault_call(vault_id, "jobs")

    def recovery_points(self, vault_id, instance_name):
        return self._vault_call(vault_id, "recovery_points", instance_name)


def _server_key(server_id):
    return arm.normalize_id(server_id) or ""


def _of_datasource(bodies, datasource):
    return [body for body in bodies if datasource.is_type(
        (arm.properties(body).get("dataSourceInfo") or {}).get("datasourceType") or datasource.arm_type)]


def protection_group(state):
    """The group of a server whose (live) backup instance is in ``state`` (None: not protected)."""
    if state in (None, "not_protected", "deleted"):
        return UNPROTECTED
    return PROTECTION_GROUPS.get(state, "protection_unknown")


def _deleted_view(vault, body):
    deletion = arm.properties(body).get("deletionInfo") or {}
    return {
        "id": body.get("id"),
        "name": body.get("name"),
        "vault_id": vault["id"],
        "vault_name": vault.get("name"),
        "deletion_time": deletion.get("deletionTime"),
        "scheduled_purge_time": deletion.get("billingEndDate") or deletion.get("scheduledPurgeTime"),
    }


def _backup_view(vault, instance, vault_jobs, points):
    """The ``backup`` host variable of a server protected by ``instance`` of ``vault``."""
    instance_view = readable.to_readable(instance)
    mine = [job for job in vault_jobs if str(job.get("backup_instance_name") or "").lower() ==
            str(instance_view["name"]).lower() or arm.same_id(job.get("server_id"), instance_view["server_id"])]
    last, last_success = info.backup_summary(mine)
    view = {
        "protected": instance_view["state"] == "present",
        "state": instance_view["state"],
        "protection_status": instance_view["protection_status"],
        "current_protection_state": instance_view["current_protection_state"],
        "vault_id": vault["id"],
        "vault_name": vault.get("name"),
        "vault_resource_group": vault["id"].split("/")[4],
        "policy_id": instance_view["policy_id"],
        "policy_name": instance_view["policy_name"],
        "backup_instance_id": instance_view["id"],
        "backup_instance_name": instance_view["name"],
        "error": instance_view["error"],
        "last_backup_time": last["start_time"] if last else None,
        "last_backup_status": last["status"] if last else None,
        "last_backup_job_id": last["job_id"] if last else None,
        "last_successful_backup_time": last_success,
        "recovery_point_count": None,
        "soft_deleted_instance": None,
    }
    if points is not None:
        view["recovery_point_count"] = len(points)
        times = [arm.properties(point).get("recoveryPointTime") for point in points]
        view["last_successful_backup_time"] = max([t for t in [last_success] + times if t], key=jobs.parse_time,
                                                  default=None)
    return view


def _unprotected_view():
    return {"protected": False, "state": "not_protected", "protection_status": None, "current_protection_state": None,
            "vault_id": None, "vault_name": None, "vault_resource_group": None, "policy_id": None,
            "policy_name": None, "backup_instance_id": None, "backup_instance_name": None, "error": None,
            "last_backup_time": None, "last_backup_status": None, "last_backup_job_id": None,
            "last_successful_backup_time": None, "recovery_point_count": None, "soft_deleted_instance": None}


def server_vars(server, backup, datasource=PGFLEX):
    """The host variables of one server (``backup`` from _backup_view/_unprotected_view)."""
    server_view = servers.to_readable(server, datasource)
    # Prefixed where Ansible reserves the plain name (name, tags).
    return {
        "server_id": server_view["id"],
        "server_name": server_view["name"],
        "resource_group": server_view["resource_group"],
        "subscription_id": server_view["subscription_id"],
        "location": server_view["location"],
        "region": server_view["region"],
        "sku_name": server_view["sku_name"],
        "sku_tier": server_view["sku_tier"],
        "storage_size_gb": server_view["storage_size_gb"],
        "over_size_limit": server_view["over_size_limit"],
        "postgres_version": server_view["version"],
        "server_state": server_view["state"],
        "server_tags": server_view["tags"],
        "public_network_access": server_view["public_network_access"],
        "fqdn": (server.get("properties") or {}).get("fullyQualifiedDomainName"),
        "backup": backup,
        "protection_group": protection_group(backup["state"]),
    }


def collect(reader, subscription_ids=None, recovery_points=True, datasource=PGFLEX):
    """The servers of ``subscription_ids`` (None: every subscription the caller can read), with their protection.

    Returns a list of host-variable dicts (server_vars), sorted by server name. A server with a live backup instance in
    a vault of one of the listed subscriptions is protected by it; soft-deleted instances are reported alongside.
    """
    subscription_ids = list(subscription_ids or reader.subscriptions())
    found = []
    for subscription_id in subscription_ids:
        found.extend(reader.servers(subscription_id))
    live, deleted = {}, {}
    for subscription_id in subscription_ids:
        for vault in reader.vaults(subscription_id):
            instances = _of_datasource(reader.instances(vault["id"]), datasource)
            vault_jobs = jobs.select(reader.jobs(vault["id"]), {}) if instances else []
            for instance in instances:
                state = readable.lifecycle_state(instance)
                server_id = (arm.properties(instance).get("dataSourceInfo") or {}).get("resourceID")
                if state == "deleted":
                    deleted.setdefault(_server_key(server_id), _deleted_view(vault, instance))
                    continue
                points = reader.recovery_points(vault["id"], instance["name"]) if recovery_points else None
                view = _backup_view(vault, instance, vault_jobs, points)
                current = live.get(_server_key(server_id))
                # One server, two vaults (a move in progress): the protected one wins.
                if current is None or (view["protected"] and not current["protected"]):
                    live[_server_key(server_id)] = view
            for body in _of_datasource(reader.deleted_instances(vault["id"]), datasource):
                server_id = (arm.properties(body).get("dataSourceInfo") or {}).get("resourceID")
                deleted.setdefault(_server_key(server_id), _deleted_view(vault, body))
    hosts = []
    for server in sorted(found, key=lambda body: (body.get("name") or "", body.get("id") or "")):
        key = _server_key(server.get("id"))
        backup = live.get(key) or _unprotected_view()
        backup["soft_deleted_instance"] = deleted.get(key)
        hosts.append(server_vars(server, backup, datasource))
    return hosts
