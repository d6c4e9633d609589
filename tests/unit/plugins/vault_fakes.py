# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An in-memory Backup vault behind the Data Protection SDK's operation groups, and the ARM bodies around it:
what the backup instance tests and the module tests drive."""

import copy

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources import pgflex
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.fakes import Poller

SUB = "11111111-1111-1111-1111-111111111111"
RG_PREFIX = "/subscriptions/{0}/resourceGroups/".format(SUB)
VAULT_ID = RG_PREFIX + "rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1"
SERVER_ID = RG_PREFIX + "rg-pg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1"
SERVER_RG = RG_PREFIX + "rg-pg"
OTHER_SERVER_ID = SERVER_ID.replace("pg1", "pg2")
POLICY_ID = VAULT_ID + "/backupPolicies/weekly"
POLICY2_ID = VAULT_ID + "/backupPolicies/weekly-10y"
UAI_ID = RG_PREFIX + "rg-backup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
SYSTEM_PID = "aaaaaaaa-0000-4000-8000-000000000001"
UAI_PID = "aaaaaaaa-0000-4000-8000-000000000002"
READER = pgflex.ROLE_READER
LTR = pgflex.ROLE_PGFLEX_LTR_BACKUP

WRITES = ("validate", "put", "stop", "suspend", "resume_protection", "resume_backups", "delete", "adhoc",
          "validate_restore", "restore", "undelete", "validate_crr", "crr")


def vault_body(location="eastus", identity=None, soft_delete="On"):
    return {
        "id": VAULT_ID, "name": "bv1", "location": location,
        "identity": identity if identity is not None else {"type": "SystemAssigned", "principalId": SYSTEM_PID},
        "properties": {"securitySettings": {"softDeleteSettings": {
            "state": soft_delete, "retentionDurationInDays": 14.0}}},
    }


def policy_body(name="weekly", datasource=PGFLEX.arm_type):
    return {
        "id": VAULT_ID + "/backupPolicies/" + name, "name": name,
        "properties": {
            "objectType": "BackupPolicy", "datasourceTypes": [datasource],
            "policyRules": [
                {"objectType": "AzureBackupRule", "name": "BackupWeekly"},
                {"objectType": "AzureRetentionRule", "name": "Default", "isDefault": True},
                {"objectType": "AzureRetentionRule", "name": "Weekly"},
            ],
        },
    }


def server_body(server_id=SERVER_ID, location="eastus", size=128):
    return {"id": server_id, "name": server_id.rsplit("/", 1)[-1], "location": location,
            "properties": {"storage": {"storageSizeGB": size}}}


def assignment(role, scope, principal=SYSTEM_PID):
    return {"id": scope + "/providers/Microsoft.Authorization/roleAssignments/x-" + role[:4],
            "properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/" + role,
                           "principalId": principal, "scope": scope}}


GRANTED = [assignment(READER, SERVER_RG), assignment(LTR, SERVER_ID)]


def instance_body(name, server_id=SERVER_ID, policy_id=POLICY_ID, state="ProtectionConfigured", error=None,
                  identity=None):
    status = {"ProtectionConfigured": "ProtectionConfigured", "ConfiguringProtection": "ConfiguringProtection",
              "UpdatingProtection": "ConfiguringProtection", "ProtectionError": "ConfiguringProtectionFailed",
              "ProtectionStopped": "ProtectionStopped", "BackupSchedulesSuspended": "ProtectionStopped",
              "BackupsSuspended": "BackupsSuspended"}[state]
    body = PGFLEX.instance_body(server_body(server_id), policy_id, identity)
    body.update(id=VAULT_ID + "/backupInstances/" + name, name=name,
                type="Microsoft.DataProtection/backupVaults/backupInstances")
    body["properties"].update(currentProtectionState=state, provisioningState="Succeeded",
                              protectionStatus={"status": status})
    if error:
        body["properties"]["protectionStatus"]["errorDetails"] = error
    return body


def http_error(code, message, status=400, details=None):
    exc = HttpResponseError(message="({0}) {1}".format(code, message))
    exc.status_code = status
    error = {"code": code, "message": message}
    if details:
        error["details"] = details

    class Response:
        status_code = status

        def json(self):
            return {"status": "Failed", "error": error}

    exc.response = Response()
    return exc


class Fake:
    """Every SDK operation group the modules use, over one in-memory vault."""

    def __init__(self, vault=None, policies=None, instances=None, jobs=None, points=None):
        self.vault = vault_body() if vault is None else vault
        self.policies = {p["name"]: p for p in (policies if policies is not None else [policy_body()])}
        self.instances = {i["name"]: i for i in instances or []}
        self.jobs_store = {j["name"]: j for j in jobs or []}
        self.points = points or {}
        self.calls = []
        self.validation_errors = []      # errors validateForBackup returns, one per call; then it passes
        self.after_put = "ProtectionConfigured"
        self.after_put_error = None
        self.after_puts = []             # (state, error) per PUT, before after_put applies
        self.configuring_polls = 1       # GETs that still say ConfiguringProtection after a PUT
        self.pending = {}
        self.adhoc_job = None
        self.backup_vaults = self
        self.backup_policies = _Policies(self)
        self.backup_instances = _Instances(self)
        self.deleted_backup_instances = _Deleted(self)
        self.jobs = _Jobs(self)
        self.recovery_points = _Points(self)
        self.deleted = {}                # soft-deleted instances by name
        self.secondary_points = {}       # instance id -> points of the paired region
        self.restore_validation_errors = []
        self.restore_job = None          # the job a restore starts
        self.fetch_secondary_recovery_points = _SecondaryPoints(self)
        self.fetch_cross_region_restore_job = _CrossRegionJob(self)
        self.fetch_cross_region_restore_jobs = _CrossRegionJob(self)

    def get(self, resource_group, name):  # backup_vaults.get
        if self.vault is None:
            raise ResourceNotFoundError("vault not found")
        return self.vault

    def get_in_resource_group(self, resource_group):  # backup_vaults
        return [self.vault] if self.vault else []

    def get_in_subscription(self):  # backup_vaults
        return [self.vault] if self.vault else []

    def begin_create_or_update(self, resource_group, name, body):  # backup_vaults
        self.calls.append(("put_vault", name, copy.deepcopy(body)))
        self.vault = dict(copy.deepcopy(body), id=VAULT_ID.rsplit("/", 1)[0] + "/" + name, name=name)
        return Poller(self.vault)

    def writes(self):
        return [call for call in self.calls if call[0] in WRITES]


class _Policies:
    def __init__(self, fake):
        self.fake = fake

    def get(self, resource_group, vault, name):
        if name not in self.fake.policies:
            raise ResourceNotFoundError("policy not found")
        return self.fake.policies[name]

    def list(self, resource_group, vault):
        return list(self.fake.policies.values())

    def create_or_update(self, resource_group, vault, name, body):
        self.fake.calls.append(("put_policy", name, copy.deepcopy(body)))
        self.fake.policies[name] = dict(copy.deepcopy(body), id=VAULT_ID + "/backupPolicies/" + name, name=name)
        return self.fake.policies[name]


class _Deleted:
    def __init__(self, fake):
        self.fake = fake

    def get(self, resource_group, vault, name):
        if name not in self.fake.deleted:
            raise ResourceNotFoundError("no")
        return copy.deepcopy(self.fake.deleted[name])

    def list(self, resource_group, vault):
        return [copy.deepcopy(item) for item in self.fake.deleted.values()]

    def begin_undelete(self, resource_group, vault, name):
        self.fake.calls.append(("undelete", name))
        body = self.fake.deleted.pop(name)
        body["properties"].update(currentProtectionState="ProtectionStopped",
                                  protectionStatus={"status": "ProtectionStopped"})
        body["properties"].pop("deletionInfo", None)
        self.fake.instances[name] = body
        return Poller()


class _SecondaryPoints:
    def __init__(self, fake):
        self.fake = fake

    def list(self, resource_group, location, body, filter=None):
        self.fake.calls.append(("fetch_secondary", location, body, filter))
        return list(self.fake.secondary_points.get(body["sourceBackupInstanceId"], []))


class _CrossRegionJob:
    def __init__(self, fake):
        self.fake = fake

    def get(self, resource_group, location, body):
        return self.fake.jobs.get(resource_group, "-", body["jobId"])

    def list(self, resource_group, location, body):
        return self.fake.jobs.list(resource_group, "-")


class _Instances:
    def __init__(self, fake):
        self.fake = fake

    def list(self, resource_group, vault):
        return [copy.deepcopy(i) for i in self.fake.instances.values()]

    def get(self, resource_group, vault, name):
        fake = self.fake
        if name not in fake.instances:
            raise ResourceNotFoundError("instance not found")
        if name in fake.pending:
            remaining, final = fake.pending[name]
            if remaining <= 0:
                fake.instances[name]["properties"]["currentProtectionState"] = final[0]
                fake.instances[name]["properties"]["protectionStatus"] = final[1]
                del fake.pending[name]
            else:
                fake.pending[name] = (remaining - 1, final)
        return copy.deepcopy(fake.instances[name])

    def begin_validate_for_backup(self, resource_group, vault, body):
        self.fake.calls.append(("validate", body))
        if self.fake.validation_errors:
            return Poller(error=self.fake.validation_errors.pop(0))
        return Poller({"jobId": "v1", "objectType": "OperationJobExtendedInfo"})

    def begin_create_or_update(self, resource_group, vault, name, body):
        fake = self.fake
        fake.calls.append(("put", name, copy.deepcopy(body)))
        created = copy.deepcopy(body)
        created.update(id=VAULT_ID + "/backupInstances/" + name, name=name)
        transitional = "UpdatingProtection" if name in fake.instances else "ConfiguringProtection"
        created["properties"].update(currentProtectionState=transitional,
                                     protectionStatus={"status": "ConfiguringProtection"})
        fake.instances[name] = created
        outcome, error = fake.after_puts.pop(0) if fake.after_puts else (fake.after_put, fake.after_put_error)
        status = {"status": "ProtectionConfigured"}
        if outcome == "ProtectionError":
            status = {"status": "ConfiguringProtectionFailed", "errorDetails": error}
        fake.pending[name] = (fake.configuring_polls, (outcome, status))
        return Poller(copy.deepcopy(created))

    def _set(self, name, state, status):
        self.fake.instances[name]["properties"].update(currentProtectionState=state,
                                                       protectionStatus={"status": status})

    def begin_stop_protection(self, resource_group, vault, name):
        self.fake.calls.append(("stop", name))
        self._set(name, "ProtectionStopped", "ProtectionStopped")
        return Poller()

    def begin_suspend_backups(self, resource_group, vault, name):
        self.fake.calls.append(("suspend", name))
        self._set(name, "BackupSchedulesSuspended", "ProtectionStopped")
        return Poller()

    def begin_resume_protection(self, resource_group, vault, name):
        self.fake.calls.append(("resume_protection", name))
        self._set(name, "ProtectionConfigured", "ProtectionConfigured")
        return Poller()

    def begin_resume_backups(self, resource_group, vault, name):
        self.fake.calls.append(("resume_backups", name))
        self._set(name, "ProtectionConfigured", "ProtectionConfigured")
        return Poller()

    def begin_delete(self, resource_group, vault, name):
        self.fake.calls.append(("delete", name))
        del self.fake.instances[name]
        return Poller()

    def _restore_job(self, name, body):
        job = copy.deepcopy(self.fake.restore_job)
        self.fake.jobs_store[job["name"]] = job
        return Poller({"jobId": job["id"], "objectType": "OperationJobExtendedInfo"})

    def begin_validate_for_restore(self, resource_group, vault, name, body):
        self.fake.calls.append(("validate_restore", name, copy.deepcopy(body)))
        if self.fake.restore_validation_errors:
            return Poller(error=self.fake.restore_validation_errors.pop(0))
        return Poller({"objectType": "OperationJobExtendedInfo"})

    def begin_trigger_restore(self, resource_group, vault, name, body):
        self.fake.calls.append(("restore", name, copy.deepcopy(body)))
        return self._restore_job(name, body)

    def begin_validate_cross_region_restore(self, resource_group, location, body):
        self.fake.calls.append(("validate_crr", location, copy.deepcopy(body)))
        return Poller({"objectType": "OperationJobExtendedInfo"})

    def begin_trigger_cross_region_restore(self, resource_group, location, body):
        self.fake.calls.append(("crr", location, copy.deepcopy(body)))
        return self._restore_job(None, body)

    def begin_adhoc_backup(self, resource_group, vault, name, body):
        self.fake.calls.append(("adhoc", name, body))
        job = self.fake.adhoc_job
        self.fake.jobs_store[job["name"]] = job
        return Poller({"jobId": job["id"], "objectType": "OperationJobExtendedInfo"})


class _Jobs:
    def __init__(self, fake):
        self.fake = fake

    def get(self, resource_group, vault, job_id):
        if job_id not in self.fake.jobs_store:
            raise ResourceNotFoundError("job not found")
        job = self.fake.jobs_store[job_id]
        script = job.get("_script")
        if script:
            job["properties"].update(script.pop(0))
        return {k: v for k, v in job.items() if k != "_script"}

    def list(self, resource_group, vault):
        return [{k: v for k, v in j.items() if k != "_script"} for j in self.fake.jobs_store.values()]


class _Points:
    def __init__(self, fake):
        self.fake = fake

    def list(self, resource_group, vault, name, filter=None):
        if filter:
            self.fake.calls.append(("list_points", name, filter))
        return list(self.fake.points.get(name, []))

    def get(self, resource_group, vault, name, point_id):
        for point in self.fake.points.get(name, []):
            if point["name"] == point_id:
                return point
        raise ResourceNotFoundError("point not found")
