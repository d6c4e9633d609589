"""Backup policy resource logic against a fake client: desired body, idempotency, check mode, refusals, results."""

import copy
from datetime import datetime, timezone

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import policies, policy
from ansible_collections.azbackup.dataprotection.plugins.module_utils.dataprotection import DataProtectionApi
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.fakes import Model

SUB = "00000000-0000-0000-0000-000000000000"
VAULT_ID = "/subscriptions/{0}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1".format(
    SUB)
POLICY_ID = VAULT_ID + "/backupPolicies/pol1"

SCHEDULE = {"days_of_week": ["Sunday"], "time": "02:00", "timezone": "UTC"}
RETENTION = {"default": {"duration": "P3M"}, "weekly": {"duration": "P12W"}, "monthly": {"duration": "P12M"},
             "yearly": {"duration": "P10Y"}}


def params(**overrides):
    base = {"resource_group": "rg-backup", "vault_name": "bv1", "vault_id": VAULT_ID, "name": "pol1",
            "datasource_type": PGFLEX.arm_type, "state": "present", "schedule": copy.deepcopy(SCHEDULE),
            "retention": copy.deepcopy(RETENTION), "policy": None, "preview_horizon": "P1Y", "preview_start": None}
    base.update(overrides)
    return base


def service_body(body, name="pol1"):
    """What the service stores and answers: tag ids added, keys reordered, resource fields around it."""
    props = copy.deepcopy(body["properties"])
    for rule in props["policyRules"]:
        for tag in (rule.get("trigger") or {}).get("taggingCriteria") or []:
            tag["tagInfo"] = {"tagName": tag["tagInfo"]["tagName"], "id": tag["tagInfo"]["tagName"] + "_"}
    props["policyRules"] = list(reversed(props["policyRules"]))
    return {"properties": props, "id": VAULT_ID + "/backupPolicies/" + name, "name": name,
            "type": "Microsoft.DataProtection/backupVaults/backupPolicies"}


class FakePolicies:
    """The vault's policies by name (versions included); ``existing`` is the one named pol1."""

    def __init__(self, existing=None, refuse=None, others=()):
        self.stored = dict((body["name"], body) for body in ([existing] if existing else []) + list(others))
        self.refuse = refuse
        self.calls = []

    @property
    def existing(self):
        return self.stored.get("pol1")

    def create_or_update(self, resource_group, vault_name, name, body):
        self.calls.append(("PUT", resource_group, vault_name, name, copy.deepcopy(body)))
        if self.refuse:
            raise self.refuse
        self.stored[name] = service_body(body, name)
        return Model(self.stored[name])

    def delete(self, resource_group, vault_name, name):
        self.calls.append(("DELETE", resource_group, vault_name, name))
        if self.refuse:
            raise self.refuse
        self.stored.pop(name, None)

    def get(self, resource_group, vault_name, name):
        return self.stored.get(name)

    def list(self, resource_group, vault_name):
        return [Model(body) for body in self.stored.values()]


class FakeInstances:
    def __init__(self, instances=()):
        self.instances = instances
        self.calls = []

    def list(self, resource_group, vault_name):
        return [Model(name=name, properties={"policyInfo": {"policyId": policy_id}, "objectType": "BackupInstance",
                                             "friendlyName": name, "currentProtectionState": "ProtectionConfigured"})
                for name, policy_id in self.instances]

    def begin_create_or_update(self, resource_group, vault_name, name, body):
        self.calls.append(("PUT", name, copy.deepcopy(body)))
        return Model(dict(body, name=name))


class FakeDeleted:
    def __init__(self, instances=()):
        self.instances = instances

    def list(self, resource_group, vault_name):
        return [Model(name=name, properties={"policyInfo": {"policyId": policy_id}})
                for name, policy_id in self.instances]


class FakeClient:
    def __init__(self, existing=None, instances=(), refuse=None, others=(), deleted=()):
        self.backup_policies = FakePolicies(existing, refuse, others)
        self.backup_instances = FakeInstances(instances)
        self.deleted_backup_instances = FakeDeleted(deleted)


def api(client):
    return DataProtectionApi(client, VAULT_ID, None, lambda poller, what: poller)


