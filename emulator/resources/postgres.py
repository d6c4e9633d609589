"""Microsoft.DBforPostgreSQL/flexibleServers (read only), shaped like the 2024-08-01 spec's ServerGet example.

Like the real service, ``location`` is returned as the region's display name ("East US"), so clients
must normalise it before comparing it with a vault's location.
"""

from emulator import regions, seed
from emulator.resources._tracked import register_read_only

PROVIDER = "Microsoft.DBforPostgreSQL"
TYPE_NAME = "flexibleServers"
TABLE = "flexibleServers"
CREATED_AT = "2025-01-15T10:00:00.0000000Z"


def server_resource(item):
    """The GET body of a seeded server."""
    server_id = seed.arm_id(item["subscriptionId"], item["resourceGroup"], f"{PROVIDER}/{TYPE_NAME}", item["name"])
    size = item["storageSizeGB"]
    tier = "P10" if size <= 128 else "P20" if size <= 512 else "P30" if size <= 1024 else "P40"
    network = {"publicNetworkAccess": item.get("publicNetworkAccess", "Enabled")}
    if network["publicNetworkAccess"] == "Disabled":
        group_id = f"/subscriptions/{item['subscriptionId']}/resourceGroups/{item['resourceGroup']}"
        network["delegatedSubnetResourceId"] = (f"{group_id}/providers/Microsoft.Network/virtualNetworks/"
                                                f"vnet-{item['name']}/subnets/postgres")
        network["privateDnsZoneArmResourceId"] = (f"{group_id}/providers/Microsoft.Network/privateDnsZones/"
                                                  f"{item['name']}.private.postgres.{seed.DNS_SUFFIX}")
    encryption = {"type": "SystemManaged"}
    if item.get("customerManagedKey"):
        encryption = {"type": "AzureKeyVault",
                      "primaryKeyURI": f"https://kv-{item['name']}.vault.{seed.DNS_SUFFIX}/keys/pg-cmk/0123abcd",
                      "primaryUserAssignedIdentityId": seed.arm_id(
                          item["subscriptionId"], item["resourceGroup"],
                          "Microsoft.ManagedIdentity/userAssignedIdentities", f"id-{item['name']}-cmk"),
                      "primaryEncryptionKeyStatus": "Valid"}
    return {
        "sku": {"name": item["sku"][0], "tier": item["sku"][1]},
        "systemData": {"createdAt": CREATED_AT},
        "properties": {
            "replica": {"role": "Primary", "capacity": 5},
            "storage": {"type": "", "iops": 500 if size <= 128 else 2300, "tier": tier, "storageSizeGB": size,
                        "autoGrow": "Disabled"},
            "network": network,
            "privateEndpointConnections": [],
            "dataEncryption": encryption,
            "authConfig": {"activeDirectoryAuth": "Disabled", "passwordAuth": "Enabled"},
            "fullyQualifiedDomainName": f"{item['name']}.postgres.{seed.DNS_SUFFIX}",
            "version": item["version"],
            "minorVersion": {"16": "8", "15": "12", "14": "17"}.get(item["version"], "0"),
            "administratorLogin": "pgadmin",
            "state": "Ready",
            "availabilityZone": "1",
            "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled",
                       "earliestRestoreDate": "2025-01-15T10:05:00.0000000Z"},
            "highAvailability": {"mode": "Disabled", "state": "NotEnabled"},
            "maintenanceWindow": {"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0, "startMinute": 0},
            "replicationRole": "Primary",
            "replicaCapacity": 5,
        },
        "location": regions.REGIONS[item["location"]][0],
        "tags": {},
        "id": server_id,
        "name": item["name"],
        "type": f"{PROVIDER}/{TYPE_NAME}",
    }


register_read_only(PROVIDER, TYPE_NAME, TABLE, seed.POSTGRES_SERVERS, server_resource)
