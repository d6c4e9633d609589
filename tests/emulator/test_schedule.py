"""The emulator's schedule and retention engine: pure rules, then two simulated years on a protected instance."""

from datetime import date, datetime, timedelta, timezone

import pytest

from emulator import schedule
from tests.emulator.dp_helpers import GROUP, instance_path, policy_body, protected_instance, tag, wait_for

UTC = timezone.utc


def _utc(*parts):
    return datetime(*parts, tzinfo=UTC)


# ----------------------------------------------------------------------------------------- time zones


@pytest.mark.parametrize("name, expected", [
    ("UTC", "UTC"), ("W. Europe Standard Time", "Europe/Berlin"), ("w. europe standard time", "Europe/Berlin"),
    ("Pacific Standard Time", "America/Los_Angeles"), ("Europe/Paris", "Europe/Paris"), ("", "UTC"), (None, "UTC"),
])
def test_time_zone_names(name, expected):
    zone = schedule.resolve_zone(name)
    if expected == "UTC":
        assert zone.utcoffset(None) == timedelta(0)
    else:
        assert str(zone) == expected


def test_unknown_time_zone():
    with pytest.raises(ValueError):
        schedule.resolve_zone("Mars Standard Time")
    assert schedule.zone_or_utc("Mars Standard Time") is UTC


# ---------------------------------------------------------------------------------------- occurrences


def test_weekly_occurrences_in_utc():
    found = schedule.occurrences(["R/2024-01-07T02:00:00+00:00/P1W"], "UTC", _utc(2024, 1, 7, 2), _utc(2024, 2, 4, 2))
    assert found == [_utc(2024, 1, 14, 2), _utc(2024, 1, 21, 2), _utc(2024, 1, 28, 2), _utc(2024, 2, 4, 2)]
    assert schedule.occurrences(["R/2030-01-06T02:00:00+00:00/P1W"], "UTC", _utc(2024, 1, 1), _utc(2025, 1, 1)) == []


def test_several_days_of_the_week():
    intervals = ["R/2024-01-07T06:30:00+00:00/P1W", "R/2024-01-10T06:30:00+00:00/P1W"]  # Sunday and Wednesday
    found = schedule.occurrences(intervals, "UTC", _utc(2024, 3, 1), _utc(2024, 3, 15))
    assert found == [_utc(2024, 3, 3, 6, 30), _utc(2024, 3, 6, 6, 30), _utc(2024, 3, 10, 6, 30),
                     _utc(2024, 3, 13, 6, 30)]


def test_wall_clock_of_the_policy_time_zone_across_daylight_saving():
    # 02:00 in Berlin: 01:00 UTC in winter (CET), 00:00 UTC in summer (CEST, from 2024-03-31).
    found = schedule.occurrences(["R/2024-01-07T02:00:00+01:00/P1W"], "W. Europe Standard Time",
                                 _utc(2024, 3, 20), _utc(2024, 4, 10))
    assert found == [_utc(2024, 3, 24, 1), _utc(2024, 3, 31, 1), _utc(2024, 4, 7, 0)]
    # Without a time zone the start's own offset applies.
    assert schedule.occurrences(["R/2024-01-07T02:00:00+01:00/P1W"], None, _utc(2024, 4, 1), _utc(2024, 4, 10)) == \
        [_utc(2024, 4, 7, 1)]


def test_other_periods():
    assert schedule.occurrences(["R/2024-01-01T00:00:00Z/P1D"], "UTC", _utc(2024, 1, 1), _utc(2024, 1, 3)) == \
        [_utc(2024, 1, 2), _utc(2024, 1, 3)]
    assert schedule.occurrences(["R/2024-01-31T00:00:00Z/P1M"], "UTC", _utc(2024, 1, 1), _utc(2024, 4, 1)) == \
        [_utc(2024, 1, 31), _utc(2024, 2, 29), _utc(2024, 3, 31)]
    assert schedule.occurrences(["R/2024-01-01T00:00:00Z/PT12H"], "UTC", _utc(2024, 1, 1), _utc(2024, 1, 2)) == \
        [_utc(2024, 1, 1, 12), _utc(2024, 1, 2)]
    assert schedule.occurrences(["not an interval"], "UTC", _utc(2024, 1, 1), _utc(2024, 1, 2)) == []


# -------------------------------------------------------------------------------------------- tagging


