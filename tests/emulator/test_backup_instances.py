"""Backup instances through the real SDK and raw REST: lifecycle, validation, protection states, soft delete."""

import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator import seed
from tests.emulator.dp_helpers import (
    GROUP,
    grant,
    grant_backup_roles,
    group_scope,
    instance_body,
    instance_path,
    make_policy,
    make_vault,
    policy_body,
    protected_instance,
    protection_state,
    server_id,
    wait_for,
    wait_state,
)

READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
PG_LTR = "c088a766-074b-43ba-90d4-1fb21feae531"


def _error(response):
    body = response.json()
    return body["error"]["code"], body["error"]["message"]


def _settle_operation(emulator, response):
    """Poll an Azure-AsyncOperation URL to its end; returns the final status body."""
    url = response.headers["Azure-AsyncOperation"].replace(emulator.url, "")
    path, _sep, query = url.partition("?")
    params = dict(item.split("=", 1) for item in query.split("&") if item)
    return wait_for(lambda: emulator.arm("GET", path, api_version=None, params=params).json(),
                    lambda body: body["status"] != "Inprogress")


# ------------------------------------------------------------------------------------------- lifecycle


def test_sdk_lifecycle_configuring_then_configured_then_deleted(emulator):
    vault = make_vault(emulator)
    grant_backup_roles(emulator, vault["identity"]["principalId"])
    policy_id = make_policy(emulator)
    response = emulator.arm("PUT", instance_path(emulator, "bi-orders"), json=instance_body(emulator, policy_id))
    assert response.status_code == 201, response.text
    assert "/backupVaults/bv-bi/operationStatus/" in response.headers["Azure-AsyncOperation"]
    assert "Location" not in response.headers and int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert list(body) == ["properties", "id", "name", "type"]
    assert body["type"] == "Microsoft.DataProtection/backupVaults/backupInstances"
    props = body["properties"]
    assert props["protectionStatus"] == {"status": "ConfiguringProtection"}
    assert props["currentProtectionState"] == "ConfiguringProtection"
    assert props["provisioningState"] == "Provisioning"
    assert props["dataSourceInfo"]["resourceID"] == server_id(emulator)
    assert list(props)[:2] == ["friendlyName", "dataSourceInfo"]
    assert _settle_operation(emulator, response)["status"] == "Succeeded"
    final = wait_state(emulator, "bi-orders", ("ProtectionConfigured",))
    assert final["protectionStatus"] == {"status": "ProtectionConfigured"}
    assert final["provisioningState"] == "Succeeded"

    client = emulator.dataprotection()
    got = client.backup_instances.get(GROUP, "bv-bi", "bi-orders")
    assert got.properties.current_protection_state == "ProtectionConfigured"
    assert [item.name for item in client.backup_instances.list(GROUP, "bv-bi")] == ["bi-orders"]
    client.backup_instances.begin_delete(GROUP, "bv-bi", "bi-orders").result()
    with pytest.raises(ResourceNotFoundError):
        client.backup_instances.get(GROUP, "bv-bi", "bi-orders")
    assert emulator.arm("DELETE", instance_path(emulator, "bi-orders")).status_code == 204


def test_sdk_create_returns_the_instance_and_delete_headers(emulator):
    client, _vault, _policy = protected_instance(emulator)
    response = emulator.arm("DELETE", instance_path(emulator, "bi-orders"))
    assert response.status_code == 202
    assert "/backupVaults/bv-bi/operationStatus/" in response.headers["Azure-AsyncOperation"]
    assert "/providers/Microsoft.DataProtection/locations/eastus/operationResults/" in response.headers["Location"]
    assert _settle_operation(emulator, response)["status"] == "Succeeded"
    assert list(client.backup_instances.list(GROUP, "bv-bi")) == []


