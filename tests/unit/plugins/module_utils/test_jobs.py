"""Backup jobs: reading the service's job, filters, time windows and waiting until a job ends."""

from datetime import datetime, timezone

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import jobs
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.fakes import Clock

VAULT_ID = "/subscriptions/s/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1"
SERVER_ID = "/subscriptions/s/resourceGroups/rg-pg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1"


def job(job_id, operation="Backup", category="Backup", user=True, status="Completed", start="2026-01-10T02:00:00Z",
        end=None, server=SERVER_ID, instance="i1", errors=None, duration=None, **extra):
    props = {"operation": operation, "operationCategory": category, "isUserTriggered": user, "status": status,
             "startTime": start, "dataSourceId": server, "dataSourceName": server.rsplit("/", 1)[-1],
             "backupInstanceId": VAULT_ID + "/backupInstances/" + instance, "policyName": "weekly",
             "extendedInfo": {"additionalDetails": {"RetentionTag": "Weekly", "PolicyRuleName": "BackupWeekly"},
                              "subTasks": [{"taskId": 1, "taskName": "Trigger Backup", "taskStatus": "Completed"},
                                           {"taskId": 2, "taskName": "Transfer data", "taskStatus": "Started",
                                            "taskProgress": "40%"}]}}
    if end:
        props["endTime"] = end
    if errors:
        props["errorDetails"] = errors
    if duration:
        props["duration"] = duration
    props.update(extra)
    return {"id": VAULT_ID + "/backupJobs/" + job_id, "name": job_id, "properties": props}


@pytest.mark.parametrize("props,expected", [
    ({"operation": "OnDemandBackup", "operationCategory": "Backup"}, "on_demand"),
    ({"operation": "ScheduledBackup", "operationCategory": "Backup"}, "scheduled"),
    ({"operation": "Backup", "operationCategory": "Backup", "isUserTriggered": True}, "on_demand"),
    ({"operation": "Backup", "operationCategory": "Backup", "isUserTriggered": False}, "scheduled"),
    ({"operation": "ConfigureBackup", "operationCategory": "Management"}, "configure"),
    ({"operation": "ConfigureProtection", "operationCategory": "Backup"}, "configure"),
    ({"operation": "Restore", "operationCategory": "Restore"}, "restore"),
    ({"operation": "RestoreAsFiles", "operationCategory": "Restore"}, "restore"),
    ({"operation": "Tiering", "operationCategory": "Tiering"}, "other"),
])
def test_kind(props, expected):
    assert jobs.kind(props) == expected


@pytest.mark.parametrize("status,expected", [
    ("InProgress", "in_progress"), ("Started", "in_progress"), ("Completed", "completed"),
    ("CompletedWithWarnings", "completed_with_warnings"), ("Failed", "failed"), ("Cancelled", "cancelled"),
    ("Canceled", "cancelled"), ("Succeeded", "completed"), ("SomethingNew", "something_new"),
])
def test_readable_status(status, expected):
    assert jobs.readable_status(status) == expected


@pytest.mark.parametrize("text,seconds", [
    ("00:00:00", 0), ("00:04:16.2830187", 256.283), ("1.02:00:00", 93600), ("PT4M16.28S", 256.28),
    ("P1D", 86400), ("PT12H", 43200), ("P1W", 604800), ("", None), (None, None), ("bogus", None), ("P", None),
])
def test_parse_duration_seconds(text, seconds):
    assert jobs.parse_duration_seconds(text) == seconds


def test_parse_time_accepts_azure_spellings():
    assert jobs.parse_time("2021-03-17T03:00:03.7604146Z") == datetime(2021, 3, 17, 3, 0, 3, 760414,
                                                                       tzinfo=timezone.utc)
    assert jobs.parse_time("2026-01-01T00:00:00.5+01:00").utcoffset().total_seconds() == 3600
    assert jobs.parse_time("2026-01-01T00:00:00").tzinfo == timezone.utc
    with pytest.raises(jobs.JobInputError, match="since 'yesterday'"):
        jobs.parse_time("yesterday", "since")


def test_window():
    now = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
    start, end = jobs.window(last="P1D", now=now)
    assert start == datetime(2026, 1, 9, 12, 0, tzinfo=timezone.utc) and end is None
    start, end = jobs.window(since="2026-01-01T00:00:00Z", until="2026-01-02T00:00:00Z", now=now)
    assert (end - start).days == 1
    with pytest.raises(jobs.JobInputError, match="mutually exclusive"):
        jobs.window(since="2026-01-01T00:00:00Z", last="P1D")
    with pytest.raises(jobs.JobInputError, match="ISO 8601 duration"):
        jobs.window(last="1 day")
    with pytest.raises(jobs.JobInputError, match="is after"):
        jobs.window(since="2026-01-02T00:00:00Z", until="2026-01-01T00:00:00Z")


