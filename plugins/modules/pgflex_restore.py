# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pgflex_restore
short_description: Restore a PostgreSQL Flexible Server recovery point as files into a blob container
version_added: 0.1.0
description:
  - Restores one recovery point of a server that a Backup vault protects as files (the only restore Azure offers for
    this datasource) into a blob container: one C(<prefix>_database_<db>.sql) per database (a C(pg_dump) custom-format
    archive despite its name: load it with C(pg_restore)), C(<prefix>_roles.sql), C(<prefix>_schema.sql) and
    C(<prefix>_tablespace.sql).
  - "Before anything is written it checks: the recovery point exists; the storage account and the container exist
    (the blob URL is the account's C(primaryEndpoints.blob)); the account allows cross-tenant replication and is
    reachable by the vault; the region rules (a cross-region restore writes into the paired region); and whether the
    vault identity holds Storage Blob Data Contributor on the account."
  - Then it grants that role when it is missing (or, with O(on_missing_permission=template), returns the ARM template
    that grants it and writes nothing), runs validateRestore (retried up to O(validation_timeout) while a new grant
    propagates), triggers the restore and, with O(wait=true), follows the Restore job and lists the files written.
  - A restore of the same recovery point into the same container and prefix that is running or done is reported, not
    triggered again (O(force=true) repeats it).
author:
  - azbackup maintainers (@azbackup)
options:
  backup_instance_name:
    description: Name of the backup instance; when not set, the instance that protects the server is used.
    type: str
  recovery_point:
    description:
      - V(latest) (the newest complete point), a recovery point id (as M(azbackup.dataprotection.recovery_point_info)
        returns it), or an ISO 8601 point in time (the newest point at or before it).
    type: str
    default: latest
  storage_account_id:
    description: Resource id of the target storage account (any subscription of the tenant).
    type: str
  storage_account_name:
    description: Name of the target storage account, with O(storage_account_resource_group).
    type: str
  storage_account_resource_group:
    description: Resource group of O(storage_account_name).
    type: str
  storage_account_subscription_id:
    description: Subscription of O(storage_account_name); the vault's when not set.
    type: str
  container:
    description: The blob container the files are written to; it must exist.
    type: str
    required: true
  file_prefix:
    description:
      - Start of every file name. When not set, C(<server name>-<recovery point time>) (for example
        C(pg-orders-20260131T020000Z)), so that every point has its own files.
    type: str
  download_to:
    description:
      - A local directory (on the host that runs the module) to copy the restored files into once the job completed,
        for example to load them with C(pg_restore) from there. Also applies when the same restore is found done.
    type: path
  use_secondary_region:
    description:
      - Restore from the paired region's copy (cross-region restore). Needs a GeoRedundant vault with cross-region
        restore enabled, and a storage account in the paired region.
    type: bool
    default: false
  on_missing_permission:
    description:
      - What to do when the vault identity lacks Storage Blob Data Contributor on the account.
      - V(grant) creates the role assignment (the caller needs Role Based Access Control Administrator or User Access
        Administrator there; without it the task fails with the template and writes nothing).
      - V(template) writes nothing and returns RV(role_assignment_template) and RV(az_cli_commands) to hand over.
    type: str
    choices: [grant, template]
    default: grant
  force:
    description: Restore again even when the same point was restored (or is being restored) into the same place.
    type: bool
    default: false
  validation_timeout:
    description: Seconds to retry validateRestore at most while a new role assignment propagates.
    type: int
    default: 300
  wait:
    description: Wait for the Restore job to finish, then list the files written.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait at most for the trigger and the job; V(0) means do not wait.
    type: int
    default: 1800
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.vault
  - azbackup.dataprotection.server
  - azbackup.dataprotection.attributes
attributes:
  check_mode:
    support: full
    description: Runs every read-only check and returns RV(request) as it would be sent; writes nothing.
  diff_mode:
    support: none
    description: A restore is an action; it has no before and after.
requirements:
  - azure-storage-blob
notes:
  - The files land under the names above; load a database file into an empty database with
    C(pg_restore --no-owner --no-privileges -d <db> <file>) (see docs/restore.md).
seealso:
  - module: azbackup.dataprotection.recovery_point_info
  - module: azbackup.dataprotection.pgflex_role_assignment
"""

EXAMPLES = r"""
- name: Restore the latest recovery point of pg-orders into a container
  azbackup.dataprotection.pgflex_restore:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
    storage_account_name: stpgrestoreeus
    storage_account_resource_group: rg-backup
    container: restores
  register: restored

- name: Restore the state of last Monday night, from the paired region
  azbackup.dataprotection.pgflex_restore:
    vault_name: bv-pg-prod-eastus
    resource_group: rg-backup
    server_name: pg-orders
    server_resource_group: rg-pg
    recovery_point: "2026-01-26T23:59:59Z"
    use_secondary_region: true
    storage_account_id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-dr/providers/Microsoft.Storage/storageAccounts/stpgrestorewus
    container: restores
    file_prefix: pg-orders-monday
"""

RETURN = r"""
recovery_point:
  description: The recovery point restored (or that would be), as M(azbackup.dataprotection.recovery_point_info) lists it.
  returned: always
  type: dict
target:
  description: Where the files go (C(container_url), C(file_prefix), C(storage_account_id), C(cross_region), ...).
  returned: always
  type: dict
request:
  description: The restore request sent (or in check mode, that would be sent).
  returned: always
  type: dict
job_id:
  description: Id of the Restore job; null in check mode.
  returned: always
  type: str
restore_job:
  description:
    - The Restore job as M(azbackup.dataprotection.backup_job_info) returns it (C(status), C(duration_seconds), errors).
  returned: always
  type: dict
files:
  description: The files written, read from the container (empty in check mode or when not waited for).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Blob name.
      type: str
    local_path:
      description: Where O(download_to) put the file.
      type: str
      returned: with O(download_to)
    size:
      description: Size in bytes.
      type: int
    database:
      description: The database the file holds; null for the roles, schema and tablespace files.
      type: str
already_restored:
  description: Whether the same restore was found running or done, so nothing was triggered.
  returned: always
  type: bool
roles:
  description: The vault identity's restore role on the account, with its status (existing, created, missing, ...).
  returned: always
  type: raw
validation:
  description: How validateRestore went (C(passed), C(attempts), C(waited_seconds)).
  returned: always
  type: raw
role_assignment_template:
  description: ARM template granting the missing role, when it is missing and was not granted.
  returned: always
  type: dict
az_cli_commands:
  description: The same grant as C(az role assignment create) commands.
  returned: when the role is missing
  type: list
  elements: str
backup_instance:
  description: The backup instance restored from.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.azbackup.dataprotection.plugins.module_utils import blob_files, references, restore
from ansible_collections.azbackup.dataprotection.plugins.module_utils import role_assignment_resource as rar
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX


def argument_spec():
    return references.argument_spec(
        server=True,
        backup_instance_name=dict(type="str"),
        recovery_point=dict(type="str", default="latest"),
        storage_account_id=dict(type="str"),
        storage_account_name=dict(type="str"),
        storage_account_resource_group=dict(type="str"),
        storage_account_subscription_id=dict(type="str"),
        container=dict(type="str", required=True),
        file_prefix=dict(type="str"),
        download_to=dict(type="path"),
        use_secondary_region=dict(type="bool", default=False),
        on_missing_permission=dict(type="str", choices=["grant", "template"], default="grant"),
        force=dict(type="bool", default=False),
        validation_timeout=dict(type="int", default=300),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
    )


MODULE_RULES = references.reference_rules(
    server=True,
    required_one_of=[["server_name", "server_id", "backup_instance_name"],
                     ["storage_account_id", "storage_account_name"]],
    mutually_exclusive=[["storage_account_id", "storage_account_name"]],
    required_by={"storage_account_name": "storage_account_resource_group"},
)


def main():
    azure = AzureBackupModule(argument_spec(), **MODULE_RULES)
    if not blob_files.available():
        azure.fail(missing_required_lib(blob_files.BLOB_REQUIREMENT))
    with azure.input_errors():  # options that need no request fail before any
        restore.check_options(azure.params)
        restore.storage_account_id(azure.params, "-")
    server_id = azure.server_id(PGFLEX, required=False)
    api = azure.dataprotection_api(azure.params["validation_timeout"] or None)
    verify = azure.session.plan["cert_validation_mode"] != "ignore"

    def open_container(url):
        return blob_files.Container(url, azure.session.credential, verify=verify)

    roles = restore.RoleAccess(azure.authorization, rar.permission_reader(azure.dataprotection.send_request))
    with azure.azure_errors("restoring from vault {0}".format(api.vault_name)):
        result = restore.restore(api, azure.params, server_id, azure.check_mode, azure.warn, open_container, roles,
                                 caller=azure.session.caller)
    changed = result.pop("changed", False)
    azure.exit(changed, **result)


if __name__ == "__main__":
    main()
