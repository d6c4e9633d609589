"""Backup instance logic against a fake Data Protection client: checks before writes, validation retries,
protection states, check mode, adoption, stop/suspend/resume, deletion, on-demand backup and info."""


import pytest
from azure.core.exceptions import HttpResponseError

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.dataprotection import DataProtectionApi
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances import info, readable, state, validation
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.ondemand import ondemand_backup
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.fakes import Clock
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.vault_fakes import (
    GRANTED,
    LTR,
    OTHER_SERVER_ID,
    POLICY2_ID,
    POLICY_ID,
    READER,
    SERVER_ID,
    SERVER_RG,
    SYSTEM_PID,
    UAI_ID,
    UAI_PID,
    VAULT_ID,
    Fake,
    assignment,
    http_error,
    instance_body,
    policy_body,
    server_body,
    vault_body,
)


def make_api(fake, servers=None, assignments=None, identities=None):
    assignments = GRANTED if assignments is None else assignments
    servers = servers if servers is not None else {SERVER_ID.lower(): server_body()}
    identities = identities or {}

    def arm_get(path, api_version):
        return servers.get(path.lower()) or identities.get(path.lower())

    def wait(poller, what):
        return poller.result()

    def list_assignments(principal, scopes):
        if assignments == "forbidden":
            return None
        return [a for a in assignments if a["properties"]["principalId"] == principal], {}

    return DataProtectionApi(fake, VAULT_ID, arm_get, wait, list_assignments, 60)


def params(**overrides):
    base = {"name": None, "policy_name": "weekly", "policy_id": None, "identity": None, "state": "present",
            "validate": True, "validation_timeout": 60, "on_unsupported_size": "warn", "wait": True,
            "wait_timeout": 120}
    base.update(overrides)
    return base


def present(fake, check_mode=False, api=None, clock=None, **overrides):
    clock = clock or Clock()
    warnings = []
    result = state.ensure_present(api or make_api(fake), params(**overrides), SERVER_ID, check_mode, warnings.append,
                                  sleep=clock.sleep, clock=clock)
    return result.changed, result.resource, result.diff, result.extra, warnings


# ------------------------------------------------------------------------------------------------- pgflex helpers


def test_instance_name_is_deterministic_and_shaped_like_the_cli():
    name = PGFLEX.instance_name(SERVER_ID)
    assert name.startswith("pg1-pg1-")
    assert name == PGFLEX.instance_name(SERVER_ID.upper().replace("PG1", "pg1") + "/")
    assert name != PGFLEX.instance_name(OTHER_SERVER_ID)
    assert len(name.split("-", 2)[2]) == 36


def test_instance_body_is_what_the_service_expects():
    body = PGFLEX.instance_body(server_body(), POLICY_ID)
    props = body["properties"]
    assert props["objectType"] == "BackupInstance"
    assert props["friendlyName"] == "pg1"
    for key, kind in (("dataSourceInfo", "Datasource"), ("dataSourceSetInfo", "DatasourceSet")):
        assert props[key] == {"objectType": kind, "datasourceType": PGFLEX.arm_type,
                              "resourceType": PGFLEX.arm_type, "resourceID": SERVER_ID,
                              "resourceUri": SERVER_ID, "resourceName": "pg1", "resourceLocation": "eastus"}
    assert props["policyInfo"] == {"policyId": POLICY_ID}
    assert props["identityDetails"] == {"useSystemAssignedIdentity": True}
    uai = PGFLEX.instance_body(server_body(), POLICY_ID, UAI_ID)["properties"]["identityDetails"]
    assert uai == {"useSystemAssignedIdentity": False, "userAssignedIdentityArmUrl": UAI_ID}


def test_size_and_policy_helpers():
    assert PGFLEX.size_problem(server_body(size=1024)) is None
    assert "2048 GB" in PGFLEX.size_problem(server_body(size=2048))
    assert PGFLEX.policy_is_for(policy_body())
    assert not PGFLEX.policy_is_for(policy_body(datasource="Microsoft.Compute/disks"))
    assert PGFLEX.policy_backup_rule_name(policy_body()) == "BackupWeekly"
    assert PGFLEX.policy_retention_tags(policy_body()) == ["Default", "Weekly"]


# ------------------------------------------------------------------------------------------------- reading


@pytest.mark.parametrize("state,expected", [
    ("ProtectionConfigured", "present"), ("BackupSchedulesSuspended", "suspended"), ("BackupsSuspended", "suspended"),
    ("ProtectionStopped", "stopped"), ("ConfiguringProtection", "configuring"),
    ("UpdatingProtection", "configuring"), ("ProtectionError", "error"),
])
def test_lifecycle_state(state, expected):
    assert readable.lifecycle_state(instance_body("i", state=state)) == expected