def desired_body(**overrides):
    return policies.desired_from_params(params(**overrides)).body


# ------------------------------------------------------------------------------------------- desired body


def test_readable_options_give_the_body_azure_expects():
    body = desired_body()["properties"]
    assert body["datasourceTypes"] == [PGFLEX.arm_type]
    backup = body["policyRules"][0]
    assert backup["name"] == "BackupWeekly"
    assert backup["trigger"]["schedule"] == {"repeatingTimeIntervals": ["R/2024-01-07T02:00:00+00:00/P1W"],
                                             "timeZone": "UTC"}
    tags = dict((tag["tagInfo"]["tagName"], tag) for tag in backup["trigger"]["taggingCriteria"])
    assert dict((name, tag["taggingPriority"]) for name, tag in tags.items()) == {
        "Default": 99, "Weekly": 20, "Monthly": 15, "Yearly": 10}
    assert tags["Yearly"]["criteria"] == [{"objectType": "ScheduleBasedBackupCriteria",
                                           "absoluteCriteria": ["FirstOfYear"]}]
    durations = dict((rule["name"], rule["lifecycles"][0]["deleteAfter"]["duration"])
                     for rule in body["policyRules"][1:])
    assert durations == {"Default": "P3M", "Weekly": "P12W", "Monthly": "P12M", "Yearly": "P10Y"}


def test_ansible_fills_unset_suboptions_with_none_and_that_is_fine():
    retention = {"default": {"duration": "P3M"}, "weekly": None, "monthly": None,
                 "yearly": {"duration": "P5Y", "months_of_year": None, "days_of_week": None,
                            "weeks_of_month": None, "days_of_month": None}}
    body = desired_body(retention=retention)["properties"]
    assert sorted(rule["name"] for rule in body["policyRules"][1:]) == ["Default", "Yearly"]


def test_alias_pgflex_is_the_postgres_type():
    assert desired_body(datasource_type="pgflex") == desired_body()


@pytest.mark.parametrize("overrides, field", [
    ({"retention": {"default": {"duration": "P12X"}}}, "retention.default.duration"),
    ({"retention": {"default": {"duration": "P11Y"}}}, "retention.default.duration"),
    ({"schedule": dict(SCHEDULE, timezone="Mars/Olympus")}, "schedule.timezone"),
    ({"schedule": dict(SCHEDULE, days_of_week=["Sunday", "sunday"])}, "schedule.days_of_week"),
    ({"schedule": dict(SCHEDULE, time="25:00")}, "schedule.time"),
    ({"retention": {"weekly": {"duration": "P4W"}}}, "retention.default"),
    ({"schedule": None}, "schedule"),
    ({"retention": None}, "retention"),
    ({"datasource_type": "Microsoft.Compute/disks"}, "datasource_type"),
])
def test_bad_readable_input_names_the_field(overrides, field):
    with pytest.raises(policy.PolicyError) as caught:
        policies.desired_from_params(params(**overrides))
    assert caught.value.field == field


def test_readable_and_raw_together_are_refused():
    with pytest.raises(policy.PolicyError) as caught:
        policies.desired_from_params(params(policy=desired_body()))
    assert caught.value.field == "policy"


def test_raw_body_is_sent_as_properties_without_resource_fields():
    raw = service_body(desired_body())
    desired = policies.desired_from_params(params(schedule=None, retention=None, policy=raw))
    assert set(desired.body) == {"properties"}
    assert policy.bodies_equal(desired.body, desired_body())
    props_only = policies.desired_from_params(params(schedule=None, retention=None,
                                                     policy=dict(raw["properties"], id="x", name="y")))
    assert "id" not in props_only.body["properties"] and "name" not in props_only.body["properties"]


def test_raw_daily_schedule_is_refused_before_any_write():
    raw = desired_body()
    raw["properties"]["policyRules"][0]["trigger"]["schedule"]["repeatingTimeIntervals"] = [
        "R/2024-01-07T02:00:00+00:00/P1D"]
    with pytest.raises(policy.PolicyError) as caught:
        policies.desired_from_params(params(schedule=None, retention=None, policy=raw))
    assert "weekly" in caught.value.message and "repeatingTimeIntervals" in caught.value.field


