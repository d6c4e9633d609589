"""Deterministic seed data: the tenant, subscriptions, principals and pre-existing resources.

Everything here has fixed GUIDs and names so tests, the demo and benchmarks can rely on them; the
``GET /_emulator/seed`` document is built from these tables. Secrets are fake and only valid against
the emulator.
"""

import uuid

TENANT_ID = "5b7e3c1a-8f2d-4e6b-9c0a-1d3f5e7a9b2c"
TENANT_DOMAIN = "azbackupemulator.onmicrosoft.com"

# The token audience the emulator's cloud metadata announces. Deliberately not the public cloud's, so a
# client that ignores the metadata (and asks for https://management.azure.com/.default) fails loudly.
AUDIENCE = "https://management.emulator.azbackup.invalid/"
DNS_SUFFIX = "emulator.azbackup.invalid"

# Namespace for every GUID the emulator derives (role assignment names, vault identities, ...).
EMULATOR_NAMESPACE = uuid.UUID("0f5d7a3e-2c41-4b8e-9a6d-3e1f7c2b5a90")

SUBSCRIPTIONS = [
    {"subscriptionId": "8c4f2a6e-1b3d-4a5c-9e7f-0d2b4c6e8a1f", "displayName": "azbackup-emulator-prod"},
    {"subscriptionId": "2e6a8c0f-4b1d-4e3a-8c5f-7a9b1d3e5f60", "displayName": "azbackup-emulator-partner"},
]
SUBSCRIPTION_ID = SUBSCRIPTIONS[0]["subscriptionId"]
PARTNER_SUBSCRIPTION_ID = SUBSCRIPTIONS[1]["subscriptionId"]

OWNER_ROLE = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR_ROLE = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER_ROLE = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
PG_LTR_BACKUP_ROLE = "c088a766-074b-43ba-90d4-1fb21feae531"
STORAGE_BLOB_DATA_CONTRIBUTOR_ROLE = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

# Service principals that can sign in with a client secret. ``env_file`` is the file written for each.
PRINCIPALS = [
    {
        "name": "azbackup-emulator-owner",
        "clientId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "objectId": "1f2e3d4c-5b6a-4978-8a6b-5c4d3e2f1a0b",
        "secret": "emulator-owner-secret",
        "env_file": "env.sh",
        "description": "Owner on both subscriptions: may manage backup and assign roles.",
    },
    {
        "name": "azbackup-emulator-contributor",
        "clientId": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
        "objectId": "4d5e6f7a-8b9c-4dae-8f01-2b3c4d5e6f7a",
        "secret": "emulator-contributor-secret",
        "env_file": "env-no-rbac.sh",
        "description": "Contributor on both subscriptions: may manage backup, may not assign roles.",
    },
    {
        "name": "azbackup-emulator-reader",
        "clientId": "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c",
        "objectId": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
        "secret": "emulator-reader-secret",
        "env_file": "env-reader.sh",
        "description": "Reader on the main subscription only: may read, may not write.",
    },
]

# Users that sign in with a password (the resource-owner password grant, as AWX's "Microsoft Azure Resource
# Manager" credential does with a user name and password). ``env_file`` is the file written for each.
USERS = [
    {
        "name": "Backup Operator",
        "userPrincipalName": f"backup.operator@{TENANT_DOMAIN}",
        "objectId": "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e",
        "password": "emulator-user-password",
        "env_file": "env-user.sh",
        "description": "User (password sign-in) with Owner on both subscriptions.",
    },
]

RESOURCE_GROUPS = [
    {"subscriptionId": SUBSCRIPTION_ID, "name": "rg-pg-eastus", "location": "eastus"},
    {"subscriptionId": SUBSCRIPTION_ID, "name": "rg-pg-westeurope", "location": "westeurope"},
    {"subscriptionId": SUBSCRIPTION_ID, "name": "rg-backup", "location": "eastus"},
    {"subscriptionId": SUBSCRIPTION_ID, "name": "rg-backup-weu", "location": "westeurope"},
    {"subscriptionId": PARTNER_SUBSCRIPTION_ID, "name": "rg-pg-partner", "location": "eastus"},
    {"subscriptionId": PARTNER_SUBSCRIPTION_ID, "name": "rg-backup-partner", "location": "eastus"},
]

POSTGRES_SERVERS = [
    {"subscriptionId": SUBSCRIPTION_ID, "resourceGroup": "rg-pg-eastus", "name": "pg-eus-orders",
     "location": "eastus", "storageSizeGB": 128, "version": "16", "sku": ("Standard_D4ds_v5", "GeneralPurpose")},
    {"subscriptionId": SUBSCRIPTION_ID, "resourceGroup": "rg-pg-eastus", "name": "pg-eus-inventory",
     "location": "eastus", "storageSizeGB": 512, "version": "15", "sku": ("Standard_D2ds_v5", "GeneralPurpose")},
    {"subscriptionId": SUBSCRIPTION_ID, "resourceGroup": "rg-pg-eastus", "name": "pg-eus-analytics",
     "location": "eastus", "storageSizeGB": 2048, "version": "16", "sku": ("Standard_E8ds_v5", "MemoryOptimized")},
    {"subscriptionId": SUBSCRIPTION_ID, "resourceGroup": "rg-pg-eastus", "name": "pg-eus-private",
     "location": "eastus", "storageSizeGB": 256, "version": "16", "sku": ("Standard_D2ds_v5", "GeneralPurpose"),
     "publicNetworkAccess": "Disabled"},
    {"subscriptionId": SUBSCRIPTION_ID, "resourceGroup": "rg-pg-westeurope", "name": "pg-weu-billing",
     "location": "westeurope", "storageSizeGB": 256, "version": "16", "sku": ("Standard_D4ds_v5", "GeneralPurpose")},
    {"subscriptionId": SUBSCRIPTION_ID, "resourceGroup": "rg-pg-westeurope", "name": "pg-weu-crm",
     "location": "westeurope", "storageSizeGB": 64, "version": "14", "sku": ("Standard_B2s", "Burstable"),
     "customerManagedKey": True},
    {"subscriptionId": PARTNER_SUBSCRIPTION_ID, "resourceGroup": "rg-pg-partner", "name": "pg-eus-partner",
     "location": "eastus", "storageSizeGB": 128, "version": "16", "sku": ("Standard_D2ds_v5", "GeneralPurpose")},
]

