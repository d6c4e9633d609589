"""Backup policies through the real SDK and raw REST: lifecycle, the service's body, validation, in-use refusals."""

import copy
import json

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator import registry
from emulator.arm import ArmError, ArmRequest
from emulator.settings import Settings
from emulator.state import Store

PGFLEX = "Microsoft.DBforPostgreSQL/flexibleServers"


def _store(kind, duration):
    return {"deleteAfter": {"duration": duration, "objectType": "AbsoluteDeleteOption"},
            "sourceDataStore": {"dataStoreType": kind, "objectType": "DataStoreInfoBase"},
            "targetDataStoreCopySettings": []}


def _tag(name, priority, marker=None):
    tag = {"isDefault": marker is None, "tagInfo": {"tagName": name}, "taggingPriority": priority}
    if marker:
        tag["criteria"] = [{"absoluteCriteria": [marker], "objectType": "ScheduleBasedBackupCriteria"}]
    return tag


def pgflex_policy(intervals=("R/2024-01-07T02:00:00+00:00/P1W",), weekly="P12W", monthly="P12M", yearly="P10Y",
                  default="P3M"):
    """Weekly on Sunday 02:00 UTC with Default/Weekly/Monthly/Yearly rules, as the Azure tools build it."""
    tags = [_tag("Default", 99), _tag("Weekly", 20, "FirstOfWeek"), _tag("Monthly", 15, "FirstOfMonth"),
            _tag("Yearly", 10, "FirstOfYear")]
    rules = [{
        "name": "BackupWeekly", "objectType": "AzureBackupRule",
        "backupParameters": {"backupType": "Full", "objectType": "AzureBackupParams"},
        "dataStore": {"dataStoreType": "VaultStore", "objectType": "DataStoreInfoBase"},
        "trigger": {"objectType": "ScheduleBasedTriggerContext",
                    "schedule": {"repeatingTimeIntervals": list(intervals), "timeZone": "UTC"},
                    "taggingCriteria": tags},
    }]
    for name, duration in (("Default", default), ("Weekly", weekly), ("Monthly", monthly), ("Yearly", yearly)):
        rules.append({"name": name, "objectType": "AzureRetentionRule", "isDefault": name == "Default",
                      "lifecycles": [_store("VaultStore", duration)]})
    return {"properties": {"datasourceTypes": [PGFLEX], "objectType": "BackupPolicy", "policyRules": rules}}


# The request and response of the spec's example CreateOrUpdateBackupPolicy.json (2026-06-01), abridged to one place.
EXAMPLE_REQUEST = {"properties": {
    "datasourceTypes": ["OssDB"], "objectType": "BackupPolicy",
    "policyRules": [
        {"name": "BackupWeekly", "backupParameters": {"backupType": "Full", "objectType": "AzureBackupParams"},
         "dataStore": {"dataStoreType": "VaultStore", "objectType": "DataStoreInfoBase"},
         "objectType": "AzureBackupRule",
         "trigger": {"objectType": "ScheduleBasedTriggerContext",
                     "schedule": {"repeatingTimeIntervals": ["R/2019-11-20T08:00:00-08:00/P1W"]},
                     "taggingCriteria": [
                         {"isDefault": True, "tagInfo": {"tagName": "Default"}, "taggingPriority": 99},
                         {"criteria": [{"daysOfTheWeek": ["Sunday"], "objectType": "ScheduleBasedBackupCriteria",
                                        "scheduleTimes": ["2019-03-01T13:00:00Z"]}],
                          "isDefault": False, "tagInfo": {"tagName": "Weekly"}, "taggingPriority": 20}]}},
        {"name": "Default", "isDefault": True, "objectType": "AzureRetentionRule",
         "lifecycles": [{"deleteAfter": {"duration": "P1W", "objectType": "AbsoluteDeleteOption"},
                         "sourceDataStore": {"dataStoreType": "VaultStore", "objectType": "DataStoreInfoBase"}}]},
        {"name": "Weekly", "isDefault": False, "objectType": "AzureRetentionRule",
         "lifecycles": [{"deleteAfter": {"duration": "P12W", "objectType": "AbsoluteDeleteOption"},
                         "sourceDataStore": {"dataStoreType": "VaultStore", "objectType": "DataStoreInfoBase"}}]},
    ]}}


