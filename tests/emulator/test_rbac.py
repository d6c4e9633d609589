"""Role-based access: built-in role definitions, role assignments, per-caller authorization, the RBAC model."""

import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from emulator import rbac, seed
from emulator.resources.authorization import add_assignment

AUTH_API = "2022-04-01"


def _assignment_path(scope, name=None):
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name or uuid.uuid4()}"


def _put_assignment(emulator, scope, role, principal, env_file="env.sh", name=None, principal_type="ServicePrincipal"):
    body = {"properties": {"roleDefinitionId": rbac.role_definition_id(role, emulator.subscription),
                           "principalId": principal, "principalType": principal_type}}
    return emulator.arm("PUT", _assignment_path(scope, name), env_file=env_file, api_version=AUTH_API, json=body)


def test_reader_may_read_but_not_write_a_vault(emulator):
    assert emulator.arm("GET", f"/subscriptions/{emulator.subscription}/providers/Microsoft.DataProtection/"
                               "backupVaults", env_file="env-reader.sh").status_code == 200
    response = emulator.arm("PUT", emulator.vault_path("bv-reader"), env_file="env-reader.sh",
                            json=emulator.vault_body())
    assert response.status_code == 403 and emulator.error_code(response) == "AuthorizationFailed"
    reader = emulator.seed["principals"][2]
    assert response.json()["error"]["message"] == (
        f"The client '{reader['objectId']}' with object id '{reader['objectId']}' does not have authorization to "
        "perform action 'Microsoft.DataProtection/backupVaults/write' over scope "
        f"'{emulator.vault_path('bv-reader')}' or the scope is invalid. If access was recently granted, please "
        "refresh your credentials.")


def test_contributor_manages_backup_but_may_not_assign_roles(emulator):
    created = emulator.arm("PUT", emulator.vault_path("bv-contrib"), env_file="env-no-rbac.sh",
                           json=emulator.vault_body())
    assert created.status_code == 201
    scope = f"/subscriptions/{emulator.subscription}/resourceGroups/rg-pg-eastus"
    identity = emulator.seed["userAssignedIdentities"][0]["principalId"]
    denied = _put_assignment(emulator, scope, seed.READER_ROLE, identity, env_file="env-no-rbac.sh")
    assert denied.status_code == 403 and emulator.error_code(denied) == "AuthorizationFailed"
    assert "Microsoft.Authorization/roleAssignments/write" in denied.json()["error"]["message"]
    listed = emulator.arm("GET", f"{scope}/providers/Microsoft.Authorization/roleAssignments",
                          env_file="env-no-rbac.sh", api_version=AUTH_API)
    assert listed.status_code == 200


def test_owner_assigns_a_role_once(emulator):
    scope = (f"/subscriptions/{emulator.subscription}/resourceGroups/rg-pg-eastus/providers/"
             "Microsoft.DBforPostgreSQL/flexibleServers/pg-eus-orders")
    identity = emulator.seed["userAssignedIdentities"][0]["principalId"]
    name = seed.derived_guid("test", scope, identity)
    created = _put_assignment(emulator, scope, seed.PG_LTR_BACKUP_ROLE, identity, name=name)
    assert created.status_code == 201, created.text
    properties = created.json()["properties"]
    assert properties["scope"] == scope and properties["principalType"] == "ServicePrincipal"
    assert properties["roleDefinitionId"].endswith(seed.PG_LTR_BACKUP_ROLE)
    same_name = _put_assignment(emulator, scope, seed.PG_LTR_BACKUP_ROLE, identity, name=name)
    assert same_name.status_code == 200
    other_name = _put_assignment(emulator, scope, seed.PG_LTR_BACKUP_ROLE, identity)
    assert other_name.status_code == 409 and emulator.error_code(other_name) == "RoleAssignmentExists"
    got = emulator.arm("GET", _assignment_path(scope, name), api_version=AUTH_API)
    assert got.status_code == 200 and got.json()["name"] == name
    deleted = emulator.arm("DELETE", _assignment_path(scope, name), api_version=AUTH_API)
    assert deleted.status_code == 200
    assert emulator.arm("DELETE", _assignment_path(scope, name), api_version=AUTH_API).status_code == 204
    assert emulator.arm("GET", _assignment_path(scope, name), api_version=AUTH_API).status_code == 404


