"""Role assignments as pgflex_role_assignment uses them: the principal filter and inheritance in listings, the
caller's permissions list, the exact 409/403 answers, the SDK over the wire, and the propagation delay that the
backup service's checks of the vault identity observe."""

import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from emulator import rbac, seed
from emulator.resources.authorization import add_assignment

AUTH_API = "2022-04-01"
ASSIGNMENTS = "/providers/Microsoft.Authorization/roleAssignments"
WRITE = "Microsoft.Authorization/roleAssignments/write"


def _scopes(emulator):
    sub = f"/subscriptions/{emulator.subscription}"
    group = f"{sub}/resourceGroups/rg-pg-eastus"
    return SimpleNamespace(sub=sub, group=group,
                           server=f"{group}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-eus-orders",
                           storage=f"{sub}/resourceGroups/rg-backup/providers/Microsoft.Storage/storageAccounts/"
                                   "stpgrestoreeus")


def _identity(emulator, name="id-backup-eus"):
    return next(item for item in emulator.seed["userAssignedIdentities"] if item["name"] == name)["principalId"]


def _put(emulator, scope, role, principal, name=None, env_file="env.sh"):
    body = {"properties": {"roleDefinitionId": rbac.role_definition_id(role, emulator.subscription),
                           "principalId": principal, "principalType": "ServicePrincipal"}}
    return emulator.arm("PUT", f"{scope}{ASSIGNMENTS}/{name or uuid.uuid4()}", env_file=env_file,
                        api_version=AUTH_API, json=body)


def _list(emulator, scope, flt=None, env_file="env.sh"):
    params = {"$filter": flt} if flt else {}
    response = emulator.arm("GET", f"{scope}{ASSIGNMENTS}", env_file=env_file, api_version=AUTH_API, params=params)
    assert response.status_code == 200, response.text
    return {(item["properties"]["scope"], item["properties"]["roleDefinitionId"].rsplit("/", 1)[1])
            for item in response.json()["value"]}


def test_principal_filter_returns_assignments_at_above_and_below(emulator):
    s = _scopes(emulator)
    principal = _identity(emulator)
    assert _put(emulator, s.group, seed.READER_ROLE, principal).status_code == 201
    assert _put(emulator, s.server, seed.PG_LTR_BACKUP_ROLE, principal).status_code == 201
    both = {(s.group, seed.READER_ROLE), (s.server, seed.PG_LTR_BACKUP_ROLE)}
    assert _list(emulator, s.sub, f"principalId eq '{principal}'") == both  # below the subscription
    assert _list(emulator, s.server, f"principalId eq '{principal}'") == both  # the group one is above
    assert _list(emulator, s.server, f"atScope() and principalId eq '{principal}'") == both
    assert _list(emulator, s.group, f"atScope() and principalId eq '{principal}'") == {(s.group, seed.READER_ROLE)}
    assert _list(emulator, s.sub, f"atScope() and principalId eq '{principal}'") == set()
    # Other principals' assignments never show up under the filter.
    assert all(role != seed.OWNER_ROLE for dummy, role in _list(emulator, s.sub, f"principalId eq '{principal}'"))


def test_exists_answer_is_arms(emulator):
    s = _scopes(emulator)
    principal = _identity(emulator)
    assert _put(emulator, s.server, seed.PG_LTR_BACKUP_ROLE, principal).status_code == 201
    again = _put(emulator, s.server, seed.PG_LTR_BACKUP_ROLE, principal)
    assert again.status_code == 409
    assert again.json() == {"error": {"code": "RoleAssignmentExists", "message": "The role assignment already exists."}}
    # The same role at a parent scope is a different assignment, not a conflict.
    assert _put(emulator, s.group, seed.PG_LTR_BACKUP_ROLE, principal).status_code == 201