def test_instance_operation_results_route(emulator):
    make_vault(emulator)
    policy_id = make_policy(emulator)
    response = emulator.arm("PUT", instance_path(emulator, "bi-x"), json=instance_body(emulator, policy_id))
    op_id = response.headers["Azure-AsyncOperation"].split("/operationStatus/")[1].split("?")[0]
    path = f"{instance_path(emulator, 'bi-x')}/operationResults/{op_id}"
    done = wait_for(lambda: emulator.arm("GET", path), lambda answer: answer.status_code != 202)
    assert done.status_code == 200 and done.json()["name"] == "bi-x"
    assert emulator.arm("GET", f"{instance_path(emulator, 'bi-x')}/operationResults/nope").status_code == 404


def test_extension_routing_lists_the_instances_of_a_server(emulator):
    protected_instance(emulator)
    path = f"{server_id(emulator)}/providers/Microsoft.DataProtection/backupInstances"
    response = emulator.arm("GET", path)
    assert response.status_code == 200, response.text
    assert [item["name"] for item in response.json()["value"]] == ["bi-orders"]
    other = emulator.arm("GET", f"{server_id(emulator, 'pg-eus-inventory')}/providers/Microsoft.DataProtection/"
                                "backupInstances")
    assert other.json()["value"] == []


# ------------------------------------------------------------------------------------ protection errors


def test_missing_roles_end_in_protection_error_with_details(emulator):
    vault = make_vault(emulator)
    principal = vault["identity"]["principalId"]
    policy_id = make_policy(emulator)
    client = emulator.dataprotection()
    client.backup_instances.begin_create_or_update(GROUP, "bv-bi", "bi-orders",
                                                   instance_body(emulator, policy_id)).result()
    props = wait_state(emulator, "bi-orders", ("ProtectionError",))
    details = props["protectionStatus"]["errorDetails"]
    assert props["protectionStatus"]["status"] == "ProtectionError"
    assert details["code"] == "UserErrorMissingRequiredPermissions"
    assert details["recommendedAction"] and details["isUserError"] is True
    for text in ("Reader", READER, group_scope(emulator), "PostgreSQL Flexible Server Long Term Retention Backup Role",
                 PG_LTR, server_id(emulator), principal):
        assert text in details["message"]
    assert props["protectionErrorDetails"] == details
    # Granting the roles and sending the PUT again configures protection.
    grant_backup_roles(emulator, principal)
    client.backup_instances.begin_create_or_update(GROUP, "bv-bi", "bi-orders",
                                                   instance_body(emulator, policy_id)).result()
    props = wait_state(emulator, "bi-orders", ("ProtectionConfigured",))
    assert "errorDetails" not in props["protectionStatus"] and "protectionErrorDetails" not in props


def test_deep_validation_fails_the_put_operation(emulator):
    make_vault(emulator)
    policy_id = make_policy(emulator)
    body = instance_body(emulator, policy_id)
    body["properties"]["validationType"] = "DeepValidation"
    client = emulator.dataprotection()
    poller = client.backup_instances.begin_create_or_update(GROUP, "bv-bi", "bi-orders", body)
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert "UserErrorMissingRequiredPermissions" in str(caught.value)
    with pytest.raises(ResourceNotFoundError):
        client.backup_instances.get(GROUP, "bv-bi", "bi-orders")


# ------------------------------------------------------------------------------------ validateForBackup


def test_validate_for_backup_names_each_missing_role_and_scope(emulator):
    vault = make_vault(emulator)
    principal = vault["identity"]["principalId"]
    policy_id = make_policy(emulator)
    request = {"backupInstance": instance_body(emulator, policy_id)["properties"]}
    client = emulator.dataprotection()
    with pytest.raises(HttpResponseError) as caught:
        client.backup_instances.begin_validate_for_backup(GROUP, "bv-bi", request).result()
    assert caught.value.error.code == "UserErrorMissingRequiredPermissions"
    message = caught.value.error.message
    assert message.startswith("Appropriate permissions to perform the operation is missing.")
    for text in (f"'Reader' (role definition id {READER}) on scope '{group_scope(emulator)}'",
                 f"'PostgreSQL Flexible Server Long Term Retention Backup Role' (role definition id {PG_LTR}) on "
                 f"scope '{server_id(emulator)}'", principal):
        assert text in message
    grant(emulator, principal, seed.READER_ROLE, f"/subscriptions/{emulator.subscription}")  # a parent scope counts
    with pytest.raises(HttpResponseError) as caught:
        client.backup_instances.begin_validate_for_backup(GROUP, "bv-bi", request).result()
    assert "'Reader'" not in caught.value.error.message and PG_LTR in caught.value.error.message
    grant(emulator, principal, seed.PG_LTR_BACKUP_ROLE, group_scope(emulator))
    result = client.backup_instances.begin_validate_for_backup(GROUP, "bv-bi", request).result()
    assert result.object_type == "OperationJobExtendedInfo"


