"""Unit tests for the backup policy translation, validation and retention preview (module_utils/policy/)."""

import copy
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import policy
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy import Duration, PolicyError

UTC = timezone.utc
PG = "Microsoft.DBforPostgreSQL/flexibleServers"
SUNDAY_2AM = {"days_of_week": ["Sunday"], "time": "02:00", "timezone": "UTC"}
# The must-show policy. The issue names no default duration; P3M is what the Azure tools use.
MUST_SHOW_RETENTION = {
    "default": {"duration": "P3M"},
    "weekly": {"duration": "P12W"},
    "monthly": {"duration": "P12M"},
    "yearly": {"duration": "P10Y"},
}
MUST_SHOW = {"schedule": SUNDAY_2AM, "retention": MUST_SHOW_RETENTION}
EVERY_DAY = list(policy.DAYS_OF_WEEK)

VAULT = {"objectType": "DataStoreInfoBase", "dataStoreType": "VaultStore"}


def _retention_rule(name, duration):
    return {
        "name": name,
        "objectType": "AzureRetentionRule",
        "isDefault": name == "Default",
        "lifecycles": [
            {
                "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": duration},
                "sourceDataStore": VAULT,
                "targetDataStoreCopySettings": [],
            }
        ],
    }


def _tag(name, priority, absolute=None):
    tag = {"tagInfo": {"tagName": name}, "taggingPriority": priority, "isDefault": name == "Default"}
    if absolute:
        tag["criteria"] = [{"objectType": "ScheduleBasedBackupCriteria", "absoluteCriteria": [absolute]}]
    return tag


MUST_SHOW_BODY = {
    "properties": {
        "objectType": "BackupPolicy",
        "datasourceTypes": [PG],
        "policyRules": [
            {
                "name": "BackupWeekly",
                "objectType": "AzureBackupRule",
                "backupParameters": {"objectType": "AzureBackupParams", "backupType": "Full"},
                "dataStore": VAULT,
                "trigger": {
                    "objectType": "ScheduleBasedTriggerContext",
                    "schedule": {"repeatingTimeIntervals": ["R/2024-01-07T02:00:00+00:00/P1W"], "timeZone": "UTC"},
                    "taggingCriteria": [
                        _tag("Default", 99),
                        _tag("Weekly", 20, "FirstOfWeek"),
                        _tag("Monthly", 15, "FirstOfMonth"),
                        _tag("Yearly", 10, "FirstOfYear"),
                    ],
                },
            },
            _retention_rule("Default", "P3M"),
            _retention_rule("Weekly", "P12W"),
            _retention_rule("Monthly", "P12M"),
            _retention_rule("Yearly", "P10Y"),
        ],
    }
}


def _error(function, *args, **kwargs):
    with pytest.raises(PolicyError) as caught:
        function(*args, **kwargs)
    return caught.value


def _backup_rule(body):
    return body["properties"]["policyRules"][0]


def _tag_of(body, name):
    return [tag for tag in _backup_rule(body)["trigger"]["taggingCriteria"] if tag["tagInfo"]["tagName"] == name][0]


def _readable(schedule=None, **rules):
    retention = {"default": {"duration": "P3M"}}
    retention.update(rules)
    return schedule or SUNDAY_2AM, retention


# ----------------------------------------------------------------------------------------------------------------
# Durations


@pytest.mark.parametrize(
    "text, expected, canonical",
    [
        ("P12W", Duration(0, 0, 12, 0), "P12W"),
        ("P10Y", Duration(10, 0, 0, 0), "P10Y"),
        ("p3m", Duration(0, 3, 0, 0), "P3M"),
        ("P30D", Duration(0, 0, 0, 30), "P30D"),
        ("P1Y6M", Duration(1, 6, 0, 0), "P1Y6M"),
        ("P120M", Duration(0, 120, 0, 0), "P120M"),
        ("P3652D", Duration(0, 0, 0, 3652), "P3652D"),
        (" P0Y1W ", Duration(0, 0, 1, 0), "P1W"),
    ],
)
def test_parse_duration_accepts_iso_8601_dates(text, expected, canonical):
    duration = policy.parse_duration(text)
    assert duration == expected
    assert str(duration) == canonical


@pytest.mark.parametrize(
    "text, reason",
    [
        ("P11Y", "maximum retention"),
        ("P121M", "maximum retention"),
        ("P3653D", "maximum retention"),
        ("PT1H", "hours, minutes and seconds"),
        ("P1DT12H", "hours, minutes and seconds"),
        ("12 weeks", "not an ISO 8601 duration"),
        ("P0D", "longer than zero"),
        ("P", "not an ISO 8601 duration"),
        ("P-1D", "not an ISO 8601 duration"),
        ("P1.5Y", "not an ISO 8601 duration"),
        ("", "not an ISO 8601 duration"),
        (12, "expected an ISO 8601 duration"),
        (None, "expected an ISO 8601 duration"),
    ],
)
def test_parse_duration_rejects(text, reason):
    error = _error(policy.parse_duration, text, "retention.weekly.duration")
    assert error.field == "retention.weekly.duration"
    assert str(error).startswith("retention.weekly.duration: ")
    assert reason in str(error)


def test_duration_key_treats_equal_lengths_as_equal():
    assert policy.parse_duration("P1Y").key() == policy.parse_duration("P12M").key()
    assert policy.parse_duration("P2W").key() == policy.parse_duration("P14D").key()
    assert policy.parse_duration("P4W").key() != policy.parse_duration("P1M").key()


@pytest.mark.parametrize(
    "start, duration, expected",
    [
        (datetime(2024, 1, 31, 2, tzinfo=UTC), "P1M", datetime(2024, 2, 29, 2, tzinfo=UTC)),
        (datetime(2023, 1, 31, 2, tzinfo=UTC), "P1M", datetime(2023, 2, 28, 2, tzinfo=UTC)),
        (datetime(2024, 2, 29, 2, tzinfo=UTC), "P1Y", datetime(2025, 2, 28, 2, tzinfo=UTC)),
        (datetime(2026, 1, 4, 2, tzinfo=UTC), "P10Y", datetime(2036, 1, 4, 2, tzinfo=UTC)),
        (datetime(2026, 1, 11, 2, tzinfo=UTC), "P12W", datetime(2026, 4, 5, 2, tzinfo=UTC)),
        (datetime(2026, 2, 1, 2, tzinfo=UTC), "P12M", datetime(2027, 2, 1, 2, tzinfo=UTC)),
        (datetime(2026, 11, 30, 2, tzinfo=UTC), "P3M", datetime(2027, 2, 28, 2, tzinfo=UTC)),
        (datetime(2026, 1, 31, 2, tzinfo=UTC), "P1M1D", datetime(2026, 3, 1, 2, tzinfo=UTC)),
    ],
)
def test_add_duration_uses_calendar_arithmetic(start, duration, expected):
    assert policy.add_duration(start, policy.parse_duration(duration)) == expected


def test_add_duration_keeps_the_wall_clock_across_daylight_saving():
    berlin = policy.resolve_time_zone("Europe/Berlin").tzinfo
    winter = datetime(2026, 1, 4, 3, 0, tzinfo=berlin)
    summer = policy.add_duration(winter, "P6M")
    assert summer.isoformat() == "2026-07-04T03:00:00+02:00"


# ----------------------------------------------------------------------------------------------------------------
# Time zones


@pytest.mark.parametrize("name", ["UTC", "utc", "Etc/UTC", "Coordinated Universal Time", None])
def test_utc_spellings(name):
    zone = policy.resolve_time_zone(name)
    assert zone.azure_name == "UTC"
    assert zone.tzinfo is UTC


@pytest.mark.parametrize(
    "name, azure_name, iana",
    [
        ("W. Europe Standard Time", "W. Europe Standard Time", "Europe/Berlin"),
        ("w. europe standard time", "W. Europe Standard Time", "Europe/Berlin"),
        ("Europe/Berlin", "W. Europe Standard Time", "Europe/Berlin"),
        ("Europe/Amsterdam", "W. Europe Standard Time", "Europe/Berlin"),
        ("India Standard Time", "India Standard Time", "Asia/Kolkata"),
        ("Asia/Calcutta", "India Standard Time", "Asia/Kolkata"),
        ("America/New_York", "Eastern Standard Time", "America/New_York"),
        ("Pacific Standard Time", "Pacific Standard Time", "America/Los_Angeles"),
        ("AUS Eastern Standard Time", "AUS Eastern Standard Time", "Australia/Sydney"),
    ],
)
def test_windows_and_iana_names(name, azure_name, iana):
    zone = policy.resolve_time_zone(name)
    assert (zone.azure_name, zone.iana_name) == (azure_name, iana)