def test_raw_body_for_another_datasource_is_refused():
    raw = desired_body()
    raw["properties"]["datasourceTypes"] = [PGFLEX.arm_type, "Microsoft.Compute/disks"]
    with pytest.raises(policy.PolicyError) as caught:
        policies.desired_from_params(params(schedule=None, retention=None, policy=raw))
    assert caught.value.field == "policy.datasourceTypes"


def test_shorter_monthly_than_weekly_is_a_warning():
    retention = dict(RETENTION, weekly={"duration": "P26W"}, monthly={"duration": "P8W"})
    desired = policies.desired_from_params(params(retention=retention))
    assert any("retention.monthly.duration" in warning for warning in desired.warnings)


@pytest.mark.parametrize("text, expected", [
    (None, datetime(2030, 5, 5, tzinfo=timezone.utc)),
    ("2025-01-01", datetime(2025, 1, 1, tzinfo=timezone.utc)),
    ("2025-01-01T10:00:00Z", datetime(2025, 1, 1, 10, tzinfo=timezone.utc)),
    ("2025-01-01T10:00:00+01:00", datetime(2025, 1, 1, 9, tzinfo=timezone.utc)),
])
def test_preview_start(text, expected):
    assert policies.parse_preview_start(text, now=datetime(2030, 5, 5, tzinfo=timezone.utc)) == expected


def test_bad_preview_options_name_the_option():
    with pytest.raises(policy.PolicyError) as start:
        policies.validate(params(preview_start="next sunday"))
    assert start.value.field == "preview_start"
    with pytest.raises(policy.PolicyError) as horizon:
        policies.validate(params(preview_horizon="one year"))
    assert horizon.value.field == "preview_horizon"
    dummy, dummy2, long_horizon = policies.validate(params(preview_horizon="P20Y"))
    assert str(long_horizon) == "P20Y"


# ---------------------------------------------------------------------------------------------- ensure_present


def test_check_mode_create_predicts_the_policy_and_writes_nothing():
    client = FakeClient()
    changed, result, diff = policies.ensure_present(api(client), None, params(), check_mode=True)[:3]
    assert changed and client.backup_policies.calls == []
    assert result["id"] == POLICY_ID and result["name"] == "pol1"
    assert result["vault_name"] == "bv1" and result["resource_group"] == "rg-backup"
    assert result["schedule"] == SCHEDULE and result["retention"] == RETENTION and result["custom"] is False
    assert result["policy"]["objectType"] == "BackupPolicy"
    assert diff == {"before": {}, "after": {"schedule": SCHEDULE, "retention": RETENTION}}


def test_create_sends_one_put_and_returns_the_service_policy():
    client = FakeClient()
    changed, result, diff = policies.ensure_present(api(client), None, params(), check_mode=False)[:3]
    assert changed and [call[0] for call in client.backup_policies.calls] == ["PUT"]
    assert client.backup_policies.calls[0][1:4] == ("rg-backup", "bv1", "pol1")
    assert client.backup_policies.calls[0][4] == desired_body()
    assert result["policy"]["policyRules"][0]["name"] == "Yearly"  # the service's order, not ours
    assert result["retention"] == RETENTION and diff["after"]["retention"] == RETENTION


def test_rerun_against_the_service_body_is_unchanged():
    client = FakeClient(existing=service_body(desired_body()))
    changed, result, diff = policies.ensure_present(api(client), client.backup_policies.existing, params(), False)[:3]
    assert not changed and client.backup_policies.calls == []
    assert result["id"] == POLICY_ID and diff["before"] == diff["after"]


def test_equivalent_spellings_are_unchanged():
    existing = service_body(desired_body())
    for rule in existing["properties"]["policyRules"]:
        if rule["name"] == "Yearly":
            rule["lifecycles"][0]["deleteAfter"]["duration"] = "P120M"
    client = FakeClient(existing=existing)
    schedule = {"days_of_week": ["sunday"], "time": "2:00", "timezone": "Etc/UTC"}
    changed, dummy, dummy2 = policies.ensure_present(api(client), existing, params(schedule=schedule), False)[:3]
    assert not changed


