# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from ansible_collections.azbackup.dataprotection.plugins.modules import pgflex_role_assignment
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.modules.fake_session import FakeSession
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.vault_fakes import (
    SERVER_ID,
    SYSTEM_PID,
    VAULT_ID,
    server_body,
    vault_body,
)


def session():
    return FakeSession(resources={SERVER_ID: server_body(), VAULT_ID: vault_body()})


def test_check_mode_lists_the_missing_grants_of_the_vault_identity(run_module):
    fake = session()
    args = {"vault_id": VAULT_ID, "server_id": [SERVER_ID], "operation": "backup", "_ansible_check_mode": True}
    result, failed = run_module(pgflex_role_assignment, args, fake)
    assert not failed and result["changed"], result
    assert result["vault_id"] == VAULT_ID
    assert sorted(item["role_name"] for item in result["assignments"]) == [
        "PostgreSQL Flexible Server Long Term Retention Backup Role", "Reader"]
    assert all(item["principal_id"] == SYSTEM_PID for item in result["assignments"])
    assert fake.authorization.role_assignments.created == []


def test_grants_are_created_under_their_deterministic_names(run_module):
    fake = session()
    args = {"vault_id": VAULT_ID, "server_id": [SERVER_ID], "operation": "backup"}
    result, failed = run_module(pgflex_role_assignment, args, fake)
    assert not failed and result["changed"], result
    created = fake.authorization.role_assignments.created
    assert len(created) == 2
    assert sorted(name for scope, name, body in created) == sorted(item["name"] for item in result["assignments"])


def test_restore_without_storage_account_fails_naming_the_option(run_module):
    result, failed = run_module(pgflex_role_assignment, {"vault_id": VAULT_ID, "operation": "restore"}, session())
    assert failed and "storage_account_id" in result["msg"]