def _criterion(**fields):
    return dict(fields, objectType="ScheduleBasedBackupCriteria")


@pytest.mark.parametrize("criterion, moment, firsts, expected", [
    (_criterion(absoluteCriteria=["FirstOfWeek"]), datetime(2024, 3, 3), {"FirstOfWeek"}, True),
    (_criterion(absoluteCriteria=["FirstOfWeek"]), datetime(2024, 3, 3), set(), False),
    (_criterion(absoluteCriteria=["AllBackup"]), datetime(2024, 3, 3), set(), True),
    (_criterion(daysOfTheWeek=["Sunday"]), datetime(2024, 3, 3), set(), True),
    (_criterion(daysOfTheWeek=["Monday", "Friday"]), datetime(2024, 3, 3), set(), False),
    (_criterion(weeksOfTheMonth=["First"]), datetime(2024, 3, 7), set(), True),
    (_criterion(weeksOfTheMonth=["Second"]), datetime(2024, 3, 8), set(), True),
    (_criterion(weeksOfTheMonth=["Fourth"]), datetime(2024, 3, 28), set(), True),
    (_criterion(weeksOfTheMonth=["Fourth"]), datetime(2024, 3, 29), set(), False),
    (_criterion(weeksOfTheMonth=["Last"]), datetime(2024, 3, 25), set(), True),  # 31 - 7 < 25
    (_criterion(weeksOfTheMonth=["Last"]), datetime(2024, 2, 23), set(), True),  # 29 days in 2024-02
    (_criterion(weeksOfTheMonth=["Last"]), datetime(2024, 3, 24), set(), False),
    (_criterion(monthsOfYear=["March"]), datetime(2024, 3, 3), set(), True),
    (_criterion(daysOfMonth=[{"date": 3}]), datetime(2024, 3, 3), set(), True),
    (_criterion(daysOfMonth=[{"isLast": True}]), datetime(2024, 2, 29), set(), True),
    (_criterion(daysOfMonth=[{"isLast": True}]), datetime(2024, 2, 28), set(), False),
    # Every field set must match: the first Sunday of March.
    (_criterion(daysOfTheWeek=["Sunday"], weeksOfTheMonth=["First"], monthsOfYear=["March"]), datetime(2024, 3, 3),
     set(), True),
    (_criterion(daysOfTheWeek=["Sunday"], weeksOfTheMonth=["First"], monthsOfYear=["March"]), datetime(2024, 3, 10),
     set(), False),
])
def test_criteria(criterion, moment, firsts, expected):
    assert schedule.criterion_matches(criterion, moment, firsts) is expected


def test_first_of_periods_start_weeks_on_sunday():
    tracker = schedule.FirstTracker()
    saturday = datetime(2024, 3, 2, 2)
    assert tracker.firsts(saturday) == {"FirstOfDay", "FirstOfWeek", "FirstOfMonth", "FirstOfYear"}
    tracker.record(saturday)
    assert tracker.firsts(datetime(2024, 3, 2, 5)) == set()
    assert tracker.firsts(datetime(2024, 3, 3, 2)) == {"FirstOfDay", "FirstOfWeek"}  # Sunday starts a new week
    assert schedule.week_start(date(2024, 3, 9)) == date(2024, 3, 3)


def test_priority_rule_lowest_number_wins():
    tags = [tag("Default", 99), tag("Weekly", 20, absoluteCriteria=["FirstOfWeek"]),
            tag("Monthly", 15, absoluteCriteria=["FirstOfMonth"]), tag("Yearly", 10, absoluteCriteria=["FirstOfYear"])]
    moment = datetime(2024, 3, 3, 2)
    assert schedule.choose_tag(tags, moment, {"FirstOfWeek", "FirstOfMonth", "FirstOfYear"}) == "Yearly"
    assert schedule.choose_tag(tags, moment, {"FirstOfWeek", "FirstOfMonth"}) == "Monthly"
    assert schedule.choose_tag(tags, moment, {"FirstOfWeek"}) == "Weekly"
    assert schedule.choose_tag(tags, moment, set()) == "Default"
    assert schedule.choose_tag(list(reversed(tags)), moment, {"FirstOfWeek", "FirstOfMonth"}) == "Monthly"