def test_validate_for_backup_headers_and_failed_status(emulator):
    make_vault(emulator)
    policy_id = make_policy(emulator)
    response = emulator.arm("POST", f"{emulator.vault_path('bv-bi')}/validateForBackup",
                            json={"backupInstance": instance_body(emulator, policy_id)["properties"]})
    assert response.status_code == 202 and response.content == b""
    assert "/backupVaults/bv-bi/operationStatus/" in response.headers["Azure-AsyncOperation"]
    assert "/locations/eastus/operationResults/" in response.headers["Location"]
    status = _settle_operation(emulator, response)
    assert status["status"] == "Failed"
    assert status["error"]["code"] == "UserErrorMissingRequiredPermissions"
    info = status["error"]["additionalInfo"][0]
    assert info["type"] == "UserFacingError" and info["info"]["code"] == "UserErrorMissingRequiredPermissions"


def test_region_mismatch_is_refused_naming_both_regions(emulator):
    make_vault(emulator)
    policy_id = make_policy(emulator)
    body = instance_body(emulator, policy_id, server="pg-weu-billing", group="rg-pg-westeurope",
                         location="westeurope")
    response = emulator.arm("POST", f"{emulator.vault_path('bv-bi')}/validateForBackup",
                            json={"backupInstance": body["properties"]})
    assert response.status_code == 400
    code, message = _error(response)
    assert code == "BMSUserErrorMismatchedRegion" and "westeurope" in message and "eastus" in message
    client = emulator.dataprotection()
    with pytest.raises(HttpResponseError) as caught:
        client.backup_instances.begin_validate_for_backup(GROUP, "bv-bi", {"backupInstance": body["properties"]})
    assert caught.value.error.code == "BMSUserErrorMismatchedRegion"
    put = emulator.arm("PUT", instance_path(emulator, "bi-weu"), json=body)
    assert put.status_code == 400 and _error(put)[0] == "BMSUserErrorMismatchedRegion"


def test_propagation_delay_applies_to_new_assignments(emulator):
    # A delay far longer than the test: the fresh assignments do not count yet, however slow the machine is.
    settings = emulator.control("POST", "settings", json={"propagation_seconds": 300})
    assert settings["propagation_seconds"] == 300
    assert emulator.control("GET", "settings")["propagation_seconds"] == 300
    vault = make_vault(emulator)
    policy_id = make_policy(emulator)
    granted_at = time.monotonic()
    grant_backup_roles(emulator, vault["identity"]["principalId"])
    request = {"backupInstance": instance_body(emulator, policy_id)["properties"]}
    client = emulator.dataprotection(polling_interval=0.1)
    with pytest.raises(HttpResponseError) as caught:
        client.backup_instances.begin_validate_for_backup(GROUP, "bv-bi", request).result()
    assert caught.value.error.code == "UserErrorMissingRequiredPermissions"
    # Once the assignments are older than the delay, they count.
    time.sleep(max(0.0, 1.0 - (time.monotonic() - granted_at)))
    emulator.control("POST", "settings", json={"propagation_seconds": 0.5})
    assert client.backup_instances.begin_validate_for_backup(GROUP, "bv-bi", request).result()
    emulator.control("POST", "reset")
    assert emulator.control("GET", "settings")["propagation_seconds"] == 0.0


def test_settings_control_refuses_bad_values(emulator):
    for body in ({"propagation_seconds": -1}, {"nope": 1}, {"lro_seconds": "x"}, {}):
        response = emulator.arm("POST", "/_emulator/settings", token=False, api_version=None, json=body)
        assert response.status_code == 400, body
    assert emulator.control("POST", "settings", json={"job_seconds": None})["job_seconds"] is None


