"""Restore as files and cross-region restore on the emulator (data plane off), through the real SDK clients."""

from urllib.parse import urlparse

import pytest
from azure.core.exceptions import HttpResponseError

from emulator import seed
from tests.emulator.dp_helpers import GROUP, make_policy, make_vault, protected_instance, wait_for
from tests.emulator.restore_helpers import (
    account_id,
    backup_now,
    blob_endpoint,
    grant_blob_role,
    restore_path,
    restore_request,
    wait_job,
)


def _restored(emulator, job_id):
    return next(item for item in emulator.control("GET", "restores") if item["jobId"].lower() == job_id.lower())


def test_restore_as_files_happy_path(emulator):
    client, vault, _policy = protected_instance(emulator)
    point = backup_now(emulator, client)
    grant_blob_role(emulator, vault["identity"]["principalId"])
    request = restore_request(emulator, point, prefix="happy")

    validation = client.backup_instances.begin_validate_for_restore(
        GROUP, "bv-bi", "bi-orders", {"objectType": "ValidateRestoreRequestObject", "restoreRequestObject": request})
    assert validation.result() is not None
    poller = client.backup_instances.begin_trigger_restore(GROUP, "bv-bi", "bi-orders", request)
    result = poller.result()
    assert result.job_id.lower().endswith("/backupjobs/" + result.job_id.split("/")[-1].lower())

    job = wait_job(client, result.job_id)
    assert job.properties.status == "Completed"
    assert job.properties.operation_category == "Restore" and job.properties.operation == "Restore"
    info = job.properties.extended_info
    assert info.recovery_destination == request["restoreTargetInfo"]["targetDetails"]["url"]
    assert info.source_recover_point.recovery_point_id == point
    assert [task.task_name for task in info.sub_tasks] == ["Trigger Restore"]
    listed = [item for item in client.jobs.list(GROUP, "bv-bi") if item.properties.operation == "Restore"]
    assert [item.name for item in listed] == [job.name]

    restored = _restored(emulator, result.job_id)
    assert restored["written"] is False and restored["status"] == "Completed"
    assert sorted(item["name"] for item in restored["files"]) == sorted(
        ["happy_database_app.sql", "happy_database_audit.sql", "happy_roles.sql", "happy_schema.sql",
         "happy_tablespace.sql"])


def test_restore_operation_headers_and_status(emulator):
    client, vault, _policy = protected_instance(emulator)
    point = backup_now(emulator, client)
    grant_blob_role(emulator, vault["identity"]["principalId"])
    response = emulator.arm("POST", restore_path(emulator, "restore"), json=restore_request(emulator, point))
    assert response.status_code == 202, response.text
    for header in ("Azure-AsyncOperation", "Location", "Retry-After"):
        assert header in response.headers
    status_path = urlparse(response.headers["Azure-AsyncOperation"]).path
    status = wait_for(lambda: emulator.arm("GET", status_path).json(), lambda body: body["status"] != "Inprogress")
    assert status["status"] == "Succeeded"
    assert status["properties"]["objectType"] == "OperationJobExtendedInfo"
    assert "/backupJobs/" in status["properties"]["jobId"]


def test_restore_without_blob_role_fails_validation_and_job(emulator):
    client, _vault, _policy = protected_instance(emulator)
    point = backup_now(emulator, client)
    request = restore_request(emulator, point)
    with pytest.raises(HttpResponseError) as error:
        client.backup_instances.begin_validate_for_restore(
            GROUP, "bv-bi", "bi-orders",
            {"objectType": "ValidateRestoreRequestObject", "restoreRequestObject": request}).result()
    assert "UserErrorMissingRequiredPermissions" in str(error.value)
    assert seed.STORAGE_BLOB_DATA_CONTRIBUTOR_ROLE in str(error.value)

    result = client.backup_instances.begin_trigger_restore(GROUP, "bv-bi", "bi-orders", request).result()
    job = wait_job(client, result.job_id)
    assert job.properties.status == "Failed"
    assert job.properties.error_details[0]["code"] == "UserErrorMSIMissingPermissions"
    assert _restored(emulator, result.job_id)["files"] == []