def test_every_windows_time_zone_in_the_table_resolves():
    for windows in policy.WINDOWS_TIME_ZONES:
        assert policy.resolve_time_zone(windows).azure_name == windows
    for alias in policy.IANA_ALIASES:
        assert policy.resolve_time_zone(alias).azure_name in policy.WINDOWS_TIME_ZONES


def test_unknown_time_zone():
    error = _error(policy.readable_to_body, dict(SUNDAY_2AM, timezone="Mars/Olympus_Mons"), MUST_SHOW_RETENTION)
    assert error.field == "schedule.timezone"
    assert "unknown time zone 'Mars/Olympus_Mons'" in str(error)


def test_iana_zone_without_windows_id_is_explained():
    error = _error(policy.resolve_time_zone, "America/Argentina/Salta")
    assert "schedule.timezone" in str(error)
    assert "no Windows time zone id" in str(error)


def test_schedule_in_a_windows_time_zone_carries_the_real_offset():
    schedule = {"days_of_week": ["Sunday", "Wednesday"], "time": "02:30", "timezone": "Europe/Berlin"}
    body = policy.readable_to_body(schedule, {"default": {"duration": "P3M"}})
    assert _backup_rule(body)["trigger"]["schedule"] == {
        "repeatingTimeIntervals": ["R/2024-01-07T02:30:00+01:00/P1W", "R/2024-01-10T02:30:00+01:00/P1W"],
        "timeZone": "W. Europe Standard Time",
    }


def test_southern_hemisphere_offset_is_summer_time_in_january():
    body = policy.readable_to_body(dict(SUNDAY_2AM, timezone="Australia/Sydney"), {"default": {"duration": "P3M"}})
    assert _backup_rule(body)["trigger"]["schedule"]["repeatingTimeIntervals"] == ["R/2024-01-07T02:00:00+11:00/P1W"]


# ----------------------------------------------------------------------------------------------------------------
# Readable form -> API body


def test_must_show_policy_produces_exactly_the_azure_body():
    """Weekly on Sunday 02:00 UTC; keep weekly 12 weeks, monthly 12 months, yearly 10 years, default 3 months.

    The start 2024-01-07 is the Sunday of the fixed reference week: deterministic, so reruns are idempotent.
    """
    assert policy.validate_readable(SUNDAY_2AM, MUST_SHOW_RETENTION) == []
    assert policy.readable_to_body(SUNDAY_2AM, MUST_SHOW_RETENTION, PG) == MUST_SHOW_BODY


def test_must_show_policy_passes_the_raw_checks_and_reads_back():
    assert policy.validate_raw_body(MUST_SHOW_BODY) == []
    assert policy.body_to_readable(MUST_SHOW_BODY) == {
        "custom": False,
        "schedule": {"days_of_week": ["Sunday"], "time": "02:00", "timezone": "UTC"},
        "retention": MUST_SHOW_RETENTION,
    }


def test_priorities_come_from_the_datasource_file():
    body = policy.readable_to_body(SUNDAY_2AM, MUST_SHOW_RETENTION)
    priorities = dict(
        (tag["tagInfo"]["tagName"], tag["taggingPriority"]) for tag in _backup_rule(body)["trigger"]["taggingCriteria"]
    )
    assert priorities == PGFLEX.tag_priorities == {"Yearly": 10, "Monthly": 15, "Weekly": 20, "Default": 99}


def test_one_interval_per_day_in_week_order():
    schedule = {"days_of_week": ["saturday", "Sunday", "WEDNESDAY"], "time": "23:05"}
    body = policy.readable_to_body(schedule, {"default": {"duration": "P1M"}})
    assert _backup_rule(body)["trigger"]["schedule"]["repeatingTimeIntervals"] == [
        "R/2024-01-07T23:05:00+00:00/P1W",
        "R/2024-01-10T23:05:00+00:00/P1W",
        "R/2024-01-13T23:05:00+00:00/P1W",
    ]


def test_default_only_policy_has_just_the_default_tag_and_rule():
    body = policy.readable_to_body(SUNDAY_2AM, {"default": {"duration": "P3M"}})
    rules = body["properties"]["policyRules"]
    assert [rule["name"] for rule in rules] == ["BackupWeekly", "Default"]
    assert _backup_rule(body)["trigger"]["taggingCriteria"] == [_tag("Default", 99)]


SUNDAY_FIRST_AND_LAST = {"weeks_of_month": ["First", "Last"], "days_of_week": ["Sunday"]}
CRITERIA_CASES = [
    # (schedule days, rule key, readable criteria as written, API criterion without objectType, as read back)
    (["Sunday"], "weekly", {}, {"absoluteCriteria": ["FirstOfWeek"]}, {}),
    (
        ["Sunday", "Wednesday"],
        "weekly",
        {"days_of_week": ["wednesday"]},
        {"daysOfTheWeek": ["Wednesday"]},
        {"days_of_week": ["Wednesday"]},
    ),
    (["Sunday"], "monthly", {}, {"absoluteCriteria": ["FirstOfMonth"]}, {}),
    (
        ["Sunday"],
        "monthly",
        {"weeks_of_month": ["Last", "First"], "days_of_week": ["Sunday"]},
        {"weeksOfTheMonth": ["First", "Last"], "daysOfTheWeek": ["Sunday"]},
        SUNDAY_FIRST_AND_LAST,
    ),
    (
        EVERY_DAY,
        "monthly",
        {"days_of_month": [15, 1, "Last"]},
        {"daysOfMonth": [{"date": 1, "isLast": False}, {"date": 15, "isLast": False}, {"isLast": True}]},
        {"days_of_month": [1, 15, "Last"]},
    ),
    (["Sunday"], "yearly", {}, {"absoluteCriteria": ["FirstOfYear"]}, {}),
    (
        ["Sunday"],
        "yearly",
        {"months_of_year": ["July", "January"], "weeks_of_month": ["First"], "days_of_week": ["Sunday"]},
        {"monthsOfYear": ["January", "July"], "weeksOfTheMonth": ["First"], "daysOfTheWeek": ["Sunday"]},
        {"months_of_year": ["January", "July"], "weeks_of_month": ["First"], "days_of_week": ["Sunday"]},
    ),
    (
        EVERY_DAY,
        "yearly",
        {"months_of_year": ["December"], "days_of_month": ["Last"]},
        {"monthsOfYear": ["December"], "daysOfMonth": [{"isLast": True}]},
        {"months_of_year": ["December"], "days_of_month": ["Last"]},
    ),
]


@pytest.mark.parametrize("days, key, criteria, api, read_back", CRITERIA_CASES)
def test_criteria_both_ways(days, key, criteria, api, read_back):
    tag = policy.TAG_OF_RULE[key]
    schedule = {"days_of_week": days, "time": "02:00"}
    retention = {"default": {"duration": "P3M"}, key: dict(criteria, duration="P1Y")}
    body = policy.readable_to_body(schedule, retention)
    assert _tag_of(body, tag)["criteria"] == [dict(api, objectType="ScheduleBasedBackupCriteria")]
    assert _tag_of(body, tag)["taggingPriority"] == PGFLEX.tag_priorities[tag]
    assert policy.validate_raw_body(body) == []

    readable = policy.body_to_readable(body)
    assert readable["custom"] is False
    assert readable["retention"][key] == dict(read_back, duration="P1Y")
    assert policy.readable_to_body(readable["schedule"], readable["retention"]) == body


def test_ansible_style_input_with_none_for_unset_suboptions():
    """AnsibleModule fills unset suboptions with None; they mean "not set"."""
    schedule = {"days_of_week": ["sunday"], "time": "2:00", "timezone": None, "frequency": None}
    retention = {
        "default": {"duration": "p3m", "days_of_week": None},
        "weekly": {
            "duration": "P12W",
            "days_of_week": None,
            "weeks_of_month": None,
            "months_of_year": None,
            "days_of_month": None,
        },
        "monthly": {"duration": "P12M", "days_of_week": None, "weeks_of_month": None, "days_of_month": None},
        "yearly": {
            "duration": "P10Y",
            "days_of_week": None,
            "weeks_of_month": None,
            "months_of_year": None,
            "days_of_month": None,
        },
    }
    assert policy.readable_to_body(schedule, retention) == MUST_SHOW_BODY


