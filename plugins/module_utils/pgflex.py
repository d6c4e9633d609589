# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What Azure Backup needs to know about PostgreSQL Flexible Server.

Everything specific to this datasource lives here: its ARM type, the roles the vault identity needs,
the policy constraints and the backup instance body. Another datasource (MySQL Flexible Server, say)
would get a sibling file with the same names.
"""

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
