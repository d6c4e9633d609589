# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What Azure Backup needs to know about PostgreSQL Flexible Server.

Everything specific to this datasource lives here: its ARM type, the roles the vault identity needs,
the policy constraints and the backup instance body. Another datasource (MySQL Flexible Server, say)
would get a sibling file with the same names.
"""

import uuid

DATASOURCE_TYPE = "Microsoft.DBforPostgreSQL/flexibleServers"
DATASOURCE_LABEL = "PostgreSQL Flexible Server"

# The only backup rule Azure accepts for this datasource: a weekly schedule of full backups to the vault store.
BACKUP_RULE_NAME = "BackupWeekly"
BACKUP_TYPE = "Full"
DATASTORE_TYPE = "VaultStore"
SUPPORTED_SCHEDULE_PERIOD = "P1W"

# Retention rule (tag) names and the priorities Azure gives them: the lowest number wins.
TAG_PRIORITIES = {
    "Yearly": 10,
    "Monthly": 15,
    "Weekly": 20,
    "Default": 99,
}
MAX_RETENTION_YEARS = 10

# Vaulted backup is supported up to this server storage size.
MAX_SUPPORTED_STORAGE_GB = 1024

# Built-in role definition ids (names have changed over time; ids have not).
ROLE_READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ROLE_PGFLEX_LTR_BACKUP = "c088a766-074b-43ba-90d4-1fb21feae531"
ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

ROLE_NAMES = {
    ROLE_READER: "Reader",
    ROLE_PGFLEX_LTR_BACKUP: "PostgreSQL Flexible Server Long Term Retention Backup Role",
    ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
}

# What the vault identity needs, per operation. "target" names the resource the narrowest grant sits on:
# "server_resource_group" (the server's resource group), "server", or "storage_account".
REQUIRED_ROLES = {
    "backup": [
        {"role_definition_id": ROLE_READER, "target": "server_resource_group"},
        {"role_definition_id": ROLE_PGFLEX_LTR_BACKUP, "target": "server"},
    ],
    "restore": [
        {"role_definition_id": ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, "target": "storage_account"},
    ],
}


def server_id(subscription_id, resource_group, name):
    return "/subscriptions/{0}/resourceGroups/{1}/providers/{2}/{3}".format(
        subscription_id, resource_group, DATASOURCE_TYPE, name
    )


# ---------------------------------------------------------------------------------------------------------------
# Backup instances of this datasource
# ---------------------------------------------------------------------------------------------------------------

# Namespace of the deterministic backup instance names:
# uuid5(NAMESPACE_DNS, "backup-instances.dataprotection.azbackup").
# Never change it: a new namespace would give a protected server a second name, and reruns would try to protect it
# twice instead of finding the instance they made.
INSTANCE_NAME_NAMESPACE = uuid.UUID("14ab0178-6039-51b6-a8b0-e352f37d2ece")


def instance_name(server_resource_id):
    """The name a new backup instance of this server gets: ``<server>-<server>-<uuid>``.

    The Azure CLI (``az dataprotection backup-instance initialize``) and the portal name instances
    ``<datasource name>-<datasource name>-<random uuid>``; we keep the shape but derive the uuid from the server's
    resource id (uuid5, case-insensitive), so reruns and parallel runs pick the same name and converge.
    """
    server = server_resource_id.rstrip("/").rsplit("/", 1)[-1]
    guid = uuid.uuid5(INSTANCE_NAME_NAMESPACE, server_resource_id.rstrip("/").lower())
    return "{0}-{0}-{1}".format(server, guid)


def _server_name(server):
    return server.get("name") or (server.get("id") or "").rstrip("/").rsplit("/", 1)[-1]


def datasource_info(server, object_type="Datasource"):
    """``dataSourceInfo`` (or, with ``object_type="DatasourceSet"``, ``dataSourceSetInfo``) for a server.

    ``server`` is the server as ARM returns it (``id``, ``name``, ``location``); for a PostgreSQL Flexible Server the
    data source and the data source set are the same resource.
    """
    return {
        "objectType": object_type,
        "datasourceType": DATASOURCE_TYPE,
        "resourceType": DATASOURCE_TYPE,
        "resourceID": server["id"],
        "resourceUri": server["id"],
        "resourceName": _server_name(server),
        "resourceLocation": server.get("location"),
    }


def identity_details(user_assigned_identity_id=None):
    """``identityDetails``: the vault's system-assigned identity, or one of its user-assigned identities."""
    if user_assigned_identity_id:
        return {"useSystemAssignedIdentity": False, "userAssignedIdentityArmUrl": user_assigned_identity_id}
    return {"useSystemAssignedIdentity": True}


def instance_body(server, policy_id, user_assigned_identity_id=None):
    """The PUT (and validateForBackup) body of a backup instance that protects ``server`` with ``policy_id``."""
    return {
        "properties": {
            "objectType": "BackupInstance",
            "friendlyName": _server_name(server),
            "dataSourceInfo": datasource_info(server),
            "dataSourceSetInfo": datasource_info(server, "DatasourceSet"),
            "policyInfo": {"policyId": policy_id},
            "identityDetails": identity_details(user_assigned_identity_id),
        }
    }


def storage_size_gb(server):
    """The server's provisioned storage in GB (``properties.storage.storageSizeGB``), or None when not reported."""
    size = ((server.get("properties") or {}).get("storage") or {}).get("storageSizeGB")
    try:
        return None if size is None else int(size)
    except (TypeError, ValueError):
        return None


def size_problem(server):
    """A sentence about the server's size when it exceeds what vaulted backup supports, else None."""
    size = storage_size_gb(server)
    if size is None or size <= MAX_SUPPORTED_STORAGE_GB:
        return None
    return ("Server '{0}' has {1} GB of storage; Azure Backup supports vaulted backup of {2} only up to {3} GB "
            "(1 TB): backups of a larger server are unsupported and may fail.").format(
                _server_name(server), size, DATASOURCE_LABEL, MAX_SUPPORTED_STORAGE_GB)


def policy_datasource_types(policy):
    """The datasource types a backup policy (ARM body) is for."""
    return list(((policy or {}).get("properties") or {}).get("datasourceTypes") or [])


def policy_is_for_datasource(policy):
    return any(str(item).lower() == DATASOURCE_TYPE.lower() for item in policy_datasource_types(policy))


def policy_backup_rule_name(policy):
    """Name of the policy's backup rule (the one an on-demand backup names), ``BackupWeekly`` when none is found."""
    for rule in ((policy or {}).get("properties") or {}).get("policyRules") or []:
        if str(rule.get("objectType") or "").lower() == "azurebackuprule" and rule.get("name"):
            return rule["name"]
    return BACKUP_RULE_NAME


def policy_retention_tags(policy):
    """Names of the policy's retention rules (``Default``, ``Weekly``, ...): the tags an on-demand backup may use."""
    tags = []
    for rule in ((policy or {}).get("properties") or {}).get("policyRules") or []:
        if str(rule.get("objectType") or "").lower() == "azureretentionrule" and rule.get("name"):
            tags.append(rule["name"])
    return tags