def test_days_of_month_accept_strings_from_yaml():
    body = policy.readable_to_body(
        {"days_of_week": EVERY_DAY, "time": "02:00"},
        {"default": {"duration": "P3M"}, "monthly": {"duration": "P1Y", "days_of_month": ["15", "last"]}},
    )
    assert _tag_of(body, "Monthly")["criteria"][0]["daysOfMonth"] == [{"date": 15, "isLast": False}, {"isLast": True}]


# ----------------------------------------------------------------------------------------------------------------
# Validation errors: one test per error, each naming the field


@pytest.mark.parametrize(
    "schedule, field, text",
    [
        ("Sunday", "schedule", "expected a dictionary"),
        ({"days_of_week": ["Sunday"], "time": "02:00", "frequency": "daily"}, "schedule.frequency", "weekly schedule"),
        ({"time": "02:00"}, "schedule.days_of_week", "at least one day"),
        ({"days_of_week": [], "time": "02:00"}, "schedule.days_of_week", "at least one day"),
        ({"days_of_week": ["Sun"], "time": "02:00"}, "schedule.days_of_week", "'Sun' is not a day of the week"),
        ({"days_of_week": ["Sunday", "sunday"], "time": "02:00"}, "schedule.days_of_week", "Sunday is listed twice"),
        ({"days_of_week": ["Sunday"]}, "schedule.time", "HH:MM"),
        ({"days_of_week": ["Sunday"], "time": "2am"}, "schedule.time", "HH:MM"),
        ({"days_of_week": ["Sunday"], "time": "24:00"}, "schedule.time", "HH:MM"),
        ({"days_of_week": ["Sunday"], "time": "02:00:00"}, "schedule.time", "HH:MM"),
        ({"days_of_week": ["Sunday"], "time": "02:00", "timezone": "CEST"}, "schedule.timezone", "unknown time zone"),
        ({"days_of_week": ["Sunday"], "time": "02:00", "interval": "P1D"}, "schedule.interval", "unknown option"),
    ],
)
def test_schedule_errors(schedule, field, text):
    error = _error(policy.validate_readable, schedule, MUST_SHOW_RETENTION)
    assert error.field == field
    assert str(error).startswith(field + ": ")
    assert text in str(error)


RETENTION_ERRORS = [
    # (schedule days, retention, field, text)
    (["Sunday"], "P3M", "retention", "expected a dictionary"),
    (["Sunday"], {"weekly": {"duration": "P12W"}}, "retention.default", "required"),
    (["Sunday"], {"default": {}}, "retention.default.duration", "required"),
    (
        ["Sunday"],
        {"default": {"duration": "P3M"}, "hourly": {"duration": "P1D"}},
        "retention.hourly",
        "unknown retention rule",
    ),
    (
        ["Sunday"],
        {"default": {"duration": "P3M", "days_of_week": ["Sunday"]}},
        "retention.default.days_of_week",
        "not an option of the default rule",
    ),
    (
        ["Sunday"],
        {"default": {"duration": "P3M"}, "weekly": {"duration": "P12W", "priority": 5}},
        "retention.weekly.priority",
        "priorities are set automatically",
    ),
    (
        ["Sunday"],
        {"default": {"duration": "P3M"}, "weekly": {"duration": "P12W", "weeks_of_month": ["First"]}},
        "retention.weekly.weeks_of_month",
        "not an option of the weekly rule",
    ),
    (
        ["Sunday"],
        {"default": {"duration": "P3M"}, "monthly": {"duration": "12 months"}},
        "retention.monthly.duration",
        "not an ISO 8601 duration",
    ),
    (
        ["Sunday"],
        {"default": {"duration": "P3M"}, "yearly": {"duration": "P11Y"}},
        "retention.yearly.duration",
        "maximum retention",
    ),
    (["Sunday"], {"default": {"duration": "PT12H"}}, "retention.default.duration", "hours, minutes and seconds"),
    (
        ["Sunday"],
        {"default": {"duration": "P3M"}, "weekly": {"duration": "P12W", "days_of_week": ["Monday"]}},
        "retention.weekly.days_of_week",
        "Monday is not a scheduled backup day",
    ),
    (
        ["Sunday"],
        {"default": {"duration": "P3M"}, "weekly": {"duration": "P12W", "days_of_week": ["Sunday", "Sunday"]}},
        "retention.weekly.days_of_week",
        "listed twice",
    ),
    (
        ["Sunday"],
        {
            "default": {"duration": "P3M"},
            "monthly": {"duration": "P12M", "weeks_of_month": ["First"], "days_of_week": ["Saturday"]},
        },
        "retention.monthly.days_of_week",
        "could never match",
    ),
    (
        ["Sunday"],
        {"default": {"duration": "P3M"}, "monthly": {"duration": "P12M", "days_of_month": [1]}},
        "retention.monthly.days_of_month",
        "only in some months",
    ),
    (
        EVERY_DAY,
        {"default": {"duration": "P3M"}, "monthly": {"duration": "P12M", "days_of_month": [29]}},
        "retention.monthly.days_of_month",
        "use 1 to 28, or Last",
    ),
    (
        EVERY_DAY,
        {"default": {"duration": "P3M"}, "monthly": {"duration": "P12M", "days_of_month": [0]}},
        "retention.monthly.days_of_month",
        "use 1 to 28, or Last",
    ),
    (
        EVERY_DAY,
        {"default": {"duration": "P3M"}, "monthly": {"duration": "P12M", "days_of_month": [1, "1"]}},
        "retention.monthly.days_of_month",
        "1 is listed twice",
    ),
    (
        ["Sunday"],
        {
            "default": {"duration": "P3M"},
            "monthly": {"duration": "P12M", "weeks_of_month": ["Last", "last"], "days_of_week": ["Sunday"]},
        },
        "retention.monthly.weeks_of_month",
        "Last is listed twice",
    ),
    (
        ["Sunday"],
        {
            "default": {"duration": "P3M"},
            "monthly": {"duration": "P12M", "weeks_of_month": ["Fifth"], "days_of_week": ["Sunday"]},
        },
        "retention.monthly.weeks_of_month",
        "'Fifth' is not a week of the month",
    ),
    (
        ["Sunday"],
        {"default": {"duration": "P3M"}, "monthly": {"duration": "P12M", "days_of_week": ["Sunday"]}},
        "retention.monthly.weeks_of_month",
        "required with days_of_week",
    ),
    (
        ["Sunday"],
        {"default": {"duration": "P3M"}, "monthly": {"duration": "P12M", "weeks_of_month": ["First"]}},
        "retention.monthly.days_of_week",
        "required with weeks_of_month",
    ),
    (
        EVERY_DAY,
        {
            "default": {"duration": "P3M"},
            "monthly": {
                "duration": "P12M",
                "days_of_month": [1],
                "weeks_of_month": ["First"],
                "days_of_week": ["Sunday"],
            },
        },
        "retention.monthly.days_of_month",
        "not both",
    ),
    (
        ["Sunday"],
        {
            "default": {"duration": "P3M"},
            "yearly": {"duration": "P10Y", "weeks_of_month": ["First"], "days_of_week": ["Sunday"]},
        },
        "retention.yearly.months_of_year",
        "in which months",
    ),
    (
        ["Sunday"],
        {"default": {"duration": "P3M"}, "yearly": {"duration": "P10Y", "months_of_year": ["January"]}},
        "retention.yearly.months_of_year",
        "also name the day",
    ),
    (
        ["Sunday"],
        {
            "default": {"duration": "P3M"},
            "yearly": {
                "duration": "P10Y",
                "months_of_year": ["Jan"],
                "weeks_of_month": ["First"],
                "days_of_week": ["Sunday"],
            },
        },
        "retention.yearly.months_of_year",
        "'Jan' is not a month",
    ),
    (
        ["Sunday"],
        {
            "default": {"duration": "P3M"},
            "yearly": {
                "duration": "P10Y",
                "months_of_year": ["May", "may"],
                "weeks_of_month": ["First"],
                "days_of_week": ["Sunday"],
            },
        },
        "retention.yearly.months_of_year",
        "May is listed twice",
    ),
    (["Sunday"], {"default": {"duration": "P3M"}, "weekly": "P12W"}, "retention.weekly", "expected a dictionary"),
]


@pytest.mark.parametrize("days, retention, field, text", RETENTION_ERRORS)
def test_retention_errors(days, retention, field, text):
    error = _error(policy.validate_readable, {"days_of_week": days, "time": "02:00"}, retention)
    assert error.field == field
    assert str(error).startswith(field + ": ")
    assert text in str(error)


def test_readable_to_body_validates_before_building():
    error = _error(policy.readable_to_body, SUNDAY_2AM, {"default": {"duration": "P11Y"}})
    assert error.field == "retention.default.duration"


