# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Data Protection access object: every read and write of a vault's resources goes through one of these.

The façade builds it (``AzureBackupModule.dataprotection_api()``); the unit tests build it around fake SDK clients.
It also holds the two answers several modules need: "the vault, or a clear failure" (``require_vault``) and the
principal of a vault's identity (``vault_identities`` / ``identity_principal``).
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, azure_waits, role_assignment_resource
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import as_dict, get_or_none
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError

try:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
except ImportError:  # the modules fail with missing_required_lib before any of this runs

    class HttpResponseError(Exception):  # noqa: D101
        pass

    class ResourceNotFoundError(HttpResponseError):  # noqa: D101
        pass


class VaultNotFound(InputError):
    """The vault the options name does not exist."""

    def __init__(self, vault_name, vault_id):
        super(VaultNotFound, self).__init__(
            "Backup vault '{0}' does not exist ({1}). Create it with azbackup.dataprotection.backup_vault "
            "first.".format(vault_name, vault_id), option="vault_name", error_code="ResourceNotFound")


class DataProtectionApi:
    """Every Data Protection call the modules make for one vault: vault, policies, instances, jobs, recovery points.

    ``client``: the DataProtectionMgmtClient of the vault's subscription; ``arm_get(path, api_version)``: GET any ARM
    resource (None on 404); ``wait(poller, what)``: wait for a long-running operation (the façade's, bounded by
    ``wait_timeout``); ``list_assignments(principal_id, scopes)``: the principal's role assignments and the management
    groups above (``assignment_lister()``), or None when the caller may not read them; ``validation_wait_timeout``:
    bound of one validateForBackup operation.
    """

    def __init__(self, client, vault_id, arm_get, wait, list_assignments=None, validation_wait_timeout=300):
        self.client = client
        self.vault_id = vault_id
        dummy, self.resource_group, self.vault_name = arm.parse_typed_id(vault_id, arm.VAULT_TYPE, "vault_id")
        self.arm_get = arm_get
        self.wait = wait
        self.list_assignments = list_assignments
        self.validation_wait_timeout = validation_wait_timeout

    # reads
    def vault(self):
        return get_or_none(self.client.backup_vaults.get, self.resource_group, self.vault_name)

    def policy(self, name):
        return get_or_none(self.client.backup_policies.get, self.resource_group, self.vault_name, name)

    def instances(self):
        return [as_dict(item) for item in self.client.backup_instances.list(self.resource_group, self.vault_name)]

    def instance(self, name):
        return get_or_none(self.client.backup_instances.get, self.resource_group, self.vault_name, name)

    def deleted_instance(self, name):
        return get_or_none(self.client.deleted_backup_instances.get, self.resource_group, self.vault_name, name)

    def require_vault(self):
        """The vault, or ``VaultNotFound`` (an input error) with the one wording every module uses."""
        vault = self.vault()
        if vault is None:
            raise VaultNotFound(self.vault_name, self.vault_id)
        return vault

    def policies(self):
        return [as_dict(item) for item in self.client.backup_policies.list(self.resource_group, self.vault_name)]

    def resource(self, resource_id):
        """Any ARM resource whose type the ARM table (or a datasource record) knows; None on 404."""
        return self.arm_get(resource_id, arm.api_version_of(resource_id))

    def server(self, server_id):
        return self.resource(server_id)

    def identity_principal(self, identity_id):
        return identity_principal(self.resource, identity_id)

    def assignments(self, principal_id, scopes):
        """(assignments, management groups) of the principal that matter for ``scopes``; None when unreadable."""
        if self.list_assignments is None:
            return None
        return self.list_assignments(principal_id, scopes)

    # the POST that writes nothing
    def validate(self, body):
        """None when validateForBackup passes, else the service's error (dict with ``status_code``).

        A 401/403 on the request itself is the caller's problem (it may not run validateForBackup), not the vault
        identity's: that error is raised, not returned.
        """
        try:
            poller = self.client.backup_instances.begin_validate_for_backup(
                self.resource_group, self.vault_name, {"backupInstance": body["properties"]})
            azure_waits.wait_for_poller(poller, self.validation_wait_timeout, "validateForBackup")
        except ResourceNotFoundError:
            raise
        except HttpResponseError as exc:
            if getattr(exc, "status_code", None) in (401, 403):
                raise
            return arm.error_from_exception(exc)
        return None

    def deleted_instances(self):
        listed = self.client.deleted_backup_instances.list(self.resource_group, self.vault_name)
        return [as_dict(item) for item in listed]

    # writes of the vault (long-running, waited for by ``wait``) and of its policies (synchronous)
    def put_vault(self, body):
        begin = self.client.backup_vaults.begin_create_or_update
        return as_dict(self.wait(begin(self.resource_group, self.vault_name, body),
                                 "creating backup vault " + self.vault_name))

    def patch_vault(self, body):
        begin = self.client.backup_vaults.begin_update
        return as_dict(self.wait(begin(self.resource_group, self.vault_name, body),
                                 "updating backup vault " + self.vault_name))

    def delete_vault(self):
        begin = self.client.backup_vaults.begin_delete
        self.wait(begin(self.resource_group, self.vault_name), "deleting backup vault " + self.vault_name)

    def put_policy(self, name, body):
        return as_dict(self.client.backup_policies.create_or_update(self.resource_group, self.vault_name, name, body))

    def delete_policy(self, name):
        self.client.backup_policies.delete(self.resource_group, self.vault_name, name)

    # writes: long-running operations on one instance, waited for by the façade's ``wait``
    def _instance_operation(self, operation, what, name, *args):
        begin = getattr(self.client.backup_instances, "begin_" + operation)
        return as_dict(self.wait(begin(self.resource_group, self.vault_name, name, *args), what + name))

    def put(self, name, body):
        return self._instance_operation("create_or_update", "creating or updating backup instance ", name, body)

    def stop(self, name):
        self._instance_operation("stop_protection", "stopping protection of backup instance ", name)

    def suspend(self, name):
        self._instance_operation("suspend_backups", "suspending backups of backup instance ", name)

    def resume_protection(self, name):
        self._instance_operation("resume_protection", "resuming protection of backup instance ", name)

    def resume_backups(self, name):
        self._instance_operation("resume_backups", "resuming backups of backup instance ", name)

    def delete(self, name):
        self._instance_operation("delete", "deleting backup instance ", name)

    def adhoc_backup(self, name, body):
        """Trigger a backup now; returns the job id the service gives (None if it gives none)."""
        result = self._instance_operation("adhoc_backup", "triggering an on-demand backup of backup instance ", name,
                                          body) or {}
        return result.get("jobId") or (result.get("properties") or {}).get("jobId")

    # jobs and recovery points
    def job(self, job_id):
        return get_or_none(self.client.jobs.get, self.resource_group, self.vault_name, job_id)

    def jobs(self):
        return [as_dict(item) for item in self.client.jobs.list(self.resource_group, self.vault_name)]

    def recovery_points(self, name, odata_filter=None):
        """The recovery points of an instance (every page); ``odata_filter``: the API's ``startDate``/``endDate``."""
        if odata_filter:
            items = self.client.recovery_points.list(self.resource_group, self.vault_name, name, filter=odata_filter)
        else:
            items = self.client.recovery_points.list(self.resource_group, self.vault_name, name)
        return [as_dict(item) for item in items]

    def recovery_point(self, name, point_id):
        return get_or_none(self.client.recovery_points.get, self.resource_group, self.vault_name, name, point_id)

    def secondary_recovery_points(self, location, instance_id, source_region, odata_filter=None):
        """The recovery points of an instance in the paired region (fetchSecondaryRecoveryPoints, every page)."""
        body = {"sourceBackupInstanceId": instance_id, "sourceRegion": source_region}
        kwargs = {"filter": odata_filter} if odata_filter else {}
        items = self.client.fetch_secondary_recovery_points.list(self.resource_group, location, body, **kwargs)
        return [as_dict(item) for item in items]

    # restore
    def validate_restore(self, name, request, location=None, instance_id=None, source_region=None):
        """None when validateRestore (validateCrossRegionRestore with ``location``) passes, else the service's error.

        A 401/403 on the request itself is the caller's problem and is raised, as for validateForBackup.
        """
        try:
            if location:
                poller = self.client.backup_instances.begin_validate_cross_region_restore(
                    self.resource_group, location,
                    cross_region_body(request, instance_id, source_region))
            else:
                poller = self.client.backup_instances.begin_validate_for_restore(
                    self.resource_group, self.vault_name, name,
                    {"objectType": "ValidateRestoreRequestObject", "restoreRequestObject": request})
            azure_waits.wait_for_poller(poller, self.validation_wait_timeout, "validateRestore")
        except ResourceNotFoundError:
            raise
        except HttpResponseError as exc:
            if getattr(exc, "status_code", None) in (401, 403):
                raise
            return arm.error_from_exception(exc)
        return None

    def trigger_restore(self, name, request, location=None, instance_id=None, source_region=None):
        """Start a restore (a cross-region restore with ``location``); returns the restore job's id (or None)."""
        if location:
            poller = self.client.backup_instances.begin_trigger_cross_region_restore(
                self.resource_group, location, cross_region_body(request, instance_id, source_region))
        else:
            poller = self.client.backup_instances.begin_trigger_restore(
                self.resource_group, self.vault_name, name, request)
        result = as_dict(self.wait(poller, "triggering a restore of backup instance " + name)) or {}
        job_id = result.get("jobId") or (result.get("properties") or {}).get("jobId")
        return arm.last_segment(job_id) if job_id else None

    def cross_region_restore_job(self, location, source_region, job_id):
        """A cross-region restore job (they live in the secondary region, not among the vault's jobs)."""
        body = {"sourceRegion": source_region, "sourceBackupVaultId": self.vault_id, "jobId": job_id}
        return get_or_none(self.client.fetch_cross_region_restore_job.get, self.resource_group, location, body)

    def cross_region_restore_jobs(self, location, source_region):
        body = {"sourceRegion": source_region, "sourceBackupVaultId": self.vault_id}
        items = self.client.fetch_cross_region_restore_jobs.list(self.resource_group, location, body)
        return [as_dict(item) for item in items]

    def undelete(self, name):
        begin = self.client.deleted_backup_instances.begin_undelete
        self.wait(begin(self.resource_group, self.vault_name, name), "undeleting backup instance " + name)


