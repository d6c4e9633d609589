"""Microsoft.Storage/storageAccounts (read only): restore targets for "restore as files"."""

from emulator import seed
from emulator.resources._tracked import register_read_only

PROVIDER = "Microsoft.Storage"
TYPE_NAME = "storageAccounts"
TABLE = "storageAccounts"
CREATED_AT = "2025-01-15T09:00:00.0000000Z"


def account_resource(item):
    name = item["name"]
    suffix = f"core.{seed.DNS_SUFFIX}"
    services = ("dfs", "web", "blob", "queue", "table", "file")
    endpoints = {service: f"https://{name}.{service}.{suffix}/" for service in services}
    secondary = item["sku"].endswith(("GRS", "GZRS"))
    properties = {
        "keyCreationTime": {"key1": CREATED_AT, "key2": CREATED_AT},
        "privateEndpointConnections": [],
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": False,
        # Restore as files needs it true; accounts created since 2023 default to false.
        "allowCrossTenantReplication": item.get("allowCrossTenantReplication", False),
        "publicNetworkAccess": "Enabled",
        "networkAcls": {"bypass": "AzureServices", "virtualNetworkRules": [], "ipRules": [], "defaultAction": "Allow"},
        "supportsHttpsTrafficOnly": True,
        "encryption": {"services": {"file": {"keyType": "Account", "enabled": True},
                                    "blob": {"keyType": "Account", "enabled": True}},
                       "keySource": "Microsoft.Storage"},
        "accessTier": "Hot",
        "provisioningState": "Succeeded",
        "creationTime": CREATED_AT,
        "primaryEndpoints": endpoints,
        "primaryLocation": item["location"],
        "statusOfPrimary": "available",
    }
    if secondary:
        properties["secondaryLocation"] = "northeurope" if item["location"] == "westeurope" else "westus"
        properties["statusOfSecondary"] = "available"
    return {
        "sku": {"name": item["sku"], "tier": "Standard"},
        "kind": "StorageV2",
        "id": seed.arm_id(item["subscriptionId"], item["resourceGroup"], f"{PROVIDER}/{TYPE_NAME}", name),
        "name": name,
        "type": f"{PROVIDER}/{TYPE_NAME}",
        "location": item["location"],
        "tags": {},
        "properties": properties,
    }


register_read_only(PROVIDER, TYPE_NAME, TABLE, seed.STORAGE_ACCOUNTS, account_resource)
