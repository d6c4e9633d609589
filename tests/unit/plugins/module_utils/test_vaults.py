"""Backup vault logic against a fake client: idempotency, check mode, forbidden changes, deletion."""

import copy

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import vaults
from ansible_collections.azbackup.dataprotection.plugins.module_utils.dataprotection import DataProtectionApi
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.fakes import Poller

VAULT_ID = "/subscriptions/sub/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1"


def service_vault(**overrides):
    """A vault as the service returns it (case and extra fields as Azure sends them)."""
    body = {
        "id": VAULT_ID,
        "name": "bv1",
        "type": "Microsoft.DataProtection/backupVaults",
        "location": "eastus",
        "tags": {"owner": "dba"},
        "identity": {"type": "SystemAssigned", "principalId": "pid-1", "tenantId": "tid"},
        "properties": {
            "provisioningState": "Succeeded",
            "storageSettings": [{"datastoreType": "VaultStore", "type": "GeoRedundant"}],
            "securitySettings": {"softDeleteSettings": {"state": "On", "retentionDurationInDays": 14.0},
                                 "immutabilitySettings": {"state": "Disabled"}},
            "featureSettings": {"crossRegionRestoreSettings": {"state": "Disabled"}},
            "monitoringSettings": {"azureMonitorAlertSettings": {"alertsForAllJobFailures": "Enabled"}},
            "resourceMoveState": "Unknown",
            "secureScore": "Minimum",
        },
    }
    for key, value in overrides.items():
        body[key] = value
    return body


def params(**overrides):
    base = {"resource_group": "rg-backup", "name": "bv1", "location": None, "redundancy": None,
            "soft_delete": None, "soft_delete_retention_days": None, "immutability": None,
            "cross_region_restore": None, "identity": None, "alerts_for_all_job_failures": None, "tags": None,
            "purge_tags": True, "allow_irreversible": False, "state": "present", "wait": True, "wait_timeout": 60}
    base.update(overrides)
    return base


class FakeVaults:
    def __init__(self, existing=None):
        self.existing = existing
        self.calls = []

    def begin_create_or_update(self, resource_group, name, body):
        self.calls.append(("PUT", resource_group, name, body))
        created = service_vault(location=body["location"], tags=body["tags"], identity=dict(
            body["identity"], principalId="new-pid", tenantId="tid"))
        created["properties"] = dict(created["properties"], **copy.deepcopy(body["properties"]))
        self.existing = created
        return Poller(created)

    def begin_update(self, resource_group, name, body):
        self.calls.append(("PATCH", resource_group, name, body))
        updated = copy.deepcopy(self.existing)
        if "tags" in body:
            updated["tags"] = body["tags"]
        for section, value in (body.get("properties") or {}).items():
            updated["properties"].setdefault(section, {}).update(value)
        self.existing = updated
        return Poller(updated)

    def begin_delete(self, resource_group, name):
        self.calls.append(("DELETE", resource_group, name))
        self.existing = None
        return Poller(None)

    def get(self, resource_group, name):
        return self.existing


class FakeList:
    def __init__(self, names):
        self.names = names

    def list(self, resource_group, vault_name):
        return [{"name": name} for name in self.names]


class FakeClient:
    def __init__(self, existing=None, instances=(), deleted=()):
        self.backup_vaults = FakeVaults(existing)
        self.backup_instances = FakeList(instances)
        self.deleted_backup_instances = FakeList(deleted)


def wait(poller, what):
    return poller.result()


def api(client):
    return DataProtectionApi(client, VAULT_ID, None, wait)


def present(client, p, check_mode=False):
    current = client.backup_vaults.existing
    result = vaults.ensure_present(api(client), current, p, "eastus", check_mode)
    return result.changed, result.resource, result.diff


def test_readable_form_of_a_service_vault():
    readable = vaults.to_readable(service_vault())
    assert readable["resource_group"] == "rg-backup"
    assert readable["redundancy"] == "GeoRedundant"
    assert readable["soft_delete"] == "enabled"
    assert readable["soft_delete_retention_days"] == 14
    assert readable["immutability"] == "disabled"
    assert readable["cross_region_restore"] is False
    assert readable["alerts_for_all_job_failures"] is True
    assert readable["identity"]["type"] == "system_assigned"
    assert readable["identity"]["principal_id"] == "pid-1"


def test_enum_case_and_separators_from_the_service_are_understood():
    body = service_vault(identity={"type": "systemassigned, userassigned", "userAssignedIdentities": {"/x/id1": {}}})
    body["properties"]["securitySettings"]["softDeleteSettings"]["state"] = "alwayson"
    readable = vaults.to_readable(body)
    assert readable["identity"]["type"] == "system_and_user_assigned"
    assert readable["soft_delete"] == "always_on"


def test_check_mode_create_writes_nothing_and_predicts_the_vault():
    client = FakeClient()
    changed, vault, diff = present(client, params(redundancy="LocallyRedundant"), check_mode=True)
    assert changed is True
    assert client.backup_vaults.calls == []
    assert vault["redundancy"] == "LocallyRedundant"
    assert vault["location"] == "eastus"
    assert vault["soft_delete"] == "enabled" and vault["soft_delete_retention_days"] == 14
    assert vault["identity"]["type"] == "system_assigned" and vault["identity"]["principal_id"] is None
    assert diff["before"] == {} and diff["after"]["name"] == "bv1"


