"""Microsoft.ManagedIdentity/userAssignedIdentities (read only); their principals are in the directory."""

from emulator import seed
from emulator.resources._tracked import register_read_only

PROVIDER = "Microsoft.ManagedIdentity"
TYPE_NAME = "userAssignedIdentities"
TABLE = "userAssignedIdentities"


def identity_resource(item):
    return {
        "id": seed.arm_id(item["subscriptionId"], item["resourceGroup"], f"{PROVIDER}/{TYPE_NAME}", item["name"]),
        "name": item["name"],
        "type": f"{PROVIDER}/{TYPE_NAME}",
        "location": item["location"],
        "tags": {},
        "properties": {"isolationScope": "None", "tenantId": seed.TENANT_ID, "principalId": item["principalId"],
                       "clientId": item["clientId"]},
    }


def find_identity(store, identity_id):
    """The identity resource for an ARM id (matched without case), or None."""
    return store.table(TABLE).get((identity_id or "").rstrip("/").lower())


register_read_only(PROVIDER, TYPE_NAME, TABLE, seed.USER_ASSIGNED_IDENTITIES, identity_resource)
