"""Ad hoc backups, jobs, recovery points and the job failure fault, through the real SDK and raw REST."""

import re
from datetime import datetime

import pytest

from emulator.clock import add_duration
from emulator.resources import jobs
from tests.emulator.dp_helpers import GROUP, instance_path, protected_instance, wait_for

ADHOC = {"backupRuleOptions": {"ruleName": "BackupWeekly", "triggerOption": {"retentionTagOverride": "Default"}}}
TIMESPAN = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d{2})?$")
ISO_DURATION = re.compile(r"^P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def _parse(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")[:26] + "+00:00") if text else None


def _job_name(job_id):
    return job_id.rsplit("/", 1)[1]


def _wait_job(client, name, statuses=("Completed", "Failed")):
    return wait_for(lambda: client.jobs.get(GROUP, "bv-bi", name).as_dict(),
                    lambda job: job["properties"]["status"] in statuses)


def _backup(emulator, tag="Default", name="bi-orders"):
    body = {"backupRuleOptions": {"ruleName": "BackupWeekly", "triggerOption": {"retentionTagOverride": tag}}}
    return emulator.arm("POST", f"{instance_path(emulator, name)}/backup", json=body)


def _hold_jobs(emulator):
    """Backup jobs stay InProgress until ``emulator.control("DELETE", "holds")``, however slow the machine."""
    return emulator.control("POST", "holds", json={"kind_regex": "^backupJobs/run$"})


def test_adhoc_backup_job_and_recovery_point(emulator):
    client, _vault, policy_id = protected_instance(emulator)
    _hold_jobs(emulator)
    result = client.backup_instances.begin_adhoc_backup(GROUP, "bv-bi", "bi-orders", ADHOC).result()
    # As recorded: the job's full id, spelled 'resourcegroups' / 'BackupVaults'.
    assert re.match(rf"^/subscriptions/{emulator.subscription}/resourcegroups/rg-backup/providers/"
                    r"Microsoft.DataProtection/BackupVaults/bv-bi/backupJobs/[0-9a-f-]{36}$", result.job_id)
    name = _job_name(result.job_id)
    running = client.jobs.get(GROUP, "bv-bi", name).as_dict()
    props = running["properties"]
    assert running["type"] == "Microsoft.DataProtection/backupVaults/backupJobs"
    assert props["status"] == "InProgress" and props["duration"] == "PT0S" and props.get("endTime") is None
    assert props["operation"] == "Backup" and props["operationCategory"] == "Backup"
    assert props["isUserTriggered"] is True and props["supportedActions"] == ["Cancellable"]
    assert props["backupInstanceId"] == instance_path(emulator, "bi-orders")
    assert props["policyId"] == policy_id and props["policyName"] == "pol-pg"
    assert props["dataSourceType"] == "Microsoft.DBforPostgreSQL/flexibleServers"
    assert props["dataSourceName"] == "pg-eus-orders" and props["dataSourceLocation"] == "eastus"
    assert props["vaultName"] == "bv-bi" and props["sourceResourceGroup"] == "rg-pg-eastus"
    assert props["extendedInfo"]["subTasks"][0]["taskStatus"] == "InProgress"
    # Real Azure reports an on-demand backup kept by the default rule with the tag in lower case.
    assert props["extendedInfo"]["additionalDetails"]["RetentionTag"] == "default"
    assert client.jobs.get(GROUP, "bv-bi", name).as_dict()["properties"]["status"] == "InProgress"
    assert emulator.control("DELETE", "holds") == {"released": 1}
    done = _wait_job(client, name)["properties"]
    # GET one job: ISO 8601 duration; the list: a TimeSpan (both as recorded).
    assert done["status"] == "Completed" and ISO_DURATION.match(done["duration"]) and done["endTime"]
    assert done["supportedActions"] == [] and done["errorDetails"] is None
    points = [item.as_dict() for item in client.recovery_points.list(GROUP, "bv-bi", "bi-orders")]
    assert len(points) == 1
    point = points[0]
    rp = point["properties"]
    assert rp["objectType"] == "AzureBackupDiscreteRecoveryPoint" and rp["recoveryPointType"] == "Full"
    assert rp["retentionTagName"] == "default" and rp["policyName"] == "pol-pg"
    assert rp["isPartialRP"] is False
    assert re.match(r"^[0-9a-f]{32}$", point["name"]) and rp["friendlyName"] == point["name"]
    assert rp["recoveryPointTime"] == done["startTime"]
    assert _parse(rp["expiryTime"]) == add_duration(_parse(rp["recoveryPointTime"]), "P3M")
    store = rp["recoveryPointDataStoresDetails"][0]
    assert store["type"] == "VaultStore" and store["state"] == "COMMITTED" and store["expiryTime"] == rp["expiryTime"]
    one = client.recovery_points.get(GROUP, "bv-bi", "bi-orders", point["name"]).as_dict()
    assert one == point
    listed = [item.as_dict() for item in client.jobs.list(GROUP, "bv-bi")]
    assert [item["name"] for item in listed] == [name] and listed[0]["properties"].get("extendedInfo") is None
    assert TIMESPAN.match(listed[0]["properties"]["duration"])


