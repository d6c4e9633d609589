"""ARM plumbing: authentication, api-versions, subscriptions, resource groups and the seeded read-only resources."""

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.mgmt.dataprotection import DataProtectionMgmtClient


def test_missing_and_malformed_bearer_get_401(emulator):
    missing = emulator.arm("GET", emulator.vault_path("any"), token=False)
    assert missing.status_code == 401 and emulator.error_code(missing) == "AuthenticationFailed"
    assert "WWW-Authenticate" in missing.headers
    malformed = emulator.arm("GET", emulator.vault_path("any"), token="not.a.jwt")
    assert malformed.status_code == 401 and emulator.error_code(malformed) == "InvalidAuthenticationToken"


def test_token_for_another_audience_gets_401_audience(emulator):
    public_cloud_token = emulator.credential().get_token("https://management.azure.com/.default").token
    response = emulator.arm("GET", emulator.vault_path("any"), token=public_cloud_token)
    assert response.status_code == 401
    assert emulator.error_code(response) == "InvalidAuthenticationTokenAudience"
    assert "https://management.azure.com" in response.json()["error"]["message"]


def test_sdk_without_metadata_scopes_fails_loudly(emulator):
    client = DataProtectionMgmtClient(emulator.credential(), emulator.subscription, base_url=emulator.url + "/")
    with pytest.raises(ClientAuthenticationError, match="InvalidAuthenticationTokenAudience"):
        client.backup_vaults.get("rg-backup", "none")


@pytest.mark.parametrize("version, code", [
    (None, "MissingApiVersionParameter"),
    ("banana", "InvalidApiVersionParameter"),
    ("2099-01-01", "NoRegisteredProviderFound"),
])
def test_api_version_errors(emulator, version, code):
    response = emulator.arm("GET", emulator.vault_path("any"), api_version=version)
    assert response.status_code == 400 and emulator.error_code(response) == code
    if code == "NoRegisteredProviderFound":
        assert "2026-06-01" in response.json()["error"]["message"]


@pytest.mark.parametrize("version", ["2021-01-01", "2023-05-01", "2025-07-01", "2026-06-01"])
def test_known_data_protection_versions_are_accepted(emulator, version):
    response = emulator.arm("GET", f"/subscriptions/{emulator.subscription}/providers/Microsoft.DataProtection/"
                                   "backupVaults", api_version=version)
    assert response.status_code == 200


def test_arm_headers_on_every_answer(emulator):
    response = emulator.arm("GET", f"/subscriptions/{emulator.subscription}/resourceGroups/rg-backup",
                            api_version="2022-09-01", headers={"x-ms-correlation-request-id": "corr-1"})
    assert response.status_code == 200
    assert response.headers["x-ms-request-id"]
    assert response.headers["x-ms-correlation-request-id"] == "corr-1"
    assert response.headers["Content-Type"].startswith("application/json")


def test_subscriptions(emulator):
    listed = emulator.arm("GET", "/subscriptions", api_version="2022-12-01").json()
    ids = {item["subscriptionId"] for item in listed["value"]}
    assert emulator.subscription in ids and len(ids) == 2
    one = emulator.arm("GET", f"/subscriptions/{emulator.subscription}", api_version="2022-12-01").json()
    assert one["tenantId"] == emulator.seed["tenant"]["id"] and one["state"] == "Enabled"
    reader_view = emulator.arm("GET", "/subscriptions", env_file="env-reader.sh", api_version="2022-12-01").json()
    assert [item["subscriptionId"] for item in reader_view["value"]] == [emulator.subscription]
    unknown = emulator.arm("GET", "/subscriptions/00000000-0000-0000-0000-0000000000ff/resourceGroups/x",
                           api_version="2022-09-01")
    assert unknown.status_code == 404 and emulator.error_code(unknown) == "SubscriptionNotFound"
    bad = emulator.arm("GET", "/subscriptions/not-a-guid/resourceGroups/x", api_version="2022-09-01")
    assert bad.status_code == 400 and emulator.error_code(bad) == "InvalidSubscriptionId"


def test_resource_groups_are_case_insensitive(emulator):
    path = f"/subscriptions/{emulator.subscription}/resourcegroups/RG-PG-EASTUS"
    group = emulator.arm("GET", path, api_version="2022-09-01")
    assert group.status_code == 200 and group.json()["location"] == "eastus"
    assert group.json()["id"].endswith("/resourceGroups/rg-pg-eastus")
    missing = emulator.arm("GET", f"/subscriptions/{emulator.subscription}/resourceGroups/nope",
                           api_version="2022-09-01")
    assert missing.status_code == 404 and emulator.error_code(missing) == "ResourceGroupNotFound"
    assert emulator.arm("HEAD", path, api_version="2022-09-01").status_code == 204
    listed = emulator.arm("GET", f"/subscriptions/{emulator.subscription}/resourceGroups", api_version="2022-09-01")
    assert {"rg-pg-eastus", "rg-pg-westeurope", "rg-backup", "rg-backup-weu"} <= {
        item["name"] for item in listed.json()["value"]}


def test_postgres_servers(emulator):
    base = f"/subscriptions/{emulator.subscription}/resourceGroups/rg-pg-eastus/providers/Microsoft.DBforPostgreSQL"
    server = emulator.arm("GET", f"{base}/flexibleServers/pg-eus-analytics", api_version="2024-08-01").json()
    assert server["properties"]["state"] == "Ready"
    assert server["properties"]["storage"]["storageSizeGB"] == 2048
    assert server["type"] == "Microsoft.DBforPostgreSQL/flexibleServers"
    assert server["location"] == "East US"
    in_group = emulator.arm("GET", f"{base}/flexibleServers", api_version="2024-08-01").json()["value"]
    assert len(in_group) >= 3
    everywhere = emulator.arm("GET", f"/subscriptions/{emulator.subscription}/providers/Microsoft.DBforPostgreSQL/"
                                     "flexibleServers", api_version="2024-08-01").json()["value"]
    assert sum(1 for item in everywhere if item["location"] == "West Europe") >= 2
    missing = emulator.arm("GET", f"{base}/flexibleServers/nope", api_version="2024-08-01")
    assert missing.status_code == 404 and emulator.error_code(missing) == "ResourceNotFound"
    seeded = {item["name"]: item for item in emulator.seed["postgresServers"]}
    assert seeded["pg-eus-analytics"]["overOneTerabyte"] is True


def test_storage_accounts_and_identities(emulator):
    account = next(item for item in emulator.seed["storageAccounts"] if item["location"] == "eastus")
    body = emulator.arm("GET", account["id"], api_version="2023-05-01").json()
    assert body["properties"]["primaryEndpoints"]["blob"] == account["blobEndpoint"]
    identity = emulator.seed["userAssignedIdentities"][0]
    body = emulator.arm("GET", identity["id"], api_version="2023-01-31").json()
    assert body["properties"]["principalId"] == identity["principalId"]
    assert body["properties"]["clientId"] == identity["clientId"]
    assert body["properties"]["tenantId"] == emulator.seed["tenant"]["id"]


def test_unknown_route_is_an_arm_404(emulator):
    response = emulator.arm("GET", f"/subscriptions/{emulator.subscription}/providers/Microsoft.Nope/things")
    assert response.status_code == 404 and emulator.error_code(response) == "InvalidResourceType"
