"""The drill's names, rotation, report table, Markdown and history lines."""

import json

from ansible_collections.azbackup.dataprotection.plugins.module_utils.drill import names, report


def test_scratch_names_are_safe_and_bounded():
    assert names.scratch_database("drill_", "20260110t020000", "pg-orders", "app") == \
        "drill_pg_orders_app_20260110t020000"
    long_name = names.scratch_database("drill_", "20260110t020000", "pg-" + "x" * 80, "app")
    assert len(long_name) == 63
    assert long_name != names.scratch_database("drill_", "20260110t020000", "pg-" + "x" * 81, "app")


def test_files_and_databases():
    assert names.database_of_file("run-pg1_database_app.sql", "run-pg1") == "app"
    assert names.database_of_file("run-pg1_roles.sql", "run-pg1") is None
    assert names.database_of_file("run-pg10_database_app.sql", "run-pg1") is None
    assert names.file_prefix("drill-r1", "pg1") == "drill-r1-pg1"


def test_rotation_drills_every_server_within_the_expected_runs():
    servers = ["/s/a", "/s/b", "/s/c", "/s/d", "/s/e"]
    history, seen = [], []
    for run in range(3):
        chosen = report.choose_sample(servers, history, 2)
        assert len(chosen) == 2
        seen += chosen
        history += [dict(server_id=server, drilled_at="2026-01-%02dT02:00:00Z" % (run + 1)) for server in chosen]
    assert set(seen) == set(servers)
    assert report.choose_sample(servers, history, 0) == servers


def test_history_skips_lines_that_do_not_parse():
    assert report.read_history('{"server_id": "a"}\nnot json\n[1]\n') == [{"server_id": "a"}]


SERVER = dict(server_name="pg1", server_id="/s/pg1", passed=False,
              recovery_point=dict(id="rp1", time="2026-01-10T02:00:00+00:00", tag="Weekly"),
              rpo_seconds=3600, rto_seconds=None, pg_restore_seconds=1.5,
              restore_job=dict(duration_seconds=42), download=dict(bytes=2048, seconds=0.5),
              databases=[dict(name="app", scratch_database="drill_pg1_app_r1", tables={"public.orders": 12}, rows=12)],
              checks=[dict(name="rpo", passed=True, message="RPO met")],
              failures=["drill_database_audit.sql (audit): could not read from input file: end of file"],
              warnings=["x (app): extension not allow-listed"])


def test_table_markdown_and_history_carry_the_figures():
    lines = report.table([SERVER])
    assert "FAILED" in lines[2] and "Weekly" in lines[2] and "1h 00m" in lines[2]
    assert "    rows: app: orders=12" in lines
    assert "    FAILED: drill_database_audit.sql (audit): could not read from input file: end of file" in lines
    text = report.markdown(dict(run_id="r1", vault="bv", started_at="t"), [SERVER])
    assert "1 server(s), 0 passed, 1 failed" in text and "- `public.orders`: 12" in text
    line = json.loads(report.history_lines(dict(run_id="r1", started_at="t"), [SERVER])[0])
    assert line["rows"] == 12 and line["download_bytes"] == 2048 and line["passed"] is False
    assert report.summary([SERVER]) == dict(servers=1, passed=0, failed=1, failed_servers=["pg1"])
