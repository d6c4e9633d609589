"""The drill's reading of pg_restore and roles errors, user checks and the RPO / RTO thresholds."""

import datetime
from decimal import Decimal

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils.drill import outcome

TRUNCATED = """pg_restore: error: could not read from input file: end of file
"""

MIXED = """pg_restore: error: could not execute query: ERROR:  extension "pg_cron" is not allow-listed for \
"azure_pg_admin" users in Azure Database for PostgreSQL
Command was: CREATE EXTENSION IF NOT EXISTS pg_cron WITH SCHEMA public;
pg_restore: error: could not execute query: ERROR:  relation "orders" does not exist
Command was: ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
pg_restore: warning: errors ignored on restore: 2
"""


def test_a_truncated_archive_fails_naming_the_file_and_the_error():
    verdict = outcome.pg_restore_outcome("app", "drill_database_app.sql", 1, TRUNCATED)
    assert verdict["passed"] is False
    assert verdict["warnings"] == []
    assert verdict["errors"][0]["message"] == \
        "drill_database_app.sql (app): could not read from input file: end of file"


def test_extension_not_allow_listed_is_a_warning_and_anything_else_a_failure():
    verdict = outcome.pg_restore_outcome("app", "f.sql", 1, MIXED)
    assert [entry["kind"] for entry in verdict["warnings"]] == ["extension_not_allow_listed"]
    assert [entry["message"] for entry in verdict["errors"]] == [
        'f.sql (app): could not execute query: ERROR:  relation "orders" does not exist']
    assert verdict["passed"] is False


def test_only_harmless_errors_pass_with_warnings():
    stderr = MIXED.split("pg_restore: error: could not execute query: ERROR:  relation", maxsplit=1)[0]
    verdict = outcome.pg_restore_outcome("app", "f.sql", 1, stderr)
    assert verdict["passed"] is True and len(verdict["warnings"]) == 1


def test_a_failure_without_an_error_line_still_fails():
    verdict = outcome.pg_restore_outcome("app", "f.sql", 137, "Killed\n")
    assert verdict["passed"] is False
    assert verdict["errors"][0]["message"] == "f.sql (app): pg_restore exited with 137: Killed"


def test_a_clean_run_passes():
    assert outcome.pg_restore_outcome("app", "f.sql", 0, "") == dict(passed=True, warnings=[], errors=[])


@pytest.mark.parametrize("message, kind", [
    ("must be superuser to alter superuser roles or change superuser attribute", "superuser_only"),
    ('role "app_rw" already exists', "role_exists"),
    ('permission denied to create role', "superuser_only"),
    ('syntax error at or near "ROLE"', "other"),
])
def test_classify(message, kind):
    assert outcome.classify(message) == (kind, kind != "other")


ROLES = """--
-- Roles
--

\\restrict abc
CREATE ROLE azure_pg_admin;
ALTER ROLE azure_pg_admin WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE azuresu;
CREATE ROLE replication;
ALTER ROLE replication WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN REPLICATION NOBYPASSRLS;
CREATE ROLE "pg-orders__app_rw";
ALTER ROLE "pg-orders__app_rw" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS \
PASSWORD 'SCRAM-SHA-256$x';
GRANT azure_pg_admin TO myadmin;
"""


def test_clean_roles_follows_azures_guide():
    assert outcome.clean_roles(ROLES) == [
        'CREATE ROLE "pg-orders__app_rw";',
        'ALTER ROLE "pg-orders__app_rw" WITH INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION '
        "PASSWORD 'SCRAM-SHA-256$x';",
    ]


@pytest.mark.parametrize("statement, role", [
    ('CREATE ROLE "pg-orders__app_rw";', "pg-orders__app_rw"),
    ('ALTER ROLE "we""ird" WITH LOGIN;', 'we"ird'),
    ("CREATE ROLE Reporting;", "reporting"),
    ("GRANT a TO b;", None),
])
def test_role_of(statement, role):
    assert outcome.role_of(statement) == role


POINT = "2026-01-10T02:00:00+00:00"


@pytest.mark.parametrize("check, value, passed", [
    (dict(name="orders", operator="ge", value=1), 12, True),
    (dict(name="orders", operator="ge", value=1), 0, False),
    (dict(name="total", operator="eq", value=18), Decimal("18.00"), True),
    (dict(name="none", operator="gt", value=0), None, False),
    (dict(name="label", operator="eq", value="x"), "x", True),
    (dict(name="nn", operator="not_null"), 0, True),
    (dict(name="fresh", operator="newer_than_point_minus", value="P1D"),
     datetime.datetime(2026, 1, 9, 3, 0, tzinfo=datetime.timezone.utc), True),
    (dict(name="stale", operator="newer_than_point_minus", value="PT12H"),
     datetime.datetime(2026, 1, 9, 3, 0, tzinfo=datetime.timezone.utc), False),
])
def test_user_checks(check, value, passed):
    result = outcome.evaluate_check(check, value, POINT)
    assert result["passed"] is passed
    assert result["message"].startswith("check '{0}': ".format(check["name"]))


def test_a_bad_duration_is_refused():
    with pytest.raises(ValueError, match="not a duration"):
        outcome.parse_duration("one day")


def test_thresholds_name_both_values():
    point = dict(id="rp1", time=POINT)
    rpo, rto = outcome.threshold_results(30 * 3600, 200, 24 * 3600, 600, point)
    assert rpo["passed"] is False
    assert rpo["message"] == ("RPO exceeded: recovery point rp1 taken 2026-01-10T02:00:00+00:00 is 1d 6h old, over "
                              "the threshold of 1d 0h")
    assert rto["passed"] is True and rto["message"] == \
        "RTO met: a queryable database after 3m 20s, within the threshold of 10m 00s"
    assert outcome.threshold_results(1, 1, 0, 0, point) == []


@pytest.mark.parametrize("seconds, text", [(None, "n/a"), (12.34, "12.3s"), (250, "4m 10s"), (3900, "1h 05m")])
def test_human_seconds(seconds, text):
    assert outcome.human_seconds(seconds) == text
