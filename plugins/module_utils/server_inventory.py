# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PostgreSQL Flexible Servers of some subscriptions with their Azure Backup protection, for the inventory plugin.

Reads are listed, never fetched one server at a time: the subscriptions, the servers of each subscription, the
Backup vaults of each subscription, and per vault its backup instances, soft-deleted instances and jobs (every list
paged). Recovery points are listed per protected server, and only when asked. ``collect(reader, ...)`` is pure over a
reader object, so it is unit-tested with a fake one; ``AzureReader`` is the reader over the façade's session.
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import backup_instances, jobs, pgflex, servers
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import as_dict

try:
    from azure.core.rest import HttpRequest
except ImportError:  # reported by the plugin through azure_module.azure_available()
    HttpRequest = None

SUBSCRIPTION_API_VERSION = "2022-12-01"
POSTGRES_API_VERSION = "2024-08-01"

# The protection groups: one per lifecycle state of backup_instances.LIFECYCLE, plus "unprotected" for servers no
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

    def __init__(self, session):
        self.session = session

    def _client(self, subscription_id):
        return self.session.client("dataprotection", subscription_id)

    def _get_paged(self, subscription_id, path, api_version):
        """Every ``value`` item of an ARM list, following ``nextLink``."""
        client = self._client(subscription_id)
        request = HttpRequest("GET", path, params={"api-version": api_version})
        items = []
        while request is not None:
            response = client.send_request(request)
            response.raise_for_status()
            body = response.json()
            items.extend(body.get("value") or [])
            next_link = body.get("nextLink")
            request = HttpRequest("GET", next_link) if next_link else None
        return items

    def subscriptions(self):
        return [item["subscriptionId"] for item in self._get_paged(
            self.session.subscription_id or "-", "/subscriptions", SUBSCRIPTION_API_VERSION)
            if str(item.get("state") or "Enabled").lower() in ("enabled", "pastdue", "warned")]

    def servers(self, subscription_id):
        return self._get_paged(subscription_id, "/subscriptions/{0}/providers/{1}".format(
            subscription_id, pgflex.DATASOURCE_TYPE), POSTGRES_API_VERSION)

    def vaults(self, subscription_id):
        return [as_dict(item) for item in self._client(subscription_id).backup_vaults.get_in_subscription()]

    def _vault_call(self, vault_id, operation, *args):
        parts = vault_id.split("/")
        client = self._client(parts[2])
        return [as_dict(item) for item in getattr(client, operation).list(parts[4], parts[8], *args)]

    def instances(self, vault_id):
        return self._vault_call(vault_id, "backup_instances")

    def deleted_instances(self, vault_id):
        return self._vault_call(vault_id, "deleted_backup_instances")

    def jobs(self, vault_id):
        return self._vault_call(vault_id, "jobs")

    def recovery_points(self, vault_id, instance_name):
        return self._vault_call(vault_id, "recovery_points", instance_name)


def _props(body):
    return (body or {}).get("properties") or {}


def _server_key(server_id):
    return str(server_id or "").rstrip("/").lower()


def _pgflex_only(bodies):
    return [body for body in bodies if str((_props(body).get("dataSourceInfo") or {}).get("datasourceType") or
                                           pgflex.DATASOURCE_TYPE).lower() == pgflex.DATASOURCE_TYPE.lower()]


def protection_group(state):
    """The group of a server whose (live) backup instance is in ``state`` (None: not protected)."""
    if state in (None, "not_protected", "deleted"):
        return UNPROTECTED
    return PROTECTION_GROUPS.get(state, "protection_unknown")