def _vault(emulator, name="bv-pol", group="rg-backup"):
    client = emulator.dataprotection()
    client.backup_vaults.begin_create_or_update(group, name, emulator.vault_body()).result()
    return client


def _policy_path(emulator, policy, vault="bv-pol", group="rg-backup"):
    return f"{emulator.vault_path(vault, group)}/backupPolicies/{policy}"


def _put(emulator, policy, body, vault="bv-pol"):
    return emulator.arm("PUT", _policy_path(emulator, policy, vault), json=body)


def test_sdk_policy_lifecycle(emulator):
    client = _vault(emulator)
    created = client.backup_policies.create_or_update("rg-backup", "bv-pol", "pol-weekly", pgflex_policy())
    assert created.name == "pol-weekly"
    assert created.type == "Microsoft.DataProtection/backupVaults/backupPolicies"
    assert created.id == _policy_path(emulator, "pol-weekly")
    assert created.properties.datasource_types == [PGFLEX]
    got = client.backup_policies.get("rg-backup", "bv-pol", "pol-weekly").as_dict()
    tags = got["properties"]["policyRules"][0]["trigger"]["taggingCriteria"]
    assert [(tag["tagInfo"]["tagName"], tag["tagInfo"]["id"], tag["taggingPriority"]) for tag in tags] == [
        ("Default", "Default_", 99), ("Weekly", "Weekly_", 20), ("Monthly", "Monthly_", 15), ("Yearly", "Yearly_", 10)]
    assert [item.name for item in client.backup_policies.list("rg-backup", "bv-pol")] == ["pol-weekly"]
    client.backup_policies.delete("rg-backup", "bv-pol", "pol-weekly")
    with pytest.raises(ResourceNotFoundError):
        client.backup_policies.get("rg-backup", "bv-pol", "pol-weekly")
    assert list(client.backup_policies.list("rg-backup", "bv-pol")) == []


def test_put_is_not_long_running_and_answers_200_with_the_policy(emulator):
    _vault(emulator)
    body = pgflex_policy()
    body["properties"]["name"] = "sent-by-the-cli"  # not a model field: the service drops it
    response = _put(emulator, "pol-1", body)
    assert response.status_code == 200, response.text
    assert "Azure-AsyncOperation" not in response.headers and "Location" not in response.headers
    answer = response.json()
    assert list(answer) == ["properties", "id", "name", "type"]
    assert "name" not in answer["properties"]
    assert answer["properties"]["objectType"] == "BackupPolicy"
    again = _put(emulator, "pol-1", pgflex_policy())
    assert again.status_code == 200 and again.json() == answer
    changed = _put(emulator, "pol-1", pgflex_policy(weekly="P8W"))
    assert changed.status_code == 400 and changed.json()["error"]["code"] == "UserErrorBMSUpdatePolicyNotSupported"


def test_the_spec_example_round_trips_as_documented(emulator):
    _vault(emulator)
    answer = _put(emulator, "OSSDBPolicy", EXAMPLE_REQUEST).json()
    expected = copy.deepcopy(EXAMPLE_REQUEST["properties"])
    for tag in expected["policyRules"][0]["trigger"]["taggingCriteria"]:
        tag["tagInfo"]["id"] = tag["tagInfo"]["tagName"] + "_"
    assert json.dumps(answer["properties"], sort_keys=True) == json.dumps(expected, sort_keys=True)
    got = emulator.arm("GET", _policy_path(emulator, "OSSDBPolicy")).json()
    assert got == answer