def test_caller_without_role_assignment_rights_gets_403_and_nothing_is_stored(emulator):
    s = _scopes(emulator)
    principal = _identity(emulator)
    contributor = emulator.seed["principals"][1]["objectId"]
    name = str(uuid.uuid4())
    denied = _put(emulator, s.server, seed.PG_LTR_BACKUP_ROLE, principal, name=name, env_file="env-no-rbac.sh")
    assert denied.status_code == 403
    assert denied.json()["error"] == {
        "code": "AuthorizationFailed",
        "message": f"The client '{contributor}' with object id '{contributor}' does not have authorization to perform "
                   f"action '{WRITE}' over scope '{s.server}{ASSIGNMENTS}/{name}' or the scope is invalid. If access "
                   "was recently granted, please refresh your credentials.",
    }
    assert _list(emulator, s.sub, f"principalId eq '{principal}'", env_file="env-no-rbac.sh") == set()
    assert _put(emulator, s.server, seed.PG_LTR_BACKUP_ROLE, principal, name=name).status_code == 201
    delete = emulator.arm("DELETE", f"{s.server}{ASSIGNMENTS}/{name}", env_file="env-no-rbac.sh", api_version=AUTH_API)
    assert delete.status_code == 403 and emulator.error_code(delete) == "AuthorizationFailed"
    assert "Microsoft.Authorization/roleAssignments/delete" in delete.json()["error"]["message"]


@pytest.mark.parametrize("env_file, may_write", [("env.sh", True), ("env-no-rbac.sh", False), ("env-reader.sh", False)])
def test_permissions_list_tells_whether_the_caller_may_assign_roles(emulator, env_file, may_write):
    s = _scopes(emulator)
    for scope in (s.sub, s.group, s.server, s.storage):
        response = emulator.arm("GET", f"{scope}/providers/Microsoft.Authorization/permissions", env_file=env_file,
                                api_version=AUTH_API)
        assert response.status_code == 200, response.text
        blocks = response.json()["value"]
        allowed = any(any(rbac.action_matches(p, WRITE) for p in block["actions"])
                      and not any(rbac.action_matches(p, WRITE) for p in block["notActions"]) for block in blocks)
        assert allowed is may_write, (scope, blocks)


def test_permissions_include_grants_at_the_scope_itself(emulator):
    s = _scopes(emulator)
    reader = emulator.seed["principals"][2]["objectId"]
    uaa = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
    assert _put(emulator, s.server, uaa, reader).status_code == 201
    at_server = emulator.arm("GET", f"{s.server}/providers/Microsoft.Authorization/permissions",
                             env_file="env-reader.sh", api_version=AUTH_API).json()["value"]
    at_group = emulator.arm("GET", f"{s.group}/providers/Microsoft.Authorization/permissions",
                            env_file="env-reader.sh", api_version=AUTH_API).json()["value"]
    assert any("Microsoft.Authorization/*" in block["actions"] for block in at_server)
    assert not any("Microsoft.Authorization/*" in block["actions"] for block in at_group)
    # ...and the grant is honoured: the reader may now assign roles on the server, not on its group.
    principal = _identity(emulator)
    assert _put(emulator, s.server, seed.PG_LTR_BACKUP_ROLE, principal, env_file="env-reader.sh").status_code == 201
    assert _put(emulator, s.group, seed.READER_ROLE, principal, env_file="env-reader.sh").status_code == 403


def test_the_sdk_lists_with_the_filter_and_creates(emulator):
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.authorization import AuthorizationManagementClient

    s = _scopes(emulator)
    principal = _identity(emulator)
    client = AuthorizationManagementClient(emulator.credential(), emulator.subscription, base_url=emulator.url + "/",
                                           credential_scopes=[emulator.audience + "/.default"])
    body = {"properties": {"roleDefinitionId": rbac.role_definition_id(seed.READER_ROLE, emulator.subscription),
                           "principalId": principal, "principalType": "ServicePrincipal"}}
    name = str(uuid.uuid4())
    created = client.role_assignments.create(s.group, name, body).serialize(keep_readonly=True)
    assert created["properties"]["scope"] == s.group and created["name"] == name
    listed = [item.serialize(keep_readonly=True)
              for item in client.role_assignments.list_for_scope(s.sub, filter=f"principalId eq '{principal}'")]
    assert [item["id"] for item in listed] == [f"{s.group}{ASSIGNMENTS}/{name}"]
    with pytest.raises(HttpResponseError) as err:
        client.role_assignments.create(s.group, str(uuid.uuid4()), body)
    assert err.value.status_code == 409 and err.value.error.code == "RoleAssignmentExists"
    client.role_assignments.delete(s.group, name)
    assert list(client.role_assignments.list_for_scope(s.sub, filter=f"principalId eq '{principal}'")) == []


