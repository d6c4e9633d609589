# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""recovery_point_info, pgflex_restore, deleted_backup_instance_info and pgflex_backup_instance_undelete, run through
their main() against the in-memory vault."""

import copy

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import blob_files
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources import pgflex
from ansible_collections.azbackup.dataprotection.plugins.modules import (
    deleted_backup_instance_info,
    pgflex_backup_instance,
    pgflex_backup_instance_undelete,
    pgflex_restore,
    recovery_point_info,
)
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.modules.fake_session import FakeSession
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.vault_fakes import (
    GRANTED,
    POLICY_ID,
    RG_PREFIX,
    SERVER_ID,
    SUB,
    SYSTEM_PID,
    VAULT_ID,
    Fake,
    assignment,
    http_error,
    instance_body,
    server_body,
    vault_body,
)

ACCOUNT_ID = RG_PREFIX + "rg-backup/providers/Microsoft.Storage/storageAccounts/strestore"
WEST_ACCOUNT_ID = RG_PREFIX + "rg-backup/providers/Microsoft.Storage/storageAccounts/strestorewus"
BLOB = "https://strestore.blob.core.windows.net/"
URL = BLOB + "restores"
INSTANCE_ID = VAULT_ID + "/backupInstances/bi1"
BASE = {"vault_id": VAULT_ID, "server_id": SERVER_ID, "storage_account_id": ACCOUNT_ID, "container": "restores"}


def point(name, time, tag="Default", state="Completed"):
    return {"id": INSTANCE_ID + "/recoveryPoints/" + name, "name": name,
            "properties": {"objectType": "AzureBackupDiscreteRecoveryPoint", "recoveryPointId": name,
                           "recoveryPointTime": time, "recoveryPointType": "Full", "retentionTagName": tag,
                           "recoveryPointState": state, "policyName": "weekly", "policyVersion": "1.0",
                           "expiryTime": "2027-01-01T00:00:00Z"}}


POINTS = [point("rp1", "2026-01-03T02:00:00Z"), point("rp2", "2026-01-10T02:00:00Z", "weekly")]


def account(account_id=ACCOUNT_ID, location="eastus", **properties):
    props = {"allowCrossTenantReplication": True, "primaryEndpoints": {"blob": BLOB}}
    props.update(properties)
    return {"id": account_id, "name": account_id.rsplit("/", 1)[-1], "location": location, "properties": props}


def restore_job(status="Completed", point_id="rp2", destination=URL, errors=None):
    props = {"operation": "Restore", "operationCategory": "Restore", "status": status,
             "backupInstanceId": INSTANCE_ID, "dataSourceId": SERVER_ID, "dataSourceName": "pg1",
             "startTime": "2026-01-11T00:00:00Z", "endTime": "2026-01-11T00:05:00Z", "duration": "PT5M",
             "extendedInfo": {"recoveryDestination": destination,
                              "sourceRecoverPoint": {"recoveryPointID": point_id}}}
    if errors:
        props["errorDetails"] = errors
    return {"id": VAULT_ID + "/backupJobs/job-r1", "name": "job-r1", "properties": props}


class FakeContainer:
    def __init__(self, exists=True, names=("pg1_database_orders.sql", "pg1_roles.sql")):
        self._exists = exists
        self.names = list(names)
        self.problem = None

    def exists(self):
        return self._exists

    def files(self, prefix):
        return [{"name": n, "size": 10, "database": blob_files.database_of(n, prefix)}
                for n in self.names if n.startswith(prefix)]


def session_with(vault=None, instances=None, points=None, resources=None, granted=False):
    fake = Fake(vault=vault, instances=[instance_body("bi1")] if instances is None else instances,
                points={"bi1": list(POINTS) if points is None else points})
    fake.restore_job = restore_job()
    session = FakeSession(fake, dict({SERVER_ID: server_body(), ACCOUNT_ID: account(),
                                      "/subscriptions/{0}/locations".format(SUB): {"value": [
                                          {"name": "eastus", "metadata": {"pairedRegion": [{"name": "westus"}]}}]}},
                                     **(resources or {})))
    if granted:
        session.authorization.role_assignments.existing = [
            assignment(pgflex.ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, ACCOUNT_ID)]
    return session


@pytest.fixture
def container(monkeypatch):
    box = FakeContainer()
    monkeypatch.setattr(blob_files, "Container", lambda url, credential, verify=True: box)
    return box


# recovery_point_info

def test_points_newest_first_with_every_field(run_module):
    result, failed = run_module(recovery_point_info, {"vault_id": VAULT_ID, "server_id": SERVER_ID}, session_with())
    assert not failed and not result["changed"]
    assert [p["recovery_point_id"] for p in result["recovery_points"]] == ["rp2", "rp1"]
    newest = result["recovery_points"][0]
    assert (newest["time"], newest["type"], newest["retention_tag"], newest["state"], newest["policy_name"],
            newest["expiry_time"], newest["is_partial"]) == (
        "2026-01-10T02:00:00Z", "Full", "weekly", "Completed", "weekly", "2027-01-01T00:00:00Z", False)


def test_points_filters_go_to_the_api_and_tag_ignores_case(run_module):
    session = session_with()
    args = {"vault_id": VAULT_ID, "server_id": SERVER_ID, "start_time": "2026-01-01T00:00:00Z",
            "end_time": "2026-02-01T00:00:00+00:00", "retention_tag": "WEEKLY", "latest": True}
    result, failed = run_module(recovery_point_info, args, session)
    assert not failed and [p["recovery_point_id"] for p in result["recovery_points"]] == ["rp2"]
    assert ("list_points", "bi1", "startDate eq '2026-01-01T00:00:00Z' and endDate eq '2026-02-01T00:00:00Z'") \
        in session.dataprotection.calls


def test_points_bad_time_fails_before_any_request(run_module):
    session = session_with()
    result, failed = run_module(recovery_point_info, {"vault_id": VAULT_ID, "server_id": SERVER_ID,
                                                      "start_time": "yesterday"}, session)
    assert failed and result["option"] == "start_time" and session.requests == []


def test_points_of_the_secondary_region(run_module):
    vault = vault_body()
    vault["properties"].update(storageSettings=[{"datastoreType": "VaultStore", "type": "GeoRedundant"}],
                               featureSettings={"crossRegionRestoreSettings": {"state": "Enabled"}})
    session = session_with(vault=vault)
    session.dataprotection.secondary_points[INSTANCE_ID] = [POINTS[0]]
    result, failed = run_module(recovery_point_info, {"vault_id": VAULT_ID, "server_id": SERVER_ID,
                                                      "use_secondary_region": True}, session)
    assert not failed and result["region"] == "westus"
    assert [p["recovery_point_id"] for p in result["recovery_points"]] == ["rp1"]
    call = [c for c in session.dataprotection.calls if c[0] == "fetch_secondary"][0]
    assert call[1] == "westus" and call[2] == {"sourceBackupInstanceId": INSTANCE_ID, "sourceRegion": "eastus"}


@pytest.mark.parametrize("redundancy, crr, words", [
    ("LocallyRedundant", None, "needs a GeoRedundant vault"),
    ("GeoRedundant", "Disabled", "needs cross-region restore"),
])
def test_secondary_region_needs_geo_and_crr(run_module, redundancy, crr, words):
    vault = vault_body()
    vault["properties"]["storageSettings"] = [{"datastoreType": "VaultStore", "type": redundancy}]
    if crr:
        vault["properties"]["featureSettings"] = {"crossRegionRestoreSettings": {"state": crr}}
    result, failed = run_module(recovery_point_info, {"vault_id": VAULT_ID, "server_id": SERVER_ID,
                                                      "use_secondary_region": True}, session_with(vault=vault))
    assert failed and words in result["msg"] and result["option"] == "use_secondary_region"


# pgflex_restore

def test_check_mode_checks_everything_and_writes_nothing(run_module, container):
    session = session_with()
    result, failed = run_module(pgflex_restore, dict(BASE, _ansible_check_mode=True), session)
    assert not failed and not result["changed"]
    assert session.dataprotection.writes() == [] and session.authorization.role_assignments.created == []
    request = result["request"]
    assert request["recoveryPointId"] == "rp2"
    details = request["restoreTargetInfo"]["targetDetails"]
    assert details == {"url": URL, "filePrefix": "pg1-20260110T020000Z", "restoreTargetLocationType": "AzureBlobs",
                       "targetResourceArmId": ACCOUNT_ID + "/blobServices/default/containers/restores"}
    assert request["restoreTargetInfo"]["restoreLocation"] == "eastus"
    assert [r["status"] for r in result["roles"]] == ["would be created"]


def test_restore_grants_validates_triggers_waits_and_lists_files(run_module, container):
    session = session_with()
    args = dict(BASE, file_prefix="pg1")
    result, failed = run_module(pgflex_restore, args, session)
    assert not failed and result["changed"], result.get("msg")
    created = session.authorization.role_assignments.created
    assert len(created) == 1 and created[0][0] == ACCOUNT_ID
    assert created[0][2]["properties"]["principalId"] == SYSTEM_PID
    kinds = [c[0] for c in session.dataprotection.writes()]
    assert kinds == ["validate_restore", "restore"]
    validate_body = session.dataprotection.writes()[0][2]
    assert validate_body["objectType"] == "ValidateRestoreRequestObject"
    assert validate_body["restoreRequestObject"] == result["request"]
    assert result["restore_job"]["status"] == "completed" and result["restore_job"]["duration_seconds"] == 300
    assert result["files"] == [{"name": "pg1_database_orders.sql", "size": 10, "database": "orders"},
                               {"name": "pg1_roles.sql", "size": 10, "database": None}]


def test_a_restore_done_before_is_reported_not_repeated(run_module, container):
    session = session_with(granted=True)
    session.dataprotection.jobs_store["job-r1"] = restore_job()
    result, failed = run_module(pgflex_restore, dict(BASE, file_prefix="pg1"), session)
    assert not failed and not result["changed"] and result["already_restored"]
    assert "force: true" in result["msg"] and session.dataprotection.writes() == []
    forced, failed = run_module(pgflex_restore, dict(BASE, file_prefix="pg1", force=True), session)
    assert not failed and forced["changed"] and not forced["already_restored"]


def test_template_hands_over_the_grant_and_writes_nothing(run_module, container):
    session = session_with()
    result, failed = run_module(pgflex_restore, dict(BASE, on_missing_permission="template"), session)
    assert not failed and not result["changed"]
    assert session.dataprotection.writes() == [] and session.authorization.role_assignments.created == []
    template = result["role_assignment_template"]
    assert pgflex.ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR in str(template) and result["az_cli_commands"]


def test_a_failed_job_fails_with_its_innermost_cause(run_module, container):
    session = session_with(granted=True)
    errors = [{"code": "UserErrorRestoreFailed", "message": "Restore failed.",
               "details": [{"code": "Outer", "message": "outer", "details": [
                   {"code": "UserErrorMSIMissingPermissions", "message": "MSI lacks the role."}]}]}]
    session.dataprotection.restore_job = restore_job(status="Failed", errors=errors)
    result, failed = run_module(pgflex_restore, BASE, session)
    assert failed and "UserErrorMSIMissingPermissions" in result["msg"] and result["job_id"] == "job-r1"


@pytest.mark.parametrize("args, option, words", [
    ({"recovery_point": "rp9"}, "recovery_point", "not a recovery point"),
    ({"recovery_point": "2025-12-31T00:00:00Z"}, "recovery_point", "before the first recovery point"),
    ({"storage_account_id": ACCOUNT_ID.replace("strestore", "stmissing")}, "storage_account_id", "does not exist"),
    ({"container": "Bad_Name"}, "container", "not a valid blob container name"),
    ({"use_secondary_region": True}, "use_secondary_region", "GeoRedundant"),
])
def test_bad_inputs_fail_naming_the_option_with_zero_writes(run_module, container, args, option, words):
    session = session_with()
    result, failed = run_module(pgflex_restore, dict(BASE, **args), session)
    assert failed and result["option"] == option and words in result["msg"], result
    assert session.dataprotection.writes() == [] and session.authorization.role_assignments.created == []


def test_missing_container_fails_with_zero_writes(run_module, container):
    container._exists = False
    session = session_with()
    result, failed = run_module(pgflex_restore, BASE, session)
    assert failed and result["option"] == "container" and "does not exist" in result["msg"]
    assert session.dataprotection.writes() == []


def test_account_without_cross_tenant_replication_says_what_to_change(run_module, container):
    session = session_with(resources={ACCOUNT_ID: account(allowCrossTenantReplication=False)})
    result, failed = run_module(pgflex_restore, BASE, session)
    assert failed and "--allow-cross-tenant-replication true" in result["msg"]
    assert session.dataprotection.writes() == []


def test_unprotected_and_soft_deleted_servers_fail_clearly(run_module, container):
    result, failed = run_module(pgflex_restore, BASE, session_with(instances=[]))
    assert failed and "not protected" in result["msg"] and result["option"] == "server_id"
    session = session_with(instances=[])
    session.dataprotection.deleted["bi1"] = deleted_body()
    result, failed = run_module(pgflex_restore, BASE, session)
    assert failed and "soft-deleted" in result["msg"] and "pgflex_backup_instance_undelete" in result["msg"]
    assert session.dataprotection.writes() == []


def test_cross_region_restore_goes_to_the_secondary_region(run_module, container):
    vault = vault_body()
    vault["properties"].update(storageSettings=[{"datastoreType": "VaultStore", "type": "GeoRedundant"}],
                               featureSettings={"crossRegionRestoreSettings": {"state": "Enabled"}})
    session = session_with(vault=vault, resources={WEST_ACCOUNT_ID: account(WEST_ACCOUNT_ID, "westus")},
                           granted=True)
    session.authorization.role_assignments.existing.append(
        assignment(pgflex.ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, WEST_ACCOUNT_ID))
    session.dataprotection.secondary_points[INSTANCE_ID] = list(POINTS)
    wrong, failed = run_module(pgflex_restore, dict(BASE, use_secondary_region=True), session)
    assert failed and "secondary region westus" in wrong["msg"]
    result, failed = run_module(pgflex_restore, dict(BASE, use_secondary_region=True,
                                                     storage_account_id=WEST_ACCOUNT_ID), session)
    assert not failed and result["target"]["cross_region"], result.get("msg")
    calls = [c for c in session.dataprotection.writes() if c[0] == "crr"]
    assert calls[0][1] == "westus"
    assert calls[0][2]["crossRegionRestoreDetails"] == {"sourceRegion": "eastus", "sourceBackupInstanceId": INSTANCE_ID}
    assert calls[0][2]["restoreRequestObject"]["restoreTargetInfo"]["restoreLocation"] == "westus"


def test_validation_is_retried_while_the_grant_propagates(container):
    from ansible_collections.azbackup.dataprotection.plugins.module_utils import restore
    from ansible_collections.azbackup.dataprotection.plugins.module_utils.dataprotection import DataProtectionApi
    from ansible_collections.azbackup.dataprotection.tests.unit.plugins.fakes import Clock

    session = session_with()
    fake = session.dataprotection
    fake.restore_validation_errors = [http_error("UserErrorMissingRequiredPermissions", "missing")] * 2
    api = DataProtectionApi(fake, VAULT_ID, session.arm_get, lambda poller, what: poller.result())
    roles = restore.RoleAccess(session.authorization, lambda scope: [{"actions": ["*"], "notActions": []}])
    clock = Clock()
    params = dict(BASE, recovery_point="latest", validation_timeout=300, wait=True, wait_timeout=60,
                  on_missing_permission="grant")
    result = restore.restore(api, params, SERVER_ID, False, lambda text: None, lambda url: container, roles,
                             sleep=clock.sleep, clock=clock)
    assert result["validation"]["attempts"] == 3 and clock.sleeps
    assert [c[0] for c in fake.writes()] == ["validate_restore"] * 3 + ["restore"]


# soft-deleted instances

def deleted_body(name="bi1"):
    body = instance_body(name)
    body["properties"].update(objectType="DeletedBackupInstance", currentProtectionState="SoftDeleted",
                              protectionStatus={"status": "SoftDeleted"},
                              deletionInfo={"deletionTime": "2026-01-12T00:00:00Z",
                                            "scheduledPurgeTime": "2026-01-26T00:00:00Z",
                                            "billingEndDate": "2026-01-26T00:00:00Z", "deleteActivityID": "a1"})
    return body


def test_deleted_instances_are_listed_with_purge_time_and_points(run_module):
    session = session_with(instances=[])
    session.dataprotection.deleted["bi1"] = deleted_body()
    result, failed = run_module(deleted_backup_instance_info, {"vault_id": VAULT_ID}, session)
    assert not failed
    [item] = result["deleted_backup_instances"]
    assert (item["name"], item["deletion_time"], item["scheduled_purge_time"], item["recovery_point_count"]) == (
        "bi1", "2026-01-12T00:00:00Z", "2026-01-26T00:00:00Z", 2)


def test_undelete_then_rerun_is_unchanged(run_module):
    session = session_with(instances=[])
    session.dataprotection.deleted["bi1"] = deleted_body()
    args = {"vault_id": VAULT_ID, "server_id": SERVER_ID}
    checked, failed = run_module(pgflex_backup_instance_undelete, dict(args, _ansible_check_mode=True), session)
    assert not failed and checked["changed"] and session.dataprotection.writes() == []
    result, failed = run_module(pgflex_backup_instance_undelete, args, session)
    assert not failed and result["changed"] and result["backup_instance"]["state"] == "stopped"
    again, failed = run_module(pgflex_backup_instance_undelete, args, session)
    assert not failed and not again["changed"]
    assert [c[0] for c in session.dataprotection.writes()] == ["undelete"]


def test_protecting_a_server_whose_instance_is_soft_deleted_says_how_to_undelete(run_module):
    session = session_with(instances=[])
    session.dataprotection.deleted[pgflex.PGFLEX.instance_name(SERVER_ID)] = deleted_body(
        pgflex.PGFLEX.instance_name(SERVER_ID))
    session.authorization.role_assignments.existing = copy.deepcopy(GRANTED)
    result, failed = run_module(pgflex_backup_instance, {"vault_id": VAULT_ID, "server_id": SERVER_ID,
                                                         "policy_id": POLICY_ID}, session)
    assert failed and "soft-deleted" in result["msg"] and "pgflex_backup_instance_undelete" in result["msg"]
    assert result["option"] == "server_id" and session.dataprotection.writes() == []