def test_to_readable_surfaces_the_protection_error():
    error = {"code": "UserErrorMissingRequiredPermissions", "message": "Appropriate permissions are missing.",
             "recommendedAction": ["Grant the roles."], "isRetryable": False}
    instance = readable.to_readable(instance_body("i", state="ProtectionError", error=error))
    assert instance["state"] == "error"
    assert instance["error"]["code"] == "UserErrorMissingRequiredPermissions"
    assert instance["error"]["recommended_action"] == ["Grant the roles."]
    assert instance["server_id"] == SERVER_ID and instance["policy_name"] == "weekly"
    assert instance["identity"] == "system_assigned"


@pytest.mark.parametrize("error,expected", [
    ({"code": "UserErrorMissingRequiredPermissions", "message": "x"}, True),
    ({"code": "UserErrorMSIMissingPermissions", "message": "x"}, True),
    ({"code": "BadRequest", "message": "x", "details": [{"code": "AuthorizationFailed", "message": "y"}]}, True),
    ({"code": "SomethingNew", "message": "x", "innerError": {"code": "RoleAssignmentNotPropagatedYet"}}, True),
    ({"code": None, "message": "The vault identity does not have permission on the server"}, True),
    ({"code": "UserErrorDatasourceAndBackupVaultLocationMismatch", "message": "regions differ"}, False),
    ({"code": "UserErrorInvalidPolicy", "message": "missing permission words do not count with a code"}, False),
    (None, False),
])
def test_is_access_error(error, expected):
    assert validation.is_access_error(error) is expected


def test_readable_error_takes_the_recommended_action_from_additional_info():
    error = {"code": "UserErrorMissingRequiredPermissions", "message": "m", "additionalInfo": [
        {"type": "UserFacingError", "info": {"recommendedAction": ["Grant the roles."]}}]}
    assert arm.readable_error(error)["recommended_action"] == ["Grant the roles."]


def test_error_from_exception_reads_the_lro_error_body():
    exc = http_error("UserErrorMissingRequiredPermissions", "missing", status=200,
                     details=[{"code": "Inner", "message": "m"}])
    error = arm.error_from_exception(exc)
    assert error["code"] == "UserErrorMissingRequiredPermissions"
    assert error["details"][0]["code"] == "Inner"
    assert error["status_code"] == 200


# ------------------------------------------------------------------------------------------------- validation


def test_validation_retries_while_access_is_propagating_then_passes(clock):
    errors = [{"code": "UserErrorMissingRequiredPermissions", "message": "m"}] * 3
    calls = []

    def once():
        calls.append(1)
        return errors.pop(0) if errors else None

    outcome = validation.validate_until_ready(once, 60, sleep=clock.sleep, clock=clock)
    assert outcome["passed"] and outcome["attempts"] == 4
    assert clock.sleeps == [1.0, 1.5, 2.25]  # growing pauses, no fixed sleep


def test_validation_stops_at_once_on_another_error(clock):
    outcome = validation.validate_until_ready(lambda: {"code": "UserErrorInvalidPolicy", "message": "m"}, 60,
                                              sleep=clock.sleep, clock=clock)
    assert not outcome["passed"] and not outcome["access"] and outcome["attempts"] == 1 and clock.sleeps == []


def test_validation_gives_up_after_validation_timeout(clock):
    outcome = validation.validate_until_ready(lambda: {"code": "UserErrorMissingRequiredPermissions", "message": "m"},
                                              10, sleep=clock.sleep, clock=clock)
    assert outcome["timed_out"] and outcome["access"] and not outcome["passed"]
    assert clock.now <= 10.0 + 1e-9 and outcome["attempts"] > 3


# ------------------------------------------------------------------------------------------------- ensure_present


def test_check_mode_predicts_and_writes_nothing():
    fake = Fake()
    changed, after, diff, extra, warnings = present(fake, check_mode=True)
    assert changed and fake.writes() == []
    assert after["name"] == PGFLEX.instance_name(SERVER_ID)
    assert after["state"] == "present" and after["protection_status"] == "ProtectionConfigured"
    assert after["policy_id"] == POLICY_ID and after["identity"] == "system_assigned"
    assert diff["before"] == {} and diff["after"]["server_id"] == SERVER_ID
    assert [r["status"] for r in extra["validation"]["roles"]] == ["existing", "existing"]
    assert "skipped in check mode" in extra["validation"]["service_validation"]
    assert warnings == []