def test_enum_case_is_normalised(emulator):
    _vault(emulator)
    body = pgflex_policy()
    rule = body["properties"]["policyRules"][0]
    rule["dataStore"]["dataStoreType"] = "vaultstore"
    rule["trigger"]["taggingCriteria"][1]["criteria"][0]["absoluteCriteria"] = ["firstofweek"]
    body["properties"]["datasourceTypes"] = [PGFLEX.lower()]
    answer = _put(emulator, "pol-case", body).json()["properties"]
    assert answer["datasourceTypes"] == [PGFLEX]
    assert answer["policyRules"][0]["dataStore"]["dataStoreType"] == "VaultStore"
    assert answer["policyRules"][0]["trigger"]["taggingCriteria"][1]["criteria"][0]["absoluteCriteria"] == [
        "FirstOfWeek"]


def _without_default(body):
    rules = body["properties"]["policyRules"]
    body["properties"]["policyRules"] = [rule for rule in rules if rule["name"] != "Default"]
    tags = body["properties"]["policyRules"][0]["trigger"]["taggingCriteria"]
    tags[:] = [tag for tag in tags if tag["tagInfo"]["tagName"] != "Default"]
    return body


def _set(path, value):
    def change(body):
        target = body
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return body
    return change


BACKUP_RULE = ("properties", "policyRules", 0)
BAD_BODIES = {
    "no default retention rule": (_without_default, "default retention rule"),
    "daily schedule": (_set(BACKUP_RULE + ("trigger", "schedule", "repeatingTimeIntervals"),
                            ["R/2024-01-07T02:00:00+00:00/P1D"]), "only weekly"),
    "hourly schedule": (_set(BACKUP_RULE + ("trigger", "schedule", "repeatingTimeIntervals"),
                             ["R/2024-01-07T02:00:00+00:00/PT4H"]), "only weekly"),
    "compact interval": (_set(BACKUP_RULE + ("trigger", "schedule", "repeatingTimeIntervals"),
                              ["R/2024-01-07T0200/P1W"]), "repeating time interval"),
    "bad duration": (_set(("properties", "policyRules", 2, "lifecycles", 0, "deleteAfter", "duration"), "12 weeks"),
                     "not a valid ISO 8601 duration"),
    "more than ten years": (_set(("properties", "policyRules", 4, "lifecycles", 0, "deleteAfter", "duration"),
                                 "P11Y"), "10 years"),
    "wrong policy objectType": (_set(("properties", "objectType"), "Policy"), "properties.objectType"),
    "wrong rule objectType": (_set(("properties", "policyRules", 1, "objectType"), "RetentionRule"),
                              "policyRules[1].objectType"),
    "wrong delete option": (_set(("properties", "policyRules", 1, "lifecycles", 0, "deleteAfter", "objectType"),
                                 "RelativeDeleteOption"), "deleteAfter.objectType"),
    "unknown datasource": (_set(("properties", "datasourceTypes"), ["Microsoft.Sql/servers"]), "not supported"),
    "no policy rules": (_set(("properties", "policyRules"), KeyError), "properties.policyRules"),
    "no properties": (_set(("properties",), KeyError), "'properties' is missing"),
    "lifecycle without deleteAfter": (_set(("properties", "policyRules", 1, "lifecycles", 0, "deleteAfter"), KeyError),
                                      "deleteAfter"),
    "no schedule": (_set(BACKUP_RULE + ("trigger", "schedule"), KeyError), "trigger.schedule"),
    "tag without rule": (_set(BACKUP_RULE + ("trigger", "taggingCriteria", 1, "tagInfo", "tagName"), "Daily"),
                         "does not match any retention rule"),
    "incremental backups": (_set(BACKUP_RULE + ("backupParameters", "backupType"), "Incremental"), "Full backups"),
    "operational store": (_set(BACKUP_RULE + ("dataStore", "dataStoreType"), "OperationalStore"), "VaultStore"),
    "bad weekday": (_set(BACKUP_RULE + ("trigger", "taggingCriteria", 1, "criteria", 0, "daysOfTheWeek"), ["Sun"]),
                    "daysOfTheWeek[0]"),
    "no priority": (_set(BACKUP_RULE + ("trigger", "taggingCriteria", 1, "taggingPriority"), KeyError),
                    "taggingPriority"),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_invalid_bodies_get_400_with_an_arm_error_and_nothing_is_stored(emulator, case):
    _vault(emulator)
    change, words = BAD_BODIES[case]
    response = _put(emulator, "pol-bad", change(pgflex_policy()))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BMSUserErrorInvalidInput"
    assert words in error["message"] or words in error["additionalInfo"][0]["info"]["target"], error
    assert error["additionalInfo"][0]["type"] == "UserFacingError"
    assert emulator.arm("GET", _policy_path(emulator, "pol-bad")).status_code == 404


def test_sdk_surfaces_the_validation_error(emulator):
    client = _vault(emulator)
    body = pgflex_policy(intervals=["R/2024-01-07T02:00:00+00:00/P1D"])
    with pytest.raises(HttpResponseError) as caught:
        client.backup_policies.create_or_update("rg-backup", "bv-pol", "pol-daily", body)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "BMSUserErrorInvalidInput"


def test_several_weekdays_and_other_criteria_are_accepted(emulator):
    _vault(emulator)
    body = pgflex_policy(intervals=["R/2024-01-07T02:00:00+00:00/P1W", "R/2024-01-10T02:00:00+00:00/P1W"])
    tags = body["properties"]["policyRules"][0]["trigger"]["taggingCriteria"]
    tags[2]["criteria"] = [{"objectType": "ScheduleBasedBackupCriteria", "daysOfTheWeek": ["Sunday"],
                            "weeksOfTheMonth": ["First"]}]
    tags[3]["criteria"] = [{"objectType": "ScheduleBasedBackupCriteria", "monthsOfYear": ["January"],
                            "daysOfMonth": [{"date": 1}, {"isLast": True}]}]
    response = _put(emulator, "pol-many", body)
    assert response.status_code == 200, response.text
    stored = response.json()["properties"]["policyRules"][0]["trigger"]["taggingCriteria"][3]["criteria"][0]
    assert stored["daysOfMonth"] == [{"date": 1, "isLast": False}, {"isLast": True}]


def test_generic_criteria_as_the_az_cli_writes_them_are_accepted(emulator):
    # ``az dataprotection backup-policy tag create-generic-criteria`` writes snake_case keys and {"is_last": true}.
    _vault(emulator)
    body = pgflex_policy()
    tags = body["properties"]["policyRules"][0]["trigger"]["taggingCriteria"]
    tags[2]["criteria"] = [{"object_type": "ScheduleBasedBackupCriteria", "days_of_the_week": ["sunday"],
                            "weeks_of_the_month": ["Last"], "months_of_year": None,
                            "days_of_month": [{"date": 7, "is_last": False}, {"is_last": True}]}]
    response = _put(emulator, "pol-cli", body)
    assert response.status_code == 200, response.text
    stored = response.json()["properties"]["policyRules"][0]["trigger"]["taggingCriteria"][2]["criteria"][0]
    assert stored == {"daysOfTheWeek": ["Sunday"], "weeksOfTheMonth": ["Last"],
                      "daysOfMonth": [{"date": 7, "isLast": False}, {"isLast": True}],
                      "objectType": "ScheduleBasedBackupCriteria"}
    # What the tools themselves refuse stays refused: a date past 28, an unknown weekday.
    for criterion in ({"objectType": "ScheduleBasedBackupCriteria", "daysOfMonth": [{"date": 29}]},
                      {"objectType": "ScheduleBasedBackupCriteria", "daysOfTheWeek": ["Funday"]}):
        tags[2]["criteria"] = [criterion]
        assert _put(emulator, "pol-cli-bad", body).status_code == 400, criterion


def test_other_datasources_are_not_held_to_the_postgres_rules(emulator):
    _vault(emulator)
    disk = pgflex_policy(intervals=["R/2024-01-07T02:00:00+00:00/PT4H"])
    disk["properties"]["datasourceTypes"] = ["Microsoft.Compute/disks"]
    rule = disk["properties"]["policyRules"][0]
    rule["backupParameters"]["backupType"] = "Incremental"
    assert _put(emulator, "pol-disk", disk).status_code == 200


def test_delete_answers_200_then_204(emulator):
    _vault(emulator)
    assert _put(emulator, "pol-del", pgflex_policy()).status_code == 200
    first = emulator.arm("DELETE", _policy_path(emulator, "pol-del"))
    assert first.status_code == 200 and first.text == ""
    assert emulator.arm("DELETE", _policy_path(emulator, "pol-del")).status_code == 204


def test_missing_vault_and_missing_policy_are_404(emulator):
    missing_vault = emulator.arm("GET", _policy_path(emulator, "pol", vault="bv-none"))
    assert missing_vault.status_code == 404
    assert _put(emulator, "pol", pgflex_policy(), vault="bv-none").status_code == 404
    _vault(emulator)
    missing = emulator.arm("GET", _policy_path(emulator, "pol-none"))
    assert missing.status_code == 404 and emulator.error_code(missing) == "ResourceNotFound"


def test_list_pages_with_next_link(emulator):
    client = _vault(emulator)
    for index in range(12):
        assert _put(emulator, f"pol-{index:02d}", pgflex_policy()).status_code == 200
    first_page = emulator.arm("GET", f"{emulator.vault_path('bv-pol')}/backupPolicies").json()
    assert len(first_page["value"]) == 10 and "nextLink" in first_page
    names = [item.name for item in client.backup_policies.list("rg-backup", "bv-pol")]
    assert names == [f"pol-{index:02d}" for index in range(12)]


def test_policies_go_with_their_vault(emulator):
    client = _vault(emulator)
    assert _put(emulator, "pol-gone", pgflex_policy()).status_code == 200
    client.backup_vaults.begin_delete("rg-backup", "bv-pol").result()
    _vault(emulator)
    assert emulator.arm("GET", _policy_path(emulator, "pol-gone")).status_code == 404


def test_reader_may_read_but_not_write(emulator):
    _vault(emulator)
    assert _put(emulator, "pol-r", pgflex_policy()).status_code == 200
    assert emulator.arm("GET", _policy_path(emulator, "pol-r"), env_file="env-reader.sh").status_code == 200
    denied = emulator.arm("PUT", _policy_path(emulator, "pol-r"), env_file="env-reader.sh", json=pgflex_policy())
    assert denied.status_code == 403 and emulator.error_code(denied) == "AuthorizationFailed"


# ------------------------------------------------------------------ in-use refusals, driven in-process through hooks


@pytest.fixture
def local():
    """An in-process store with a vault, and a way to call the policy handlers as the dispatcher does."""
    from emulator.resources import policies  # noqa: F401 - registers the routes and hooks

    registry.load_resource_modules()
    store = Store(Settings())
    store.reset()
    group = store.table("resourceGroups")
    group_id = [record["id"] for record in group.values() if record["name"] == "rg-backup"][0]
    vault_id = f"{group_id}/providers/Microsoft.DataProtection/backupVaults/bv-local"
    store.table("backupVaults")[vault_id.lower()] = {"id": vault_id, "name": "bv-local", "location": "eastus"}
    subscription = group_id.split("/")[2]
    users = {}

    def fake_users(store_, policy_id):
        return users.get(policy_id.lower())

    def fake_soft_deleted(store_, policy_id):
        return users.get("soft:" + policy_id.lower())

    registry.REGISTRY.hooks.setdefault("policy_users", []).append(fake_users)
    registry.REGISTRY.hooks.setdefault("policy_soft_deleted_users", []).append(fake_soft_deleted)

    def call(method, name, body=None):
        handler = {"PUT": policies.put_policy, "GET": policies.get_policy, "DELETE": policies.delete_policy}[method]
        path = f"{vault_id}/backupPolicies/{name}"
        request = ArmRequest(method=method, path=path, query={}, base_url="https://emulator.invalid",
                             values={"subscription": subscription, "resource_group": "rg-backup", "vault": "bv-local",
                                     "policy": name}, api_version="2026-06-01", caller=None, store=store,
                             settings=store.settings, raw_body=json.dumps(body).encode() if body else b"")
        return handler(request)

    yield type("Local", (), {"call": staticmethod(call), "users": users, "vault_id": vault_id, "store": store})
    registry.REGISTRY.hooks["policy_users"].remove(fake_users)
    registry.REGISTRY.hooks["policy_soft_deleted_users"].remove(fake_soft_deleted)


def test_deleting_a_policy_in_use_fails_and_deletes_nothing(local):
    assert local.call("PUT", "pol-used", pgflex_policy()).status == 200
    policy_id = f"{local.vault_id}/backupPolicies/pol-used".lower()
    local.users[policy_id] = ["pg-prod-1"]
    with pytest.raises(ArmError) as caught:
        local.call("DELETE", "pol-used")
    error = caught.value
    assert (error.status, error.code) == (400, "UserErrorDppPolicyObjectInUse")
    assert error.message == ("Cannot delete the backup policy as one or more backup instances have been configured "
                             "for protection with this policy.")
    assert error.body()["error"]["additionalInfo"][0]["info"]["recommendedAction"]
    assert local.call("GET", "pol-used").status == 200
    local.users[policy_id] = []
    local.users["soft:" + policy_id] = ["pg-old"]
    with pytest.raises(ArmError) as soft:
        local.call("DELETE", "pol-used")
    assert soft.value.code == "UserErrorPolicyAssociatedWithSoftDeletedItems"
    local.users["soft:" + policy_id] = None
    assert local.call("DELETE", "pol-used").status == 200


def test_updating_a_policy_in_use_is_refused_but_an_identical_put_is_not(local):
    assert local.call("PUT", "pol-used", pgflex_policy()).status == 200
    local.users[f"{local.vault_id}/backupPolicies/pol-used".lower()] = ["pg-prod-1"]
    with pytest.raises(ArmError) as caught:
        local.call("PUT", "pol-used", pgflex_policy(weekly="P4W"))
    assert (caught.value.status, caught.value.code) == (400, "UserErrorBMSUpdatePolicyNotSupported")
    assert caught.value.message == "Update of existing policy is not supported."
    assert caught.value.body()["error"]["additionalInfo"][0]["info"]["recommendedAction"] == [
        "Please create a new policy."]
    assert local.call("PUT", "pol-used", pgflex_policy()).status == 200
    stored = local.call("GET", "pol-used").body["properties"]["policyRules"]
    weekly = [rule for rule in stored if rule["name"] == "Weekly"][0]
    assert weekly["lifecycles"][0]["deleteAfter"]["duration"] == "P12W"


def test_updating_a_policy_nothing_uses_is_refused_too(local):
    assert local.call("PUT", "pol-free", pgflex_policy()).status == 200
    with pytest.raises(ArmError) as caught:
        local.call("PUT", "pol-free", pgflex_policy(weekly="P4W"))
    assert (caught.value.status, caught.value.code) == (400, "UserErrorBMSUpdatePolicyNotSupported")
    stored = local.call("GET", "pol-free").body["properties"]["policyRules"]
    assert [rule for rule in stored if rule["name"] == "Weekly"][0]["lifecycles"][0]["deleteAfter"]["duration"] == \
        "P12W"


def test_find_policy_serves_other_resource_modules(local):
    from emulator.resources import policies

    local.call("PUT", "Pol-Mixed", pgflex_policy())
    record = policies.find_policy(local.store, f"{local.vault_id}/backupPolicies/pol-mixed/".upper())
    assert record["name"] == "Pol-Mixed"
    assert policies.render_policy(record)["properties"]["policyRules"][0]["trigger"]["taggingCriteria"][0][
        "tagInfo"]["id"] == "Default_"
    assert policies.policy_users(local.store, record["id"]) == []