def test_only_postgresql_flexible_server():
    error = _error(policy.readable_to_body, SUNDAY_2AM, MUST_SHOW_RETENTION, "Microsoft.Compute/disks")
    assert error.field == "datasource_type"
    assert policy.readable_to_body(SUNDAY_2AM, MUST_SHOW_RETENTION, PG.lower()) == MUST_SHOW_BODY


# ----------------------------------------------------------------------------------------------------------------
# Warnings


def test_monthly_shorter_than_weekly_is_a_warning():
    warnings = policy.validate_readable(*_readable(weekly={"duration": "P12W"}, monthly={"duration": "P4W"}))
    assert len(warnings) == 1
    assert warnings[0].startswith("retention.monthly.duration: P4W is shorter than retention.weekly.duration P12W")


def test_yearly_shorter_than_monthly_and_weekly_warns_twice():
    warnings = policy.validate_readable(
        *_readable(weekly={"duration": "P12W"}, monthly={"duration": "P12M"}, yearly={"duration": "P2W"})
    )
    assert [warning.split(" is shorter")[0] for warning in warnings] == [
        "retention.yearly.duration: P2W",
        "retention.yearly.duration: P2W",
    ]
    assert "retention.monthly.duration P12M" in warnings[0]
    assert "retention.weekly.duration P12W" in warnings[1]


def test_no_warning_when_the_rules_never_take_the_same_backup():
    schedule = {"days_of_week": ["Sunday", "Wednesday"], "time": "02:00"}
    retention = {
        "default": {"duration": "P3M"},
        "weekly": {"duration": "P12W", "days_of_week": ["Wednesday"]},
        "monthly": {"duration": "P4W", "weeks_of_month": ["First"], "days_of_week": ["Sunday"]},
    }
    assert policy.validate_readable(schedule, retention) == []


def test_a_warning_is_not_an_error():
    body = policy.readable_to_body(*_readable(weekly={"duration": "P12W"}, monthly={"duration": "P4W"}))
    assert _tag_of(body, "Monthly")["taggingPriority"] == 15


# ----------------------------------------------------------------------------------------------------------------
# Normalisation and idempotency


def _as_service_returns(body):
    """What a GET answers for ``body``: ids added, enum case and key/list order changed, extra fields."""
    served = copy.deepcopy(body)
    props = served["properties"]
    props["datasourceTypes"] = [PG.lower()]
    props["policyRules"].reverse()
    for rule in props["policyRules"]:
        if rule["objectType"] == "AzureBackupRule":
            trigger = rule["trigger"]
            trigger["schedule"]["repeatingTimeIntervals"] = [
                text.replace("+00:00", "Z") for text in trigger["schedule"]["repeatingTimeIntervals"]
            ]
            trigger["taggingCriteria"].reverse()
            for tag in trigger["taggingCriteria"]:
                tag["tagInfo"]["id"] = tag["tagInfo"]["tagName"] + "_"
                tag["tagInfo"]["eTag"] = "W/\"1\""
                for criterion in tag.get("criteria", []):
                    criterion["absoluteCriteria"] = [value.lower() for value in criterion.get("absoluteCriteria", [])]
                    criterion["scheduleTimes"] = None
        else:
            for cycle in rule["lifecycles"]:
                cycle["deleteAfter"]["duration"] = cycle["deleteAfter"]["duration"].lower()
                del cycle["targetDataStoreCopySettings"]
                cycle["sourceDataStore"]["dataStoreType"] = "vaultstore"
    served.update(
        {
            "id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v/"
            "backupPolicies/p",
            "name": "p",
            "type": "Microsoft.DataProtection/backupVaults/backupPolicies",
            "systemData": {"createdBy": "someone"},
        }
    )
    props["policyRuleCount"] = 5  # a field this API version does not have
    return served


def test_service_body_with_ids_case_and_order_equals_the_desired_one():
    served = _as_service_returns(MUST_SHOW_BODY)
    assert served != MUST_SHOW_BODY
    assert policy.bodies_equal(MUST_SHOW_BODY, served)
    assert policy.normalize_body(served) == policy.normalize_body(MUST_SHOW_BODY)
    assert policy.body_to_readable(served) == policy.body_to_readable(MUST_SHOW_BODY)


def test_normalize_body_is_canonical_but_readable():
    normalized = policy.normalize_body(_as_service_returns(MUST_SHOW_BODY))
    assert [rule["name"] for rule in normalized["policyRules"]] == [
        "BackupWeekly",
        "Default",
        "Monthly",
        "Weekly",
        "Yearly",
    ]
    backup = normalized["policyRules"][0]
    assert backup["trigger"]["schedule"]["repeatingTimeIntervals"] == ["R/2024-01-07T02:00:00+00:00/P1W"]
    assert [tag["tagInfo"] for tag in backup["trigger"]["taggingCriteria"]] == [
        {"tagName": "Default"},
        {"tagName": "Monthly"},
        {"tagName": "Weekly"},
        {"tagName": "Yearly"},
    ]
    weekly = [rule for rule in normalized["policyRules"] if rule["name"] == "Weekly"][0]
    assert weekly["lifecycles"] == [
        {"deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": "P12W"}, "sourceDataStore": VAULT}
    ]
    assert "policyRuleCount" not in normalized


def test_properties_alone_equal_the_resource_body():
    assert policy.bodies_equal(MUST_SHOW_BODY["properties"], MUST_SHOW_BODY)


def test_same_weekday_and_time_from_another_start_date_is_unchanged():
    """A policy made in the portal starts on another Sunday; the schedule is the same, so no PUT."""
    other = copy.deepcopy(MUST_SHOW_BODY)
    _backup_rule(other)["trigger"]["schedule"]["repeatingTimeIntervals"] = ["R/2021-08-15T02:00:00+00:00/P1W"]
    assert policy.bodies_equal(MUST_SHOW_BODY, other)


@pytest.mark.parametrize(
    "interval",
    [
        "R/2024-01-07T03:00:00+00:00/P1W",  # another time
        "R/2024-01-08T02:00:00+00:00/P1W",  # another day
        "R/2024-01-07T02:00:00+01:00/P1W",  # another instant
    ],
)
def test_schedule_changes_are_changes(interval):
    other = copy.deepcopy(MUST_SHOW_BODY)
    _backup_rule(other)["trigger"]["schedule"]["repeatingTimeIntervals"] = [interval]
    assert not policy.bodies_equal(MUST_SHOW_BODY, other)


@pytest.mark.parametrize(
    "desired, current, equal",
    [
        ("P10Y", "P120M", True),
        ("P12W", "P84D", True),
        ("P12W", "p12w", True),
        ("P12W", "P3M", False),
        ("P1M", "P4W", False),
    ],
)
def test_durations_compare_by_length(desired, current, equal):
    one = policy.readable_to_body(SUNDAY_2AM, {"default": {"duration": desired}})
    two = copy.deepcopy(one)
    two["properties"]["policyRules"][1]["lifecycles"][0]["deleteAfter"]["duration"] = current
    assert policy.bodies_equal(one, two) is equal


def test_time_zone_compares_by_zone_not_spelling():
    one = policy.readable_to_body(dict(SUNDAY_2AM, timezone="Europe/Berlin"), MUST_SHOW_RETENTION)
    two = copy.deepcopy(one)
    _backup_rule(two)["trigger"]["schedule"]["timeZone"] = "w. europe standard time"
    assert policy.bodies_equal(one, two)
    _backup_rule(two)["trigger"]["schedule"]["timeZone"] = "Romance Standard Time"
    assert not policy.bodies_equal(one, two)


def test_a_removed_rule_is_a_change():
    smaller = policy.readable_to_body(SUNDAY_2AM, dict(MUST_SHOW_RETENTION, yearly=None))
    assert not policy.bodies_equal(MUST_SHOW_BODY, smaller)