def test_vault_system_identity_can_be_granted_roles(emulator):
    body = emulator.vault_body()
    body["identity"] = {"type": "SystemAssigned"}
    vault = emulator.arm("PUT", emulator.vault_path("bv-msi"), json=body).json()
    principal = vault["identity"]["principalId"]
    scope = f"/subscriptions/{emulator.subscription}/resourceGroups/rg-pg-eastus"
    assert _put_assignment(emulator, scope, seed.READER_ROLE, principal).status_code == 201
    assert emulator.arm("GET", f"{scope}/providers/Microsoft.Authorization/roleAssignments", api_version=AUTH_API,
                        params={"$filter": f"principalId eq '{principal}'"}).json()["value"][0]["properties"][
        "principalId"] == principal


@pytest.mark.parametrize("role, principal, code", [
    ("00000000-0000-0000-0000-000000000000", None, "RoleDefinitionDoesNotExist"),
    (seed.READER_ROLE, "00000000-0000-0000-0000-000000000042", "PrincipalNotFound"),
])
def test_role_assignment_validation(emulator, role, principal, code):
    scope = f"/subscriptions/{emulator.subscription}/resourceGroups/rg-backup"
    principal = principal or emulator.seed["userAssignedIdentities"][0]["principalId"]
    response = _put_assignment(emulator, scope, role, principal)
    assert response.status_code == 400 and emulator.error_code(response) == code


def test_principal_type_must_match(emulator):
    scope = f"/subscriptions/{emulator.subscription}/resourceGroups/rg-backup"
    response = _put_assignment(emulator, scope, seed.READER_ROLE, emulator.seed["userAssignedIdentities"][0][
        "principalId"], principal_type="User")
    assert response.status_code == 400 and emulator.error_code(response) == "UnmatchedPrincipalType"


def test_list_assignments_with_filters(emulator):
    ready = next(item for item in emulator.seed["userAssignedIdentities"] if item["name"] == "id-backup-ready-eus")
    server_scope = (f"/subscriptions/{emulator.subscription}/resourceGroups/rg-pg-eastus/providers/"
                    "Microsoft.DBforPostgreSQL/flexibleServers/pg-eus-orders")
    at_scope = emulator.arm("GET", f"{server_scope}/providers/Microsoft.Authorization/roleAssignments",
                            api_version=AUTH_API,
                            params={"$filter": f"atScope() and principalId eq '{ready['principalId']}'"}).json()
    roles = {item["properties"]["roleDefinitionId"].rsplit("/", 1)[1] for item in at_scope["value"]}
    assert roles == {seed.READER_ROLE, seed.PG_LTR_BACKUP_ROLE}
    sub_scope = f"/subscriptions/{emulator.subscription}"
    everything = emulator.arm("GET", f"{sub_scope}/providers/Microsoft.Authorization/roleAssignments",
                              api_version=AUTH_API).json()["value"]
    assert len(everything) >= 6
    only_at_sub = emulator.arm("GET", f"{sub_scope}/providers/Microsoft.Authorization/roleAssignments",
                               api_version=AUTH_API, params={"$filter": "atScope()"}).json()["value"]
    assert all(item["properties"]["scope"] == sub_scope for item in only_at_sub)