def test_create_then_rerun_is_unchanged():
    client = FakeClient()
    p = params(redundancy="GeoRedundant", soft_delete_retention_days=30, tags={"env": "prod"})
    changed, vault, dummy = present(client, p)
    assert changed is True
    method, rg, name, body = client.backup_vaults.calls[0]
    assert (method, rg, name) == ("PUT", "rg-backup", "bv1")
    assert body["properties"]["storageSettings"] == [{"datastoreType": "VaultStore", "type": "GeoRedundant"}]
    assert body["properties"]["securitySettings"]["softDeleteSettings"] == {"state": "On",
                                                                            "retentionDurationInDays": 30}
    assert body["identity"] == {"type": "SystemAssigned"}
    assert vault["identity"]["principal_id"] == "new-pid"
    changed, again, dummy = present(client, p)
    assert changed is False
    assert len(client.backup_vaults.calls) == 1


def test_update_patches_only_what_changed():
    client = FakeClient(service_vault())
    changed, vault, diff = present(client, params(soft_delete_retention_days=60, tags={"owner": "dba"}))
    assert changed is True
    method, dummy, dummy2, body = client.backup_vaults.calls[0]
    assert method == "PATCH"
    assert body == {"properties": {"securitySettings": {"softDeleteSettings": {
        "state": "On", "retentionDurationInDays": 60}}}}
    assert diff["before"]["soft_delete_retention_days"] == 14
    assert diff["after"]["soft_delete_retention_days"] == 60


def test_check_mode_update_predicts_without_writing():
    client = FakeClient(service_vault())
    changed, vault, dummy = present(client, params(alerts_for_all_job_failures=False), check_mode=True)
    assert changed is True
    assert vault["alerts_for_all_job_failures"] is False
    assert client.backup_vaults.calls == []


def test_tags_purge_and_merge():
    client = FakeClient(service_vault())
    changed, vault, dummy = present(client, params(tags={"env": "prod"}, purge_tags=False), check_mode=True)
    assert vault["tags"] == {"owner": "dba", "env": "prod"}
    changed, vault, dummy = present(client, params(tags={"env": "prod"}), check_mode=True)
    assert vault["tags"] == {"env": "prod"}
    changed, vault, dummy = present(client, params(tags=None))
    assert changed is False


@pytest.mark.parametrize("overrides, message", [
    ({"name": "b"}, "not a valid Backup vault name"),
    ({"name": "bad_name!"}, "not a valid Backup vault name"),
    ({"name": "x" * 51}, "not a valid Backup vault name"),
    ({"soft_delete_retention_days": 13}, "between 14 and 180"),
    ({"soft_delete_retention_days": 181}, "between 14 and 180"),
    ({"soft_delete": "disabled", "soft_delete_retention_days": 30}, "applies only when soft_delete"),
    ({"identity": {"type": "user_assigned", "user_assigned_identities": []}}, "needs identity.user_assigned"),
])
def test_bad_input_is_refused(overrides, message):
    with pytest.raises(vaults.VaultInputError, match=message):
        vaults.desired_from_params(params(**overrides))


def test_crr_needs_geo_redundancy_on_create():
    client = FakeClient()
    with pytest.raises(vaults.VaultInputError, match="needs redundancy GeoRedundant"):
        present(client, params(redundancy="LocallyRedundant", cross_region_restore=True))
    assert client.backup_vaults.calls == []


@pytest.mark.parametrize("current_overrides, request_overrides, message", [
    ({}, {"redundancy": "LocallyRedundant"}, "redundancy cannot change"),
    ({}, {"location": "westeurope"}, "location cannot change"),
    ({"soft": "AlwaysOn"}, {"soft_delete": "enabled"}, "always_on .* irreversible"),
    ({"immutability": "Locked"}, {"immutability": "unlocked"}, "locked .* irreversible"),
    ({"crr": "Enabled"}, {"cross_region_restore": False}, "does not allow disabling"),
    ({}, {"soft_delete": "always_on"}, "allow_irreversible: true"),
    ({}, {"immutability": "locked"}, "allow_irreversible: true"),
])
def test_forbidden_changes_fail_before_any_write(current_overrides, request_overrides, message):
    body = service_vault()
    security = body["properties"]["securitySettings"]
    if "soft" in current_overrides:
        security["softDeleteSettings"]["state"] = current_overrides["soft"]
    if "immutability" in current_overrides:
        security["immutabilitySettings"]["state"] = current_overrides["immutability"]
    if "crr" in current_overrides:
        body["properties"]["featureSettings"]["crossRegionRestoreSettings"]["state"] = current_overrides["crr"]
    client = FakeClient(body)
    with pytest.raises(vaults.VaultInputError, match=message):
        present(client, params(**request_overrides))
    assert client.backup_vaults.calls == []