def test_a_changed_policy_becomes_the_next_version_with_a_readable_diff():
    existing = service_body(desired_body())
    client = FakeClient(existing=existing)
    retention = dict(RETENTION, weekly={"duration": "P8W"})
    outcome = policies.ensure_present(api(client), existing, params(retention=retention), False)
    changed, result, diff = outcome[:3]
    assert changed and [call[:4] for call in client.backup_policies.calls] == [
        ("PUT", "rg-backup", "bv1", "pol1-v2"), ("DELETE", "rg-backup", "bv1", "pol1")]
    assert result["name"] == "pol1-v2" and result["id"] == POLICY_ID + "-v2"
    assert result["retention"]["weekly"] == {"duration": "P8W"}
    assert diff["before"]["retention"]["weekly"] == {"duration": "P12W"}
    assert diff["after"]["retention"]["weekly"] == {"duration": "P8W"}
    assert outcome.extra["policy_versions"] == {
        "current": "pol1-v2", "created": "pol1-v2", "previous": "pol1", "moved_instances": [], "deleted": ["pol1"],
        "kept": [], "summary": "create pol1-v2, delete pol1"}


def test_check_mode_update_plans_the_version_the_moves_and_the_deletion_and_writes_nothing():
    existing = service_body(desired_body())
    used = [("pg-{0}".format(index), POLICY_ID) for index in range(3)] + [("pg-other", VAULT_ID + "/backupPolicies/x")]
    client = FakeClient(existing=existing, instances=used)
    retention = dict(RETENTION, monthly={"duration": "P6M"})
    outcome = policies.ensure_present(api(client), existing, params(retention=retention), True)
    changed, result, diff = outcome[:3]
    assert changed and client.backup_policies.calls == [] and client.backup_instances.calls == []
    assert result["id"] == POLICY_ID + "-v2" and result["retention"]["monthly"] == {"duration": "P6M"}
    assert diff["after"]["retention"]["monthly"] == {"duration": "P6M"}
    versions = outcome.extra["policy_versions"]
    assert versions["summary"] == "create pol1-v2, move 3 servers, delete pol1"
    assert versions["moved_instances"] == ["pg-0", "pg-1", "pg-2"]


def test_instances_move_in_place_to_the_new_version_before_the_old_one_is_deleted():
    existing = service_body(desired_body())
    client = FakeClient(existing=existing, instances=[("pg-a", POLICY_ID)])
    retention = dict(RETENTION, monthly={"duration": "P6M"})
    policies.ensure_present(api(client), existing, params(retention=retention), False)
    assert [call[:2] for call in client.backup_instances.calls] == [("PUT", "pg-a")]
    moved = client.backup_instances.calls[0][2]["properties"]
    assert moved["policyInfo"] == {"policyId": POLICY_ID + "-v2"} and moved["friendlyName"] == "pg-a"
    assert "currentProtectionState" not in moved
    assert [call[0] for call in client.backup_policies.calls] == ["PUT", "DELETE"]


def test_a_rerun_finds_the_version_it_made():
    retention = dict(RETENTION, monthly={"duration": "P6M"})
    newest = service_body(desired_body(retention=retention), "pol1-v3")
    client = FakeClient(others=[newest, service_body(desired_body(), "other")])
    versions = policies.versions_of(api(client).policies(), "pol1")
    assert [body["name"] for body in versions] == ["pol1-v3"]
    outcome = policies.ensure_present(api(client), newest, params(retention=retention), False, versions)
    assert not outcome.changed and client.backup_policies.calls == []
    assert outcome.resource["name"] == "pol1-v3" and outcome.extra["policy_versions"]["summary"] == "nothing to do"