def test_expiry_uses_calendar_months_and_years():
    assert schedule.expiry_time(_utc(2024, 1, 31, 2), "P1M") == _utc(2024, 2, 29, 2)
    assert schedule.expiry_time(_utc(2024, 2, 29, 2), "P1Y") == _utc(2025, 2, 28, 2)
    assert schedule.expiry_time(_utc(2024, 1, 7, 2), "P12W") == _utc(2024, 3, 31, 2)
    assert schedule.expiry_time(_utc(2024, 1, 7, 2), None) is None


def test_plan_of_the_azure_tools_policy_over_a_year():
    """Hand-checked: weekly on Sunday 02:00 UTC, first-of-week/month/year tags, backups of 2024."""
    properties = policy_body()["properties"]
    planned = schedule.plan(properties, _utc(2024, 1, 1), _utc(2025, 1, 1), schedule.FirstTracker())
    tags = {moment.date(): name for moment, _local, _tag, name, _expiry in planned}
    assert len(tags) == 52  # 2024-01-07 ... 2024-12-29
    assert tags[date(2024, 1, 7)] == "Yearly"
    assert [day for day, name in tags.items() if name == "Monthly"] == [
        date(2024, 2, 4), date(2024, 3, 3), date(2024, 4, 7), date(2024, 5, 5), date(2024, 6, 2), date(2024, 7, 7),
        date(2024, 8, 4), date(2024, 9, 1), date(2024, 10, 6), date(2024, 11, 3), date(2024, 12, 1)]
    assert sum(1 for name in tags.values() if name == "Weekly") == 40
    assert "Default" not in tags.values()  # each weekly Sunday backup is the first of its week
    expiry = {moment.date(): end for moment, _local, _tag, _name, end in planned}
    assert expiry[date(2024, 1, 7)] == _utc(2034, 1, 7, 2)
    assert expiry[date(2024, 2, 4)] == _utc(2025, 2, 4, 2)
    assert expiry[date(2024, 1, 14)] == _utc(2024, 4, 7, 2)


def test_default_rule_when_nothing_matches():
    body = policy_body(intervals=("R/2024-01-01T02:00:00+00:00/P1D",),
                       tags=[tag("Default", 99), tag("Weekly", 20, daysOfTheWeek=["Sunday"])],
                       durations={"Default": "P7D", "Weekly": "P4W"})
    planned = schedule.plan(body["properties"], _utc(2024, 1, 1), _utc(2024, 1, 8), schedule.FirstTracker())
    assert [(moment.day, name) for moment, _local, _tag, name, _expiry in planned] == [
        (1, "Default"), (2, "Default"), (3, "Default"), (4, "Default"), (5, "Default"), (6, "Default"), (7, "Weekly")]


# ------------------------------------------------------------------------------- two simulated years


def _advance_to(emulator, target):
    now = datetime.fromisoformat(emulator.control("GET", "clock")["now"][:26] + "+00:00")
    seconds = (target - now).total_seconds()
    emulator.control("POST", "clock", json={"advance": f"PT{seconds:.3f}S"})


def _expected_points():
    """Hand-checked recovery points left on 2032-01-01 by weekly Sunday 02:00 UTC backups from 2030-01-01."""
    yearly = [(date(2030, 1, 6), date(2040, 1, 6)), (date(2031, 1, 5), date(2041, 1, 5))]
    monthly_days = [date(2031, 2, 2), date(2031, 3, 2), date(2031, 4, 6), date(2031, 5, 4), date(2031, 6, 1),
                    date(2031, 7, 6), date(2031, 8, 3), date(2031, 9, 7), date(2031, 10, 5), date(2031, 11, 2),
                    date(2031, 12, 7)]
    monthly = [(day, day.replace(year=2032)) for day in monthly_days]
    weekly_days = [date(2031, 10, 12), date(2031, 10, 19), date(2031, 10, 26), date(2031, 11, 9), date(2031, 11, 16),
                   date(2031, 11, 23), date(2031, 11, 30), date(2031, 12, 14), date(2031, 12, 21), date(2031, 12, 28)]
    weekly = [(day, day + timedelta(weeks=12)) for day in weekly_days]
    points = {day: ("Yearly", end) for day, end in yearly}
    points.update({day: ("Monthly", end) for day, end in monthly})
    points.update({day: ("Weekly", end) for day, end in weekly})
    return points