def test_check_mode_reports_missing_roles_with_the_fix():
    fake = Fake()
    changed, after, diff, extra, warnings = present(fake, check_mode=True, api=make_api(fake, assignments=[]))
    assert changed and fake.writes() == []
    missing = extra["validation"]["missing_roles"]
    assert sorted(m["role_definition_id"] for m in missing) == sorted([READER, LTR])
    assert "azbackup.dataprotection.pgflex_role_assignment:" in extra["validation"]["fix_task"]
    assert warnings and "lacks" in warnings[0]


def test_create_validates_puts_and_waits_for_protection_configured():
    fake = Fake()
    changed, after, diff, extra, warnings = present(fake)
    kinds = [c[0] for c in fake.writes()]
    assert kinds == ["validate", "put"]
    put = fake.writes()[1]
    assert put[1] == PGFLEX.instance_name(SERVER_ID)
    assert put[2]["properties"]["policyInfo"]["policyId"] == POLICY_ID
    assert fake.writes()[0][1] == {"backupInstance": put[2]["properties"]}
    assert changed and after["state"] == "present" and after["current_protection_state"] == "ProtectionConfigured"
    assert extra["validation"]["service_validation"] == "passed"
    # rerun: unchanged, no write
    fake.calls = []
    changed, again, diff, extra, warnings = present(fake)
    assert not changed and fake.writes() == [] and again["name"] == after["name"]


def test_granted_roles_still_propagating_are_retried_without_a_fixed_sleep():
    fake = Fake()
    fake.validation_errors = [http_error("UserErrorMissingRequiredPermissions", "not yet", status=200)] * 2
    clock = Clock()
    changed, after, diff, extra, warnings = present(fake, clock=clock)
    assert changed and after["state"] == "present"
    assert [c[0] for c in fake.writes()] == ["validate", "validate", "validate", "put"]
    assert extra["validation"]["attempts"] == 3


def test_missing_access_fails_after_validation_timeout_with_missing_roles_and_task():
    fake = Fake()
    fake.validation_errors = [http_error("UserErrorMissingRequiredPermissions", "Appropriate permissions to "
                                         "perform the operation is missing.", status=200)] * 100
    with pytest.raises(InputError) as err:
        present(fake, api=make_api(fake, assignments=[]), validation_timeout=5)
    text = str(err.value)
    assert "Appropriate permissions" in text and "Reader" in text and "Long Term Retention" in text
    assert "pgflex_role_assignment" in text and "server_id: " + SERVER_ID in text
    assert {c[0] for c in fake.writes()} == {"validate"}  # no instance write
    assert len(err.value.extra["missing_roles"]) == 2


def test_assigned_but_not_effective_roles_say_so():
    fake = Fake()
    fake.validation_errors = [http_error("UserErrorMissingRequiredPermissions", "missing", status=200)] * 100
    with pytest.raises(InputError) as err:
        present(fake, validation_timeout=3)
    assert "not effective yet" in str(err.value)


def test_a_non_access_validation_error_fails_at_once():
    fake = Fake()
    fake.validation_errors = [http_error("UserErrorDatasourceAlreadyProtected", "already protected", status=200)]
    with pytest.raises(InputError) as err:
        present(fake)
    assert "already protected" in str(err.value)
    assert [c[0] for c in fake.writes()] == ["validate"]


def test_caller_forbidden_on_validate_is_raised_not_retried():
    fake = Fake()
    fake.validation_errors = [http_error("AuthorizationFailed", "caller may not", status=403)]
    with pytest.raises(HttpResponseError):
        present(fake)


def test_region_mismatch_fails_before_any_write_naming_both_regions():
    fake = Fake(vault=vault_body(location="westeurope"))
    with pytest.raises(InputError) as err:
        present(fake)
    assert "eastus" in str(err.value) and "westeurope" in str(err.value)
    assert fake.writes() == []


def test_missing_server_policy_and_wrong_datasource_policy_fail_before_writes():
    fake = Fake()
    with pytest.raises(InputError, match="does not exist"):
        present(fake, api=make_api(fake, servers={}))
    with pytest.raises(InputError, match="Backup policy 'nope' does not exist"):
        present(fake, policy_name="nope")
    fake = Fake(policies=[policy_body("disks", datasource="Microsoft.Compute/disks")])
    with pytest.raises(InputError, match="not for PostgreSQL Flexible Server"):
        present(fake, policy_name="disks")
    with pytest.raises(InputError, match="not a policy of Backup vault"):
        present(fake, policy_name=None, policy_id=POLICY_ID.replace("bv1", "other"))
    assert fake.writes() == []


def test_missing_vault_fails():
    fake = Fake()
    fake.vault = None
    with pytest.raises(InputError, match="does not exist"):
        present(fake)