def test_the_next_change_after_v3_is_v4_and_old_versions_can_be_kept():
    old = service_body(desired_body())
    newest = service_body(desired_body(retention=dict(RETENTION, monthly={"duration": "P6M"})), "pol1-v3")
    client = FakeClient(existing=old, others=[newest], instances=[("pg-a", POLICY_ID)])
    outcome = policies.ensure_present(api(client), newest, params(keep_old_versions=True), False)
    assert outcome.resource["name"] == "pol1-v4"
    assert [call[3] for call in client.backup_policies.calls] == ["pol1-v4"]
    assert outcome.extra["policy_versions"]["kept"] == [
        {"name": "pol1", "reason": "keep_old_versions is set"},
        {"name": "pol1-v3", "reason": "keep_old_versions is set"}]
    assert outcome.extra["policy_versions"]["moved_instances"] == ["pg-a"]


def test_a_version_soft_deleted_instances_hold_is_kept():
    existing = service_body(desired_body())
    client = FakeClient(existing=existing, deleted=[("pg-gone", POLICY_ID)])
    outcome = policies.ensure_present(api(client), existing, params(retention=dict(RETENTION, weekly={
        "duration": "P8W"})), False)
    assert [call[0] for call in client.backup_policies.calls] == ["PUT"]
    assert outcome.extra["policy_versions"]["kept"] == [
        {"name": "pol1", "reason": "soft-deleted backup instance(s) pg-gone still refer to it"}]


@pytest.mark.parametrize("candidate, number", [
    ("pol1", 1), ("POL1", 1), ("pol1-v2", 2), ("pol1-V12", 12), ("pol1-v1", None), ("pol1-v0", None),
    ("pol1-v02", None), ("pol1-x", None), ("pol10", None), ("xpol1", None),
])
def test_version_numbers(candidate, number):
    assert policies.version_number(candidate, "pol1") == number


def test_absent_deletes_every_version_newest_first():
    client = FakeClient(existing=service_body(desired_body()), others=[service_body(desired_body(), "pol1-v2")])
    outcome = policies.ensure_absent(api(client), client.backup_policies.stored["pol1-v2"], params(state="absent"),
                                     False)
    assert outcome.changed and [call[3] for call in client.backup_policies.calls] == ["pol1-v2", "pol1"]


def test_a_custom_service_policy_is_shown_raw_and_replaced_by_the_readable_one():
    existing = service_body(desired_body())
    rule = [rule for rule in existing["properties"]["policyRules"] if rule["name"] == "Yearly"][0]
    rule["lifecycles"][0]["targetDataStoreCopySettings"] = [{
        "dataStore": {"objectType": "DataStoreInfoBase", "dataStoreType": "ArchiveStore"},
        "copyAfter": {"objectType": "CopyOnExpiryOption"}}]
    result = policies.to_result(existing)
    assert result["custom"] is True and result["schedule"] is None and "copies" in result["custom_reason"]
    client = FakeClient(existing=existing)
    changed, after, diff = policies.ensure_present(api(client), existing, params(), False)[:3]
    assert changed and after["custom"] is False
    assert "policyRules" in diff["before"]  # normalised bodies when either side is custom


# ----------------------------------------------------------------------------------------------- ensure_absent


def test_absent_policy_is_unchanged():
    client = FakeClient()
    assert policies.ensure_absent(api(client), None, params(state="absent"), False)[:3] == (
        False, {}, {"before": {}, "after": {}})
    assert client.backup_policies.calls == []


def test_delete_sends_one_delete():
    existing = service_body(desired_body())
    client = FakeClient(existing=existing)
    changed, result, diff = policies.ensure_absent(api(client), existing, params(state="absent"), False)[:3]
    assert changed and result == {} and diff["after"] == {}
    assert client.backup_policies.calls == [("DELETE", "rg-backup", "bv1", "pol1")]


def test_check_mode_delete_writes_nothing():
    existing = service_body(desired_body())
    client = FakeClient(existing=existing, instances=[("other", VAULT_ID + "/backupPolicies/other")])
    changed, dummy, dummy2 = policies.ensure_absent(api(client), existing, params(state="absent"), True)[:3]
    assert changed and client.backup_policies.calls == []


