# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from ansible_collections.azbackup.dataprotection.plugins.modules import backup_job_info, pgflex_server_info
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.modules.fake_session import FakeSession
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.vault_fakes import (
    OTHER_SERVER_ID,
    SERVER_ID,
    VAULT_ID,
    server_body,
)


def test_server_info_reads_a_group_with_one_list_and_reports_problems(run_module):
    big = server_body(OTHER_SERVER_ID, location="West Europe", size=2048)
    session = FakeSession(resources={SERVER_ID: server_body(), OTHER_SERVER_ID: big})
    args = {"server_id": [SERVER_ID, OTHER_SERVER_ID], "location": "East US"}
    result, failed = run_module(pgflex_server_info, args, session)
    assert not failed and not result["changed"]
    assert [server["name"] for server in result["servers"]] == ["pg1", "pg2"]
    assert result["servers"][1]["over_size_limit"] and result["wrong_region"][0]["name"] == "pg2"
    assert [kind for kind, path, version in session.requests] == ["LIST"]
    assert session.requests[0][1].lower().endswith(
        "/resourcegroups/rg-pg/providers/microsoft.dbforpostgresql/flexibleservers")


def test_server_info_reports_invalid_names_without_reading_them(run_module):
    session = FakeSession()
    args = {"server_name": ["Bad_Name"], "server_resource_group": "rg-pg"}
    result, failed = run_module(pgflex_server_info, args, session)
    assert not failed and "not a valid PostgreSQL Flexible Server name" in result["problems"][0]
    assert session.requests == []


def test_job_info_lists_the_jobs_of_the_vault(run_module):
    result, failed = run_module(backup_job_info, {"vault_id": VAULT_ID})
    assert not failed and result["backup_jobs"] == []


def test_job_info_bad_window_fails_before_any_request(run_module):
    session = FakeSession()
    result, failed = run_module(backup_job_info, {"vault_id": VAULT_ID, "last": "soon"}, session)
    assert failed and "last" in result["msg"]
    assert session.requests == [] and session.dataprotection.calls == []
