"""Backup vaults through the real SDK and raw REST: lifecycle, long-running operations, validation."""

import time
from urllib.parse import urlparse

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError


def _wait(emulator, status_url, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = emulator.arm("GET", urlparse(status_url).path, api_version="2026-06-01").json()
        if body["status"] != "Inprogress":
            return body
        time.sleep(0.1)
    raise AssertionError(f"operation {status_url} did not finish")


def _create(emulator, name, body=None, group="rg-backup"):
    response = emulator.arm("PUT", emulator.vault_path(name, group), json=body or emulator.vault_body())
    assert response.status_code == 201, response.text
    _wait(emulator, response.headers["Azure-AsyncOperation"])
    return emulator.arm("GET", emulator.vault_path(name, group)).json()


def test_sdk_vault_lifecycle(emulator):
    client = emulator.dataprotection()
    body = {"location": "eastus", "identity": {"type": "SystemAssigned"}, "tags": {"team": "dba"},
            "properties": {"storageSettings": [{"datastoreType": "VaultStore", "type": "GeoRedundant"}],
                           "securitySettings": {"softDeleteSettings": {"state": "On", "retentionDurationInDays": 30}},
                           "featureSettings": {"crossRegionRestoreSettings": {"state": "Enabled"}}}}
    vault = client.backup_vaults.begin_create_or_update("rg-backup", "bv-sdk", body).result()
    assert vault.properties.provisioning_state == "Succeeded"
    assert vault.identity.principal_id and vault.identity.tenant_id == emulator.seed["tenant"]["id"]
    assert vault.properties.replicated_regions == ["westus"]
    got = client.backup_vaults.get("rg-backup", "bv-sdk")
    assert got.id == emulator.vault_path("bv-sdk") and got.tags == {"team": "dba"}
    assert got.properties.security_settings.soft_delete_settings.retention_duration_in_days == 30
    assert [item.name for item in client.backup_vaults.get_in_resource_group("rg-backup")] == ["bv-sdk"]
    assert "bv-sdk" in [item.name for item in client.backup_vaults.get_in_subscription()]
    updated = client.backup_vaults.begin_update("rg-backup", "bv-sdk", {
        "tags": {"team": "platform"},
        "properties": {"monitoringSettings": {"azureMonitorAlertSettings": {"alertsForAllJobFailures": "Disabled"}}},
    }).result()
    assert updated.tags == {"team": "platform"}
    assert updated.properties.monitoring_settings.azure_monitor_alert_settings.alerts_for_all_job_failures == "Disabled"
    assert updated.properties.storage_settings[0].type == "GeoRedundant"
    client.backup_vaults.begin_delete("rg-backup", "bv-sdk").result()
    with pytest.raises(ResourceNotFoundError):
        client.backup_vaults.get("rg-backup", "bv-sdk")


def test_put_answers_201_with_async_operation_on_the_vault(emulator):
    response = emulator.arm("PUT", emulator.vault_path("bv-headers"), json=emulator.vault_body())
    assert response.status_code == 201
    body = response.json()
    assert body["properties"]["provisioningState"] == "Provisioning"
    assert body["type"] == "Microsoft.DataProtection/backupVaults"
    status_url = response.headers["Azure-AsyncOperation"]
    assert status_url.startswith(emulator.url + emulator.vault_path("bv-headers") + "/operationStatus/")
    assert "api-version=2026-06-01" in status_url
    assert int(response.headers["Retry-After"]) >= 1
    assert "Location" not in response.headers


# The next three tests run the emulator in-process with long operations, so "still running" is certain even on a
# loaded machine; ``inproc.finish()`` then completes every operation.


def test_operation_status_in_progress_then_succeeded(inproc):
    response = inproc.call("PUT", inproc.vault_path("bv-status"), json=inproc.vault_body())
    status_path = urlparse(response.headers["Azure-AsyncOperation"]).path
    first = inproc.call("GET", status_path)
    assert first.status_code == 200
    assert first.json["status"] == "Inprogress"
    assert first.json["endTime"] == "0001-01-01T00:00:00Z"
    assert int(first.headers["Retry-After"]) >= 1
    assert first.json["id"] == status_path and first.json["name"] == status_path.rsplit("/", 1)[1]
    assert inproc.call("GET", inproc.vault_path("bv-status")).json["properties"]["provisioningState"] == "Provisioning"
    inproc.finish()
    done = inproc.call("GET", status_path)
    assert done.json["status"] == "Succeeded" and done.json["endTime"] != "0001-01-01T00:00:00Z"
    assert "Retry-After" not in done.headers
    assert inproc.call("GET", inproc.vault_path("bv-status")).json["properties"]["provisioningState"] == "Succeeded"


def test_patch_answers_202_and_operation_results_follow(inproc):
    inproc.call("PUT", inproc.vault_path("bv-patch"), json=inproc.vault_body())
    inproc.finish()
    response = inproc.call("PATCH", inproc.vault_path("bv-patch"), json={"tags": {"a": "b"}})
    assert response.status_code == 202 and not response.data
    result_path = urlparse(response.headers["Location"]).path
    assert "/backupVaults/bv-patch/operationResults/" in result_path
    assert "/backupVaults/bv-patch/operationStatus/" in response.headers["Azure-AsyncOperation"]
    pending = inproc.call("GET", result_path)
    assert pending.status_code == 202 and int(pending.headers["Retry-After"]) >= 1 and pending.headers["Location"]
    inproc.finish()
    done = inproc.call("GET", result_path)
    assert done.status_code == 200 and done.json["tags"] == {"a": "b"}


def test_delete_answers_202_with_location_level_urls(inproc):
    inproc.call("PUT", inproc.vault_path("bv-delete"), json=inproc.vault_body())
    inproc.finish()
    response = inproc.call("DELETE", inproc.vault_path("bv-delete"))
    assert response.status_code == 202 and int(response.headers["Retry-After"]) >= 1
    status_path = urlparse(response.headers["Azure-AsyncOperation"]).path
    result_path = urlparse(response.headers["Location"]).path
    assert status_path.startswith(f"/subscriptions/{inproc.subscription}/resourceGroups/rg-backup/providers/"
                                  "Microsoft.DataProtection/locations/eastus/operationStatus/")
    assert result_path.startswith(f"/subscriptions/{inproc.subscription}/providers/Microsoft.DataProtection/"
                                  "locations/eastus/operationResults/")
    assert inproc.call("GET", result_path).status_code == 202
    assert inproc.call("GET", inproc.vault_path("bv-delete")).status_code == 200
    inproc.finish()
    assert inproc.call("GET", status_path).json["status"] == "Succeeded"
    result = inproc.call("GET", result_path)
    assert result.status_code == 200 and result.json == {"objectType": "OperationJobExtendedInfo"}
    assert inproc.call("GET", inproc.vault_path("bv-delete")).status_code == 404
    assert inproc.call("DELETE", inproc.vault_path("bv-delete")).status_code == 204


def test_delete_through_the_sdk_waits_for_the_vault_to_go(emulator):
    _create(emulator, "bv-sdk-delete")
    emulator.dataprotection().backup_vaults.begin_delete("rg-backup", "bv-sdk-delete").result()
    assert emulator.arm("GET", emulator.vault_path("bv-sdk-delete")).status_code == 404


def test_defaults_the_service_fills_in(emulator):
    vault = _create(emulator, "bv-defaults")
    properties = vault["properties"]
    assert properties["securitySettings"]["softDeleteSettings"] == {"state": "On", "retentionDurationInDays": 14.0}
    assert properties["isVaultProtectedByResourceGuard"] is False
    assert properties["secureScore"] == "None" and properties["bcdrSecurityLevel"] == "Poor"
    assert properties["replicatedRegions"] == []
    assert "identity" not in vault
    # Azure fills these in on every GET even when never set.
    assert properties["securitySettings"]["immutabilitySettings"] == {"state": "Disabled"}
    assert properties["featureSettings"] == {"crossSubscriptionRestoreSettings": {"state": "Enabled"},
                                             "crossRegionRestoreSettings": {"state": "Disabled"}}
    got = emulator.dataprotection().backup_vaults.get("rg-backup", "bv-defaults").properties
    assert got.feature_settings.cross_region_restore_settings.state == "Disabled"
    assert got.security_settings.immutability_settings.state == "Disabled"


def test_user_assigned_identity_is_resolved_from_the_seed(emulator):
    seeded = emulator.seed["userAssignedIdentities"][0]
    body = emulator.vault_body()
    body["identity"] = {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {seeded["id"]: {}}}
    vault = _create(emulator, "bv-uami", body)
    assert vault["identity"]["type"] == "SystemAssigned,UserAssigned"
    assert vault["identity"]["userAssignedIdentities"][seeded["id"]] == {"clientId": seeded["clientId"],
                                                                         "principalId": seeded["principalId"]}
    assert vault["identity"]["principalId"]


def _invalid(emulator, body, name="bv-invalid"):
    response = emulator.arm("PUT", emulator.vault_path(name), json=body)
    assert response.status_code == 400, response.text
    assert "Retry-After" not in response.headers
    return emulator.error_code(response)


def _with(emulator, **changes):
    body = emulator.vault_body()
    for path, value in changes.items():
        target = body
        keys = path.split("__")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return body


@pytest.mark.parametrize("change, code", [
    ({"location": None}, "LocationRequired"),
    ({"location": "mars"}, "LocationNotAvailableForResourceType"),
    ({"properties": None}, "BMSUserErrorInvalidInput"),
    ({"properties__storageSettings": None}, "BMSUserErrorInvalidInput"),
    ({"properties__storageSettings": "LocallyRedundant"}, "BMSUserErrorInvalidInput"),
    ({"properties__storageSettings": [{"datastoreType": "VaultStore", "type": "SuperRedundant"}]},
     "BMSUserErrorInvalidInput"),
    ({"properties__securitySettings": {"softDeleteSettings": {"state": "Maybe"}}}, "BMSUserErrorInvalidInput"),
    ({"properties__securitySettings": {"softDeleteSettings": {"state": "On", "retentionDurationInDays": 7}}},
     "BMSUserErrorInvalidInput"),
    ({"properties__securitySettings": {"softDeleteSettings": {"state": "On", "retentionDurationInDays": 181}}},
     "BMSUserErrorInvalidInput"),
    ({"properties__securitySettings": {"immutabilitySettings": {"state": "Frozen"}}}, "BMSUserErrorInvalidInput"),
    ({"properties__featureSettings": {"crossRegionRestoreSettings": {"state": "On"}}}, "BMSUserErrorInvalidInput"),
    ({"properties__featureSettings": {"crossRegionRestoreSettings": {"state": "Enabled"}}},
     "UserErrorCrossRegionRestoreNotSupportedForRedundancy"),
    ({"identity": {"type": "Magic"}}, "BMSUserErrorInvalidInput"),
    ({"identity": {"type": "UserAssigned", "userAssignedIdentities": {
        "/subscriptions/8c4f2a6e-1b3d-4a5c-9e7f-0d2b4c6e8a1f/resourceGroups/rg-backup/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/missing": {}}}}, "FailedIdentityOperation"),
    ({"tags": {"a": 1}}, "InvalidTag"),
])
def test_invalid_bodies_get_400(emulator, change, code):
    body = emulator.vault_body()
    for path, value in change.items():
        if "__" in path:
            body = _with(emulator, **{path: value})
        elif value is None:
            body.pop(path)
        else:
            body[path] = value
    assert _invalid(emulator, body) == code


@pytest.mark.parametrize("name", ["a", "1vault", "bad_name", "x" * 51, "vault.name"])
def test_bad_vault_names(emulator, name):
    assert _invalid(emulator, emulator.vault_body(), name=name) == "UserErrorInvalidVaultName"


def test_not_json_is_invalid_request_content(emulator):
    response = emulator.arm("PUT", emulator.vault_path("bv-json"), data="{not json",
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and emulator.error_code(response) == "InvalidRequestContent"


def test_irreversible_changes_are_refused(emulator):
    body = emulator.vault_body(redundancy="GeoRedundant", securitySettings={
        "softDeleteSettings": {"state": "AlwaysOn", "retentionDurationInDays": 14},
        "immutabilitySettings": {"state": "Locked"}},
        featureSettings={"crossRegionRestoreSettings": {"state": "Enabled"}})
    vault = _create(emulator, "bv-locked", body)
    assert vault["properties"]["secureScore"] == "Adequate"
    cases = [
        (emulator.vault_body(redundancy="LocallyRedundant"), "UserErrorStorageSettingsUpdateNotAllowed"),
        (emulator.vault_body(redundancy="GeoRedundant", securitySettings={
            "softDeleteSettings": {"state": "On", "retentionDurationInDays": 14}}),
         "UserErrorSoftDeleteStateChangeNotAllowed"),
        (emulator.vault_body(redundancy="GeoRedundant",
                             securitySettings={"immutabilitySettings": {"state": "Unlocked"}}),
         "UserErrorImmutabilityStateChangeNotAllowed"),
        (emulator.vault_body(redundancy="GeoRedundant", featureSettings={
            "crossRegionRestoreSettings": {"state": "Disabled"}}), "UserErrorCrossRegionRestoreDisableNotAllowed"),
    ]
    for body, code in cases:
        response = emulator.arm("PUT", emulator.vault_path("bv-locked"), json=body)
        assert response.status_code == 400 and emulator.error_code(response) == code, response.text
    patch = emulator.arm("PATCH", emulator.vault_path("bv-locked"), json={
        "properties": {"securitySettings": {"immutabilitySettings": {"state": "Disabled"}}}})
    assert patch.status_code == 400
    # Leaving the sections out keeps them: an unrelated update succeeds and nothing is weakened.
    update = emulator.arm("PUT", emulator.vault_path("bv-locked"), json=emulator.vault_body(redundancy="GeoRedundant"))
    assert update.status_code == 201 and update.json()["properties"]["provisioningState"] == "Updating"
    assert update.json()["properties"]["securitySettings"]["immutabilitySettings"]["state"] == "Locked"


def test_sdk_surfaces_validation_errors(emulator):
    client = emulator.dataprotection()
    with pytest.raises(HttpResponseError) as caught:
        client.backup_vaults.begin_create_or_update("rg-backup", "bv-sdk-bad", {
            "location": "eastus", "properties": {"storageSettings": [
                {"datastoreType": "VaultStore", "type": "LocallyRedundant"}],
                "featureSettings": {"crossRegionRestoreSettings": {"state": "Enabled"}}}})
    assert caught.value.status_code == 400
    assert caught.value.error.code == "UserErrorCrossRegionRestoreNotSupportedForRedundancy"


def test_location_cannot_change(emulator):
    _create(emulator, "bv-move")
    response = emulator.arm("PUT", emulator.vault_path("bv-move"), json=emulator.vault_body(location="westeurope"))
    assert response.status_code == 409 and emulator.error_code(response) == "InvalidResourceLocation"


def test_missing_resource_group(emulator):
    response = emulator.arm("PUT", emulator.vault_path("bv-x", group="rg-nope"), json=emulator.vault_body())
    assert response.status_code == 404 and emulator.error_code(response) == "ResourceGroupNotFound"


def test_list_pages_with_next_link(emulator):
    for index in range(12):
        assert emulator.arm("PUT", emulator.vault_path(f"bv-page-{index:02d}"),
                            json=emulator.vault_body()).status_code == 201
    first = emulator.arm("GET", f"/subscriptions/{emulator.subscription}/resourceGroups/rg-backup/providers/"
                                "Microsoft.DataProtection/backupVaults").json()
    assert len(first["value"]) == 10 and first["nextLink"].startswith(emulator.url)
    client = emulator.dataprotection()
    assert len(list(client.backup_vaults.get_in_resource_group("rg-backup"))) == 12
    assert len(list(client.backup_vaults.get_in_subscription())) == 12


def test_second_write_while_one_runs_is_refused(inproc):
    assert inproc.call("PUT", inproc.vault_path("bv-busy"), json=inproc.vault_body()).status_code == 201
    assert inproc.call("PUT", inproc.vault_path("bv-busy"), json=inproc.vault_body()).status_code == 409
    assert inproc.call("DELETE", inproc.vault_path("bv-busy")).status_code == 409
    inproc.finish()
    assert inproc.call("PUT", inproc.vault_path("bv-busy"), json=inproc.vault_body()).status_code == 201


def test_check_name_availability(emulator):
    _create(emulator, "bv-taken")
    path = (f"/subscriptions/{emulator.subscription}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/"
            "locations/eastus/checkNameAvailability")
    taken = emulator.arm("POST", path, json={"name": "bv-taken", "type": "Microsoft.DataProtection/BackupVaults"})
    assert taken.json()["nameAvailable"] is False
    free = emulator.arm("POST", path, json={"name": "bv-free", "type": "Microsoft.DataProtection/BackupVaults"})
    assert free.json() == {"nameAvailable": True}