# The GET example of the API specification (PolicyCRUD/GetBackupPolicy.json), abridged: an OssDB policy.
SPEC_GET_EXAMPLE = {
    "name": "OSSDBPolicy",
    "type": "Microsoft.DataProtection/backupVaults/backupPolicies",
    "id": "/subscriptions/04cf684a/resourceGroups/000pikumar/providers/Microsoft.DataProtection/backupVaults/"
    "PrivatePreviewVault/backupPolicies/OSSDBPolicy",
    "properties": {
        "datasourceTypes": ["OssDB"],
        "objectType": "BackupPolicy",
        "policyRules": [
            {
                "name": "BackupWeekly",
                "backupParameters": {"backupType": "Full", "objectType": "AzureBackupParams"},
                "dataStore": {"dataStoreType": "VaultStore", "objectType": "DataStoreInfoBase"},
                "objectType": "AzureBackupRule",
                "trigger": {
                    "objectType": "ScheduleBasedTriggerContext",
                    "schedule": {"repeatingTimeIntervals": ["R/2019-11-20T08:00:00-08:00/P1W"]},
                    "taggingCriteria": [
                        {"isDefault": True, "tagInfo": {"id": "Default_", "tagName": "Default"}, "taggingPriority": 99},
                        {
                            "criteria": [
                                {
                                    "daysOfTheWeek": ["Sunday"],
                                    "objectType": "ScheduleBasedBackupCriteria",
                                    "scheduleTimes": ["2019-03-01T13:00:00Z"],
                                }
                            ],
                            "isDefault": False,
                            "tagInfo": {"id": "Weekly_", "tagName": "Weekly"},
                            "taggingPriority": 20,
                        },
                    ],
                },
            },
            {
                "name": "Default",
                "isDefault": True,
                "objectType": "AzureRetentionRule",
                "lifecycles": [
                    {
                        "deleteAfter": {"duration": "P1W", "objectType": "AbsoluteDeleteOption"},
                        "sourceDataStore": {"dataStoreType": "VaultStore", "objectType": "DataStoreInfoBase"},
                    }
                ],
            },
            {
                "name": "Weekly",
                "isDefault": False,
                "objectType": "AzureRetentionRule",
                "lifecycles": [
                    {
                        "deleteAfter": {"duration": "P12W", "objectType": "AbsoluteDeleteOption"},
                        "sourceDataStore": {"dataStoreType": "VaultStore", "objectType": "DataStoreInfoBase"},
                    }
                ],
            },
        ],
    },
}


def test_spec_example_normalises_without_server_fields():
    normalized = policy.normalize_body(SPEC_GET_EXAMPLE)
    tags = normalized["policyRules"][0]["trigger"]["taggingCriteria"]
    assert [tag["tagInfo"] for tag in tags] == [{"tagName": "Default"}, {"tagName": "Weekly"}]
    assert tags[1]["criteria"][0]["scheduleTimes"] == ["2019-03-01T13:00:00+00:00"]
    assert "id" not in normalized and "name" not in normalized


def test_spec_example_is_not_a_postgresql_flexible_policy():
    assert policy.body_to_readable(SPEC_GET_EXAMPLE)["custom"] is True
    error = _error(policy.validate_raw_body, SPEC_GET_EXAMPLE)
    assert error.field == "policy.properties.datasourceTypes"


# ----------------------------------------------------------------------------------------------------------------
# Raw form: archive copies round-trip, custom bodies are marked, structural checks


def _with_archive(body):
    archived = copy.deepcopy(body)
    yearly = [rule for rule in archived["properties"]["policyRules"] if rule["name"] == "Yearly"][0]
    yearly["lifecycles"] = [
        {
            "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": "P6M"},
            "sourceDataStore": VAULT,
            "targetDataStoreCopySettings": [
                {
                    "dataStore": {"objectType": "DataStoreInfoBase", "dataStoreType": "ArchiveStore"},
                    "copyAfter": {"objectType": "CustomCopyOption", "duration": "P3M"},
                }
            ],
        },
        {
            "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": "P10Y"},
            "sourceDataStore": {"objectType": "DataStoreInfoBase", "dataStoreType": "ArchiveStore"},
        },
    ]
    return archived


def test_archive_copy_round_trips_in_the_raw_form():
    archived = _with_archive(MUST_SHOW_BODY)
    assert policy.validate_raw_body(archived) == []
    served = copy.deepcopy(archived)
    served["properties"]["policyRules"][4]["lifecycles"].reverse()
    served["properties"]["policyRules"][4]["lifecycles"][1]["targetDataStoreCopySettings"][0]["copyAfter"] = {
        "objectType": "customcopyoption",
        "duration": "p3m",
    }
    assert policy.bodies_equal(archived, served)
    assert not policy.bodies_equal(archived, MUST_SHOW_BODY)
    yearly = policy.normalize_body(served)["policyRules"][4]
    assert yearly["lifecycles"][1]["targetDataStoreCopySettings"] == [
        {
            "dataStore": {"objectType": "DataStoreInfoBase", "dataStoreType": "ArchiveStore"},
            "copyAfter": {"objectType": "CustomCopyOption", "duration": "P3M"},
        }
    ]


def test_archive_copy_is_custom_in_the_readable_form():
    readable = policy.body_to_readable(_with_archive(MUST_SHOW_BODY))
    assert readable["custom"] is True
    assert readable["schedule"] is None and readable["retention"] is None
    assert "Yearly" in readable["reason"]


def _mutated(change):
    body = copy.deepcopy(MUST_SHOW_BODY)
    change(body["properties"])
    return body


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda props: props["policyRules"][0]["trigger"]["taggingCriteria"][1].update(taggingPriority=25), "priority"),
        (
            lambda props: props["policyRules"][0]["trigger"]["taggingCriteria"][1]["criteria"][0].update(
                absoluteCriteria=["AllBackup"]
            ),
            "criteria the readable form does not have",
        ),
        (
            lambda props: props["policyRules"][0]["trigger"]["schedule"].update(
                repeatingTimeIntervals=["R/2024-01-07T02:00:00+00:00/P1W", "R/2024-01-08T03:00:00+00:00/P1W"]
            ),
            "one time",
        ),
        (
            lambda props: props["policyRules"][0]["trigger"]["schedule"].update(timeZone="Atlantis Standard Time"),
            "time zone",
        ),
        (lambda props: props["policyRules"][4].update(name="Quarterly"), "Quarterly"),
    ],
)
def test_bodies_the_readable_form_cannot_express_are_custom(change, reason):
    readable = policy.body_to_readable(_mutated(change))
    assert readable["custom"] is True
    assert reason in readable["reason"]


def test_policy_diff_shows_readable_forms():
    smaller = policy.readable_to_body(SUNDAY_2AM, dict(MUST_SHOW_RETENTION, yearly=None))
    diff = policy.policy_diff(MUST_SHOW_BODY, smaller)
    assert diff["before"]["retention"]["yearly"] == {"duration": "P10Y"}
    assert "yearly" not in diff["after"]["retention"]
    assert policy.policy_diff(None, smaller)["before"] == {}


def test_policy_diff_falls_back_to_normalised_bodies_for_custom_policies():
    diff = policy.policy_diff(MUST_SHOW_BODY, _with_archive(MUST_SHOW_BODY))
    assert diff["before"] == policy.normalize_body(MUST_SHOW_BODY)
    assert diff["after"] == policy.normalize_body(_with_archive(MUST_SHOW_BODY))