def test_oversized_server_warns_by_default_and_fails_on_request():
    fake = Fake()
    api = make_api(fake, servers={SERVER_ID.lower(): server_body(size=2048)})
    changed, after, diff, extra, warnings = present(fake, check_mode=True, api=api)
    assert changed and any("2048 GB" in w for w in warnings)
    with pytest.raises(InputError, match="on_unsupported_size=fail"):
        present(fake, api=api, on_unsupported_size="fail")
    assert fake.writes() == []


def test_vault_with_only_a_user_assigned_identity_needs_it_named():
    identity = {"type": "UserAssigned", "userAssignedIdentities": {UAI_ID: {"principalId": UAI_PID}}}
    fake = Fake(vault=vault_body(identity=identity))
    with pytest.raises(InputError) as err:
        present(fake)
    assert UAI_ID in str(err.value) and "identity" in str(err.value)
    grants = [assignment(READER, SERVER_RG, UAI_PID), assignment(LTR, SERVER_ID, UAI_PID)]
    changed, after, diff, extra, warnings = present(fake, api=make_api(fake, assignments=grants),
                                                    identity=UAI_ID.upper().replace("SUBSCRIPTIONS", "subscriptions"))
    put = [c for c in fake.writes() if c[0] == "put"][0]
    assert put[2]["properties"]["identityDetails"] == {"useSystemAssignedIdentity": False,
                                                       "userAssignedIdentityArmUrl": UAI_ID}
    assert after["identity"] == UAI_ID and extra["validation"]["principal_id"] == UAI_PID


def test_identity_not_on_the_vault_fails():
    fake = Fake()
    with pytest.raises(InputError, match="is not an identity of Backup vault"):
        present(fake, identity=UAI_ID)
    fake = Fake(vault=vault_body(identity={"type": "None"}))
    with pytest.raises(InputError, match="no managed identity"):
        present(fake)


def test_user_assigned_principal_is_looked_up_when_the_vault_does_not_say():
    identity = {"type": "SystemAssigned, UserAssigned", "principalId": SYSTEM_PID,
                "userAssignedIdentities": {UAI_ID: {}}}
    fake = Fake(vault=vault_body(identity=identity))
    api = make_api(fake, identities={UAI_ID.lower(): {"properties": {"principalId": UAI_PID}}},
                   assignments=[assignment(READER, SERVER_RG, UAI_PID),
                                assignment(LTR, SERVER_ID, UAI_PID)])
    changed, after, diff, extra, warnings = present(fake, check_mode=True, api=api, identity=UAI_ID)
    assert extra["validation"]["principal_id"] == UAI_PID
    assert [r["status"] for r in extra["validation"]["roles"]] == ["existing", "existing"]


def test_protection_error_fails_with_the_service_details():
    fake = Fake()
    fake.after_put = "ProtectionError"
    fake.after_put_error = {"code": "UserErrorServerNotReachable", "message": "The server cannot be reached.",
                            "recommendedAction": ["Allow trusted Microsoft services."]}
    with pytest.raises(InputError) as err:
        present(fake)
    text = str(err.value)
    assert "UserErrorServerNotReachable" in text and "Allow trusted Microsoft services." in text
    assert err.value.extra["protection_error"]["code"] == "UserErrorServerNotReachable"


def test_an_instance_in_error_is_configured_again_without_validate_for_backup():
    # validateForBackup refuses a server that already has an instance: the PUT itself is what validates again.
    name = PGFLEX.instance_name(SERVER_ID)
    fake = Fake(instances=[instance_body(name, state="ProtectionError", error={"code": "X", "message": "y"})])
    changed, after, diff, extra, warnings = present(fake, check_mode=True)
    assert changed and fake.writes() == [] and after["state"] == "present" and after["error"] is None
    changed, after, diff, extra, warnings = present(fake)
    assert changed and [c[0] for c in fake.writes()] == ["put"] and after["state"] == "present"
    assert extra["validation"]["service_validation"] == "configured again"


def test_reconfiguring_retries_while_access_propagates():
    name = PGFLEX.instance_name(SERVER_ID)
    denied = {"code": "UserErrorMissingRequiredPermissions", "message": "Appropriate permissions are missing."}
    fake = Fake(instances=[instance_body(name, state="ProtectionError", error=denied)])
    fake.after_puts = [("ProtectionError", denied), ("ProtectionError", denied)]
    changed, after, diff, extra, warnings = present(fake)
    assert [c[0] for c in fake.writes()] == ["put", "put", "put"] and after["state"] == "present"
    assert extra["validation"]["attempts"] == 3


