# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from ansible_collections.azbackup.dataprotection.plugins.modules import backup_policy, backup_policy_info
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.modules.fake_session import FakeSession

ARGS = {
    "vault_name": "bv1", "resource_group": "rg-backup", "name": "weekly-3m",
    "schedule": {"days_of_week": ["Sunday"], "time": "02:00"},
    "retention": {"default": {"duration": "P3M"}, "weekly": {"duration": "P12W"}},
}


def test_check_mode_returns_the_policy_and_its_preview_without_writing(run_module):
    session = FakeSession()
    result, failed = run_module(backup_policy, dict(ARGS, _ansible_check_mode=True), session)
    assert not failed and result["changed"], result
    assert result["backup_policy"]["name"] == "weekly-3m"
    assert result["backup_policy"]["retention"]["weekly"]["duration"] == "P12W"
    assert result["retention_preview"]
    assert session.dataprotection.calls == []


def test_create_puts_the_body_azure_expects(run_module):
    session = FakeSession()
    result, failed = run_module(backup_policy, ARGS, session)
    assert not failed and result["changed"], result
    [(call, name, body)] = session.dataprotection.calls
    assert (call, name) == ("put_policy", "weekly-3m")
    rules = {rule["name"]: rule for rule in body["properties"]["policyRules"]}
    assert set(rules) == {"BackupWeekly", "Default", "Weekly"}
    assert body["properties"]["datasourceTypes"] == ["Microsoft.DBforPostgreSQL/flexibleServers"]


def test_bad_duration_fails_naming_the_field_before_any_request(run_module):
    session = FakeSession()
    args = dict(ARGS, retention={"default": {"duration": "P3X"}})
    result, failed = run_module(backup_policy, args, session)
    assert failed and result["field"] == "retention.default.duration", result
    assert session.dataprotection.calls == [] and session.requests == []


def test_missing_vault_fails_with_one_wording(run_module):
    session = FakeSession()
    session.dataprotection.vault = None
    result, failed = run_module(backup_policy, ARGS, session)
    assert failed and "Backup vault 'bv1' does not exist" in result["msg"]
    assert result["error_code"] == "ResourceNotFound"


def test_info_lists_the_policies_in_readable_form(run_module):
    result, failed = run_module(backup_policy_info, {"vault_name": "bv1", "resource_group": "rg-backup"})
    assert not failed and not result["changed"]
    assert [policy["name"] for policy in result["backup_policies"]] == ["weekly"]
