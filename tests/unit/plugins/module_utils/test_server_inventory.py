"""The inventory's host records: servers, their protection, jobs and recovery points, from list reads only."""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import azure_module, server_inventory

SUB = "11111111-1111-1111-1111-111111111111"
OTHER = "22222222-2222-2222-2222-222222222222"
VAULT = "/subscriptions/{0}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1".format(SUB)


def server(name, subscription=SUB, location="East US", tags=None):
    return {"id": "/subscriptions/{0}/resourceGroups/rg-pg/providers/Microsoft.DBforPostgreSQL/flexibleServers/{1}"
                  .format(subscription, name),
            "name": name, "location": location, "tags": tags or {},
            "sku": {"name": "Standard_B2s", "tier": "Burstable"},
            "properties": {"version": "16", "state": "Ready", "storage": {"storageSizeGB": 64},
                           "network": {"publicNetworkAccess": "Enabled"},
                           "fullyQualifiedDomainName": name + ".postgres.example"}}


def instance(name, server_body, state="ProtectionConfigured"):
    return {"id": VAULT + "/backupInstances/" + name, "name": name,
            "properties": {"currentProtectionState": state, "protectionStatus": {"status": state},
                           "dataSourceInfo": {"resourceID": server_body["id"],
                                              "datasourceType": "Microsoft.DBforPostgreSQL/flexibleServers"},
                           "policyInfo": {"policyId": VAULT + "/backupPolicies/weekly"}}}


def job(instance_name, status, start, operation="Backup"):
    return {"id": VAULT + "/backupJobs/" + start, "name": start,
            "properties": {"operation": operation, "operationCategory": "Backup", "isUserTriggered": False,
                           "status": status, "startTime": start, "endTime": start,
                           "backupInstanceId": VAULT + "/backupInstances/" + instance_name}}


class FakeReader:
    """What AzureReader lists, from dicts; records every call so tests can count the reads."""

    def __init__(self, servers, instances=(), deleted=(), jobs=(), points=None):
        self._servers = servers
        self._instances = list(instances)
        self._deleted = list(deleted)
        self._jobs = list(jobs)
        self._points = points or {}
        self.calls = []

    def subscriptions(self):
        self.calls.append(("subscriptions",))
        return sorted({body["id"].split("/")[2] for body in self._servers})

    def servers(self, subscription_id):
        self.calls.append(("servers", subscription_id))
        return [body for body in self._servers if body["id"].split("/")[2] == subscription_id]

    def vaults(self, subscription_id):
        self.calls.append(("vaults", subscription_id))
        return [{"id": VAULT, "name": "bv1"}] if subscription_id == SUB else []

    def instances(self, vault_id):
        self.calls.append(("instances", vault_id))
        return self._instances

    def deleted_instances(self, vault_id):
        self.calls.append(("deleted", vault_id))
        return self._deleted

    def jobs(self, vault_id):
        self.calls.append(("jobs", vault_id))
        return self._jobs

    def recovery_points(self, vault_id, name):
        self.calls.append(("points", name))
        return [{"properties": {"recoveryPointTime": t}} for t in self._points.get(name, [])]


def by_name(hosts):
    return {host["server_name"]: host for host in hosts}


def test_every_server_of_every_readable_subscription_with_its_protection():
    orders, crm, partner = server("pg-orders"), server("pg-crm", location="West Europe"), server("pg-p", OTHER)
    reader = FakeReader(
        [orders, crm, partner],
        instances=[instance("bi-orders", orders)],
        jobs=[job("bi-orders", "Completed", "2026-01-04T02:00:00Z"),
              job("bi-orders", "Failed", "2026-01-11T02:00:00Z")],
        points={"bi-orders": ["2026-01-04T02:30:00Z"]})
    hosts = by_name(server_inventory.collect(reader))
    assert sorted(hosts) == ["pg-crm", "pg-orders", "pg-p"]
    protected = hosts["pg-orders"]
    assert protected["protection_group"] == "protected" and protected["region"] == "eastus"
    assert protected["resource_group"] == "rg-pg" and protected["subscription_id"] == SUB
    assert protected["postgres_version"] == "16" and protected["public_network_access"] == "Enabled"
    backup = protected["backup"]
    assert backup["protected"] is True and backup["vault_name"] == "bv1" and backup["policy_name"] == "weekly"
    assert (backup["last_backup_status"], backup["last_backup_time"]) == ("failed", "2026-01-11T02:00:00Z")
    assert backup["recovery_point_count"] == 1
    assert backup["last_successful_backup_time"] == "2026-01-04T02:30:00Z"
    assert hosts["pg-crm"]["protection_group"] == "unprotected" and hosts["pg-crm"]["region"] == "westeurope"
    assert hosts["pg-p"]["backup"]["protected"] is False and hosts["pg-p"]["backup"]["vault_id"] is None