RAW_ERRORS = [
    (lambda props: props.update(objectType="Policy"), "policy.properties.objectType", "BackupPolicy"),
    (lambda props: props.update(datasourceTypes=["OssDB"]), "policy.properties.datasourceTypes", PG),
    (lambda props: props.update(policyRules=[]), "policy.properties.policyRules", "required"),
    (lambda props: props["policyRules"].pop(0), "policy.properties.policyRules", "exactly one AzureBackupRule"),
    (
        lambda props: props["policyRules"][2].update(isDefault=True),
        "policy.properties.policyRules",
        "exactly one retention rule must have isDefault",
    ),
    (
        lambda props: props["policyRules"][1].update(isDefault=False),
        "policy.properties.policyRules",
        "exactly one retention rule must have isDefault",
    ),
    (
        lambda props: props["policyRules"].append(copy.deepcopy(props["policyRules"][2])),
        "policy.properties.policyRules[5].name",
        "defined twice",
    ),
    (
        lambda props: props["policyRules"][2].update(objectType="AzureDeleteRule"),
        "policy.properties.policyRules[2].objectType",
        "AzureRetentionRule",
    ),
    (
        lambda props: props["policyRules"][3]["lifecycles"][0]["deleteAfter"].update(duration="P11Y"),
        "policy.properties.policyRules[3].lifecycles[0].deleteAfter.duration",
        "maximum retention",
    ),
    (
        lambda props: props["policyRules"][3]["lifecycles"][0]["deleteAfter"].update(objectType="RelativeDelete"),
        "policy.properties.policyRules[3].lifecycles[0].deleteAfter.objectType",
        "AbsoluteDeleteOption",
    ),
    (
        lambda props: props["policyRules"][3].update(lifecycles=[]),
        "policy.properties.policyRules[3].lifecycles",
        "required",
    ),
    (
        lambda props: props["policyRules"][3]["lifecycles"][0].update(
            targetDataStoreCopySettings=[
                {
                    "dataStore": {"objectType": "DataStoreInfoBase", "dataStoreType": "ArchiveStore"},
                    "copyAfter": {"objectType": "CopyLater"},
                }
            ]
        ),
        "policy.properties.policyRules[3].lifecycles[0].targetDataStoreCopySettings[0].copyAfter.objectType",
        "CustomCopyOption",
    ),
    (
        lambda props: props["policyRules"][0]["trigger"]["schedule"].update(
            repeatingTimeIntervals=["R/2024-01-07T02:00:00+00:00/P1D"]
        ),
        "policy.properties.policyRules[0].trigger.schedule.repeatingTimeIntervals[0]",
        "weekly schedules only",
    ),
    (
        lambda props: props["policyRules"][0]["trigger"]["schedule"].update(
            repeatingTimeIntervals=["R/2024-01-07T02:00:00+00:00/PT4H"]
        ),
        "policy.properties.policyRules[0].trigger.schedule.repeatingTimeIntervals[0]",
        "weekly schedules only",
    ),
    (
        lambda props: props["policyRules"][0]["trigger"]["schedule"].update(repeatingTimeIntervals=["every Sunday"]),
        "policy.properties.policyRules[0].trigger.schedule.repeatingTimeIntervals[0]",
        "not a repeating interval",
    ),
    (
        lambda props: props["policyRules"][0]["trigger"]["schedule"].update(
            repeatingTimeIntervals=["R/2024-01-07T02:00:00+00:00/P1W", "R/2024-01-14T02:00:00+00:00/P1W"]
        ),
        "policy.properties.policyRules[0].trigger.schedule.repeatingTimeIntervals[1]",
        "Sunday is scheduled twice",
    ),
    (
        lambda props: props["policyRules"][0]["trigger"]["schedule"].update(
            repeatingTimeIntervals=["R/2024-01-07T02:00:00+00:00/P1W", "R/2024-01-08T03:00:00+00:00/P1W"]
        ),
        "policy.properties.policyRules[0].trigger.schedule.repeatingTimeIntervals[1]",
        "same time of day",
    ),
    (
        lambda props: props["policyRules"][0]["backupParameters"].update(backupType="Incremental"),
        "policy.properties.policyRules[0].backupParameters.backupType",
        "Full",
    ),
    (
        lambda props: props["policyRules"][0]["trigger"]["taggingCriteria"][1]["tagInfo"].update(tagName="Daily"),
        "policy.properties.policyRules[0].trigger.taggingCriteria[1].tagInfo.tagName",
        "names no retention rule",
    ),
    (
        lambda props: props["policyRules"][0]["trigger"]["taggingCriteria"].pop(0),
        "policy.properties.policyRules[0].trigger.taggingCriteria",
        "isDefault: true",
    ),
    (
        lambda props: props["policyRules"][0]["trigger"]["taggingCriteria"][1].update(criteria=[]),
        "policy.properties.policyRules[0].trigger.taggingCriteria[1].criteria",
        "required",
    ),
    (
        lambda props: props["policyRules"][0]["trigger"]["taggingCriteria"][1]["criteria"][0].update(
            absoluteCriteria=["FirstOfFortnight"]
        ),
        "policy.properties.policyRules[0].trigger.taggingCriteria[1].criteria[0].absoluteCriteria",
        "FirstOfWeek",
    ),
    (
        lambda props: props["policyRules"][0]["trigger"]["taggingCriteria"][1]["criteria"][0].update(
            absoluteCriteria=None, daysOfMonth=[{"date": 31}]
        ),
        "policy.properties.policyRules[0].trigger.taggingCriteria[1].criteria[0].daysOfMonth",
        "1..28",
    ),
    (
        lambda props: props["policyRules"][0]["trigger"]["taggingCriteria"][1].update(taggingPriority="high"),
        "policy.properties.policyRules[0].trigger.taggingCriteria[1].taggingPriority",
        "integer",
    ),
]


@pytest.mark.parametrize("change, field, text", RAW_ERRORS)
def test_raw_body_errors(change, field, text):
    error = _error(policy.validate_raw_body, _mutated(change))
    assert error.field == field
    assert text in str(error)


def test_raw_properties_without_wrapper_name_fields_from_policy():
    body = copy.deepcopy(MUST_SHOW_BODY["properties"])
    body["objectType"] = "Policy"
    assert _error(policy.validate_raw_body, body).field == "policy.objectType"


def test_raw_body_warnings():
    def change(props):
        props["policyRules"][0]["name"] = "Weekly backup"
        props["policyRules"][0]["trigger"]["taggingCriteria"].pop()  # Yearly rule left without a tag
        props["policyRules"][0]["trigger"]["schedule"]["timeZone"] = "Atlantis Standard Time"

    warnings = policy.validate_raw_body(_mutated(change))
    assert len(warnings) == 3
    assert any("policyRules[0].name" in warning and "BackupWeekly" in warning for warning in warnings)
    assert any("retention rule Yearly has no tag" in warning for warning in warnings)
    assert any("trigger.schedule.timeZone: unknown time zone" in warning for warning in warnings)


# ----------------------------------------------------------------------------------------------------------------
# Retention preview: the must-show policy over two years, checked by hand


@pytest.fixture(scope="module")
def must_show_preview():
    return policy.retention_preview(MUST_SHOW, datetime(2026, 1, 1, tzinfo=UTC), horizon="P2Y")


def _entry(preview, day):
    found = [backup for backup in preview["backups"] if backup["time"].startswith(day)]
    assert len(found) == 1, day
    return found[0]


def test_preview_next_backup_and_horizon(must_show_preview):
    assert must_show_preview["next_backup"] == "2026-01-04T02:00:00+00:00"
    assert must_show_preview["end"] == "2028-01-04T02:00:00+00:00"
    assert must_show_preview["time_zone"] == "UTC"
    # Sundays from 2026-01-04 to 2028-01-02 inclusive: 104 weeks apart, so 105 backups.
    assert len(must_show_preview["backups"]) == 105
    assert must_show_preview["backups"][-1]["time"] == "2028-01-02T02:00:00+00:00"


@pytest.mark.parametrize(
    "day, tag, expires",
    [
        # First backup of 2026 (also first of January and of its week): Yearly, ten years.
        ("2026-01-04", "Yearly", "2036-01-04T02:00:00+00:00"),
        # Other January Sundays: first of their week only: Weekly, twelve weeks.
        ("2026-01-11", "Weekly", "2026-04-05T02:00:00+00:00"),
        ("2026-01-25", "Weekly", "2026-04-19T02:00:00+00:00"),
        # First Sunday of February: Monthly, twelve calendar months.
        ("2026-02-01", "Monthly", "2027-02-01T02:00:00+00:00"),
        ("2026-02-08", "Weekly", "2026-05-03T02:00:00+00:00"),
        ("2026-03-01", "Monthly", "2027-03-01T02:00:00+00:00"),
        ("2026-05-31", "Weekly", "2026-08-23T02:00:00+00:00"),
        ("2026-11-01", "Monthly", "2027-11-01T02:00:00+00:00"),
        ("2026-12-06", "Monthly", "2027-12-06T02:00:00+00:00"),
        ("2026-12-27", "Weekly", "2027-03-21T02:00:00+00:00"),
        # First Sunday of 2027 is January 3rd: Yearly, not Monthly.
        ("2027-01-03", "Yearly", "2037-01-03T02:00:00+00:00"),
        ("2027-01-10", "Weekly", "2027-04-04T02:00:00+00:00"),
        ("2027-08-01", "Monthly", "2028-08-01T02:00:00+00:00"),
        ("2028-01-02", "Yearly", "2038-01-02T02:00:00+00:00"),
    ],
)
def test_preview_spot_checks(must_show_preview, day, tag, expires):
    entry = _entry(must_show_preview, day)
    assert (entry["tag"], entry["expires"]) == (tag, expires)


def test_preview_every_backup_has_exactly_one_tag(must_show_preview):
    for backup in must_show_preview["backups"]:
        moment = datetime.fromisoformat(backup["time"])
        if moment.day <= 7:
            expected = "Yearly" if moment.month == 1 else "Monthly"
        else:
            expected = "Weekly"
        assert backup["tag"] == expected, backup
    assert must_show_preview["backups_per_tag"] == {"Yearly": 3, "Monthly": 22, "Weekly": 80, "Default": 0}
    assert sum(must_show_preview["backups_per_tag"].values()) == len(must_show_preview["backups"])


