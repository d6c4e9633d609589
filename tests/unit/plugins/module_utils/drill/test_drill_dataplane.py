"""The drill's download, load, checks and cleanup against the real data path: Azurite holds the restored files
and the emulator's own PostgreSQL is the target (restored as scratch databases next to the sample databases).

The restore itself goes through the SDK here; the role drives it with azbackup.dataprotection.pgflex_restore.
"""

import datetime

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils.drill import names, run, storage, target
from emulator.dataplane import sample
from tests.emulator.conftest import running_emulator
from tests.emulator.dp_helpers import GROUP, protected_instance
from tests.emulator.restore_helpers import backup_now, blob_endpoint, grant_blob_role, restore_request, wait_job

pytestmark = pytest.mark.xdist_group("dataplane")

START_TIMEOUT = 300  # initdb + sample data + Azurite; a bound, not a speed assumption


@pytest.fixture(scope="module")
def dp_emulator(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("drill") / "state"
    state_dir.mkdir()
    with running_emulator(state_dir, "--lro-seconds", "0.2", "--data-plane", timeout=START_TIMEOUT) as instance:
        yield instance


@pytest.fixture
def dp(dp_emulator, monkeypatch):
    dp_emulator.control("POST", "reset")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", dp_emulator.ca_bundle)
    return dp_emulator


def _target(dp):
    postgres = dp.control("GET", "data-plane")["postgres"]
    return target.Target(postgres["host"], postgres["port"], postgres["user"], None, "disable")


def _restored(dp, prefix, damage=None):
    """Back up pg-eus-orders, optionally damage a database file of the point, restore it as files under prefix."""
    client, vault, _policy = protected_instance(dp)
    point = backup_now(dp, client)
    if damage:
        dp.control("POST", "damage", json={"recovery_point": point, "database": damage})
    grant_blob_role(dp, vault["identity"]["principalId"])
    result = client.backup_instances.begin_trigger_restore(GROUP, "bv-bi", "bi-orders",
                                                           restore_request(dp, point, prefix=prefix)).result()
    job = wait_job(client, result.job_id)
    assert job.properties.status == "Completed", job.properties.error_details
    rp = client.recovery_points.get(GROUP, "bv-bi", "bi-orders", point).properties
    container = storage.container_client(blob_endpoint(dp), "restores", dp.credential())
    return point, rp, container


def _params(prefix, point, rp, **extra):
    params = dict(server_name="pg-eus-orders", server_id="/s/pg-eus-orders", run_id="t1", file_prefix=prefix,
                  database_prefix="drill_", recovery_point=dict(id=point, time=rp.recovery_point_time.isoformat(),
                                                                tag=rp.retention_tag_name),
                  restore_job=dict(duration_seconds=1.0), jobs=2, load_timeout=300, replay_roles=True,
                  started_at=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                  checks=[dict(name="orders exist", database="app", sql="select count(*) from orders", operator="ge",
                               value=1),
                          dict(name="recent orders", database="app", sql="select max(created_at) from orders",
                               operator="newer_than_point_minus", value="P1D")],
                  max_rpo_seconds=0, max_rto_seconds=0, keep=[])
    params.update(extra)
    return params


def _scratch(dp):
    postgres = _target(dp)
    with postgres.connect() as conn:
        return sorted(row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'drill%'"))


def test_drill_restores_exactly_the_rows_of_the_point_and_cleans_up(dp):
    point, rp, container = _restored(dp, "run1-pg-eus-orders")
    content = dp.control("GET", f"recovery-points/{point}/content")
    postgres = _target(dp)
    params = _params("run1-pg-eus-orders", point, rp)

    result = run.Drill(params, container, postgres).run()

    assert result["passed"] is True, result["failures"]
    assert {entry["name"]: entry["tables"] for entry in result["databases"]} == \
        {name: item["tables"] for name, item in content["databases"].items()} == sample.row_counts("pg-eus-orders")
    assert result["download"]["bytes"] == sum(f["size"] for f in result["download"]["files"]) > 0
    assert result["pg_restore_seconds"] >= 0 and result["rto_seconds"] >= result["pg_restore_seconds"]
    assert [check["passed"] for check in result["checks"]] == [True, True]
    assert sorted(result["roles"]["left_as_they_were"]) == ["pg-eus-orders__app_rw", "postgres"]  # exist here
    assert _scratch(dp) == ["drill_pg_eus_orders_app_t1", "drill_pg_eus_orders_audit_t1"]

    removed = run.clean_up(params, container, postgres, run.databases_in_container(container, params["file_prefix"]))
    assert removed["problems"] == []
    assert sorted(removed["databases"]) == ["drill_pg_eus_orders_app_t1", "drill_pg_eus_orders_audit_t1"]
    assert len(removed["blobs"]) == 5
    assert _scratch(dp) == []
    assert storage.list_prefixed(container, params["file_prefix"]) == []


def test_a_damaged_point_fails_naming_the_file_and_the_error(dp):
    point, rp, container = _restored(dp, "run2-pg-eus-orders", damage="app")
    postgres = _target(dp)
    params = _params("run2-pg-eus-orders", point, rp, checks=[])

    result = run.Drill(params, container, postgres).run()

    assert result["passed"] is False
    assert any(reason.startswith("run2-pg-eus-orders_database_app.sql (app): ") for reason in result["failures"]), \
        result["failures"]
    audit = next(entry for entry in result["databases"] if entry["name"] == "audit")
    assert audit["tables"] == sample.row_counts("pg-eus-orders")["audit"]
    assert result["rto_seconds"] is None

    removed = run.clean_up(params, container, postgres, ["app", "audit"])
    assert len(removed["databases"]) == 2 and _scratch(dp) == []


def test_rpo_threshold_shorter_than_the_points_age_fails_naming_both(dp):
    point, rp, container = _restored(dp, "run3-pg-eus-orders")
    params = _params("run3-pg-eus-orders", point, rp, checks=[], max_rpo_seconds=0.001)

    result = run.Drill(params, container, _target(dp)).run()

    assert result["passed"] is False
    [reason] = result["failures"]
    assert reason.startswith("RPO exceeded: recovery point {0} taken ".format(point))
    assert reason.endswith("over the threshold of 0.0s")
    run.clean_up(params, container, _target(dp), ["app", "audit"])
    assert _scratch(dp) == []


def test_roles_the_replay_creates_are_marked_and_dropped(dp):
    postgres = _target(dp)
    replay = postgres.replay_roles(['CREATE ROLE "drill_probe_role";', 'ALTER ROLE "drill_probe_role" WITH LOGIN;',
                                    'CREATE ROLE "pg-eus-orders__app_rw";', "ALTER ROLE nosuchrole WITH LOGIN;"], "t9")
    assert replay["created"] == ["drill_probe_role"]
    assert replay["skipped"] == ["pg-eus-orders__app_rw"]
    assert [entry["kind"] for entry in replay["errors"]] == ["other"]
    assert postgres.drop_marked_roles("t9") == ["drill_probe_role"]
    assert "drill_probe_role" not in postgres.roles()
    assert names.scratch_database("drill_", "t9", "x", "y") == "drill_x_y_t9"
