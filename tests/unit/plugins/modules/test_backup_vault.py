# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from ansible_collections.azbackup.dataprotection.plugins.modules import backup_vault, backup_vault_info
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.modules.fake_session import FakeSession
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.vault_fakes import SUB, Fake


def without_vault():
    fake = Fake()
    fake.vault = None
    return fake


ARGS = {"resource_group": "rg-backup", "name": "bv2", "location": "East US", "redundancy": "LocallyRedundant"}
REGIONS = {"/subscriptions/{0}/locations".format(SUB): {"value": [{"name": "eastus", "displayName": "East US"}]}}


def test_check_mode_predicts_the_vault_and_writes_nothing(run_module):
    session = FakeSession(without_vault(), REGIONS)
    result, failed = run_module(backup_vault, dict(ARGS, _ansible_check_mode=True), session)
    assert not failed and result["changed"], result
    assert result["backup_vault"]["name"] == "bv2" and result["backup_vault"]["redundancy"] == "LocallyRedundant"
    assert session.dataprotection.calls == []


def test_create_sends_one_put_with_the_options(run_module):
    session = FakeSession(without_vault(), REGIONS)
    result, failed = run_module(backup_vault, ARGS, session)
    assert not failed and result["changed"], result
    [(call, name, body)] = session.dataprotection.calls
    assert (call, name, body["location"]) == ("put_vault", "bv2", "East US")
    assert body["properties"]["storageSettings"][0]["type"] == "LocallyRedundant"


def test_bad_retention_fails_before_any_request(run_module):
    session = FakeSession(without_vault(), REGIONS)
    result, failed = run_module(backup_vault, dict(ARGS, soft_delete_retention_days=5), session)
    assert failed and "soft_delete_retention_days" in result["msg"]
    assert session.dataprotection.calls == [] and session.requests == []


def test_info_lists_the_vaults_of_a_resource_group(run_module):
    result, failed = run_module(backup_vault_info, {"resource_group": "rg-backup"})
    assert not failed and not result["changed"]
    assert [vault["name"] for vault in result["backup_vaults"]] == ["bv1"]


def test_a_location_that_is_not_a_region_fails_before_any_write(run_module):
    session = FakeSession(without_vault(), REGIONS)
    result, failed = run_module(backup_vault, dict(ARGS, location="moon"), session)
    assert failed and result["option"] == "location" and "'moon' is not a region" in result["msg"]
    assert "eastus" in result["msg"] and session.dataprotection.calls == []