def test_vault_identity_assignments_work_for_its_principal(emulator):
    body = emulator.vault_body()
    body["identity"] = {"type": "SystemAssigned"}
    vault = emulator.arm("PUT", emulator.vault_path("bv-ra"), json=body).json()
    principal = vault["identity"]["principalId"]
    s = _scopes(emulator)
    assert _put(emulator, s.group, seed.READER_ROLE, principal).status_code == 201
    assert _put(emulator, s.server, seed.PG_LTR_BACKUP_ROLE, principal).status_code == 201
    expected = {(s.group, seed.READER_ROLE), (s.server, seed.PG_LTR_BACKUP_ROLE)}
    assert _list(emulator, s.sub, f"principalId eq '{principal}'") == expected


# ----------------------------------------------------------------- what the backup service's checks see


class _FakeStore:
    def __init__(self):
        self.tables = {}
        self.clock = SimpleNamespace(now=lambda: datetime(2025, 1, 1, tzinfo=timezone.utc))

    def table(self, name):
        return self.tables.setdefault(name, {})


SUB = f"/subscriptions/{seed.SUBSCRIPTION_ID}"
GROUP = f"{SUB}/resourceGroups/rg-pg-eastus"
SERVER = f"{GROUP}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-eus-orders"
ACCOUNT = f"{SUB}/resourceGroups/rg-backup/providers/Microsoft.Storage/storageAccounts/stpgrestoreeus"
BACKUP_NEEDS = [(seed.READER_ROLE, GROUP), (seed.PG_LTR_BACKUP_ROLE, SERVER)]


def test_roles_count_at_their_scope_and_below_only():
    store = _FakeStore()
    add_assignment(store, GROUP, "a", seed.READER_ROLE, "vault", "ServicePrincipal")
    add_assignment(store, GROUP, "b", seed.PG_LTR_BACKUP_ROLE, "vault", "ServicePrincipal")
    assert rbac.missing_roles(store, "vault", BACKUP_NEEDS) == []
    assert rbac.missing_roles(store, "vault", [(seed.READER_ROLE, SUB)]) == [(seed.READER_ROLE, SUB)]
    assert rbac.missing_roles(store, "other", BACKUP_NEEDS) == BACKUP_NEEDS


def test_broader_roles_cover_by_permissions():
    store = _FakeStore()
    add_assignment(store, SUB, "o", seed.OWNER_ROLE, "owner", "ServicePrincipal")
    add_assignment(store, SUB, "c", seed.CONTRIBUTOR_ROLE, "contrib", "ServicePrincipal")
    assert rbac.missing_roles(store, "owner", BACKUP_NEEDS) == []
    assert rbac.missing_roles(store, "contrib", BACKUP_NEEDS) == []
    # Data actions are not covered by control-plane wildcards: Owner cannot read blobs.
    blob = [(seed.STORAGE_BLOB_DATA_CONTRIBUTOR_ROLE, ACCOUNT)]
    assert rbac.missing_roles(store, "owner", blob) == blob
    add_assignment(store, ACCOUNT, "s", seed.STORAGE_BLOB_DATA_CONTRIBUTOR_ROLE, "owner", "ServicePrincipal")
    assert rbac.missing_roles(store, "owner", blob) == []
    # A Reader does not hold the LTR role's actions.
    add_assignment(store, SUB, "r", seed.READER_ROLE, "reader", "ServicePrincipal")
    assert rbac.missing_roles(store, "reader", BACKUP_NEEDS) == [(seed.PG_LTR_BACKUP_ROLE, SERVER)]
    assert rbac.missing_roles(store, "vault", [("00000000-0000-0000-0000-000000000000", SERVER)]) != []


def test_new_assignments_count_only_after_the_propagation_delay():
    store = _FakeStore()
    add_assignment(store, GROUP, "a", seed.READER_ROLE, "vault", "ServicePrincipal")
    add_assignment(store, SERVER, "b", seed.PG_LTR_BACKUP_ROLE, "vault", "ServicePrincipal",
                   created_monotonic=float("-inf"))
    assert rbac.missing_roles(store, "vault", BACKUP_NEEDS) == []
    assert rbac.missing_roles(store, "vault", BACKUP_NEEDS, min_age_seconds=60) == [(seed.READER_ROLE, GROUP)]