def test_reconfiguring_gives_up_with_the_fix_or_fails_at_once_on_other_errors():
    name = PGFLEX.instance_name(SERVER_ID)
    denied = {"code": "UserErrorMissingRequiredPermissions", "message": "Appropriate permissions are missing."}
    fake = Fake(instances=[instance_body(name, state="ProtectionError", error=denied)])
    fake.after_put, fake.after_put_error = "ProtectionError", denied
    with pytest.raises(InputError) as err:
        present(fake, api=make_api(fake, assignments=[]), validation_timeout=4)
    assert "kept ending in ProtectionError" in str(err.value) and "stays in ProtectionError" in str(err.value)
    assert len(err.value.extra["missing_roles"]) == 2 and err.value.extra["backup_instance"]["state"] == "error"
    other = {"code": "UserErrorServerNotReachable", "message": "Cannot reach the server."}
    fake = Fake(instances=[instance_body(name, state="ProtectionError", error=other)])
    fake.after_put, fake.after_put_error = "ProtectionError", other
    with pytest.raises(InputError) as err:
        present(fake)
    assert "Cannot reach the server." in str(err.value) and len(fake.writes()) == 1


def test_portal_made_instance_is_adopted_whatever_its_name():
    fake = Fake(instances=[instance_body("made-in-portal")])
    changed, after, diff, extra, warnings = present(fake)
    assert not changed and after["name"] == "made-in-portal" and fake.writes() == []


def test_policy_change_is_an_in_place_update_without_validation():
    fake = Fake(policies=[policy_body(), policy_body("weekly-10y")], instances=[instance_body("made-in-portal")])
    changed, after, diff, extra, warnings = present(fake, check_mode=True, policy_name="weekly-10y")
    assert changed and fake.writes() == [] and after["policy_id"] == POLICY2_ID
    assert diff["before"]["policy_id"] == POLICY_ID and diff["after"]["policy_id"] == POLICY2_ID
    changed, after, diff, extra, warnings = present(fake, policy_name="weekly-10y")
    assert [c[0] for c in fake.writes()] == ["put"]
    put = fake.writes()[0]
    assert put[1] == "made-in-portal" and put[2]["properties"]["policyInfo"]["policyId"] == POLICY2_ID
    assert after["policy_id"] == POLICY2_ID and after["state"] == "present"


def test_named_instance_of_another_server_cannot_change_server():
    fake = Fake(instances=[instance_body("mine", server_id=OTHER_SERVER_ID)])
    with pytest.raises(InputError, match="server of an instance cannot change"):
        present(fake, name="mine")


def test_a_server_is_protected_once_per_vault():
    fake = Fake(instances=[instance_body("existing")])
    with pytest.raises(InputError, match="already protected"):
        present(fake, name="another")
    assert fake.writes() == []


@pytest.mark.parametrize("start,state,calls", [
    ("ProtectionConfigured", "stopped", ["stop"]),
    ("ProtectionConfigured", "suspended", ["suspend"]),
    ("ProtectionStopped", "present", ["resume_protection"]),
    ("BackupSchedulesSuspended", "present", ["resume_backups"]),
    ("ProtectionStopped", "suspended", ["resume_protection", "suspend"]),
    ("ProtectionStopped", "stopped", []),
])
def test_stop_suspend_and_resume(start, state, calls):
    fake = Fake(instances=[instance_body("i1", state=start)])
    changed, after, diff, extra, warnings = present(fake, check_mode=True, state=state)
    assert fake.writes() == [] and changed is bool(calls) and after["state"] == state
    changed, after, diff, extra, warnings = present(fake, state=state)
    assert [c[0] for c in fake.writes()] == calls
    assert changed is bool(calls) and after["state"] == state
    assert diff["before"]["state"] == readable.LIFECYCLE[start.lower()]


def test_stopping_a_server_that_is_not_protected_fails():
    with pytest.raises(InputError, match="has no backup instance"):
        present(Fake(), state="stopped")


def test_a_server_soft_deleted_in_this_vault_is_refused_with_how_to_undelete_it_before_any_write():
    fake = Fake()
    gone = instance_body("i1", state="SoftDeleted")
    gone["id"] = VAULT_ID + "/deletedBackupInstances/i1"
    fake.deleted["i1"] = gone
    for check_mode in (True, False):
        with pytest.raises(InputError) as caught:
            present(fake, check_mode=check_mode)
        text = str(caught.value)
        assert "soft-deleted in this vault ('bv1')" in text
        assert VAULT_ID + "/deletedBackupInstances/i1/undelete" in text
        assert "any other vault" not in text and caught.value.extra["error_code"] == "SoftDeletedInThisVault"
    assert fake.writes() == []


