"""What the backup service knows about each datasource it protects: one record per datasource.

Policies (constraints on schedules, data stores, backup types, retention), backup instances (the datasource type,
where its resources live) and RBAC (the roles the vault identity needs for backup and restore, and at which
scope) read these records instead of holding datasource facts of their own. Supporting another datasource is
adding a record here (and its seeded resources).

PostgreSQL Flexible Server facts: Azure docs "Azure Database for PostgreSQL - Flexible Server backup support
matrix" (weekly full backups to the vault store, retention up to 10 years), "Configure backup" (Reader on the
server's resource group and PostgreSQL Flexible Server Long Term Retention Backup Role on the server) and
"Restore" (Storage Blob Data Contributor on the target storage account).
"""

from dataclasses import dataclass

from emulator import seed
from emulator.validators import same

# Scopes a role is needed at, relative to the protected resource (or the restore target).
RESOURCE = "resource"
RESOURCE_GROUP = "resourceGroup"
TARGET_STORAGE_ACCOUNT = "targetStorageAccount"


@dataclass(frozen=True)
class Datasource:
    """One datasource type as the backup service treats it."""

    datasource_type: str
    label: str
    resource_table: str  # the emulator table that holds its resources
    backup_roles: tuple  # ((role definition guid, scope kind), ...)
    restore_roles: tuple
    schedule_periods: tuple  # the repeating-interval periods a backup rule may use
    schedule_description: str
    data_stores: tuple
    backup_types: tuple
    max_retention_days: float
    backup_rules: int = 1  # how many AzureBackupRule a policy has


PGFLEX = Datasource(
    datasource_type="Microsoft.DBforPostgreSQL/flexibleServers",
    label="Azure Database for PostgreSQL flexible servers",
    resource_table="flexibleServers",
    backup_roles=((seed.READER_ROLE, RESOURCE_GROUP), (seed.PG_LTR_BACKUP_ROLE, RESOURCE)),
    restore_roles=((seed.STORAGE_BLOB_DATA_CONTRIBUTOR_ROLE, TARGET_STORAGE_ACCOUNT),),
    schedule_periods=("P1W",),
    schedule_description="weekly schedules (repeating interval period P1W, on one or more days of the week)",
    data_stores=("VaultStore",),
    backup_types=("Full",),
    max_retention_days=10 * 365.25,  # "up to 10 years": P10Y, P120M and P521W pass, P522W does not
)

DATASOURCES = (PGFLEX,)


def find(datasource_type):
    """The record of a datasource type the emulator can protect, or None."""
    for record in DATASOURCES:
        if same(record.datasource_type, datasource_type or ""):
            return record
    return None


def role_scopes(roles, resource_id, target_id=None):
    """``[(role guid, scope)]`` for a datasource's roles, resolved against a resource (and a restore target)."""
    group = resource_id.split("/providers/")[0]
    scopes = {RESOURCE: resource_id, RESOURCE_GROUP: group, TARGET_STORAGE_ACCOUNT: target_id}
    return [(role, scopes[kind]) for role, kind in roles if scopes[kind]]