def test_check_mode_delete_of_a_policy_in_use_fails_like_azure_would():
    existing = service_body(desired_body())
    instances = [("pg-b", POLICY_ID.upper()), ("pg-a", POLICY_ID), ("pg-c", VAULT_ID + "/backupPolicies/other")]
    client = FakeClient(existing=existing, instances=instances)
    with pytest.raises(policies.PolicyRefusedError) as caught:
        policies.ensure_absent(api(client), existing, params(state="absent"), True)
    assert caught.value.code == "UserErrorDppPolicyObjectInUse"
    assert caught.value.users == ["pg-a", "pg-b"]
    assert "pg-a, pg-b" in str(caught.value) and "pgflex_backup_instance" in str(caught.value)
    assert "Nothing was deleted" in str(caught.value)
    assert client.backup_policies.calls == []


# -------------------------------------------------------------------------------------------------- refusals


def test_refusal_codes():
    assert policies.is_refusal("delete", "UserErrorDppPolicyObjectInUse")
    assert policies.is_refusal("delete", "UserErrorPolicyAssociatedWithSoftDeletedItems")
    assert policies.is_refusal("update", "UserErrorBMSUpdatePolicyNotSupported")
    assert not policies.is_refusal("delete", "UserErrorBMSUpdatePolicyNotSupported")
    assert not policies.is_refusal("update", "AuthorizationFailed")
    assert not policies.is_refusal("update", None)


def test_delete_refusal_message_names_the_instances_and_the_way_out():
    text = policies.refusal_message("delete", "UserErrorDppPolicyObjectInUse", "Cannot delete the backup policy.",
                                    "pol1", ["pg-a"])
    assert text.startswith("Backup policy 'pol1' cannot be deleted while backup instances use it.")
    assert "Azure answered UserErrorDppPolicyObjectInUse: Cannot delete the backup policy." in text
    assert "pg-a" in text and "policy_name" in text and "Nothing was deleted" in text


def test_update_refusal_message_says_how_to_move_to_a_new_policy():
    text = policies.refusal_message("update", "UserErrorBMSUpdatePolicyNotSupported",
                                    "Update of existing policy is not supported.", "pol1", [])
    assert "Azure refused to update backup policy 'pol1' in place." in text
    assert "Backup instances may still use it." in text
    assert "name: pol1-v2" in text and "policy_name: pol1-v2" in text and "Nothing was changed" in text


def test_soft_deleted_refusal_message():
    text = policies.refusal_message("delete", "UserErrorPolicyAssociatedWithSoftDeletedItems", "Cannot delete",
                                    "pol1", [])
    assert "soft-deleted backup instances" in text and "Nothing was deleted" in text


# ---------------------------------------------------------------------------------------------------- results


def test_result_from_a_service_body_derives_the_vault_from_the_id():
    result = policies.to_result(service_body(desired_body(), name="pol9"))
    assert (result["name"], result["vault_name"], result["resource_group"]) == ("pol9", "bv1", "rg-backup")
    assert result["datasource_types"] == [PGFLEX.arm_type]
    assert "id" not in result["policy"] and result["policy"]["objectType"] == "BackupPolicy"
    assert policies.to_result(None) == {}


def test_preview_of_the_result():
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    preview, warning = policies.preview(desired_body()["properties"], start, policy.parse_duration("P1Y"))
    assert warning is None
    assert preview["next_backup"] == "2025-01-05T02:00:00+00:00"
    assert preview["backups"][0] == {"time": "2025-01-05T02:00:00+00:00", "tag": "Yearly",
                                     "expires": "2035-01-05T02:00:00+00:00"}
    assert preview["steady_state"] == {"Yearly": 10, "Monthly": 11, "Weekly": 9, "Default": 0}


def test_preview_of_a_policy_that_cannot_be_simulated_is_a_warning():
    body = desired_body()["properties"]
    body["policyRules"][0]["trigger"]["schedule"]["repeatingTimeIntervals"] = ["R/2024-01-07T02:00:00+00:00/P1D"]
    preview, warning = policies.preview(body, datetime(2025, 1, 1, tzinfo=timezone.utc), None)
    assert preview is None and "weekly" in warning


def test_check_mode_update_warning_names_the_instances():
    text = policies.in_use_update_warning("pol1", ["pg-a", "pg-b"])
    assert "pg-a, pg-b" in text and "UserErrorBMSUpdatePolicyNotSupported" in text and "policy_name" in text
