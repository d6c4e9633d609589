"""Azure RBAC model: built-in role definitions, role assignments and the permission check.

Role definitions carry their real GUIDs, names and permissions (Azure built-in roles reference, 2026).
An assignment grants its role at its scope and every scope below it (subscription -> resource group ->
resource -> child resource). ``actions``/``notActions`` are matched without case, with ``*`` wildcards;
a role allows an action when one of its permission blocks lists it in ``actions`` and not in
``notActions``; several assignments add up.
"""

import re
import time
from functools import lru_cache

from emulator import datasources, seed

BUILTIN_CREATED_ON = "2015-02-02T21:55:09.8806423Z"


def _role(name, description, actions, not_actions=(), data_actions=(), updated_on="2024-01-01T00:00:00.0000000Z"):
    return {
        "roleName": name,
        "type": "BuiltInRole",
        "description": description,
        "assignableScopes": ["/"],
        "permissions": [{"actions": list(actions), "notActions": list(not_actions),
                         "dataActions": list(data_actions), "notDataActions": []}],
        "createdOn": BUILTIN_CREATED_ON,
        "updatedOn": updated_on,
        "createdBy": None,
        "updatedBy": None,
    }


_BACKUP_CONTRIBUTOR_ACTIONS = [
    "Microsoft.Authorization/*/read",
    "Microsoft.Network/virtualNetworks/read",
    "Microsoft.RecoveryServices/locations/*",
    "Microsoft.RecoveryServices/Vaults/backupFabrics/operationResults/*",
    "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/*",
    "Microsoft.RecoveryServices/Vaults/backupFabrics/refreshContainers/action",
    "Microsoft.RecoveryServices/Vaults/backupJobs/*",
    "Microsoft.RecoveryServices/Vaults/backupJobsExport/action",
    "Microsoft.RecoveryServices/Vaults/backupOperationResults/*",
    "Microsoft.RecoveryServices/Vaults/backupPolicies/*",
    "Microsoft.RecoveryServices/Vaults/backupProtectableItems/*",
    "Microsoft.RecoveryServices/Vaults/backupProtectedItems/*",
    "Microsoft.RecoveryServices/Vaults/backupProtectionContainers/*",
    "Microsoft.RecoveryServices/Vaults/backupSecurityPIN/*",
    "Microsoft.RecoveryServices/Vaults/backupUsageSummaries/read",
    "Microsoft.RecoveryServices/Vaults/certificates/*",
    "Microsoft.RecoveryServices/Vaults/extendedInformation/*",
    "Microsoft.RecoveryServices/Vaults/monitoringAlerts/read",
    "Microsoft.RecoveryServices/Vaults/monitoringConfigurations/*",
    "Microsoft.RecoveryServices/Vaults/read",
    "Microsoft.RecoveryServices/Vaults/registeredIdentities/*",
    "Microsoft.RecoveryServices/Vaults/usages/*",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Storage/storageAccounts/read",
    "Microsoft.RecoveryServices/Vaults/backupstorageconfig/*",
    "Microsoft.RecoveryServices/Vaults/backupconfig/*",
    "Microsoft.RecoveryServices/Vaults/backupValidateOperation/action",
    "Microsoft.RecoveryServices/Vaults/write",
    "Microsoft.RecoveryServices/Vaults/backupOperations/read",
    "Microsoft.RecoveryServices/Vaults/backupEngines/read",
    "Microsoft.RecoveryServices/Vaults/backupFabrics/backupProtectionIntent/*",
    "Microsoft.RecoveryServices/Vaults/backupFabrics/protectableContainers/read",
    "Microsoft.RecoveryServices/vaults/operationStatus/read",
    "Microsoft.RecoveryServices/vaults/operationResults/read",
    "Microsoft.RecoveryServices/locations/backupStatus/action",
    "Microsoft.RecoveryServices/locations/backupPreValidateProtection/action",
    "Microsoft.RecoveryServices/locations/backupValidateFeatures/action",
    "Microsoft.RecoveryServices/Vaults/monitoringAlerts/write",
    "Microsoft.RecoveryServices/operations/read",
    "Microsoft.RecoveryServices/locations/operationStatus/read",
    "Microsoft.RecoveryServices/Vaults/backupProtectionIntents/read",
    "Microsoft.Support/*",
    "Microsoft.DataProtection/locations/getBackupStatus/action",
    "Microsoft.DataProtection/backupVaults/backupInstances/write",
    "Microsoft.DataProtection/backupVaults/backupInstances/delete",
    "Microsoft.DataProtection/backupVaults/backupInstances/read",
    "Microsoft.DataProtection/backupVaults/deletedBackupInstances/read",
    "Microsoft.DataProtection/backupVaults/deletedBackupInstances/undelete/action",
    "Microsoft.DataProtection/backupVaults/backupInstances/backup/action",
    "Microsoft.DataProtection/backupVaults/backupInstances/validateRestore/action",
    "Microsoft.DataProtection/backupVaults/backupInstances/restore/action",
    "Microsoft.DataProtection/subscriptions/resourceGroups/providers/locations/crossRegionRestore/action",
    "Microsoft.DataProtection/subscriptions/resourceGroups/providers/locations/validateCrossRegionRestore/action",
    "Microsoft.DataProtection/subscriptions/resourceGroups/providers/locations/fetchCrossRegionRestoreJobs/action",
    "Microsoft.DataProtection/subscriptions/resourceGroups/providers/locations/fetchCrossRegionRestoreJob/action",
    "Microsoft.DataProtection/subscriptions/resourceGroups/providers/locations/fetchSecondaryRecoveryPoints/action",
    "Microsoft.DataProtection/backupVaults/backupPolicies/write",
    "Microsoft.DataProtection/backupVaults/backupPolicies/delete",
    "Microsoft.DataProtection/backupVaults/backupPolicies/read",
    "Microsoft.DataProtection/backupVaults/backupInstances/recoveryPoints/read",
    "Microsoft.DataProtection/backupVaults/backupInstances/findRestorableTimeRanges/action",
    "Microsoft.DataProtection/backupVaults/write",
    "Microsoft.DataProtection/backupVaults/read",
    "Microsoft.DataProtection/backupVaults/operationResults/read",
    "Microsoft.DataProtection/backupVaults/operationStatus/read",
    "Microsoft.DataProtection/locations/checkNameAvailability/action",
    "Microsoft.DataProtection/locations/checkFeatureSupport/action",
    "Microsoft.DataProtection/locations/operationStatus/read",
    "Microsoft.DataProtection/locations/operationResults/read",
    "Microsoft.DataProtection/backupVaults/validateForBackup/action",
    "Microsoft.DataProtection/operations/read",
]