def test_adhoc_backup_headers_and_operation_status_carry_the_job(emulator):
    protected_instance(emulator)
    response = _backup(emulator)
    assert response.status_code == 202 and response.content == b""
    assert "/backupVaults/bv-bi/operationStatus/" in response.headers["Azure-AsyncOperation"]
    location = response.headers["Location"]
    assert "/providers/Microsoft.DataProtection/locations/eastus/operationResults/" in location
    status_path = response.headers["Azure-AsyncOperation"].replace(emulator.url, "").split("?")[0]
    status = wait_for(lambda: emulator.arm("GET", status_path).json(), lambda body: body["status"] == "Succeeded")
    assert status["properties"]["objectType"] == "OperationJobExtendedInfo"
    result = emulator.arm("GET", location.replace(emulator.url, "").split("?")[0]).json()
    assert result == {"objectType": "OperationJobExtendedInfo", "jobId": status["properties"]["jobId"]}
    # The job id the service hands out resolves (ARM matches paths without case).
    job = emulator.arm("GET", result["jobId"])
    assert job.status_code == 200 and job.json()["name"] == _job_name(result["jobId"])


def test_retention_tag_override_keeps_the_point_for_that_rule(emulator):
    client, _vault, _policy = protected_instance(emulator)
    response = _backup(emulator, "yearly")
    assert response.status_code == 202
    wait_for(lambda: list(client.recovery_points.list(GROUP, "bv-bi", "bi-orders")), lambda items: len(items) == 1)
    point = next(iter(client.recovery_points.list(GROUP, "bv-bi", "bi-orders"))).as_dict()["properties"]
    assert point["retentionTagName"] == "Yearly"
    assert _parse(point["expiryTime"]) == add_duration(_parse(point["recoveryPointTime"]), "P10Y")


@pytest.mark.parametrize("body, fragment", [
    ({"backupRuleOptions": {"ruleName": "Nope", "triggerOption": {}}}, "ruleName"),
    ({"backupRuleOptions": {"ruleName": "BackupWeekly", "triggerOption": {"retentionTagOverride": "Daily"}}},
     "retentionTagOverride"),
    ({"backupRuleOptions": {"ruleName": "BackupWeekly"}}, "triggerOption"),
    ({}, "backupRuleOptions"),
])
def test_bad_adhoc_requests(emulator, body, fragment):
    protected_instance(emulator)
    response = emulator.arm("POST", f"{instance_path(emulator, 'bi-orders')}/backup", json=body)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]["message"]


def test_one_backup_at_a_time(emulator):
    protected_instance(emulator)
    _hold_jobs(emulator)
    assert _backup(emulator).status_code == 202
    second = _backup(emulator)
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "UserErrorMaxConcurrentOperationLimitReached"
    assert emulator.arm("POST", f"{instance_path(emulator, 'missing')}/backup", json=ADHOC).status_code == 404


def test_job_failure_fault(emulator):
    client, _vault, _policy = protected_instance(emulator)
    rules = emulator.control("POST", "faults", json={"job_failure": {
        "code": "UserErrorDatasourceUnreachable", "message": "The server could not be reached.", "count": 1}})
    assert rules[0]["kind"] == "job_failure" and rules[0]["remaining"] == 1
    assert any(rule.get("kind") == "job_failure" for rule in emulator.control("GET", "faults"))
    name = _job_name(client.backup_instances.begin_adhoc_backup(GROUP, "bv-bi", "bi-orders", ADHOC).result().job_id)
    failed = _wait_job(client, name)["properties"]
    assert failed["status"] == "Failed" and failed["endTime"]
    error = failed["errorDetails"][0]
    assert error["code"] == "UserErrorDatasourceUnreachable" and error["message"] == "The server could not be reached."
    assert error["recommendedAction"] and error["isUserError"] is True
    assert failed["extendedInfo"]["subTasks"][0]["taskStatus"] == "Failed"
    assert failed["extendedInfo"]["subTasks"][0]["additionalDetails"]["ErrorCode"] == "UserErrorDatasourceUnreachable"
    assert list(client.recovery_points.list(GROUP, "bv-bi", "bi-orders")) == []
    assert not [rule for rule in emulator.control("GET", "faults") if rule.get("kind") == "job_failure"]
    # The rule is used up: the next backup succeeds; other ARM calls never consumed it.
    name = _job_name(client.backup_instances.begin_adhoc_backup(GROUP, "bv-bi", "bi-orders", ADHOC).result().job_id)
    assert _wait_job(client, name)["properties"]["status"] == "Completed"