def test_user_assigned_identity_of_the_vault(emulator):
    identity = next(item for item in emulator.seed["userAssignedIdentities"] if item["name"] == "id-backup-ready-eus")
    make_vault(emulator, identity="UserAssigned", user_identities=[identity["id"]])
    policy_id = make_policy(emulator)
    no_identity = emulator.arm("PUT", instance_path(emulator, "bi-uami"), json=instance_body(emulator, policy_id))
    assert no_identity.status_code == 400 and "system-assigned" in _error(no_identity)[1]
    other = next(item for item in emulator.seed["userAssignedIdentities"] if item["name"] == "id-backup-eus")
    wrong = emulator.arm("PUT", instance_path(emulator, "bi-uami"), json=instance_body(
        emulator, policy_id, identity={"useSystemAssignedIdentity": False, "userAssignedIdentityArmUrl": other["id"]}))
    assert wrong.status_code == 400 and other["id"] in _error(wrong)[1]
    body = instance_body(emulator, policy_id, identity={"useSystemAssignedIdentity": False,
                                                        "userAssignedIdentityArmUrl": identity["id"]})
    client = emulator.dataprotection()
    client.backup_instances.begin_validate_for_backup(GROUP, "bv-bi", {"backupInstance": body["properties"]}).result()
    client.backup_instances.begin_create_or_update(GROUP, "bv-bi", "bi-uami", body).result()
    props = wait_state(emulator, "bi-uami", ("ProtectionConfigured", "ProtectionError"))
    assert props["currentProtectionState"] == "ProtectionConfigured"
    assert props["identityDetails"]["userAssignedIdentityArmUrl"] == identity["id"]


# ----------------------------------------------------------------------------------------- bad bodies


@pytest.mark.parametrize("mutate, fragment", [
    (lambda body: body["properties"].update(objectType="Nope"), "properties.objectType"),
    (lambda body: body["properties"].pop("dataSourceInfo"), "properties.dataSourceInfo"),
    (lambda body: body["properties"]["dataSourceInfo"].update(datasourceType="Microsoft.Compute/disks"),
     "datasourceType"),
    (lambda body: body["properties"]["dataSourceInfo"].update(resourceID=body["properties"]["dataSourceInfo"]
                                                              ["resourceID"] + "-missing"), "does not exist"),
    (lambda body: body["properties"]["policyInfo"].update(policyId="/subscriptions/x/nope"), "was not found"),
    (lambda body: body["properties"].pop("policyInfo"), "properties.policyInfo"),
    (lambda body: body["properties"].update(identityDetails="system"), "identityDetails"),
    (lambda body: body["properties"].update(validationType="Thorough"), "validationType"),
    (lambda body: body["properties"]["dataSourceSetInfo"].update(resourceID="/subscriptions/x"), "dataSourceSetInfo"),
])
def test_bad_bodies_get_400_arm_errors(emulator, mutate, fragment):
    make_vault(emulator)
    policy_id = make_policy(emulator)
    body = instance_body(emulator, policy_id)
    mutate(body)
    response = emulator.arm("PUT", instance_path(emulator, "bi-bad"), json=body)
    assert response.status_code == 400, response.text
    assert fragment in _error(response)[1]
    assert emulator.arm("GET", instance_path(emulator, "bi-bad")).status_code == 404