def test_preview_lists_the_tags_by_priority(must_show_preview):
    assert must_show_preview["tags"] == [
        {"tag": "Yearly", "priority": 10, "duration": "P10Y"},
        {"tag": "Monthly", "priority": 15, "duration": "P12M"},
        {"tag": "Weekly", "priority": 20, "duration": "P12W"},
        {"tag": "Default", "priority": 99, "duration": "P3M"},
    ]


def test_preview_steady_state(must_show_preview):
    """At the first backup once ten years have passed (Sunday 2036-01-06, itself Yearly):

    * Yearly 10: the first Sundays of January 2027..2036 (2026's expired on 2036-01-04).
    * Monthly 11, not 12: the first Sundays of February..December 2035; January's first backup is Yearly.
    * Weekly 9, not 12: the last twelve Sundays (2035-10-21..2036-01-06) hold three first Sundays of a
      month (Nov 4, Dec 2, Jan 6), which the Monthly/Yearly rules take: FirstOfWeek is shadowed.
    * Default 0: every backup is the first of its week.
    """
    assert must_show_preview["steady_state_at"] == "2036-01-06T02:00:00+00:00"
    assert must_show_preview["steady_state"] == {"Yearly": 10, "Monthly": 11, "Weekly": 9, "Default": 0}
    assert must_show_preview["steady_state_total"] == 30
    assert must_show_preview["steady_state_range"] == {
        "Yearly": {"min": 9, "max": 10},
        "Monthly": {"min": 10, "max": 12},
        "Weekly": {"min": 9, "max": 10},
        "Default": {"min": 0, "max": 0},
    }


@pytest.mark.parametrize(
    "instant, counts",
    [
        # Between 2035-04-01's expiry and 2036-04-06: April has no Monthly point -> 10 (and 10 Weekly).
        (datetime(2036, 4, 3, tzinfo=UTC), {"Yearly": 10, "Monthly": 10, "Weekly": 10}),
        # 2036-03-02 is taken and 2035-03-04 not yet expired: both March points -> 12.
        (datetime(2036, 3, 3, tzinfo=UTC), {"Yearly": 10, "Monthly": 12, "Weekly": 9}),
        (datetime(2036, 6, 5, tzinfo=UTC), {"Yearly": 10, "Monthly": 11, "Weekly": 9}),
    ],
)
def test_points_alive_at_hand_checked_instants(instant, counts):
    points = policy.simulate_backups(MUST_SHOW, datetime(2026, 1, 1, tzinfo=UTC), datetime(2037, 1, 1, tzinfo=UTC))
    alive = {}
    for when, tag, expires in points:
        if when <= instant < expires:
            alive[tag] = alive.get(tag, 0) + 1
    assert alive == counts


def test_preview_accepts_body_readable_and_service_body_alike(must_show_preview):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert policy.retention_preview(MUST_SHOW_BODY, start, horizon="P2Y") == must_show_preview
    assert policy.retention_preview(_as_service_returns(MUST_SHOW_BODY), start, horizon="P2Y") == must_show_preview


def test_preview_default_horizon_is_one_year_from_the_next_backup():
    preview = policy.retention_preview(MUST_SHOW, datetime(2026, 1, 1, tzinfo=UTC))
    assert preview["end"] == "2027-01-04T02:00:00+00:00"
    assert len(preview["backups"]) == 53  # 2026-01-04 .. 2027-01-03


def test_preview_horizon_as_end_datetime():
    preview = policy.retention_preview(
        MUST_SHOW, datetime(2026, 1, 1, tzinfo=UTC), horizon=datetime(2026, 2, 1, 2, tzinfo=UTC)
    )
    assert [backup["time"][:10] for backup in preview["backups"]] == [
        "2026-01-04",
        "2026-01-11",
        "2026-01-18",
        "2026-01-25",
    ]