STORAGE_ACCOUNTS = [
    {"subscriptionId": SUBSCRIPTION_ID, "resourceGroup": "rg-backup", "name": "stpgrestoreeus",
     "location": "eastus", "sku": "Standard_LRS", "allowCrossTenantReplication": True},
    {"subscriptionId": SUBSCRIPTION_ID, "resourceGroup": "rg-backup-weu", "name": "stpgrestoreweu",
     "location": "westeurope", "sku": "Standard_GRS"},
    # In the pair of eastus: the target of cross-region restores from eastus vaults.
    {"subscriptionId": SUBSCRIPTION_ID, "resourceGroup": "rg-backup", "name": "stpgrestorewus",
     "location": "westus", "sku": "Standard_LRS", "allowCrossTenantReplication": True},
    # In the partner subscription: the target of cross-subscription restores.
    {"subscriptionId": PARTNER_SUBSCRIPTION_ID, "resourceGroup": "rg-backup-partner", "name": "stpgrestorepartner",
     "location": "eastus", "sku": "Standard_LRS", "allowCrossTenantReplication": True},
]

USER_ASSIGNED_IDENTITIES = [
    {"subscriptionId": SUBSCRIPTION_ID, "resourceGroup": "rg-backup", "name": "id-backup-eus", "location": "eastus",
     "principalId": "9b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e", "clientId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},
    {"subscriptionId": SUBSCRIPTION_ID, "resourceGroup": "rg-backup-weu", "name": "id-backup-weu",
     "location": "westeurope",
     "principalId": "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e", "clientId": "c3d4e5f6-a7b8-4c9d-8e0f-2a3b4c5d6e7f"},
    {"subscriptionId": SUBSCRIPTION_ID, "resourceGroup": "rg-backup", "name": "id-backup-ready-eus",
     "location": "eastus",
     "principalId": "d4e5f6a7-b8c9-4d0e-9f1a-3b4c5d6e7f8a", "clientId": "e5f6a7b8-c9d0-4e1f-8a2b-4c5d6e7f8a9b"},
]


def _scope_sub(subscription_id):
    return f"/subscriptions/{subscription_id}"


def _scope_rg(subscription_id, group):
    return f"/subscriptions/{subscription_id}/resourceGroups/{group}"


# (principal object id, role definition GUID, scope). Names are derived deterministically at load time.
ROLE_ASSIGNMENTS = [
    (PRINCIPALS[0]["objectId"], OWNER_ROLE, _scope_sub(SUBSCRIPTION_ID)),
    (PRINCIPALS[0]["objectId"], OWNER_ROLE, _scope_sub(PARTNER_SUBSCRIPTION_ID)),
    (PRINCIPALS[1]["objectId"], CONTRIBUTOR_ROLE, _scope_sub(SUBSCRIPTION_ID)),
    (PRINCIPALS[1]["objectId"], CONTRIBUTOR_ROLE, _scope_sub(PARTNER_SUBSCRIPTION_ID)),
    (PRINCIPALS[2]["objectId"], READER_ROLE, _scope_sub(SUBSCRIPTION_ID)),
    (USERS[0]["objectId"], OWNER_ROLE, _scope_sub(SUBSCRIPTION_ID)),
    (USERS[0]["objectId"], OWNER_ROLE, _scope_sub(PARTNER_SUBSCRIPTION_ID)),
    # A user-assigned identity that already holds every role PostgreSQL vaulted backup and restore need.
    (USER_ASSIGNED_IDENTITIES[2]["principalId"], READER_ROLE, _scope_rg(SUBSCRIPTION_ID, "rg-pg-eastus")),
    (USER_ASSIGNED_IDENTITIES[2]["principalId"], PG_LTR_BACKUP_ROLE, _scope_rg(SUBSCRIPTION_ID, "rg-pg-eastus")),
    (USER_ASSIGNED_IDENTITIES[2]["principalId"], STORAGE_BLOB_DATA_CONTRIBUTOR_ROLE,
     _scope_rg(SUBSCRIPTION_ID, "rg-backup") + "/providers/Microsoft.Storage/storageAccounts/stpgrestoreeus"),
]


def derived_guid(*parts):
    """A GUID derived from the given strings (case-insensitive), stable across runs."""
    return str(uuid.uuid5(EMULATOR_NAMESPACE, "|".join(str(part).lower() for part in parts)))


def arm_id(subscription_id, group, provider_type, name):
    """ARM id of a resource in a resource group, e.g. provider_type ``Microsoft.Storage/storageAccounts``."""
    return f"{_scope_rg(subscription_id, group)}/providers/{provider_type}/{name}"