def test_malformed_json_and_other_garbage(emulator):
    make_vault(emulator)
    path = instance_path(emulator, "bi-bad")
    for data in (b"{nope", b"[]", b"null", b'{"properties": []}'):
        response = emulator.arm("PUT", path, data=data, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (data, response.text)
    for action in ("backup", "stopProtection"):
        response = emulator.arm("POST", f"{path}/{action}", data=b"{nope",
                                headers={"Content-Type": "application/json"})
        assert response.status_code in (400, 404)
    response = emulator.arm("POST", f"{emulator.vault_path('bv-bi')}/validateForBackup", json={"nope": 1})
    assert response.status_code == 400 and "backupInstance" in _error(response)[1]


def test_policy_of_another_datasource_or_vault_is_refused(emulator):
    make_vault(emulator)
    make_vault(emulator, "bv-other")
    other_policy = make_policy(emulator, "bv-other")
    response = emulator.arm("PUT", instance_path(emulator, "bi-x"), json=instance_body(emulator, other_policy))
    assert response.status_code == 400 and "bv-bi" in _error(response)[1]


def test_a_protected_server_cannot_be_protected_twice(emulator):
    _client, _vault, policy_id = protected_instance(emulator)
    response = emulator.arm("PUT", instance_path(emulator, "bi-again"), json=instance_body(emulator, policy_id))
    assert response.status_code == 400
    code, message = _error(response)
    assert code == "UserErrorDppDatasourceAlreadyProtected" and "bv-bi" in message
    validate = emulator.arm("POST", f"{emulator.vault_path('bv-bi')}/validateForBackup",
                            json={"backupInstance": instance_body(emulator, policy_id)["properties"]})
    assert validate.status_code == 400 and _error(validate)[0] == "UserErrorDppDatasourceAlreadyProtected"
    # The same instance may be sent again (idempotent PUT).
    again = emulator.arm("PUT", instance_path(emulator, "bi-orders"), json=instance_body(emulator, policy_id))
    assert again.status_code == 200, again.text


# ------------------------------------------------------------------------------------- in-place changes


def test_policy_change_is_updating_protection_then_configured(emulator):
    emulator.control("POST", "settings", json={"protection_seconds": 0.5})
    client, _vault, _policy = protected_instance(emulator)
    second = make_policy(emulator, name="pol-second", body=policy_body(durations={"Default": "P6M"}))
    response = emulator.arm("PUT", instance_path(emulator, "bi-orders"), json=instance_body(emulator, second))
    assert response.status_code == 200
    assert response.json()["properties"]["currentProtectionState"] == "UpdatingProtection"
    wait_state(emulator, "bi-orders", ("ProtectionConfigured",))
    got = client.backup_instances.get(GROUP, "bv-bi", "bi-orders")
    assert got.properties.policy_info.policy_id == second
    moved = instance_body(emulator, second, server="pg-eus-inventory")
    response = emulator.arm("PUT", instance_path(emulator, "bi-orders"), json=moved)
    assert response.status_code == 400 and "cannot be changed" in _error(response)[1]


def test_deleting_a_used_policy_or_a_non_empty_vault_fails(emulator):
    client, _vault, policy_id = protected_instance(emulator)
    response = emulator.arm("DELETE", policy_id)
    assert response.status_code == 400 and _error(response)[0] == "UserErrorDppPolicyObjectInUse"
    vault = emulator.arm("DELETE", emulator.vault_path("bv-bi"))
    assert vault.status_code == 400
    code, message = _error(vault)
    assert code == "UserErrorVaultNotEmpty" and "bi-orders" in message
    client.backup_instances.begin_delete(GROUP, "bv-bi", "bi-orders").result()
    assert emulator.arm("DELETE", policy_id).status_code == 200
    client.backup_vaults.begin_delete(GROUP, "bv-bi").result()


# ----------------------------------------------------------------------------------- stop / suspend / resume


def test_stop_suspend_resume_transitions(emulator):
    client, _vault, _policy = protected_instance(emulator)
    path = instance_path(emulator, "bi-orders")
    response = emulator.arm("POST", f"{path}/stopProtection")
    assert response.status_code == 202
    assert "/backupVaults/bv-bi/operationStatus/" in response.headers["Azure-AsyncOperation"]
    assert "/operationResults/" in response.headers["Location"]
    assert _settle_operation(emulator, response)["status"] == "Succeeded"
    assert protection_state(emulator, "bi-orders")["currentProtectionState"] == "ProtectionStopped"
    assert emulator.arm("POST", f"{path}/stopProtection").status_code == 200  # already stopped
    for action in ("suspendBackups", "resumeBackups"):
        refused = emulator.arm("POST", f"{path}/{action}")
        assert refused.status_code == 400 and _error(refused)[0] == "UserErrorInvalidStateForOperation", action
    backup = emulator.arm("POST", f"{path}/backup", json={"backupRuleOptions": {
        "ruleName": "BackupWeekly", "triggerOption": {"retentionTagOverride": "Default"}}})
    assert backup.status_code == 400
    client.backup_instances.begin_resume_protection(GROUP, "bv-bi", "bi-orders").result()
    assert protection_state(emulator, "bi-orders")["currentProtectionState"] == "ProtectionConfigured"
    assert emulator.arm("POST", f"{path}/resumeProtection").status_code == 200  # already protected: no-op
    client.backup_instances.begin_suspend_backups(GROUP, "bv-bi", "bi-orders").result()
    props = protection_state(emulator, "bi-orders")
    # Real Azure's spelling, in both places (recorded).
    assert props["currentProtectionState"] == "BackupsSuspended"
    assert props["protectionStatus"]["status"] == "BackupsSuspended"
    # resumeProtection on a suspended instance is accepted, as recorded.
    resumed = emulator.arm("POST", f"{path}/resumeProtection")
    assert resumed.status_code == 202
    assert _settle_operation(emulator, resumed)["status"] == "Succeeded"
    assert protection_state(emulator, "bi-orders")["currentProtectionState"] == "ProtectionConfigured"
    client.backup_instances.begin_suspend_backups(GROUP, "bv-bi", "bi-orders").result()
    client.backup_instances.begin_resume_backups(GROUP, "bv-bi", "bi-orders").result()
    assert protection_state(emulator, "bi-orders")["currentProtectionState"] == "ProtectionConfigured"
    client.backup_instances.begin_stop_protection(GROUP, "bv-bi", "bi-orders").result()
    assert protection_state(emulator, "bi-orders")["currentProtectionState"] == "ProtectionStopped"
    assert emulator.arm("POST", f"{instance_path(emulator, 'nope')}/stopProtection").status_code == 404


# ------------------------------------------------------------------------------------------- soft delete


def test_soft_delete_undelete_and_purge(emulator):
    client, _vault, policy_id = protected_instance(emulator, soft_delete="On")
    client.backup_instances.begin_adhoc_backup(GROUP, "bv-bi", "bi-orders", {"backupRuleOptions": {
        "ruleName": "BackupWeekly", "triggerOption": {"retentionTagOverride": "Default"}}}).result()
    wait_for(lambda: list(client.recovery_points.list(GROUP, "bv-bi", "bi-orders")), lambda points: len(points) == 1)
    client.backup_instances.begin_delete(GROUP, "bv-bi", "bi-orders").result()
    with pytest.raises(ResourceNotFoundError):
        client.backup_instances.get(GROUP, "bv-bi", "bi-orders")
    deleted = [item.as_dict() for item in client.deleted_backup_instances.list(GROUP, "bv-bi")]
    assert [item["name"] for item in deleted] == ["bi-orders"]
    props = deleted[0]["properties"]
    assert props["objectType"] == "DeletedBackupInstance"
    assert props["protectionStatus"]["status"] == "SoftDeleted" and props["currentProtectionState"] == "SoftDeleted"
    info = props["deletionInfo"]
    assert info["scheduledPurgeTime"][:10] > info["deletionTime"][:10]
    one = emulator.arm("GET", f"{emulator.vault_path('bv-bi')}/deletedBackupInstances/bi-orders")
    assert one.status_code == 200
    assert one.json()["type"] == "Microsoft.DataProtection/backupVaults/deletedBackupInstances"
    in_use = emulator.arm("DELETE", policy_id)
    assert in_use.status_code == 400 and _error(in_use)[0] == "UserErrorPolicyAssociatedWithSoftDeletedItems"
    vault = emulator.arm("DELETE", emulator.vault_path("bv-bi"))
    assert vault.status_code == 400 and "soft deleted" in _error(vault)[1]
    # The same server cannot be protected again while its instance is soft deleted.
    again = emulator.arm("PUT", instance_path(emulator, "bi-new"), json=instance_body(emulator, policy_id))
    assert again.status_code == 400 and _error(again)[0] == "UserErrorDppDatasourceAlreadyProtected"

    # Undelete answers 200 at once, with no polling headers (recorded real traffic).
    undelete = emulator.arm("POST", f"{emulator.vault_path('bv-bi')}/deletedBackupInstances/bi-orders/undelete")
    assert undelete.status_code == 200, undelete.text
    assert "Azure-AsyncOperation" not in undelete.headers and "Location" not in undelete.headers
    assert "Retry-After" not in undelete.headers
    assert protection_state(emulator, "bi-orders")["currentProtectionState"] == "ProtectionStopped"
    assert len(list(client.recovery_points.list(GROUP, "bv-bi", "bi-orders"))) == 1
    missing = emulator.arm("POST", f"{emulator.vault_path('bv-bi')}/deletedBackupInstances/bi-orders/undelete")
    assert missing.status_code == 404 and _error(missing)[0] == "UserErrorGenericResourceNotFound"

    client.backup_instances.begin_delete(GROUP, "bv-bi", "bi-orders").result()
    # The SDK's undelete poller accepts the immediate answer.
    client.deleted_backup_instances.begin_undelete(GROUP, "bv-bi", "bi-orders").result()
    assert protection_state(emulator, "bi-orders")["currentProtectionState"] == "ProtectionStopped"
    client.backup_instances.begin_delete(GROUP, "bv-bi", "bi-orders").result()
    emulator.control("POST", "clock", json={"advance": "P13D"})
    assert len(list(client.deleted_backup_instances.list(GROUP, "bv-bi"))) == 1
    emulator.control("POST", "clock", json={"advance": "P2D"})
    assert list(client.deleted_backup_instances.list(GROUP, "bv-bi")) == []
    assert emulator.arm("DELETE", policy_id).status_code == 200
    client.backup_vaults.begin_delete(GROUP, "bv-bi").result()


def test_delete_without_soft_delete_drops_points(emulator):
    client, _vault, _policy = protected_instance(emulator)
    client.backup_instances.begin_adhoc_backup(GROUP, "bv-bi", "bi-orders", {"backupRuleOptions": {
        "ruleName": "BackupWeekly", "triggerOption": {}}}).result()
    wait_for(lambda: list(client.recovery_points.list(GROUP, "bv-bi", "bi-orders")), lambda points: len(points) == 1)
    client.backup_instances.begin_delete(GROUP, "bv-bi", "bi-orders").result()
    assert list(client.deleted_backup_instances.list(GROUP, "bv-bi")) == []
    client.backup_instances.begin_create_or_update(GROUP, "bv-bi", "bi-orders", instance_body(
        emulator, make_policy(emulator))).result()
    wait_state(emulator, "bi-orders", ("ProtectionConfigured",))
    assert list(client.recovery_points.list(GROUP, "bv-bi", "bi-orders")) == []


# ---------------------------------------------------------------------------------------------- speed


def test_routes_stay_fast(emulator):
    client, vault, policy_id = protected_instance(emulator)
    for name in ("pg-eus-inventory", "pg-eus-analytics"):
        grant_backup_roles(emulator, vault["identity"]["principalId"], name)
        client.backup_instances.begin_create_or_update(GROUP, "bv-bi", f"bi-{name}", instance_body(
            emulator, policy_id, server=name)).result()
        wait_state(emulator, f"bi-{name}", ("ProtectionConfigured",))
    mark = emulator.control("GET", "requests")[-1]["seq"]
    started = time.monotonic()
    emulator.control("POST", "clock", json={"advance": "P2Y"})
    # Generous bounds: they catch a scan that grows with every job or point, not a slow or loaded machine.
    assert time.monotonic() - started < 20.0
    vault_path = emulator.vault_path("bv-bi")
    for path in (instance_path(emulator, "bi-orders"), f"{vault_path}/backupInstances", f"{vault_path}/backupJobs",
                 f"{instance_path(emulator, 'bi-orders')}/recoveryPoints"):
        assert emulator.arm("GET", path).status_code == 200
    entries = [entry for entry in emulator.control("GET", "requests", params={"since": mark})
               if "/backup" in entry["path"]]
    assert entries and max(entry["duration_ms"] for entry in entries) < 2500, entries