ALREADY_PROTECTED = ("Datasource is already protected under the Backup vault {0}. Delete the backup instance i1 "
                     "from the Backup vault {0} to re-protect the datasource in any other vault.".format(VAULT_ID))


def test_a_protect_racing_another_run_in_the_same_vault_is_told_to_rerun_never_to_delete():
    fake = Fake()
    refuse = fake.backup_instances.begin_validate_for_backup

    def other_run_wins(resource_group, vault, body):
        # The other run's PUT lands between this run's listing and its validateForBackup.
        fake.instances["i1"] = instance_body("i1", state="ConfiguringProtection")
        fake.validation_errors = [http_error("UserErrorDppDatasourceAlreadyProtected", ALREADY_PROTECTED)]
        return refuse(resource_group, vault, body)

    fake.backup_instances.begin_validate_for_backup = other_run_wins
    with pytest.raises(InputError) as caught:
        present(fake)
    text = str(caught.value)
    assert "by another run" in text and "backup instance 'i1' is ConfiguringProtection" in text
    assert "rerun the task" in text and "keep it" in text
    assert "Delete the backup instance" not in text and "delete it" not in text.lower()
    assert caught.value.extra["error_code"] == "ProtectedConcurrently"
    assert [call[0] for call in fake.writes()] == ["validate"]


def test_a_server_another_vault_protects_is_named_without_advising_to_delete_it():
    fake = Fake()
    fake.validation_errors = [http_error("UserErrorDppDatasourceAlreadyProtected",
                                         ALREADY_PROTECTED.replace("bv1", "bv-other"))]
    with pytest.raises(InputError) as caught:
        present(fake)
    text = str(caught.value)
    assert "protected by another vault" in text and "bv-other" in text and "state: stopped keeps" in text
    assert [call[0] for call in fake.writes()] == ["validate"]


def test_keep_current_policy_leaves_an_existing_instance_on_its_policy_and_protects_a_new_one_with_the_given():
    fake = Fake(policies=[policy_body("weekly"), policy_body("monthly")],
                instances=[instance_body("i1", policy_id=POLICY2_ID)])
    changed, resource, dummy, dummy2, dummy3 = present(fake, keep_current_policy=True)
    assert not changed and resource["policy_id"] == POLICY2_ID and fake.writes() == []
    fake = Fake()
    changed, resource, dummy, dummy2, dummy3 = present(fake, keep_current_policy=True)
    assert changed and resource["policy_id"] == POLICY_ID


# ------------------------------------------------------------------------------------------------- ensure_absent


def test_absent_deletes_and_says_soft_delete_keeps_it():
    fake = Fake(instances=[instance_body("i1")])
    api = make_api(fake)
    changed, dummy, diff, dummy2, extra = state.ensure_absent(api, params(state="absent"), SERVER_ID, True)
    assert changed and fake.writes() == [] and extra["soft_deleted"] and "14 days" in extra["note"]
    clock = Clock()
    changed, dummy, diff, dummy2, extra = state.ensure_absent(api, params(state="absent"), SERVER_ID, False,
                                                              sleep=clock.sleep, clock=clock)
    assert changed and [c[0] for c in fake.writes()] == ["delete"] and diff["after"] == {}
    changed, dummy, diff, dummy2, extra = state.ensure_absent(api, params(state="absent"), SERVER_ID, False)
    assert not changed


def test_absent_without_soft_delete():
    fake = Fake(vault=vault_body(soft_delete="Off"), instances=[instance_body("i1")])
    changed, dummy, diff, dummy2, extra = state.ensure_absent(make_api(fake), params(state="absent"), SERVER_ID, False)
    assert changed and not extra["soft_deleted"] and "note" not in extra


def test_absent_without_soft_delete_needs_allow_data_loss_when_recovery_points_would_be_lost():
    fake = Fake(vault=vault_body(soft_delete="Off"), instances=[instance_body("i1")],
                points={"i1": [{"name": "rp1"}, {"name": "rp2"}, {"name": "rp3"}]})
    for check_mode in (True, False):
        with pytest.raises(InputError) as caught:
            state.ensure_absent(make_api(fake), params(state="absent"), SERVER_ID, check_mode)
        assert "would remove its 3 recovery point(s) for good" in str(caught.value)
        assert caught.value.option == "allow_data_loss" and caught.value.extra["recovery_points"] == 3
    assert fake.writes() == []
    outcome = state.ensure_absent(make_api(fake), params(state="absent", allow_data_loss=True), SERVER_ID, True)
    assert outcome.changed and outcome.extra["recovery_points_lost"] == 3 and fake.writes() == []
    outcome = state.ensure_absent(make_api(fake), params(state="absent", allow_data_loss=True), SERVER_ID, False)
    assert outcome.extra["recovery_points_lost"] == 3 and [c[0] for c in fake.writes()] == ["delete"]


