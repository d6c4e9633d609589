# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from ansible_collections.azbackup.dataprotection.plugins.modules import (
    pgflex_backup_instance,
    pgflex_backup_instance_info,
    pgflex_ondemand_backup,
)
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.modules.fake_session import FakeSession
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.vault_fakes import (
    SERVER_ID,
    VAULT_ID,
    Fake,
    instance_body,
    server_body,
)

ARGS = {"vault_id": VAULT_ID, "server_id": SERVER_ID, "policy_name": "weekly"}


def session_with(instances=None):
    return FakeSession(Fake(instances=instances), resources={SERVER_ID: server_body()})


def test_check_mode_plans_protection_and_writes_nothing(run_module):
    session = session_with()
    result, failed = run_module(pgflex_backup_instance, dict(ARGS, _ansible_check_mode=True), session)
    assert not failed and result["changed"], result
    assert result["backup_instance"]["name"].startswith("pg1-pg1-")
    assert result["backup_instance"]["state"] == "present"
    assert result["validation"]["service_validation"] == "skipped in check mode (validateForBackup is a POST)"
    assert session.dataprotection.writes() == []
    assert ("GET", SERVER_ID, "2024-08-01") in session.requests


def test_protected_server_is_unchanged(run_module):
    session = session_with([instance_body("pg1-pg1-x")])
    result, failed = run_module(pgflex_backup_instance, ARGS, session)
    assert not failed and not result["changed"], result
    assert result["backup_instance"]["name"] == "pg1-pg1-x"
    assert session.dataprotection.writes() == []


def test_a_malformed_identity_fails_naming_the_option_before_any_request(run_module):
    session = session_with()
    result, failed = run_module(pgflex_backup_instance, dict(ARGS, identity="not-an-id"), session)
    assert failed and result["option"] == "identity" and "system_assigned" in result["msg"]
    assert session.requests == [] and session.dataprotection.calls == []


def test_a_server_of_another_type_fails_naming_the_option(run_module):
    args = dict(ARGS, server_id=SERVER_ID.replace("Microsoft.DBforPostgreSQL/flexibleServers", "Microsoft.Sql/servers"))
    result, failed = run_module(pgflex_backup_instance, args)
    assert failed and result["option"] == "server_id"


def test_info_lists_the_instance_with_its_backups(run_module):
    session = session_with([instance_body("pg1-pg1-x")])
    result, failed = run_module(pgflex_backup_instance_info, {"vault_id": VAULT_ID}, session)
    assert not failed and not result["changed"]
    [instance] = result["backup_instances"]
    assert instance["server_id"] == SERVER_ID and instance["recovery_point_count"] == 0


def test_ondemand_check_mode_names_the_rule_and_tag_without_triggering(run_module):
    session = session_with([instance_body("pg1-pg1-x")])
    args = {"vault_id": VAULT_ID, "server_id": SERVER_ID, "retention_tag": "weekly", "_ansible_check_mode": True}
    result, failed = run_module(pgflex_ondemand_backup, args, session)
    assert not failed, result
    assert result["trigger"] == {"backup_instance_name": "pg1-pg1-x", "server_id": SERVER_ID,
                                 "rule_name": "BackupWeekly", "retention_tag": "Weekly", "policy_name": "weekly"}
    assert session.dataprotection.writes() == []


def test_ondemand_of_an_unprotected_server_fails_with_the_module_to_use(run_module):
    result, failed = run_module(pgflex_ondemand_backup, {"vault_id": VAULT_ID, "server_id": SERVER_ID}, session_with())
    assert failed and "azbackup.dataprotection.pgflex_backup_instance" in result["msg"]


def test_stopping_a_server_without_instance_fails_naming_it_in_check_mode_too(run_module):
    # What the unprotect playbook runs: list mode, state stopped, one server that the vault does not protect.
    unknown = SERVER_ID.replace("/pg1", "/pg-typo")
    for check_mode in (True, False):
        session = session_with([instance_body("pg1-pg1-x")])
        args = {"vault_id": VAULT_ID, "servers": [SERVER_ID, unknown], "state": "stopped",
                "_ansible_check_mode": check_mode}
        result, failed = run_module(pgflex_backup_instance, args, session)
        assert failed and "pg-typo" in result["msg"] and result["failed_servers"] == [unknown], result
        by_name = dict((item["server_name"], item) for item in result["servers"])
        assert "has no backup instance" in by_name["pg-typo"]["msg"]
        assert by_name["pg1"]["action"] == "stop" and by_name["pg1"]["changed"]
        assert [call[0] for call in session.dataprotection.writes()] == ([] if check_mode else ["stop"])