def test_job_failure_default_error_and_filters(emulator):
    client, _vault, _policy = protected_instance(emulator)
    emulator.control("POST", "faults", json=[{"job_failure": {"instance_regex": "^other$", "count": None}},
                                             {"job_failure": {}}])
    name = _job_name(client.backup_instances.begin_adhoc_backup(GROUP, "bv-bi", "bi-orders", ADHOC).result().job_id)
    error = _wait_job(client, name)["properties"]["errorDetails"][0]
    assert error["code"] == "PostgreSQLFlexOperationFailedUserError"
    assert error["innerError"]["code"] == "ServerNotReadyForLongTermBackup"
    # The real shape: details two levels deep, the root cause innermost, and the embedded inner error.
    server_error = error["details"][0]
    assert server_error["code"] == "PostgreSQLFlexServerError" and server_error["isUserError"] is True
    root = server_error["details"][0]
    assert root["code"] == "ServerNotReadyForLongTermBackup" and root["message"] and not root["details"]
    assert error["innerError"]["embeddedInnerError"]["code"] == "ServerNotReadyForLongTermBackup"
    remaining = [rule for rule in emulator.control("GET", "faults") if rule.get("kind") == "job_failure"]
    assert [rule["instance_regex"] for rule in remaining] == ["^other$"]
    assert emulator.control("DELETE", "faults")["removed"] == 1


@pytest.mark.parametrize("rule", [
    {"job_failure": {"count": 0}}, {"job_failure": {"nope": 1}}, {"job_failure": "x"},
    {"job_failure": {"instance_regex": "("}}, {"job_failure": {}, "method": "GET"},
])
def test_bad_job_failure_rules(emulator, rule):
    response = emulator.arm("POST", "/_emulator/faults", token=False, api_version=None, json=rule)
    assert response.status_code == 400, response.text


def test_classic_fault_rules_still_work(emulator):
    rules = emulator.control("POST", "faults", json={"method": "GET", "path_regex": "backupJobs", "status": 503})
    assert rules[0]["status"] == 503
    protected_instance(emulator)
    assert emulator.arm("GET", f"{emulator.vault_path('bv-bi')}/backupJobs").status_code == 503
    assert emulator.arm("GET", f"{emulator.vault_path('bv-bi')}/backupJobs").status_code == 200


def test_not_found_answers(emulator):
    protected_instance(emulator)
    vault = emulator.vault_path("bv-bi")
    assert emulator.arm("GET", f"{vault}/backupJobs/00000000-0000-0000-0000-000000000000").status_code == 404
    assert emulator.arm("GET", f"{instance_path(emulator, 'bi-orders')}/recoveryPoints/abc").status_code == 404
    assert emulator.arm("GET", f"{instance_path(emulator, 'missing')}/recoveryPoints").status_code == 404
    assert emulator.arm("GET", f"{emulator.vault_path('nope')}/backupJobs").status_code == 404


def test_recovery_point_filter(emulator):
    client, _vault, _policy = protected_instance(emulator)
    name = _job_name(client.backup_instances.begin_adhoc_backup(GROUP, "bv-bi", "bi-orders", ADHOC).result().job_id)
    _wait_job(client, name)
    path = f"{instance_path(emulator, 'bi-orders')}/recoveryPoints"
    before = "startDate eq '2000-01-01T00:00:00Z' and endDate eq '2001-01-01T00:00:00Z'"
    assert emulator.arm("GET", path, params={"$filter": before}).json()["value"] == []
    after = "startDate eq '2000-01-01T00:00:00Z'"
    assert len(emulator.arm("GET", path, params={"$filter": after}).json()["value"]) == 1
    assert len(emulator.arm("GET", path, params={"$filter": ""}).json()["value"]) == 1
    for bad in ("foo eq 1", "startDate eq 'yesterday'"):
        response = emulator.arm("GET", path, params={"$filter": bad})
        assert response.status_code == 400, bad


@pytest.mark.parametrize("seconds, iso, listed", [
    (219.67, "PT3M39.67S", "00:03:39.67"), (229.17, "PT3M49.17S", "00:03:49.17"), (0, "PT0S", "00:00:00"),
    (180, "PT3M", "00:03:00"), (93600, "P1DT2H", "1.02:00:00"),
])
def test_job_duration_formats(seconds, iso, listed):
    assert jobs.iso_duration(seconds) == iso and jobs.timespan(seconds) == listed


def test_scheduled_job_durations_as_recorded(emulator):
    client, _vault, _policy = protected_instance(emulator)
    emulator.control("POST", "clock", json={"advance": "P1W"})
    listed = [item.as_dict() for item in client.jobs.list(GROUP, "bv-bi")]
    assert [item["properties"]["duration"] for item in listed] == ["00:03:00"]
    one = client.jobs.get(GROUP, "bv-bi", listed[0]["name"]).as_dict()["properties"]
    assert one["duration"] == "PT3M" and one["supportedActions"] == []