def _deleted_view(vault, body):
    props = _props(body)
    deletion = props.get("deletionInfo") or {}
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
    readable = backup_instances.to_readable(instance)
    mine = [job for job in vault_jobs if str(job.get("backup_instance_name") or "").lower() ==
            str(readable["name"]).lower() or _server_key(job.get("server_id")) == _server_key(readable["server_id"])]
    last, last_success = backup_instances.backup_summary(mine)
    view = {
        "protected": readable["state"] == "present",
        "state": readable["state"],
        "protection_status": readable["protection_status"],
        "current_protection_state": readable["current_protection_state"],
        "vault_id": vault["id"],
        "vault_name": vault.get("name"),
        "vault_resource_group": vault["id"].split("/")[4],
        "policy_id": readable["policy_id"],
        "policy_name": readable["policy_name"],
        "backup_instance_id": readable["id"],
        "backup_instance_name": readable["name"],
        "error": readable["error"],
        "last_backup_time": last["start_time"] if last else None,
        "last_backup_status": last["status"] if last else None,
        "last_backup_job_id": last["job_id"] if last else None,
        "last_successful_backup_time": last_success,
        "recovery_point_count": None,
        "soft_deleted_instance": None,
    }
    if points is not None:
        view["recovery_point_count"] = len(points)
        times = [_props(point).get("recoveryPointTime") for point in points]
        view["last_successful_backup_time"] = backup_instances._newest([last_success] + times)
    return view


def _unprotected_view():
    return {"protected": False, "state": "not_protected", "protection_status": None, "current_protection_state": None,
            "vault_id": None, "vault_name": None, "vault_resource_group": None, "policy_id": None,
            "policy_name": None, "backup_instance_id": None, "backup_instance_name": None, "error": None,
            "last_backup_time": None, "last_backup_status": None, "last_backup_job_id": None,
            "last_successful_backup_time": None, "recovery_point_count": None, "soft_deleted_instance": None}


def server_vars(server, backup):
    """The host variables of one server (``backup`` from _backup_view/_unprotected_view)."""
    readable = servers.to_readable(server)
    # Prefixed where Ansible reserves the plain name (name, tags).
    return {
        "server_id": readable["id"],
        "server_name": readable["name"],
        "resource_group": readable["resource_group"],
        "subscription_id": readable["subscription_id"],
        "location": readable["location"],
        "region": readable["region"],
        "sku_name": readable["sku_name"],
        "sku_tier": readable["sku_tier"],
        "storage_size_gb": readable["storage_size_gb"],
        "over_size_limit": readable["over_size_limit"],
        "postgres_version": readable["version"],
        "server_state": readable["state"],
        "server_tags": readable["tags"],
        "public_network_access": readable["public_network_access"],
        "fqdn": (server.get("properties") or {}).get("fullyQualifiedDomainName"),
        "backup": backup,
        "protection_group": protection_group(backup["state"]),
    }


def collect(reader, subscription_ids=None, recovery_points=True):
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
            instances = _pgflex_only(reader.instances(vault["id"]))
            vault_jobs = jobs.select(reader.jobs(vault["id"]), {}) if instances else []
            for instance in instances:
                state = backup_instances.lifecycle_state(instance)
                server_id = (_props(instance).get("dataSourceInfo") or {}).get("resourceID")
                if state == "deleted":
                    deleted.setdefault(_server_key(server_id), _deleted_view(vault, instance))
                    continue
                points = reader.recovery_points(vault["id"], instance["name"]) if recovery_points else None
                view = _backup_view(vault, instance, vault_jobs, points)
                current = live.get(_server_key(server_id))
                # One server, two vaults (a move in progress): the protected one wins.
                if current is None or (view["protected"] and not current["protected"]):
                    live[_server_key(server_id)] = view
            for body in _pgflex_only(reader.deleted_instances(vault["id"])):
                server_id = (_props(body).get("dataSourceInfo") or {}).get("resourceID")
                deleted.setdefault(_server_key(server_id), _deleted_view(vault, body))
    hosts = []
    for server in sorted(found, key=lambda body: (body.get("name") or "", body.get("id") or "")):
        key = _server_key(server.get("id"))
        backup = live.get(key) or _unprotected_view()
        backup["soft_deleted_instance"] = deleted.get(key)
        hosts.append(server_vars(server, backup))
    return hosts