def test_reads_are_lists_per_subscription_and_vault_not_per_server():
    bodies = [server("pg-{0}".format(i)) for i in range(30)]
    reader = FakeReader(bodies, instances=[instance("bi-{0}".format(i), body) for i, body in enumerate(bodies)])
    server_inventory.collect(reader, [SUB], recovery_points=False)
    assert reader.calls == [("servers", SUB), ("vaults", SUB), ("instances", VAULT), ("jobs", VAULT),
                            ("deleted", VAULT)]


def test_recovery_points_are_listed_once_per_protected_server_only():
    protected, other = server("pg-a"), server("pg-b")
    reader = FakeReader([protected, other], instances=[instance("bi-a", protected)])
    server_inventory.collect(reader, [SUB])
    assert [call for call in reader.calls if call[0] == "points"] == [("points", "bi-a")]


def test_states_map_to_groups_and_soft_deleted_instances_are_reported():
    stopped, suspended, failed, gone = server("pg-s"), server("pg-u"), server("pg-e"), server("pg-d")
    deleted = instance("bi-d", gone, state="SoftDeleted")
    deleted["properties"]["deletionInfo"] = {"deletionTime": "2026-01-01T00:00:00Z", "billingEndDate": "2026-01-15"}
    reader = FakeReader([stopped, suspended, failed, gone], instances=[
        instance("bi-s", stopped, "ProtectionStopped"), instance("bi-u", suspended, "BackupSchedulesSuspended"),
        instance("bi-e", failed, "ProtectionError")], deleted=[deleted])
    hosts = by_name(server_inventory.collect(reader, [SUB], recovery_points=False))
    assert hosts["pg-s"]["protection_group"] == "protection_stopped"
    assert hosts["pg-u"]["protection_group"] == "protection_suspended"
    assert hosts["pg-e"]["protection_group"] == "protection_error"
    assert hosts["pg-d"]["protection_group"] == "unprotected"
    soft = hosts["pg-d"]["backup"]["soft_deleted_instance"]
    assert soft["name"] == "bi-d" and soft["vault_name"] == "bv1" and soft["deletion_time"] == "2026-01-01T00:00:00Z"
    assert soft["scheduled_purge_time"] == "2026-01-15"
    assert hosts["pg-s"]["backup"]["recovery_point_count"] is None


def test_a_protected_instance_wins_over_a_stopped_one_in_another_vault():
    body = server("pg-moved")
    reader = FakeReader([body], instances=[instance("bi-old", body, "ProtectionStopped"), instance("bi-new", body)])
    host = server_inventory.collect(reader, [SUB], recovery_points=False)[0]
    assert host["protection_group"] == "protected" and host["backup"]["backup_instance_name"] == "bi-new"


def test_other_datasource_types_are_ignored():
    body = server("pg-a")
    other = instance("bi-disk", body)
    other["properties"]["dataSourceInfo"]["datasourceType"] = "Microsoft.Compute/disks"
    host = server_inventory.collect(FakeReader([body], instances=[other]), [SUB], recovery_points=False)[0]
    assert host["protection_group"] == "unprotected"


class FakeResponse:
    def __init__(self, body):
        self.body = body
        self.status_code = 200

    def raise_for_status(self):
        return None

    def json(self):
        return self.body


class FakeClient:
    def __init__(self, pages):
        self.pages = pages
        self.urls = []

    def send_request(self, request):
        self.urls.append(request.url)
        return FakeResponse(self.pages.pop(0))


def session_with(client, key):
    """An AzureSession whose client for ``key`` (subscription) is ``client``; nothing else is resolved."""
    session = azure_module.AzureSession.__new__(azure_module.AzureSession)
    session.subscription_id = None
    session._clients = {("dataprotection", key): client}
    return session


def test_subscriptions_are_listed_tenant_wide_following_next_links_and_only_enabled_ones_kept():
    client = FakeClient([
        {"value": [{"subscriptionId": "a", "state": "Enabled"}], "nextLink": "https://arm.example/subscriptions?page=2"},
        {"value": [{"subscriptionId": "b", "state": "Disabled"}, {"subscriptionId": "c"}]},
    ])
    assert server_inventory.AzureReader(session_with(client, "-")).subscriptions() == ["a", "c"]
    assert "/subscriptions?api-version=2022-12-01" in client.urls[0]
    assert client.urls[1] == "https://arm.example/subscriptions?page=2"


def test_servers_are_listed_per_subscription_with_the_datasource_path_and_api_version():
    client = FakeClient([{"value": [server("pg-a")]}])
    bodies = server_inventory.AzureReader(session_with(client, SUB)).servers(SUB)
    assert [body["name"] for body in bodies] == ["pg-a"]
    assert ("/subscriptions/{0}/providers/Microsoft.DBforPostgreSQL/flexibleServers?api-version=2024-08-01"
            .format(SUB)) in client.urls[0]
