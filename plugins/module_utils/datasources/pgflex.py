# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What Azure Backup needs to know about Azure Database for PostgreSQL Flexible Server."""

from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources import Datasource, register

# Built-in role definition ids (names have changed over time; ids have not).
ROLE_READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ROLE_PGFLEX_LTR_BACKUP = "c088a766-074b-43ba-90d4-1fb21feae531"
ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

PGFLEX = register(Datasource(
    key="pgflex",
    label="PostgreSQL Flexible Server",
    arm_type="Microsoft.DBforPostgreSQL/flexibleServers",
    api_version="2024-08-01",
    # 3 to 63 lowercase letters, digits and hyphens, not starting or ending with a hyphen.
    name_pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$",
    name_rule="3 to 63 lowercase letters, digits and hyphens, not starting or ending with a hyphen",
    # Vaulted backup is supported up to 1 TB of provisioned storage.
    max_storage_gb=1024,
    size_path=("properties", "storage", "storageSizeGB"),
    network_path=("properties", "network", "publicNetworkAccess"),
    roles={"reader": ROLE_READER, "ltr_backup": ROLE_PGFLEX_LTR_BACKUP,
           "storage_blob_data_contributor": ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR},
    role_names={
        ROLE_READER: "Reader",
        ROLE_PGFLEX_LTR_BACKUP: "PostgreSQL Flexible Server Long Term Retention Backup Role",
        ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    },
    # What the vault identity needs, per operation. "target" names the resource the narrowest grant sits on:
    # "server_resource_group" (the server's resource group), "server", or "storage_account".
    required_roles={
        "backup": [
            {"role_definition_id": ROLE_READER, "target": "server_resource_group"},
            {"role_definition_id": ROLE_PGFLEX_LTR_BACKUP, "target": "server"},
        ],
        "restore": [
            {"role_definition_id": ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, "target": "storage_account"},
        ],
    },
    # The only backup rule Azure accepts: a weekly schedule of full backups to the vault store.
    schedule_periods=("P1W",),
    datastore_type="VaultStore",
    backup_type="Full",
    backup_rule_name="BackupWeekly",
    # Retention rule (tag) names and the priorities Azure gives them: the lowest number wins.
    tag_priorities={"Yearly": 10, "Monthly": 15, "Weekly": 20, "Default": 99},
    max_retention_years=10,
    # uuid5(NAMESPACE_DNS, "backup-instances.dataprotection.azbackup"). Never change it: a new namespace would give a
    # protected server a second name, and reruns would try to protect it twice instead of finding its instance.
    instance_name_namespace="14ab0178-6039-51b6-a8b0-e352f37d2ece",
    restore_target_kinds=("RestoreAsFiles",),
    role_assignment_module="azbackup.dataprotection.pgflex_role_assignment",
    instance_module="azbackup.dataprotection.pgflex_backup_instance",
))