# ------------------------------------------------------------------------------------------------- on-demand backup


def job_body(job_id, status="InProgress", errors=None, script=None, operation="Backup", user=True,
             instance="i1", start="2026-01-01T00:00:00Z"):
    body = {"id": VAULT_ID + "/backupJobs/" + job_id, "name": job_id,
            "properties": {"operation": operation, "operationCategory": "Backup", "isUserTriggered": user,
                           "status": status, "startTime": start, "dataSourceId": SERVER_ID, "dataSourceName": "pg1",
                           "backupInstanceId": VAULT_ID + "/backupInstances/" + instance,
                           "extendedInfo": {"additionalDetails": {"RetentionTag": "Default"}}}}
    if errors:
        body["properties"]["errorDetails"] = errors
    if script:
        body["_script"] = script
    return body


def ondemand(fake, check_mode=False, **overrides):
    clock = Clock()
    warnings = []
    base = {"backup_instance_name": None, "retention_tag": "Default", "rule_name": None, "wait": False,
            "wait_timeout": 60}
    base.update(overrides)
    return ondemand_backup(make_api(fake), base, SERVER_ID, check_mode, warnings.append, sleep=clock.sleep,
                           clock=clock)


def test_ondemand_check_mode_reports_the_trigger():
    fake = Fake(instances=[instance_body("i1")])
    result = ondemand(fake, check_mode=True, retention_tag="weekly")
    assert fake.writes() == [] and result["job_id"] is None
    assert result["trigger"] == {"backup_instance_name": "i1", "server_id": SERVER_ID, "rule_name": "BackupWeekly",
                                 "retention_tag": "Weekly", "policy_name": "weekly"}


def test_ondemand_triggers_and_waits_for_the_job():
    fake = Fake(instances=[instance_body("i1")])
    fake.adhoc_job = job_body("j1", script=[{}, {"status": "Completed", "endTime": "2026-01-01T00:05:00Z"}])
    result = ondemand(fake, wait=True)
    adhoc = [c for c in fake.writes() if c[0] == "adhoc"][0]
    assert adhoc[2] == {"backupRuleOptions": {"ruleName": "BackupWeekly",
                                              "triggerOption": {"retentionTagOverride": "Default"}}}
    assert result["job_id"] == "j1" and result["job"]["status"] == "completed"
    assert result["job"]["duration_seconds"] == 300


def test_ondemand_failed_job_fails_with_its_error():
    fake = Fake(instances=[instance_body("i1")])
    fake.adhoc_job = job_body("j2", script=[{"status": "Failed", "errorDetails": [
        {"code": "UserErrorPgServerStopped", "message": "The server is stopped.",
         "recommendedAction": ["Start the server."]}]}])
    with pytest.raises(InputError) as err:
        ondemand(fake, wait=True)
    text = str(err.value)
    assert "UserErrorPgServerStopped" in text and "Start the server." in text
    assert err.value.extra["job_id"] == "j2"


def test_ondemand_says_the_backup_started_when_only_its_job_read_fails_and_a_rerun_finds_that_job():
    fake = Fake(instances=[instance_body("i1")])
    fake.adhoc_job = job_body("j3")
    fake.job_read_errors = [http_error("InternalServerError", "The service is busy.", status=500)]
    with pytest.raises(InputError) as err:
        ondemand(fake, wait=True)
    text = str(err.value)
    assert "was started (job j3), but its job could not be read (HTTP 500 InternalServerError" in text
    assert "failed triggering" not in text and "rerun the task" in text
    assert err.value.extra["job_id"] == "j3" and err.value.extra["started"] and err.value.extra["job_read_failed"]
    assert [c[0] for c in fake.writes()].count("adhoc") == 1
    # The rerun finds the running on-demand job of the instance and starts no second backup.
    fake.jobs_store["j3"]["_script"] = [{"status": "Completed", "endTime": "2026-01-01T00:05:00Z"}]
    warnings = []
    result = ondemand_backup(make_api(fake), {"backup_instance_name": None, "retention_tag": "Default",
                                              "rule_name": None, "wait": True, "wait_timeout": 60},
                             SERVER_ID, False, warnings.append, sleep=Clock().sleep, clock=Clock())
    assert [c[0] for c in fake.writes()].count("adhoc") == 1
    assert result["already_running"] and not result["started"] and result["job_id"] == "j3"
    assert result["job"]["status"] == "completed"
    assert any("already running (job j3" in text for text in warnings)