def test_preview_protection_starting_mid_year_makes_the_first_backup_yearly():
    """The first successful backup of the year is Yearly, even in June, when protection starts then."""
    preview = policy.retention_preview(MUST_SHOW, datetime(2026, 6, 10, tzinfo=UTC), horizon="P2W")
    assert [(backup["time"][:10], backup["tag"]) for backup in preview["backups"]] == [
        ("2026-06-14", "Yearly"),
        ("2026-06-21", "Weekly"),
    ]
    earlier = policy.retention_preview(
        MUST_SHOW, datetime(2026, 6, 10, tzinfo=UTC), horizon="P2W", protected_since=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert [backup["tag"] for backup in earlier["backups"]] == ["Weekly", "Weekly"]


def test_preview_a_failed_first_backup_passes_the_tag_on():
    preview = policy.retention_preview(
        MUST_SHOW, datetime(2026, 1, 1, tzinfo=UTC), horizon="P6W", failures=[datetime(2026, 2, 1, 2, tzinfo=UTC)]
    )
    assert [(backup["time"][:10], backup["tag"]) for backup in preview["backups"]] == [
        ("2026-01-04", "Yearly"),
        ("2026-01-11", "Weekly"),
        ("2026-01-18", "Weekly"),
        ("2026-01-25", "Weekly"),
        ("2026-02-08", "Monthly"),
    ]


def test_preview_needs_an_aware_start():
    error = _error(policy.retention_preview, MUST_SHOW, datetime(2026, 1, 1))
    assert error.field == "start"


def test_preview_validates_a_readable_policy():
    bad = {"schedule": SUNDAY_2AM, "retention": {"default": {"duration": "P11Y"}}}
    assert _error(policy.retention_preview, bad, datetime(2026, 1, 1, tzinfo=UTC)).field == "retention.default.duration"


# ----------------------------------------------------------------------------------------------------------------
# Retention preview: other criteria, weeks, time zones


def test_first_of_week_starts_on_sunday():
    """Saturday and Sunday backups: Sunday opens the week, so it is the Weekly one; Saturday falls to Default."""
    schedule = {"days_of_week": ["Saturday", "Sunday"], "time": "02:00"}
    readable = {"schedule": schedule, "retention": {"default": {"duration": "P1W"}, "weekly": {"duration": "P4W"}}}
    # Start on a Friday: the Saturday that follows is still the first backup of its week.
    preview = policy.retention_preview(readable, datetime(2026, 1, 2, tzinfo=UTC), horizon="P15D")
    assert [(backup["time"][:10], backup["tag"]) for backup in preview["backups"]] == [
        ("2026-01-03", "Weekly"),
        ("2026-01-04", "Weekly"),
        ("2026-01-10", "Default"),
        ("2026-01-11", "Weekly"),
        ("2026-01-17", "Default"),
    ]
    assert policy.WEEK_START == "Sunday"


def test_weeks_of_month_and_days_of_week():
    readable = {
        "schedule": {"days_of_week": ["Sunday", "Wednesday"], "time": "02:00"},
        "retention": {
            "default": {"duration": "P2W"},
            "monthly": {"duration": "P6M", "weeks_of_month": ["Last"], "days_of_week": ["Wednesday"]},
            "yearly": {
                "duration": "P5Y",
                "months_of_year": ["March"],
                "weeks_of_month": ["Second"],
                "days_of_week": ["Sunday"],
            },
        },
    }
    preview = policy.retention_preview(readable, datetime(2026, 3, 1, tzinfo=UTC), horizon="P9W")
    tagged = dict((backup["time"][:10], backup["tag"]) for backup in preview["backups"])
    assert tagged.pop("2026-03-08") == "Yearly"  # second Sunday of March (days 8-14)
    assert tagged.pop("2026-03-25") == "Monthly"  # last Wednesday of March (days 25-31)
    assert tagged.pop("2026-04-29") == "Monthly"  # last Wednesday of April (days 24-30)
    assert set(tagged.values()) == {"Default"}


def test_days_of_month_including_last_with_daily_backups():
    readable = {
        "schedule": {"days_of_week": EVERY_DAY, "time": "02:00"},
        "retention": {"default": {"duration": "P1W"}, "monthly": {"duration": "P1Y", "days_of_month": [1, 15, "Last"]}},
    }
    preview = policy.retention_preview(readable, datetime(2026, 2, 1, tzinfo=UTC), horizon="P1M")
    monthly = [backup["time"][:10] for backup in preview["backups"] if backup["tag"] == "Monthly"]
    assert monthly == ["2026-02-01", "2026-02-15", "2026-02-28"]
    assert preview["backups_per_tag"] == {"Monthly": 3, "Default": 25}


def test_preview_in_a_windows_time_zone_follows_the_wall_clock():
    readable = {
        "schedule": {"days_of_week": ["Sunday"], "time": "03:00", "timezone": "W. Europe Standard Time"},
        "retention": {"default": {"duration": "P1W"}, "monthly": {"duration": "P1M"}},
    }
    preview = policy.retention_preview(readable, datetime(2026, 3, 20, tzinfo=UTC), horizon="P3W")
    assert preview["time_zone"] == "W. Europe Standard Time"
    assert [backup["time"] for backup in preview["backups"]] == [
        "2026-03-22T03:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-04-05T03:00:00+02:00",
    ]
    # The first Sunday of April, in Berlin, is the Monthly one.
    assert [backup["tag"] for backup in preview["backups"]] == ["Monthly", "Default", "Monthly"]


def test_first_of_month_uses_the_policy_time_zone():
    """Sunday 2026-03-01 00:30 in Berlin is still February in UTC; it is March's first backup."""
    readable = {
        "schedule": {"days_of_week": ["Sunday"], "time": "00:30", "timezone": "Europe/Berlin"},
        "retention": {"default": {"duration": "P1W"}, "monthly": {"duration": "P1M"}},
    }
    preview = policy.retention_preview(readable, datetime(2026, 2, 20, tzinfo=UTC), horizon="P2W")
    assert [(backup["time"], backup["tag"]) for backup in preview["backups"]] == [
        ("2026-02-22T00:30:00+01:00", "Monthly"),
        ("2026-03-01T00:30:00+01:00", "Monthly"),
    ]


def test_next_scheduled_backups():
    readable = {
        "schedule": {"days_of_week": ["Wednesday", "Sunday"], "time": "21:15"},
        "retention": {"default": {"duration": "P1M"}},
    }
    times = policy.next_scheduled_backups(readable, datetime(2026, 1, 4, 21, 15, tzinfo=UTC), count=3)
    assert [moment.isoformat() for moment in times] == [
        "2026-01-04T21:15:00+00:00",
        "2026-01-07T21:15:00+00:00",
        "2026-01-11T21:15:00+00:00",
    ]


def test_preview_of_a_body_without_time_zone_uses_the_interval_offset():
    body = copy.deepcopy(MUST_SHOW_BODY)
    schedule = _backup_rule(body)["trigger"]["schedule"]
    schedule["repeatingTimeIntervals"] = ["R/2019-11-20T08:00:00-08:00/P1W"]
    del schedule["timeZone"]
    preview = policy.retention_preview(body, datetime(2026, 1, 1, tzinfo=UTC), horizon="P1W")
    assert preview["next_backup"] == "2026-01-07T08:00:00-08:00"


def test_preview_is_exact_for_a_long_daily_policy_quickly():
    """Seven days a week and ten years of retention: thousands of points, still a simulation."""
    readable = {
        "schedule": {"days_of_week": EVERY_DAY, "time": "02:00"},
        "retention": {
            "default": {"duration": "P30D"},
            "weekly": {"duration": "P12W"},
            "monthly": {"duration": "P12M"},
            "yearly": {"duration": "P10Y"},
        },
    }
    before = datetime.now(UTC)
    preview = policy.retention_preview(readable, datetime(2026, 1, 1, tzinfo=UTC))
    assert datetime.now(UTC) - before < timedelta(seconds=20)
    # Daily: Default keeps 30 days minus the first-of-week/month/year days among them.
    assert preview["steady_state"]["Yearly"] == 10
    assert 11 <= preview["steady_state"]["Monthly"] <= 12
    assert 9 <= preview["steady_state"]["Weekly"] <= 12
    assert 24 <= preview["steady_state"]["Default"] <= 27


# ----------------------------------------------------------------------------------------------------------------
# Bodies without a time zone, malformed raw bodies


def test_a_schedule_without_time_zone_in_utc_equals_timezone_utc():
    no_zone = copy.deepcopy(MUST_SHOW_BODY)
    del _backup_rule(no_zone)["trigger"]["schedule"]["timeZone"]
    assert policy.bodies_equal(MUST_SHOW_BODY, no_zone)
    assert policy.body_to_readable(no_zone) == policy.body_to_readable(MUST_SHOW_BODY)
    assert "timeZone" not in policy.normalize_body(no_zone)["policyRules"][0]["trigger"]["schedule"]


def test_a_schedule_without_time_zone_in_another_offset_is_custom():
    body = copy.deepcopy(MUST_SHOW_BODY)
    schedule = _backup_rule(body)["trigger"]["schedule"]
    schedule["repeatingTimeIntervals"] = ["R/2019-11-20T08:00:00-08:00/P1W"]
    del schedule["timeZone"]
    readable = policy.body_to_readable(body)
    assert readable["custom"] is True
    assert "no timeZone" in readable["reason"]
    assert not policy.bodies_equal(MUST_SHOW_BODY, body)


@pytest.mark.parametrize(
    "change, field",
    [
        (
            lambda props: props["policyRules"][3].update(lifecycles=["P12M"]),
            "policy.properties.policyRules[3].lifecycles[0]",
        ),
        (
            lambda props: props["policyRules"][0].update(trigger="weekly"),
            "policy.properties.policyRules[0].trigger",
        ),
        (
            lambda props: props["policyRules"][0]["trigger"]["taggingCriteria"].append("Weekly"),
            "policy.properties.policyRules[0].trigger.taggingCriteria[4]",
        ),
        (
            lambda props: props["policyRules"][0]["trigger"]["taggingCriteria"][1]["criteria"][0].update(
                daysOfTheWeek="Sunday"
            ),
            "policy.properties.policyRules[0].trigger.taggingCriteria[1].criteria[0].daysOfTheWeek",
        ),
        (lambda props: props["policyRules"][2].update(name=["Weekly"]), "policy.properties.policyRules[2]"),
    ],
)
def test_malformed_raw_bodies_name_the_field(change, field):
    error = _error(policy.validate_raw_body, _mutated(change))
    assert error.field == field


def test_expiry_is_computed_on_the_utc_instant_across_daylight_saving():
    # 2025-01-12 02:30 in Berlin is 01:30 UTC; twelve weeks later Berlin is on summer time, but the recovery
    # point still expires at 01:30 UTC (the service keeps expiry times in UTC).
    schedule = {"days_of_week": ["Sunday"], "time": "02:30", "timezone": "W. Europe Standard Time"}
    body = policy.readable_to_body(schedule, {"default": {"duration": "P12W"}})
    points = policy.simulate_backups(body, datetime(2025, 1, 11, tzinfo=UTC), datetime(2025, 1, 13, tzinfo=UTC))
    assert len(points) == 1
    when, tag, expires = points[0]
    assert when.astimezone(UTC) == datetime(2025, 1, 12, 1, 30, tzinfo=UTC)
    assert tag == "Default"
    assert expires.astimezone(UTC) == datetime(2025, 4, 6, 1, 30, tzinfo=UTC)


def test_month_expiry_uses_the_utc_calendar():
    # 2026-03-01 05:00 in Tokyo is 2026-02-28 20:00 UTC: one month later is 2026-03-28 20:00 UTC.
    schedule = {"days_of_week": ["Sunday"], "time": "05:00", "timezone": "Tokyo Standard Time"}
    body = policy.readable_to_body(schedule, {"default": {"duration": "P1M"}})
    points = policy.simulate_backups(body, datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    assert [expires.astimezone(UTC) for dummy, dummy2, expires in points] == [datetime(2026, 3, 28, 20, 0, tzinfo=UTC)]


def test_every_readable_problem_is_listed_at_once():
    with pytest.raises(policy.PolicyErrors) as caught:
        policy.validate_readable(
            {"days_of_week": ["Sunday", "Funday"], "time": "25:00", "timezone": "Mars/Olympus"},
            {"default": {"duration": "P3X"}, "weekly": {"duration": "P0W"}, "hourly": {"duration": "P1D"}},
            ds=PGFLEX,
        )
    fields = [error.field for error in caught.value.errors]
    assert fields == ["schedule.days_of_week", "schedule.time", "schedule.timezone", "retention.hourly",
                      "retention.default.duration", "retention.weekly.duration"]
    assert caught.value.option == "schedule.days_of_week"
    assert str(caught.value).startswith("6 problems in the policy: schedule.days_of_week: ")
    assert len(caught.value.fail_kwargs()["problems"]) == 6


def test_one_readable_problem_keeps_its_own_message():
    with pytest.raises(PolicyError) as caught:
        policy.validate_readable({"days_of_week": ["Sunday"], "time": "7"}, {"default": {"duration": "P4W"}}, ds=PGFLEX)
    assert not isinstance(caught.value, policy.PolicyErrors)
    assert str(caught.value) == "schedule.time: expected the time of day as HH:MM (24 hours), got '7'"