ROLE_DEFINITIONS = {
    seed.OWNER_ROLE: _role(
        "Owner", "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        ["*"]),
    seed.CONTRIBUTOR_ROLE: _role(
        "Contributor",
        "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, "
        "manage assignments in Azure Blueprints, or share image galleries.",
        ["*"],
        ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
         "Microsoft.Authorization/elevateAccess/Action", "Microsoft.Blueprint/blueprintAssignments/write",
         "Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action",
         "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
         "Microsoft.Resources/deploymentStacks/manageDenySetting/action", "Microsoft.Subscription/cancel/action",
         "Microsoft.Subscription/enable/action"]),
    seed.READER_ROLE: _role(
        "Reader", "View all resources, but does not allow you to make any changes.", ["*/read"]),
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": _role(
        "User Access Administrator", "Lets you manage user access to Azure resources.",
        ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"]),
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": _role(
        "Role Based Access Control Administrator",
        "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to "
        "manage access using other ways, such as Azure Policy.",
        ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete",
         "*/read", "Microsoft.Support/*"]),
    "5e467623-bb1f-42f4-a55d-6e525e11384b": _role(
        "Backup Contributor", "Lets you manage backups, but can't delete vaults and give access to others",
        _BACKUP_CONTRIBUTOR_ACTIONS),
    seed.PG_LTR_BACKUP_ROLE: _role(
        "PostgreSQL Flexible Server Long Term Retention Backup Role",
        "Role to allow backup vault to access PostgreSQL Flexible Server Resource APIs for Long Term Retention "
        "Backup.",
        ["Microsoft.DBforPostgreSQL/flexibleServers/ltrBackupOperations/read",
         "Microsoft.DBforPostgreSQL/flexibleServers/ltrPreBackup/action",
         "Microsoft.DBforPostgreSQL/flexibleServers/startLtrBackup/action",
         "Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read",
         "Microsoft.DBforPostgreSQL/locations/operationResults/read",
         "Microsoft.Resources/subscriptions/read",
         "Microsoft.Resources/subscriptions/resourceGroups/read"]),
    seed.STORAGE_BLOB_DATA_CONTRIBUTOR_ROLE: _role(
        "Storage Blob Data Contributor",
        "Allows for read, write and delete access to Azure Storage blob containers and data",
        ["Microsoft.Storage/storageAccounts/blobServices/containers/delete",
         "Microsoft.Storage/storageAccounts/blobServices/containers/read",
         "Microsoft.Storage/storageAccounts/blobServices/containers/write",
         "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"],
        data_actions=["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
                      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
                      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
                      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
                      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"]),
}

_ROLE_DEFINITION_ID = re.compile(r"(?:^|/)providers/Microsoft\.Authorization/roleDefinitions/([0-9a-fA-F-]{36})$",
                                 re.IGNORECASE)


def role_guid(role_definition_id):
    """The GUID of a role definition given as a GUID or as a full roleDefinitions id; None if not one."""
    text = (role_definition_id or "").strip()
    match = _ROLE_DEFINITION_ID.search(text)
    if match:
        return match.group(1).lower()
    if re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", text):
        return text.lower()
    return None


def role_definition_id(guid, subscription_id=None):
    """Full id as ARM returns it: under the subscription when asked in one, else at the root."""
    prefix = f"/subscriptions/{subscription_id}" if subscription_id else ""
    return f"{prefix}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def role_definition_resource(guid, subscription_id=None):
    return {"properties": dict(ROLE_DEFINITIONS[guid]), "id": role_definition_id(guid, subscription_id),
            "type": "Microsoft.Authorization/roleDefinitions", "name": guid}


@lru_cache(maxsize=512)
def _pattern(text):
    """Compile an RBAC action pattern: '*' matches any run of characters; comparison ignores case."""
    return re.compile("^" + ".*".join(re.escape(part) for part in text.split("*")) + "$", re.IGNORECASE)


def action_matches(pattern, action):
    return bool(_pattern(pattern).match(action))


def scope_covers(assignment_scope, target_scope):
    """True if an assignment at ``assignment_scope`` applies at ``target_scope`` (same or below)."""
    outer = assignment_scope.rstrip("/").lower()
    inner = target_scope.rstrip("/").lower()
    return outer in ("", "/") or inner == outer or inner.startswith(outer + "/")


def _permission_allows(permission, action, data):
    allow_key, deny_key = ("dataActions", "notDataActions") if data else ("actions", "notActions")
    return (any(action_matches(p, action) for p in permission.get(allow_key, []))
            and not any(action_matches(p, action) for p in permission.get(deny_key, [])))


def role_allows(guid, action, data=False):
    definition = ROLE_DEFINITIONS.get(guid)
    if definition is None:
        return False
    return any(_permission_allows(perm, action, data) for perm in definition["permissions"])


def assignments_covering(store, principal_id, scope, min_age_seconds=0.0):
    """Role assignments of a principal that apply at ``scope``.

    ``min_age_seconds`` ignores assignments younger than that many seconds of real time: it models the
    propagation delay of new assignments (``--propagation-seconds``) for the checks the service makes.
    """
    principal = (principal_id or "").lower()
    now = time.monotonic()
    found = []
    for record in store.table("roleAssignments").values():
        if record["principalId"].lower() != principal or not scope_covers(record["scope"], scope):
            continue
        if min_age_seconds > 0 and now - record["_created_monotonic"] < min_age_seconds:
            continue
        found.append(record)
    return found


def is_allowed(store, principal_id, action, scope, data=False, min_age_seconds=0.0):
    """Whether the principal may perform ``action`` at ``scope`` given its role assignments."""
    return any(role_allows(record["roleDefinitionGuid"], action, data)
               for record in assignments_covering(store, principal_id, scope, min_age_seconds))


def permissions_at(store, principal_id, scope):
    """The permission blocks a principal holds at a scope (``GET {scope}/providers/.../permissions``)."""
    blocks = []
    for record in assignments_covering(store, principal_id, scope):
        definition = ROLE_DEFINITIONS.get(record["roleDefinitionGuid"])
        if definition:
            blocks.extend(dict(perm) for perm in definition["permissions"])
    return blocks


def role_covered(store, principal_id, role_guid, scope, min_age_seconds=0.0):
    """Whether the principal can do everything ``role_guid`` allows at ``scope``, as the service checks it.

    Satisfied by an assignment of that role at the scope or above, or of any roles whose permissions together
    allow each of its actions and data actions (Owner covers Reader, but not Storage Blob Data Contributor, whose
    data actions Owner lacks). ``min_age_seconds`` ignores assignments younger than the propagation delay, so a
    grant made a moment ago does not count yet for the vault identity's checks (``--propagation-seconds``).
    """
    definition = ROLE_DEFINITIONS.get((role_guid or "").lower())
    if definition is None:
        return False
    records = assignments_covering(store, principal_id, scope, min_age_seconds)
    if any(record["roleDefinitionGuid"] == role_guid.lower() for record in records):
        return True
    for permission in definition["permissions"]:
        for key, data in (("actions", False), ("dataActions", True)):
            for action in permission.get(key, []):
                if not any(role_allows(record["roleDefinitionGuid"], action, data) for record in records):
                    return False
    return bool(records)


def missing_roles(store, principal_id, needs, min_age_seconds=0.0):
    """The ``(role guid, scope)`` pairs of ``needs`` the principal does not (yet) hold; see ``role_covered``."""
    return [(role, scope) for role, scope in needs
            if not role_covered(store, principal_id, role, scope, min_age_seconds)]


def missing_datasource_roles(store, principal_id, roles, resource_id, target_id=None, min_age_seconds=0.0):
    """What a vault identity lacks of a datasource's roles (``Datasource.backup_roles`` / ``restore_roles``) for a
    protected resource (and a restore target)."""
    return missing_roles(store, principal_id, datasources.role_scopes(roles, resource_id, target_id), min_age_seconds)