def test_ondemand_check_mode_reports_a_running_backup_instead_of_a_new_one():
    fake = Fake(instances=[instance_body("i1")], jobs=[job_body("j4"), job_body("j5", status="Completed"),
                                                       job_body("j6", instance="other")])
    result = ondemand(fake, check_mode=True)
    assert result["already_running"] and not result["started"] and result["job_id"] == "j4"
    assert fake.writes() == []


def test_ondemand_refuses_unknown_tags_and_unprotected_servers():
    fake = Fake(instances=[instance_body("i1")])
    with pytest.raises(InputError, match="Default, Weekly"):
        ondemand(fake, retention_tag="Yearly")
    fake = Fake(instances=[instance_body("i1", state="BackupSchedulesSuspended")])
    with pytest.raises(InputError, match="suspended"):
        ondemand(fake)
    with pytest.raises(InputError, match="no backup instance"):
        ondemand(Fake())
    assert fake.writes() == []


# ------------------------------------------------------------------------------------------------- info


def test_info_reports_last_backup_and_recovery_points():
    points = [{"id": "rp1", "name": "rp1", "properties": {"recoveryPointTime": "2026-01-01T00:05:00Z",
                                                          "retentionTagName": "Default"}},
              {"id": "rp2", "name": "rp2", "properties": {"recoveryPointTime": "2026-01-08T00:05:00Z",
                                                          "retentionTagName": "Weekly"}},
              # An on-demand backup kept by the default rule, as real Azure names its tag.
              {"id": "rp3", "name": "rp3", "properties": {"recoveryPointTime": "2025-12-30T00:05:00Z",
                                                          "retentionTagName": "default"}}]
    fake = Fake(instances=[instance_body("i1"), instance_body("i2", server_id=OTHER_SERVER_ID,
                                                              policy_id=POLICY2_ID)],
                jobs=[job_body("j1", status="Completed", start="2026-01-01T00:00:00Z"),
                      job_body("j2", status="Failed", start="2026-01-08T00:00:00Z", user=False,
                               errors=[{"code": "E", "message": "m"}])],
                points={"i1": points})
    base = {"name": None, "include_jobs": True, "include_recovery_points": True, "list_recovery_points": True}
    found = info.instances_info(make_api(fake), base, SERVER_ID, PGFLEX)
    assert [i["name"] for i in found] == ["i1"]
    item = found[0]
    assert item["recovery_point_count"] == 3 and item["recovery_points_by_tag"] == {"Weekly": 1, "Default": 2}
    assert item["last_backup"]["job_id"] == "j2" and item["last_backup_status"] == "failed"
    assert item["last_backup"]["operation"] == "scheduled" and item["last_backup"]["error_code"] == "E"
    assert item["last_successful_backup_time"] == "2026-01-08T00:05:00Z"
    assert item["recovery_points"][0]["recovery_point_id"] == "rp2"
    by_policy = info.instances_info(make_api(fake), base, None, PGFLEX, POLICY2_ID)
    assert [i["name"] for i in by_policy] == ["i2"] and by_policy[0]["recovery_point_count"] == 0


def test_check_mode_when_the_caller_may_not_read_role_assignments():
    fake = Fake()
    changed, after, diff, extra, warnings = present(fake, check_mode=True, api=make_api(fake, assignments="forbidden"))
    assert changed and fake.writes() == [] and extra["validation"]["roles"].startswith("unknown")


def test_identity_change_is_in_place_once_the_new_identity_holds_the_roles():
    identity = {"type": "SystemAssigned,UserAssigned", "principalId": SYSTEM_PID,
                "userAssignedIdentities": {UAI_ID: {"principalId": UAI_PID}}}
    fake = Fake(vault=vault_body(identity=identity), instances=[instance_body("i1")])
    with pytest.raises(InputError, match="lacks"):
        present(fake, identity=UAI_ID)  # the UAI holds no role yet
    assert fake.writes() == []
    grants = GRANTED + [assignment(READER, SERVER_RG, UAI_PID), assignment(LTR, SERVER_ID, UAI_PID)]
    changed, after, diff, extra, warnings = present(fake, api=make_api(fake, assignments=grants), identity=UAI_ID)
    assert changed and [c[0] for c in fake.writes()] == ["put"]
    assert fake.writes()[0][2]["properties"]["identityDetails"]["userAssignedIdentityArmUrl"] == UAI_ID
    assert diff["before"]["identity"] == "system_assigned" and after["identity"] == UAI_ID
    # unset identity keeps the instance's own
    fake.calls = []
    changed, after, diff, extra, warnings = present(fake, api=make_api(fake, assignments=grants))
    assert not changed and fake.writes() == [] and after["identity"] == UAI_ID