def test_irreversible_change_with_confirmation_is_sent():
    client = FakeClient(service_vault())
    changed, vault, dummy = present(client, params(soft_delete="always_on", allow_irreversible=True))
    assert changed is True
    assert vault["soft_delete"] == "always_on"


def test_same_redundancy_in_other_case_is_no_change():
    client = FakeClient(service_vault())
    changed, dummy, dummy2 = present(client, params(redundancy="GeoRedundant", location="EastUS"))
    assert changed is False


def test_identity_change_to_user_assigned():
    client = FakeClient(service_vault())
    identity = {"type": "system_and_user_assigned", "user_assigned_identities": ["/subscriptions/s/x/uami1"]}
    changed, vault, dummy = present(client, params(identity=identity), check_mode=True)
    assert changed is True
    assert vault["identity"]["principal_id"] == "pid-1"  # the system identity stays
    body = vaults.patch_body(vaults.to_readable(service_vault()), vault, ["identity"])
    assert body == {"identity": {"type": "SystemAssigned,UserAssigned",
                                 "userAssignedIdentities": {"/subscriptions/s/x/uami1": {}}}}


def test_absent_of_missing_vault_is_unchanged():
    client = FakeClient()
    result = vaults.ensure_absent(api(client), None, params(state="absent"), False, lambda: None)
    assert result.changed is False


def test_absent_deletes_and_waits_until_gone():
    client = FakeClient(service_vault())
    gone = []
    result = vaults.ensure_absent(api(client), service_vault(), params(state="absent"), False,
                                  lambda: gone.append(True))
    changed, diff = result.changed, result.diff
    assert changed is True
    assert client.backup_vaults.calls == [("DELETE", "rg-backup", "bv1")]
    assert gone == [True]
    assert diff["after"] == {}


def test_absent_check_mode_writes_nothing():
    client = FakeClient(service_vault())
    result = vaults.ensure_absent(api(client), service_vault(), params(state="absent"), True, None)
    assert result.changed is True
    assert client.backup_vaults.calls == []


def test_absent_refuses_a_vault_that_still_protects_servers():
    client = FakeClient(service_vault(), instances=["pg1-bi"], deleted=["pg0-bi"])
    with pytest.raises(vaults.VaultInputError) as error:
        vaults.ensure_absent(api(client), service_vault(), params(state="absent"), False, None)
    assert "pg1-bi" in str(error.value) and "pg0-bi" in str(error.value)
    assert "Nothing was deleted" in str(error.value)
    assert client.backup_vaults.calls == []


def test_location_must_be_a_region_of_the_subscription():
    regions = [{"name": "eastus", "displayName": "East US"}, {"name": "westeurope", "displayName": "West Europe"}]
    assert vaults.location_problem("eastus", regions) is None
    assert vaults.location_problem("East US", regions) is None
    assert vaults.location_problem("WestEurope", regions) is None
    problem = vaults.location_problem("moon", regions)
    assert "'moon' is not a region" in problem and "eastus, westeurope" in problem


def test_cross_subscription_restore_is_enabled_unless_the_vault_says_otherwise():
    assert vaults.to_readable(service_vault())["cross_subscription_restore"] == "enabled"
    body = service_vault()
    body["properties"]["featureSettings"]["crossSubscriptionRestoreSettings"] = {"state": "PermanentlyDisabled"}
    assert vaults.to_readable(body)["cross_subscription_restore"] == "permanently_disabled"


def test_cross_subscription_restore_disabled_patches_only_that_setting():
    client = FakeClient(service_vault())
    changed, vault, dummy = present(client, params(cross_subscription_restore="disabled"))
    assert changed and vault["cross_subscription_restore"] == "disabled"
    assert client.backup_vaults.calls[0][3] == {
        "properties": {"featureSettings": {"crossSubscriptionRestoreSettings": {"state": "Disabled"}}}}
    again, dummy, dummy2 = present(client, params(cross_subscription_restore="disabled"))
    assert not again and len(client.backup_vaults.calls) == 1


def test_permanently_disabled_needs_confirmation_and_cannot_be_undone():
    client = FakeClient(service_vault())
    with pytest.raises(vaults.VaultInputError, match="allow_irreversible: true"):
        present(client, params(cross_subscription_restore="permanently_disabled"))
    assert client.backup_vaults.calls == []
    changed, vault, dummy = present(client, params(cross_subscription_restore="permanently_disabled",
                                                   allow_irreversible=True))
    assert changed and vault["cross_subscription_restore"] == "permanently_disabled"
    with pytest.raises(vaults.VaultInputError, match="permanently_disabled .* irreversible"):
        present(client, params(cross_subscription_restore="enabled", allow_irreversible=True))
    assert len(client.backup_vaults.calls) == 1


def test_create_sends_cross_subscription_restore_only_when_not_the_default():
    client = FakeClient()
    present(client, params(location="eastus", cross_subscription_restore="disabled"))
    features = client.backup_vaults.calls[0][3]["properties"]["featureSettings"]
    assert features == {"crossSubscriptionRestoreSettings": {"state": "Disabled"}}