def test_two_years_of_scheduled_backups_tags_and_expiry(emulator):
    _advance_to(emulator, _utc(2030, 1, 1))
    client, _vault, _policy = protected_instance(emulator)
    emulator.control("POST", "clock", json={"advance": "P1Y"})
    emulator.control("POST", "clock", json={"advance": "P1Y"})
    points = [item.as_dict()["properties"] for item in client.recovery_points.list(GROUP, "bv-bi", "bi-orders")]
    found = {datetime.fromisoformat(rp["recoveryPointTime"][:19]).date():
             (rp["retentionTagName"], datetime.fromisoformat(rp["expiryTime"][:19]).date()) for rp in points}
    assert found == _expected_points()
    assert all(rp["recoveryPointTime"][11:19] == "02:00:00" for rp in points)
    times = [rp["recoveryPointTime"] for rp in points]
    assert times == sorted(times, reverse=True)  # newest first
    jobs = [item.as_dict()["properties"] for item in client.jobs.list(GROUP, "bv-bi")]
    assert len(jobs) == 104  # every Sunday of 2030 and 2031
    assert all(job["status"] == "Completed" and job["isUserTriggered"] is False and job["operation"] == "Backup"
               for job in jobs)
    assert jobs[0]["startTime"].startswith("2030-01-06T02:00:00") and jobs[-1]["startTime"].startswith("2031-12-28")


def test_suspended_instances_skip_backups_but_keep_expiring_and_stopped_ones_keep_data(emulator):
    client, _vault, _policy = protected_instance(emulator)
    emulator.control("POST", "clock", json={"advance": "P3W"})
    assert len(list(client.recovery_points.list(GROUP, "bv-bi", "bi-orders"))) == 3
    response = emulator.arm("POST", f"{instance_path(emulator, 'bi-orders')}/suspendBackups")
    assert response.status_code == 202
    wait_for(lambda: emulator.arm("GET", instance_path(emulator, "bi-orders")).json()["properties"],
             lambda props: props["currentProtectionState"] == "BackupsSuspended")
    emulator.control("POST", "clock", json={"advance": "P14W"})
    remaining = [item.as_dict()["properties"] for item in client.recovery_points.list(GROUP, "bv-bi", "bi-orders")]
    assert all(rp["retentionTagName"] in ("Monthly", "Yearly") for rp in remaining)
    assert len(list(client.jobs.list(GROUP, "bv-bi"))) == 3
    emulator.arm("POST", f"{instance_path(emulator, 'bi-orders')}/resumeBackups")
    wait_for(lambda: emulator.arm("GET", instance_path(emulator, "bi-orders")).json()["properties"],
             lambda props: props["currentProtectionState"] == "ProtectionConfigured")
    emulator.control("POST", "clock", json={"advance": "P1W"})
    assert len(list(client.jobs.list(GROUP, "bv-bi"))) == 4  # no catch-up of the suspended weeks
    emulator.arm("POST", f"{instance_path(emulator, 'bi-orders')}/stopProtection")
    wait_for(lambda: emulator.arm("GET", instance_path(emulator, "bi-orders")).json()["properties"],
             lambda props: props["currentProtectionState"] == "ProtectionStopped")
    kept = len(list(client.recovery_points.list(GROUP, "bv-bi", "bi-orders")))
    emulator.control("POST", "clock", json={"advance": "P2Y"})
    assert len(list(client.recovery_points.list(GROUP, "bv-bi", "bi-orders"))) == kept
    assert len(list(client.jobs.list(GROUP, "bv-bi"))) == 4


def test_scheduled_job_failures_come_from_the_fault_rule(emulator):
    client, _vault, _policy = protected_instance(emulator)
    emulator.control("POST", "faults", json={"job_failure": {"code": "UserErrorDatasourceUnreachable", "count": 2}})
    emulator.control("POST", "clock", json={"advance": "P4W"})
    jobs = [item.as_dict()["properties"] for item in client.jobs.list(GROUP, "bv-bi")]
    assert [job["status"] for job in jobs] == ["Failed", "Failed", "Completed", "Completed"]
    assert jobs[0]["errorDetails"][0]["code"] == "UserErrorDatasourceUnreachable"
    points = [item.as_dict()["properties"] for item in client.recovery_points.list(GROUP, "bv-bi", "bi-orders")]
    assert len(points) == 2
    # The first successful backup of the week/month/year is the first one that did not fail.
    assert {rp["retentionTagName"] for rp in points} <= {"Yearly", "Monthly", "Weekly"}