def test_role_definitions(emulator):
    scope = f"/subscriptions/{emulator.subscription}"
    contributor = emulator.arm("GET", f"{scope}/providers/Microsoft.Authorization/roleDefinitions/"
                                      f"{seed.CONTRIBUTOR_ROLE}", api_version=AUTH_API).json()
    assert contributor["properties"]["roleName"] == "Contributor"
    assert "Microsoft.Authorization/*/Write" in contributor["properties"]["permissions"][0]["notActions"]
    assert contributor["id"] == f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{seed.CONTRIBUTOR_ROLE}"
    by_name = emulator.arm("GET", f"{scope}/providers/Microsoft.Authorization/roleDefinitions", api_version=AUTH_API,
                           params={"$filter": "roleName eq 'PostgreSQL Flexible Server Long Term Retention Backup "
                                              "Role'"}).json()["value"]
    assert [item["name"] for item in by_name] == [seed.PG_LTR_BACKUP_ROLE]
    for name, guid in emulator.seed["roleDefinitions"].items():
        found = emulator.arm("GET", f"{scope}/providers/Microsoft.Authorization/roleDefinitions",
                             api_version=AUTH_API, params={"$filter": f"roleName eq '{name}'"}).json()["value"]
        assert [item["name"] for item in found] == [guid]
    missing = emulator.arm("GET", f"{scope}/providers/Microsoft.Authorization/roleDefinitions/"
                                  "00000000-0000-0000-0000-000000000000", api_version=AUTH_API)
    assert missing.status_code == 404 and emulator.error_code(missing) == "RoleDefinitionDoesNotExist"


def test_permissions_of_the_caller(emulator):
    scope = f"/subscriptions/{emulator.subscription}/resourceGroups/rg-backup"
    blocks = emulator.arm("GET", f"{scope}/providers/Microsoft.Authorization/permissions", env_file="env-no-rbac.sh",
                          api_version="2022-04-01").json()["value"]
    assert blocks[0]["actions"] == ["*"] and "Microsoft.Authorization/*/Write" in blocks[0]["notActions"]


# ----------------------------------------------------------------- the model itself, without the server


@pytest.mark.parametrize("pattern, action, expected", [
    ("*", "Microsoft.DataProtection/backupVaults/write", True),
    ("*/read", "Microsoft.DataProtection/backupVaults/read", True),
    ("*/read", "Microsoft.DataProtection/backupVaults/write", False),
    ("Microsoft.Authorization/*/Write", "microsoft.authorization/roleassignments/write", True),
    ("Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read", False),
    ("Microsoft.Support/*", "Microsoft.Support/tickets/write", True),
])
def test_action_patterns(pattern, action, expected):
    assert rbac.action_matches(pattern, action) is expected


class _FakeStore:
    """Just enough of ``state.Store`` for the RBAC model: tables and a clock."""

    def __init__(self):
        self.tables = {}
        self.clock = SimpleNamespace(now=lambda: datetime(2025, 1, 1, tzinfo=timezone.utc))

    def table(self, name):
        return self.tables.setdefault(name, {})


def test_inheritance_and_not_actions():
    store = _FakeStore()
    sub = f"/subscriptions/{seed.SUBSCRIPTION_ID}"
    group = f"{sub}/resourceGroups/rg-pg-eastus"
    server = f"{group}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-eus-orders"
    add_assignment(store, group, "a", seed.READER_ROLE, "p1", "ServicePrincipal")
    add_assignment(store, sub, "b", seed.CONTRIBUTOR_ROLE, "p2", "ServicePrincipal")
    assert rbac.is_allowed(store, "p1", "Microsoft.DBforPostgreSQL/flexibleServers/read", server)
    assert rbac.is_allowed(store, "p1", "Microsoft.DBforPostgreSQL/flexibleServers/read", group)
    assert not rbac.is_allowed(store, "p1", "Microsoft.DBforPostgreSQL/flexibleServers/read", sub)
    assert not rbac.is_allowed(store, "p1", "Microsoft.DBforPostgreSQL/flexibleServers/read",
                               f"{sub}/resourceGroups/rg-pg-eastus2")
    assert rbac.is_allowed(store, "p2", "Microsoft.DataProtection/backupVaults/write", server)
    assert not rbac.is_allowed(store, "p2", "Microsoft.Authorization/roleAssignments/write", server)
    assert rbac.is_allowed(store, "p2", "Microsoft.Authorization/roleAssignments/read", server)


def test_recent_assignments_can_be_ignored_for_propagation():
    store = _FakeStore()
    group = f"/subscriptions/{seed.SUBSCRIPTION_ID}/resourceGroups/rg-pg-eastus"
    add_assignment(store, group, "a", seed.READER_ROLE, "p1", "ServicePrincipal")
    assert rbac.is_allowed(store, "p1", "x/read", group)
    assert not rbac.is_allowed(store, "p1", "x/read", group, min_age_seconds=60)