def cross_region_body(request, instance_id, source_region):
    """The body of validateCrossRegionRestore / crossRegionRestore around a restore request."""
    return {"restoreRequestObject": request,
            "crossRegionRestoreDetails": {"sourceRegion": source_region, "sourceBackupInstanceId": instance_id}}


def vault_identities(vault):
    """(system principal id or None, {user-assigned identity id: principal id or None}) of a vault body."""
    identity = (vault or {}).get("identity") or {}
    kind = str(identity.get("type") or "").lower()
    system = identity.get("principalId") if "systemassigned" in kind.replace(" ", "").replace(",", "") else None
    assigned = identity.get("userAssignedIdentities") or {}
    users = dict((key, (value or {}).get("principalId")) for key, value in assigned.items())
    return system, users


def assignment_lister(authorization_client):
    """``list_assignments`` for DataProtectionApi: the principal's assignments, or None when the caller may not read
    them (403): the role check is then unknown, and the service's validation decides alone."""
    def list_assignments(principal_id, scopes):
        try:
            return role_assignment_resource.list_assignments(authorization_client, principal_id, scopes)
        except HttpResponseError as exc:
            if getattr(exc, "status_code", None) in (401, 403):
                return None
            raise
    return list_assignments


def identity_principal(read, identity_id):
    """The principal id of a user-assigned identity (``read(id)`` -> ARM body or None)."""
    body = read(identity_id)
    return ((body or {}).get("properties") or {}).get("principalId")