@pytest.mark.parametrize(("change", "code", "target"), [
    (lambda body: body.update(objectType="AzureBackupRecoveryTimeBasedRestoreRequest"), "BMSUserErrorInvalidInput",
     "parameters.objectType"),
    (lambda body: body.update(recoveryPointId="0" * 32), "UserErrorRecoveryPointNotFound",
     "parameters.recoveryPointId"),
    (lambda body: body.pop("sourceDataStoreType"), "BMSUserErrorInvalidInput", "parameters.sourceDataStoreType"),
    (lambda body: body["restoreTargetInfo"].update(objectType="RestoreTargetInfo"), "BMSUserErrorInvalidInput",
     "parameters.restoreTargetInfo.objectType"),
    (lambda body: body["restoreTargetInfo"]["targetDetails"].pop("filePrefix"), "BMSUserErrorInvalidInput",
     "parameters.restoreTargetInfo.targetDetails.filePrefix"),
    (lambda body: body["restoreTargetInfo"]["targetDetails"].update(url="http://example.invalid/x"),
     "BMSUserErrorInvalidInput", "parameters.restoreTargetInfo.targetDetails.url"),
    (lambda body: body["restoreTargetInfo"]["targetDetails"].update(
        url=body["restoreTargetInfo"]["targetDetails"]["url"].replace("restores", "Bad_Name")),
     "BMSUserErrorInvalidInput", "parameters.restoreTargetInfo.targetDetails.url"),
    (lambda body: body["restoreTargetInfo"].update(restoreLocation="westeurope"), "BMSUserErrorInvalidInput",
     "parameters.restoreTargetInfo.restoreLocation"),
    (lambda body: body["restoreTargetInfo"]["targetDetails"].update(targetResourceArmId="/subscriptions/x"),
     "BMSUserErrorInvalidInput", "parameters.restoreTargetInfo.targetDetails.targetResourceArmId"),
])
def test_bad_restore_requests_are_400_and_start_nothing(emulator, change, code, target):
    client, vault, _policy = protected_instance(emulator)
    point = backup_now(emulator, client)
    grant_blob_role(emulator, vault["identity"]["principalId"])
    body = restore_request(emulator, point)
    change(body)
    response = emulator.arm("POST", restore_path(emulator, "restore"), json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert target in (error.get("target") or "") + error["message"] + str(error.get("additionalInfo"))
    assert emulator.control("GET", "restores") == []


def test_validate_restore_needs_its_object_type(emulator):
    client, _vault, _policy = protected_instance(emulator)
    point = backup_now(emulator, client)
    response = emulator.arm("POST", restore_path(emulator, "validateRestore"),
                            json={"objectType": "Wrong", "restoreRequestObject": restore_request(emulator, point)})
    assert response.status_code == 400
    assert emulator.error_code(response) == "BMSUserErrorInvalidInput"


def test_unknown_instance_is_404(emulator):
    make_vault(emulator)
    response = emulator.arm("POST", restore_path(emulator, "restore", instance="nope"), json={})
    assert response.status_code == 404
    assert emulator.error_code(response) == "ResourceNotFound"


def test_recovery_points_filter_and_paging(emulator):
    client, _vault, _policy = protected_instance(emulator)
    emulator.control("POST", "clock", json={"advance": "P12W"})
    points = list(client.recovery_points.list(GROUP, "bv-bi", "bi-orders"))
    assert len(points) >= 11  # weekly backups: more than one page (10 per page)
    times = sorted(point.properties.recovery_point_time for point in points)
    start, end = times[2], times[5]
    window = list(client.recovery_points.list(
        GROUP, "bv-bi", "bi-orders",
        filter=f"startDate eq '{start.isoformat()}' and endDate eq '{end.isoformat()}'"))
    assert sorted(point.properties.recovery_point_time for point in window) == times[2:6]


# ------------------------------------------------------------------------------------ cross-region restore


def _geo_vault(emulator, name="bv-geo", crr="Enabled"):
    path = emulator.vault_path(name)
    body = emulator.vault_body("eastus", redundancy="GeoRedundant",
                               featureSettings={"crossRegionRestoreSettings": {"state": crr}})
    body["identity"] = {"type": "SystemAssigned"}
    assert emulator.arm("PUT", path, json=body).status_code == 201
    return wait_for(lambda: emulator.arm("GET", path).json(),
                    lambda vault: vault["properties"]["provisioningState"] == "Succeeded")


def _geo_instance(emulator, crr="Enabled"):
    from tests.emulator.dp_helpers import grant_backup_roles, instance_body, instance_path, wait_state

    vault = _geo_vault(emulator, crr=crr)
    grant_backup_roles(emulator, vault["identity"]["principalId"])
    policy_id = make_policy(emulator, "bv-geo")
    response = emulator.arm("PUT", instance_path(emulator, "bi-geo", "bv-geo"), json=instance_body(emulator, policy_id))
    assert response.status_code == 201, response.text
    wait_state(emulator, "bi-geo", ("ProtectionConfigured",), "bv-geo")
    client = emulator.dataprotection()
    return client, vault, backup_now(emulator, client, "bi-geo", "bv-geo")


def test_cross_region_restore(emulator):
    client, vault, point = _geo_instance(emulator)
    instance_id = f"{vault['id']}/backupInstances/bi-geo"
    secondary = list(client.fetch_secondary_recovery_points.list(
        GROUP, "westus", {"sourceBackupInstanceId": instance_id, "sourceRegion": "eastus"}))
    assert [item.name for item in secondary] == [point]

    grant_blob_role(emulator, vault["identity"]["principalId"], "stpgrestorewus")
    request = restore_request(emulator, point, account="stpgrestorewus", location="westus", prefix="crr")
    body = {"restoreRequestObject": request,
            "crossRegionRestoreDetails": {"sourceRegion": "eastus", "sourceBackupInstanceId": instance_id}}
    client.backup_instances.begin_validate_cross_region_restore(GROUP, "westus", body).result()
    result = client.backup_instances.begin_trigger_cross_region_restore(GROUP, "westus", body).result()
    job_name = result.job_id.split("/")[-1]
    query = {"sourceRegion": "eastus", "sourceBackupVaultId": vault["id"], "jobId": job_name}
    job = wait_for(lambda: client.fetch_cross_region_restore_job.get(GROUP, "westus", query),
                   lambda item: item.properties.status in ("Completed", "Failed"), timeout=60)
    assert job.properties.status == "Completed"
    assert job.properties["isCrossRegionRestore"] is True  # in recorded jobs, not in the 2026 model
    assert job.properties.extended_info.recovery_destination.endswith("/restores")
    listed = list(client.fetch_cross_region_restore_jobs.list(
        GROUP, "westus", {"sourceRegion": "eastus", "sourceBackupVaultId": vault["id"]}))
    assert [item.name for item in listed] == [job_name]
    assert all(item.properties.operation != "Restore" for item in client.jobs.list(GROUP, "bv-geo"))


def test_cross_region_refusals(emulator):
    _client, vault, point = _geo_instance(emulator, crr="Disabled")
    instance_id = f"{vault['id']}/backupInstances/bi-geo"
    base = f"/subscriptions/{emulator.subscription}/resourceGroups/{GROUP}/providers/Microsoft.DataProtection/locations"
    body = {"sourceBackupInstanceId": instance_id, "sourceRegion": "eastus"}
    response = emulator.arm("POST", f"{base}/westus/fetchSecondaryRecoveryPoints", json=body)
    assert response.status_code == 400 and emulator.error_code(response) == "UserErrorCrossRegionRestoreNotEnabled"

    patch = {"properties": {"featureSettings": {"crossRegionRestoreSettings": {"state": "Enabled"}}}}
    assert emulator.arm("PATCH", vault["id"], json=patch).status_code in (200, 202)
    wait_for(lambda: emulator.arm("GET", vault["id"]).json(),
             lambda item: item["properties"].get("featureSettings", {}).get("crossRegionRestoreSettings", {})
             .get("state") == "Enabled")
    response = emulator.arm("POST", f"{base}/northeurope/fetchSecondaryRecoveryPoints", json=body)
    assert response.status_code == 400 and "westus" in response.json()["error"]["message"]
    response = emulator.arm("POST", f"{base}/westus/crossRegionRestore", json={
        "restoreRequestObject": restore_request(emulator, point, location="westus"),
        "crossRegionRestoreDetails": body})
    assert response.status_code == 400 and "secondary region" in response.json()["error"]["message"]


def test_cross_region_needs_a_geo_redundant_vault(emulator):
    vault = make_vault(emulator, "bv-lrs")
    base = f"/subscriptions/{emulator.subscription}/resourceGroups/{GROUP}/providers/Microsoft.DataProtection/locations"
    response = emulator.arm("POST", f"{base}/westus/fetchCrossRegionRestoreJobs",
                            json={"sourceRegion": "eastus", "sourceBackupVaultId": vault["id"]})
    assert response.status_code == 400 and emulator.error_code(response) == "UserErrorCrossRegionRestoreNotEnabled"
    assert blob_endpoint(emulator).startswith("https://stpgrestoreeus.blob.")
    assert account_id() in [item["id"] for item in emulator.seed["storageAccounts"]]


def test_data_plane_controls_answer_409_when_off(emulator):
    import requests

    for method, name in (("GET", "data-plane"), ("GET", f"recovery-points/{'0' * 32}/content"), ("POST", "damage")):
        response = requests.request(method, f"{emulator.url}/_emulator/{name}", json={}, verify=emulator.ca_bundle,
                                    timeout=10)
        assert response.status_code == 409, (name, response.text)
    assert emulator.control("GET", "restores") == []


def test_restore_job_in_progress_while_held(emulator):
    client, vault, _policy = protected_instance(emulator)
    point = backup_now(emulator, client)
    grant_blob_role(emulator, vault["identity"]["principalId"])
    emulator.control("POST", "holds", json={"kind_regex": "^restoreJobs/run$"})
    result = client.backup_instances.begin_trigger_restore(GROUP, "bv-bi", "bi-orders",
                                                           restore_request(emulator, point)).result()
    job = client.jobs.get(GROUP, "bv-bi", result.job_id.split("/")[-1])
    assert job.properties.status == "InProgress" and job.properties.end_time is None
    assert job.properties.extended_info.sub_tasks[0].task_status == "InProgress"
    assert _restored(emulator, result.job_id)["files"] == []
    # One restore or backup at a time per instance.
    response = emulator.arm("POST", restore_path(emulator, "backup"), json={
        "backupRuleOptions": {"ruleName": "BackupWeekly", "triggerOption": {"retentionTagOverride": "Default"}}})
    assert response.status_code == 400
    assert emulator.error_code(response) == "UserErrorMaxConcurrentOperationLimitReached"
    second = restore_request(emulator, point, prefix="second")
    response = emulator.arm("POST", restore_path(emulator, "restore"), json=second)
    assert response.status_code == 400
    assert emulator.error_code(response) == "UserErrorMaxConcurrentOperationLimitReached"
    emulator.control("DELETE", "holds")
    assert wait_job(client, result.job_id).properties.status == "Completed"


def test_restore_into_an_account_without_cross_tenant_replication_fails(emulator):
    client, vault, _policy = protected_instance(emulator)
    point = backup_now(emulator, client)
    grant_blob_role(emulator, vault["identity"]["principalId"], "stpgrestoreweu")
    request = restore_request(emulator, point, account="stpgrestoreweu")
    result = client.backup_instances.begin_trigger_restore(GROUP, "bv-bi", "bi-orders", request).result()
    job = wait_job(client, result.job_id)
    assert job.properties.status == "Failed"
    assert job.properties.error_details[0]["code"] == "UserErrorCrossTenantReplicationNotAllowed"


@pytest.mark.parametrize("state", ["Disabled", "Enabled"])
def test_cross_subscription_restore_follows_the_vault_setting(emulator, state):
    client, vault, _policy = protected_instance(emulator)
    patch = {"properties": {"featureSettings": {"crossSubscriptionRestoreSettings": {"state": state}}}}
    assert emulator.arm("PATCH", vault["id"], json=patch).status_code in (200, 202)
    wait_for(lambda: emulator.arm("GET", vault["id"]).json(),
             lambda item: item["properties"].get("featureSettings", {}).get("crossSubscriptionRestoreSettings", {})
             .get("state") == state)
    point = backup_now(emulator, client)
    grant_blob_role(emulator, vault["identity"]["principalId"], "stpgrestorepartner")
    request = restore_request(emulator, point, account="stpgrestorepartner")
    assert f"/subscriptions/{seed.PARTNER_SUBSCRIPTION_ID}/" in request["restoreTargetInfo"]["targetDetails"][
        "targetResourceArmId"]
    response = emulator.arm("POST", restore_path(emulator, "restore"), json=request)
    if state == "Disabled":
        assert response.status_code == 400
        assert emulator.error_code(response) == "UserErrorCrossSubscriptionRestoreNotEnabled"
    else:
        assert response.status_code == 202, response.text