def test_to_readable():
    body = job("j1", status="Failed", end="2026-01-10T02:10:00Z", errors=[
        {"code": "UserErrorPgServerStopped", "message": "Server stopped.", "recommendedAction": ["Start it."]},
        {"code": "Second", "message": "also"}])
    readable = jobs.to_readable(body)
    assert readable["job_id"] == "j1" and readable["operation"] == "on_demand"
    assert readable["status"] == "failed" and readable["terminal"] and not readable["succeeded"]
    assert readable["duration_seconds"] == 600
    assert readable["error_code"] == "UserErrorPgServerStopped" and readable["recommended_action"] == ["Start it."]
    assert len(readable["errors"]) == 2
    assert readable["backup_instance_name"] == "i1" and readable["server_name"] == "pg1"
    assert readable["retention_tag"] == "Weekly" and readable["rule_name"] == "BackupWeekly"
    assert readable["progress"]["sub_tasks_done"] == 1 and readable["progress"]["sub_tasks_total"] == 2
    assert readable["progress"]["sub_tasks"][1]["progress"] == "40%"
    message = jobs.failure_message(readable)
    assert "UserErrorPgServerStopped: Server stopped." in message and "Start it." in message and "Second" in message


def test_select_filters_and_sorts_newest_first():
    bodies = [
        job("a", start="2026-01-01T02:00:00Z"),
        job("b", start="2026-01-08T02:00:00Z", user=False, status="InProgress"),
        job("c", start="2026-01-09T02:00:00Z", operation="Restore", category="Restore"),
        job("d", start="2026-01-09T03:00:00Z", server=SERVER_ID.replace("pg1", "pg2"), instance="i2"),
        job("e", start="2026-01-09T04:00:00Z", operation="ConfigureBackup", category="Management"),
    ]
    ids = [j["job_id"] for j in jobs.select(bodies, {})]
    assert ids == ["e", "d", "c", "b", "a"]
    assert [j["job_id"] for j in jobs.select(bodies, {"server_id": SERVER_ID.upper()})] == ["e", "c", "b", "a"]
    assert [j["job_id"] for j in jobs.select(bodies, {"backup_instance": "I2"})] == ["d"]
    assert [j["job_id"] for j in jobs.select(bodies, {"operations": ["scheduled", "on_demand"]})] == ["d", "b", "a"]
    assert [j["job_id"] for j in jobs.select(bodies, {"operations": ["configure"]})] == ["e"]
    assert [j["job_id"] for j in jobs.select(bodies, {"statuses": ["in_progress"]})] == ["b"]
    start, end = jobs.window(since="2026-01-08T00:00:00Z", until="2026-01-09T02:30:00Z")
    assert [j["job_id"] for j in jobs.select(bodies, {"start": start, "end": end})] == ["c", "b"]


class Api:
    vault_name = "bv1"

    def __init__(self, bodies, script=None):
        self.bodies = {b["name"]: b for b in bodies}
        self.script = script or {}

    def job(self, job_id):
        body = self.bodies.get(job_id)
        if body and self.script.get(job_id):
            body["properties"].update(self.script[job_id].pop(0))
        return body

    def jobs(self):
        for job_id, steps in self.script.items():
            if steps and job_id in self.bodies:
                self.bodies[job_id]["properties"].update(steps.pop(0))
        return list(self.bodies.values())


def info(api, **params):
    base = {"job_id": None, "backup_instance_name": None, "operation": None, "status": None, "since": None,
            "until": None, "last": None, "wait_for": None, "wait_timeout": 60}
    base.update(params)
    clock = Clock()
    return jobs.job_info(api, base, jobs.filters_from_params(base), sleep=clock.sleep, clock=clock)


def test_job_info_by_id_and_waiting():
    api = Api([job("j1", status="InProgress")], {"j1": [{}, {}, {"status": "Completed"}]})
    found = info(api, job_id=VAULT_ID + "/backupJobs/j1", wait_for="completed")
    assert [j["status"] for j in found] == ["completed"]
    with pytest.raises(jobs.JobInputError, match="does not exist"):
        info(api, job_id="nope")


def test_job_info_wait_for_completed_fails_with_the_error_and_terminal_does_not():
    def failing():
        return Api([job("j1", status="InProgress")], {"j1": [{}, {"status": "Failed", "errorDetails": [
            {"code": "E1", "message": "broken"}]}]})
    with pytest.raises(jobs.JobInputError, match="E1: broken"):
        info(failing(), job_id="j1", wait_for="completed")
    found = info(failing(), job_id="j1", wait_for="terminal")
    assert found[0]["status"] == "failed"


def test_job_info_waits_for_every_listed_job_even_when_a_status_filter_no_longer_matches():
    api = Api([job("a", status="InProgress"), job("b", status="InProgress"), job("c", status="Completed")],
              {"a": [{}, {}, {"status": "Completed"}], "b": [{}, {"status": "Completed"}]})
    found = info(api, status=["in_progress"], wait_for="terminal")
    assert sorted(j["job_id"] for j in found) == ["a", "b"] and all(j["terminal"] for j in found)


def test_job_info_wait_times_out():
    api = Api([job("a", status="InProgress")])
    with pytest.raises(jobs.azure_waits.WaitTimeout, match="a: InProgress"):
        info(api, job_id="a", wait_for="terminal", wait_timeout=5)


def test_retention_tag_and_adhoc_body():
    assert jobs.resolve_retention_tag("weekly", ["Default", "Weekly"]) == "Weekly"
    with pytest.raises(jobs.JobInputError, match="has: Default, Weekly"):
        jobs.resolve_retention_tag("Yearly", ["Default", "Weekly"])
    assert jobs.adhoc_backup_body("BackupWeekly", "Default") == {
        "backupRuleOptions": {"ruleName": "BackupWeekly", "triggerOption": {"retentionTagOverride": "Default"}}}
