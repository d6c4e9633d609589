"""pgflex_role_assignment's Azure glue against fake clients: principal lookup, listing, the permission pre-check,
create/delete with 409/403 handling, check mode, the result shape and the template file."""

import json
from types import SimpleNamespace

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm
from ansible_collections.azbackup.dataprotection.plugins.module_utils import role_assignment_resource as rar
from ansible_collections.azbackup.dataprotection.plugins.module_utils import role_assignments as ra
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources import pgflex
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.fakes import Response, arm_error

SUB = "00000000-0000-0000-0000-00000000aaaa"
SUB2 = "00000000-0000-0000-0000-00000000bbbb"
PRINCIPAL = "11111111-2222-3333-4444-555555555555"
READER = pgflex.ROLE_READER
LTR = pgflex.ROLE_PGFLEX_LTR_BACKUP
BLOB = pgflex.ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR
VAULT_ID = f"/subscriptions/{SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1"
UAI = f"/subscriptions/{SUB}/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
MG = "/providers/Microsoft.Management/managementGroups/mg-prod"

OWNER_BLOCK = {"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}
CONTRIBUTOR_BLOCK = {
    "actions": ["*"],
    "notActions": [
        "Microsoft.Authorization/*/Delete",
        "Microsoft.Authorization/*/Write",
        "Microsoft.Authorization/elevateAccess/Action",
    ],
}
READER_BLOCK = {"actions": ["*/read"], "notActions": []}
UAA_BLOCK = {"actions": ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], "notActions": []}
RBAC_ADMIN_BLOCK = {
    "actions": [
        "Microsoft.Authorization/roleAssignments/write",
        "Microsoft.Authorization/roleAssignments/delete",
        "*/read",
    ],
    "notActions": [],
}


def server(name, rg="rg-db", sub=SUB):
    return PGFLEX.server_id(sub, rg, name)


def rg_scope(rg="rg-db", sub=SUB):
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def storage(name="stbackup", rg="rg-restore", sub=SUB):
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"


def listed(scope, role, principal=PRINCIPAL, name=None):
    """An assignment as ARM lists it."""
    if name is None:
        name = ra.assignment_name(scope, principal, role)
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "name": name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": f"/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": scope,
        },
    }


class Model:
    """Stands for an SDK model: only ``serialize(keep_readonly=True)`` is used."""

    def __init__(self, body):
        self._body = body

    def serialize(self, keep_readonly=False):
        assert keep_readonly, "read-only fields (id, scope) are needed"
        return dict(self._body)


class FakeRoleAssignments:
    """In-memory role assignments with ARM's list semantics for ``principalId eq`` at a subscription."""

    def __init__(self, assignments=(), refuse=None):
        self.assignments = [dict(a) for a in assignments]
        self.refuse = refuse or {}  # name -> exception raised by create/delete
        self.calls = []

    def list_for_scope(self, scope, filter=None):  # noqa: A002 - the SDK's keyword
        self.calls.append(("LIST", scope, filter))
        principal = filter.split("'")[1] if filter else None  # no filter: every principal's
        out = []
        for item in self.assignments:
            fields = ra.assignment_fields(item)
            at_or_below = ra.scope_key(fields[0]).startswith(ra.scope_key(scope))
            above = ra.scope_key(fields[0]) in [ra.scope_key(s) for s in ra.scope_chain(scope, [MG])]
            if principal in (None, fields[2]) and (at_or_below or above):
                out.append(Model(item))
        return iter(out)

    def create(self, scope, name, body):
        self.calls.append(("PUT", scope, name, body))
        if name in self.refuse:
            raise self.refuse[name]
        props = body["properties"]
        created = listed(scope, ra.role_definition_guid(props["roleDefinitionId"]), props["principalId"], name)
        self.assignments.append(created)
        return Model(created)

    def delete(self, scope, name):
        self.calls.append(("DELETE", scope, name))
        if name in self.refuse:
            raise self.refuse[name]
        before = len(self.assignments)
        self.assignments = [a for a in self.assignments if a["name"] != name]
        return None if len(self.assignments) == before else Model({})

    @property
    def writes(self):
        return [c for c in self.calls if c[0] in ("PUT", "DELETE")]


def client(assignments=(), refuse=None):
    return SimpleNamespace(role_assignments=FakeRoleAssignments(assignments, refuse))


class Permissions:
    """``read(scope) -> blocks``: the same blocks everywhere, or per scope; counts the reads."""

    def __init__(self, default=(OWNER_BLOCK,), by_scope=None):
        self.default = list(default) if default is not None else None
        self.by_scope = {ra.scope_key(k): v for k, v in (by_scope or {}).items()}
        self.reads = []

    def __call__(self, scope):
        self.reads.append(scope)
        return self.by_scope.get(ra.scope_key(scope), self.default)


def backup_required(servers=None, scope="resource"):
    return ra.required_assignments(PGFLEX, PRINCIPAL, servers or [server("pg1")], "backup", scope)


def run_present(fake, required, permissions=None, check_mode=False):
    existing, groups = rar.list_assignments(fake, PRINCIPAL, [i["scope"] for i in required])
    return rar.ensure_present(fake, permissions or Permissions(), required, existing, groups, check_mode)


def run_absent(fake, required, permissions=None, check_mode=False):
    existing, groups = rar.list_assignments(fake, PRINCIPAL, [i["scope"] for i in required])
    return rar.ensure_absent(fake, permissions or Permissions(), required, existing, groups, check_mode)


def statuses(result_dict):
    return [(a["role_definition_id"], a["scope"], a["status"]) for a in result_dict["assignments"]]


# ---------------------------------------------------------------------------------------------------------------
# The principal
# ---------------------------------------------------------------------------------------------------------------


def vault(identity):
    return {"id": VAULT_ID, "name": "bv1", "identity": identity}


def reader_of(resources):
    calls = []

    def read(path, api_version):
        calls.append((path, api_version))
        return resources.get(path)

    read.calls = calls
    return read


def vault_params(**overrides):
    base = {
        "vault_name": "bv1",
        "resource_group": "rg-backup",
        "vault_id": None,
        "principal_id": None,
        "user_assigned_identity_id": None,
    }
    base.update(overrides)
    return base


def test_explicit_principal_needs_no_read():
    read = reader_of({})
    assert rar.resolve_principal(vault_params(vault_name=None, principal_id=PRINCIPAL.upper()), SUB, read) == (
        PRINCIPAL,
        None,
    )
    assert read.calls == []


def test_explicit_principal_must_be_a_guid():
    with pytest.raises(ra.RoleAssignmentInputError) as err:
        rar.resolve_principal(vault_params(vault_name=None, principal_id="bv1"), SUB, reader_of({}))
    assert err.value.option == "principal_id"


def test_system_assigned_identity_of_the_vault():
    read = reader_of({VAULT_ID: vault({"type": "SystemAssigned", "principalId": PRINCIPAL})})
    assert rar.resolve_principal(vault_params(), SUB, read) == (PRINCIPAL, VAULT_ID)
    assert read.calls == [(VAULT_ID, arm.api_version(arm.VAULT_TYPE))]


def test_vault_by_id_in_another_subscription():
    other = VAULT_ID.replace(SUB, SUB2)
    read = reader_of({other: dict(vault({"type": "SystemAssigned", "principalId": PRINCIPAL}), id=other)})
    assert (
        rar.resolve_principal(vault_params(vault_name=None, resource_group=None, vault_id=other), SUB, read)[1] == other
    )


def test_user_assigned_identity_from_the_vault_map_ignores_case():
    identity = {
        "type": "SystemAssigned, UserAssigned",
        "principalId": "system-one",
        "userAssignedIdentities": {UAI.upper(): {"principalId": PRINCIPAL, "clientId": "c"}},
    }
    read = reader_of({VAULT_ID: vault(identity)})
    assert rar.resolve_principal(vault_params(user_assigned_identity_id=UAI + "/"), SUB, read)[0] == PRINCIPAL


def test_user_assigned_identity_without_principal_in_the_map_is_read():
    read = reader_of(
        {
            VAULT_ID: vault({"type": "UserAssigned", "userAssignedIdentities": {UAI: {}}}),
            UAI: {"id": UAI, "properties": {"principalId": PRINCIPAL}},
        }
    )
    assert rar.resolve_principal(vault_params(user_assigned_identity_id=UAI), SUB, read)[0] == PRINCIPAL
    assert read.calls[-1] == (UAI, arm.api_version(arm.USER_ASSIGNED_IDENTITY_TYPE))


def test_unknown_user_assigned_identity_names_the_option_and_lists_the_known_ones():
    read = reader_of({VAULT_ID: vault({"type": "UserAssigned", "userAssignedIdentities": {UAI: {"principalId": "x"}}})})
    with pytest.raises(ra.RoleAssignmentInputError) as err:
        rar.resolve_principal(vault_params(user_assigned_identity_id=UAI.replace("id1", "id2")), SUB, read)
    assert err.value.option == "user_assigned_identity_id" and UAI in str(err.value)


@pytest.mark.parametrize(
    "identity, hint",
    [
        ({"type": "None"}, "system-assigned identity (azbackup"),
        (None, "system-assigned identity (azbackup"),
        ({"type": "UserAssigned", "userAssignedIdentities": {UAI: {"principalId": PRINCIPAL}}}, UAI),
    ],
)
def test_vault_without_system_identity(identity, hint):
    read = reader_of({VAULT_ID: vault(identity)})
    with pytest.raises(ra.RoleAssignmentInputError) as err:
        rar.resolve_principal(vault_params(), SUB, read)
    assert err.value.option == "vault_name" and hint in str(err.value)


def test_missing_vault_names_the_option():
    with pytest.raises(ra.RoleAssignmentInputError) as err:
        rar.resolve_principal(vault_params(vault_name=None, resource_group=None, vault_id=VAULT_ID), SUB, reader_of({}))
    assert err.value.option == "vault_id" and "does not exist" in str(err.value)


# ---------------------------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------------------------


def target_params(**overrides):
    base = {
        "server_name": None,
        "server_resource_group": None,
        "server_id": None,
        "operation": "backup",
        "storage_account_id": None,
    }
    base.update(overrides)
    return base


def test_targets_by_name_and_restore_without_servers():
    servers, account = rar.targets_from_params(
        target_params(server_name=["pg1", "pg2"], server_resource_group="rg-db"), SUB, PGFLEX
    )
    assert servers == [server("pg1"), server("pg2")] and account is None
    assert rar.targets_from_params(target_params(operation="restore", storage_account_id=storage()), SUB, PGFLEX) == (
        [],
        storage(),
    )


@pytest.mark.parametrize(
    "params, option",
    [
        (target_params(), "server_id"),
        (target_params(server_name=["pg1"]), "server_id"),
        (
            target_params(server_id=["/subscriptions/x/resourceGroups/rg/providers/Microsoft.Sql/servers/s"]),
            "server_id",
        ),
        (target_params(server_id=[server("pg1")], storage_account_id=storage()), "storage_account_id"),
    ],
)
def test_target_errors_name_the_option(params, option):
    with pytest.raises(ra.RoleAssignmentInputError) as err:
        rar.targets_from_params(params, SUB, PGFLEX)
    assert err.value.option == option


def test_targets_must_exist():
    read = reader_of({server("pg1"): {"id": server("pg1")}})
    rar.check_targets_exist([server("pg1")], None, read)
    assert read.calls == [(server("pg1"), "2024-08-01")]
    with pytest.raises(ra.RoleAssignmentInputError) as err:
        rar.check_targets_exist([server("pg1"), server("pg2")], None, read)
    assert err.value.option == "server_id" and "pg2" in str(err.value)
    with pytest.raises(ra.RoleAssignmentInputError) as err:
        rar.check_targets_exist([server("pg1")], storage(), read)
    assert err.value.option == "storage_account_id"
    assert read.calls[-1] == (storage(), arm.api_version(arm.STORAGE_ACCOUNT_TYPE))


# ---------------------------------------------------------------------------------------------------------------
# Listing
# ---------------------------------------------------------------------------------------------------------------


def test_listing_once_per_subscription_with_the_principal_filter():
    fake = client(
        [
            listed(rg_scope(), READER),
            listed(rg_scope(sub=SUB2), READER),
            listed(rg_scope(), READER, principal="99999999-8888-7777-6666-555555555555"),
        ]
    )
    required = backup_required([server("pg1"), server("pg2"), server("pg3", sub=SUB2)])
    found, groups = rar.list_assignments(fake, PRINCIPAL, [i["scope"] for i in required])
    assert fake.role_assignments.calls == [
        ("LIST", f"/subscriptions/{SUB}", f"principalId eq '{PRINCIPAL}'"),
        ("LIST", f"/subscriptions/{SUB2}", f"principalId eq '{PRINCIPAL}'"),
    ]
    assert sorted(ra.assignment_fields(a)[0] for a in found) == sorted([rg_scope(), rg_scope(sub=SUB2)])
    assert groups == {}
    assert all(isinstance(a, dict) and a["properties"]["scope"] for a in found)


def test_management_group_assignments_count_as_parents():
    fake = client([listed(MG, LTR), listed(MG, READER)])
    outcome = run_present(fake, backup_required(), Permissions(default=[READER_BLOCK]))
    assert [(i["status"], i.get("inherited_from")) for i in outcome.planned] == [("inherited", MG), ("inherited", MG)]
    assert fake.role_assignments.writes == []


# ---------------------------------------------------------------------------------------------------------------
# May the caller write?
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "blocks, write, delete",
    [
        ([OWNER_BLOCK], True, True),
        ([CONTRIBUTOR_BLOCK], False, False),
        ([READER_BLOCK], False, False),
        ([UAA_BLOCK], True, True),
        ([RBAC_ADMIN_BLOCK], True, True),
        ([CONTRIBUTOR_BLOCK, RBAC_ADMIN_BLOCK], True, True),  # blocks add up
        ([{"actions": ["microsoft.authorization/ROLEASSIGNMENTS/write"]}], True, False),
        ([], False, False),
    ],
)
def test_action_allowed(blocks, write, delete):
    assert rar.action_allowed(blocks, rar.WRITE_ACTION) is write
    assert rar.action_allowed(blocks, rar.DELETE_ACTION) is delete


def test_may_write_reads_each_scope_once():
    permissions = Permissions(default=[OWNER_BLOCK], by_scope={server("pg1"): [CONTRIBUTOR_BLOCK]})
    permissions.by_scope[ra.scope_key(rg_scope("rg-x"))] = None
    verdicts = rar.may_write(permissions, [rg_scope(), rg_scope().upper(), server("pg1"), rg_scope("rg-x")])
    assert list(verdicts.values()) == [rar.ALLOWED, rar.DENIED, rar.UNKNOWN]
    assert len(permissions.reads) == 3


def test_permission_reader_follows_pages_and_treats_refusals_as_unknown():
    sent = []
    pages = {
        f"{rg_scope()}/providers/Microsoft.Authorization/permissions": Response(
            200, {"value": [READER_BLOCK], "nextLink": "https://arm/next?page=2"}
        ),
        "https://arm/next": Response(200, {"value": [RBAC_ADMIN_BLOCK]}),
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/permissions": Response(404, {}),
    }

    def send(request):
        sent.append(request.url)
        return pages[request.url.split("?")[0]]

    read = rar.permission_reader(send)
    # Keyword case and a trailing slash are normalised to the canonical id.
    assert read(rg_scope().replace("resourceGroups", "resourcegroups") + "/") == [READER_BLOCK, RBAC_ADMIN_BLOCK]
    assert sent[0].endswith("/permissions?api-version=2022-04-01") and sent[1] == "https://arm/next?page=2"
    assert read(f"/subscriptions/{SUB}") is None
    with pytest.raises(HttpResponseError):
        rar.permission_reader(lambda request: Response(500, {}))(rg_scope())


# ---------------------------------------------------------------------------------------------------------------
# state: present
# ---------------------------------------------------------------------------------------------------------------


def test_nothing_missing_reads_no_permissions_and_writes_nothing():
    required = backup_required()
    fake = client([listed(i["scope"], i["role_definition_id"]) for i in required])
    permissions = Permissions()
    outcome = run_present(fake, required, permissions)
    assert not outcome.changed and not outcome.denied
    assert permissions.reads == [] and fake.role_assignments.writes == []
    out, problem = rar.result(outcome, PRINCIPAL)
    assert problem is None and out["missing"] == [] and out["role_assignment_template"] is None
    assert {a["status"] for a in out["assignments"]} == {"existing"}
    assert rar.PROPAGATION_NOTE not in out["msg"]


def test_grant_creates_the_missing_under_deterministic_names():
    required = backup_required()
    fake = client()
    outcome = run_present(fake, required)
    assert outcome.changed and outcome.done == [i["name"] for i in required]
    puts = fake.role_assignments.writes
    assert [(c[1], c[2]) for c in puts] == [(rg_scope(), required[0]["name"]), (server("pg1"), required[1]["name"])]
    assert puts[0][3] == ra.assignment_body(required[0])
    out, problem = rar.result(outcome, PRINCIPAL)
    assert problem is None
    assert statuses(out) == [(READER, rg_scope(), "created"), (LTR, server("pg1"), "created")]
    assert out["assignments"][1]["assignment_id"] == ra.assignment_id(server("pg1"), required[1]["name"])
    assert rar.PROPAGATION_NOTE in out["msg"]
    assert [d["role_definition_id"] for d in out["diff"]["after"]["role_assignments"]] == [READER, LTR]
    assert out["diff"]["before"] == {"role_assignments": []}
    # The rerun finds both and changes nothing.
    rerun = run_present(fake, required)
    again, problem = rar.result(rerun, PRINCIPAL)
    assert not rerun.changed and {a["status"] for a in again["assignments"]} == {"existing"}


def test_check_mode_predicts_and_writes_nothing():
    fake = client()
    outcome = run_present(fake, backup_required(), check_mode=True)
    assert outcome.changed and fake.role_assignments.writes == []
    out, dummy = rar.result(outcome, PRINCIPAL)
    assert {a["status"] for a in out["assignments"]} == {"created"} and out["missing"] == []


def test_parent_scope_satisfies_the_need():
    fake = client([listed(rg_scope(), LTR), listed(rg_scope(), READER)])
    outcome = run_present(fake, backup_required())
    out, dummy = rar.result(outcome, PRINCIPAL)
    assert statuses(out) == [(READER, rg_scope(), "existing"), (LTR, server("pg1"), "inherited")]
    assert out["assignments"][1]["inherited_from"] == rg_scope()
    assert fake.role_assignments.writes == [] and not outcome.changed


def test_wider_scope_reuses_the_group_reader_and_adds_the_group_ltr():
    fake = client()
    run_present(fake, backup_required())
    outcome = run_present(fake, backup_required([server("pg1"), server("pg2")], scope="resource_group"))
    out, dummy = rar.result(outcome, PRINCIPAL)
    assert statuses(out) == [(READER, rg_scope(), "existing"), (LTR, rg_scope(), "created")]
    assert out["assignments"][1]["targets"] == [server("pg1"), server("pg2")]


def test_denied_anywhere_writes_nothing_and_hands_over_a_template():
    required = backup_required()
    fake = client()
    permissions = Permissions(default=[RBAC_ADMIN_BLOCK], by_scope={server("pg1"): [CONTRIBUTOR_BLOCK]})
    outcome = run_present(fake, required, permissions)
    assert outcome.denied and outcome.denied_how == "permissions" and outcome.denied_scopes == [server("pg1")]
    assert fake.role_assignments.writes == [] and not outcome.changed
    caller = {"object_id": "oid-1", "app_id": "app-1", "tenant_id": "t"}
    out, problem = rar.result(outcome, PRINCIPAL, caller, "/tmp/x/roles.json")
    assert problem.startswith("The caller (object id oid-1, application id app-1) may not create role assignments")
    assert "nothing was changed" in problem and server("pg1") in problem
    assert {a["status"] for a in out["assignments"]} == {"missing"}
    assert [m["name"] for m in out["missing"]] == [i["name"] for i in required]
    assert out["role_assignment_template"] == ra.arm_template(required, PRINCIPAL)
    assert out["az_cli_commands"] == ra.az_cli_commands(required)
    assert out["deployment_command"].endswith("--template-file /tmp/x/roles.json")
    assert out["permission_denied"] is True
    assert out["diff"]["before"] == out["diff"]["after"]


def test_denied_in_check_mode_is_the_same_prediction():
    permissions = Permissions(default=[CONTRIBUTOR_BLOCK])
    fake = client()
    real = rar.result(run_present(fake, backup_required(), permissions), PRINCIPAL)
    dry = rar.result(run_present(fake, backup_required(), permissions, check_mode=True), PRINCIPAL)
    assert real == dry and fake.role_assignments.writes == []


def test_unknown_permissions_and_a_403_on_the_second_put_stop_the_writes():
    required = backup_required([server("pg1"), server("pg2", rg="rg-other")])
    refused = arm_error(403, "AuthorizationFailed")
    fake = client(refuse={required[1]["name"]: refused})
    outcome = run_present(fake, required, Permissions(default=None))
    assert [c[2] for c in fake.role_assignments.writes] == [required[0]["name"], required[1]["name"]]
    assert outcome.denied and outcome.denied_how == "AuthorizationFailed" and outcome.done == [required[0]["name"]]
    out, problem = rar.result(outcome, PRINCIPAL, {"object_id": "oid-1"})
    assert [a["status"] for a in out["assignments"]] == ["created", "missing", "missing", "missing"]
    assert "only 1 of 4 grants were created" in problem and "AuthorizationFailed" in problem
    assert outcome.changed is True
    template_names = [
        r["name"]
        for dep in out["role_assignment_template"]["resources"]
        for r in dep["properties"]["template"]["resources"]
    ]
    assert sorted(template_names) == sorted(i["name"] for i in required[1:])


def test_409_means_someone_else_created_it():
    required = backup_required()
    fake = client(refuse={required[0]["name"]: arm_error(409, "RoleAssignmentExists", cls=ResourceExistsError)})
    outcome = run_present(fake, required)
    out, problem = rar.result(outcome, PRINCIPAL)
    assert problem is None and outcome.raced == [required[0]["name"]]
    assert [a["status"] for a in out["assignments"]] == ["existing", "created"]
    assert outcome.changed is True and out["missing"] == []


def test_other_errors_propagate():
    required = backup_required()
    fake = client(refuse={required[0]["name"]: arm_error(400, "PrincipalNotFound")})
    with pytest.raises(HttpResponseError):
        run_present(fake, required)


def test_restore_grants_blob_contributor_on_the_account():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [], "restore", "resource", storage())
    fake = client()
    out, dummy = rar.result(run_present(fake, required), PRINCIPAL)
    assert statuses(out) == [(BLOB, storage(), "created")]
    assert fake.role_assignments.writes[0][1] == storage()


# ---------------------------------------------------------------------------------------------------------------
# state: absent
# ---------------------------------------------------------------------------------------------------------------


def test_absent_removes_exact_matches_only():
    required = backup_required()
    mine = listed(server("pg1"), LTR)
    others = [listed(rg_scope(), LTR), listed(f"/subscriptions/{SUB}", READER), listed(server("pg1"), READER)]
    fake = client([mine] + others)
    outcome = run_absent(fake, required)
    assert fake.role_assignments.writes == [("DELETE", server("pg1"), mine["name"])]
    out, problem = rar.result(outcome, PRINCIPAL)
    assert problem is None and outcome.changed
    assert statuses(out) == [(READER, rg_scope(), "inherited"), (LTR, server("pg1"), "removed")]
    assert out["assignments"][0]["inherited_from"] == f"/subscriptions/{SUB}"
    assert out["diff"]["before"]["role_assignments"][0]["scope"] == server("pg1")
    assert out["diff"]["after"] == {"role_assignments": []}
    rerun = run_absent(fake, required)
    again, dummy = rar.result(rerun, PRINCIPAL)
    assert not rerun.changed and [a["status"] for a in again["assignments"]] == ["inherited", "inherited"]


def test_absent_check_mode_and_nothing_there():
    required = backup_required()
    fake = client([listed(i["scope"], i["role_definition_id"]) for i in required])
    outcome = run_absent(fake, required, check_mode=True)
    assert outcome.changed and fake.role_assignments.writes == []
    assert {a["status"] for a in rar.result(outcome, PRINCIPAL)[0]["assignments"]} == {"removed"}
    nothing = run_absent(client(), required)
    empty, dummy = rar.result(nothing, PRINCIPAL)
    assert not nothing.changed and {a["status"] for a in empty["assignments"]} == {"absent"}


def test_absent_denied_deletes_nothing():
    required = backup_required()
    fake = client([listed(i["scope"], i["role_definition_id"]) for i in required])
    outcome = run_absent(fake, required, Permissions(default=[CONTRIBUTOR_BLOCK]))
    assert outcome.denied and fake.role_assignments.writes == []
    out, problem = rar.result(outcome, PRINCIPAL, {"object_id": "oid-1"})
    assert {a["status"] for a in out["assignments"]} == {"existing"}
    assert out["az_cli_commands"][0].startswith("az role assignment delete --ids /subscriptions/")
    assert "may not delete role assignments" in problem and "nothing was removed" in problem
    assert out["role_assignment_template"] is None


def test_absent_403_on_delete_stops():
    required = backup_required()
    present = [listed(i["scope"], i["role_definition_id"]) for i in required]
    fake = client(present, refuse={present[1]["name"]: arm_error(403, "AuthorizationFailed")})
    outcome = run_absent(fake, required, Permissions(default=None))
    out, problem = rar.result(outcome, PRINCIPAL)
    assert [a["status"] for a in out["assignments"]] == ["removed", "existing"]
    assert "only 1 of 2 were removed" in problem


# ---------------------------------------------------------------------------------------------------------------
# Small pieces
# ---------------------------------------------------------------------------------------------------------------


def test_caller_label():
    assert rar.caller_label({"object_id": "o", "app_id": "a"}) == "The caller (object id o, application id a)"
    assert rar.caller_label({"object_id": "o", "app_id": None}) == "The caller (object id o)"
    assert rar.caller_label(None) is None


def test_to_arm():
    body = listed(rg_scope(), READER)
    assert rar.to_arm(Model(body)) == body and rar.to_arm(body) is body and rar.to_arm(None) is None


def test_write_template(tmp_path):
    path = tmp_path / "roles.json"
    text = ra.template_json(ra.arm_template(backup_required(), PRINCIPAL))
    assert rar.write_template(str(path), text, check_mode=True) is True
    assert not path.exists()
    assert rar.write_template(str(path), text, check_mode=False) is True
    assert json.loads(path.read_text()) == json.loads(text)
    assert rar.write_template(str(path), text, check_mode=False) is False
    assert rar.write_template(str(path), text, check_mode=True) is False
    assert list(tmp_path.iterdir()) == [path]
    assert rar.write_template(str(tmp_path / "missing-dir" / "roles.json"), text, check_mode=True) is True
    assert not (tmp_path / "missing-dir").exists()
    assert rar.write_template(str(tmp_path / "missing-dir" / "roles.json"), text, check_mode=False) is True
    assert json.loads((tmp_path / "missing-dir" / "roles.json").read_text()) == json.loads(text)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(OSError):
        rar.write_template(str(tmp_path / "a-file" / "roles.json"), text, check_mode=False)


def test_template_path_problems_are_found_before_any_write(tmp_path):
    assert rar.template_path_problem(str(tmp_path / "roles.json")) is None
    assert rar.template_path_problem(str(tmp_path / "missing-dir" / "deeper" / "roles.json")) is None
    (tmp_path / "a-file").write_text("x")
    blocked = rar.template_path_problem(str(tmp_path / "a-file" / "roles.json"))
    assert "a-file" in blocked and "is not a directory" in blocked
    assert "is a directory" in rar.template_path_problem(str(tmp_path))


def instance_of(server_id):
    return {"properties": {"dataSourceInfo": {"resourceID": server_id}}}


def test_other_protected_servers_leave_out_the_ones_named():
    instances = [instance_of(server("pg1")), Model(instance_of(server("pg2"))), instance_of(server("PG2").upper())]
    assert rar.other_protected_servers(instances, [server("pg1")]) == [server("pg2")]
    assert rar.other_protected_servers([], [server("pg1")]) == []


def test_absent_keeps_the_group_reader_another_protected_server_still_needs():
    required = backup_required()
    fake = client([listed(i["scope"], i["role_definition_id"]) for i in required])
    still_needed = backup_required([server("pg2")])
    existing, groups = rar.list_assignments(fake, PRINCIPAL, [i["scope"] for i in required])
    outcome = rar.ensure_absent(fake, Permissions(), required, existing, groups, False, still_needed)
    deletes = fake.role_assignments.writes
    assert [(c[0], c[1]) for c in deletes] == [("DELETE", server("pg1"))]
    out, problem = rar.result(outcome, PRINCIPAL)
    assert problem is None
    assert statuses(out) == [(READER, rg_scope(), "shared"), (LTR, server("pg1"), "removed")]
    assert out["assignments"][0]["needed_by"] == [server("pg2")]
    assert "still needed by other protected servers" in out["msg"] and server("pg2") in out["msg"]
    assert out["diff"]["before"]["role_assignments"] == [
        r for r in out["diff"]["before"]["role_assignments"] if r["scope"] == server("pg1")]


def test_absent_without_other_servers_removes_the_group_reader_too():
    required = backup_required()
    fake = client([listed(i["scope"], i["role_definition_id"]) for i in required])
    existing, groups = rar.list_assignments(fake, PRINCIPAL, [i["scope"] for i in required])
    still_needed = backup_required([server("pg9", rg="rg-other")])
    rar.ensure_absent(fake, Permissions(), required, existing, groups, False, still_needed)
    assert len(fake.role_assignments.writes) == 2


def test_a_run_that_would_pass_the_subscription_limit_writes_nothing_and_says_what_a_wider_scope_needs(monkeypatch):
    servers = [server("pg{0}".format(index)) for index in range(3)]
    required = backup_required(servers)
    others = [listed(rg_scope(), READER, principal="99999999-2222-3333-4444-555555555555", name=str(index))
              for index in range(2)]
    fake = client(others)
    monkeypatch.setattr(ra, "ASSIGNMENTS_PER_SUBSCRIPTION", 5)  # 2 in use + 4 to add
    alternative = ra.scope_alternative(PGFLEX, PRINCIPAL, servers, "backup", "resource")
    assert (alternative["assignments"], alternative["instead_of"]) == (2, 4)
    existing, groups = rar.list_assignments(fake, PRINCIPAL, [i["scope"] for i in required])
    with pytest.raises(ra.RoleAssignmentInputError) as caught:
        rar.ensure_present(fake, Permissions(), required, existing, groups, False, alternative)
    assert caught.value.option == "scope"
    assert "holds 2 role assignments; this run would add 4, past Azure's limit of 5" in str(caught.value)
    assert "scope resource_group would need 2 role assignments instead of 4" in str(caught.value)
    assert fake.role_assignments.writes == []
    monkeypatch.setattr(ra, "ASSIGNMENTS_PER_SUBSCRIPTION", 6)
    assert run_present(fake, required).done == [item["name"] for item in required]


def test_no_alternative_when_every_server_has_its_own_group_or_the_scope_is_already_wide():
    servers = [server("pg1", rg="rg-a"), server("pg2", rg="rg-b")]
    assert ra.scope_alternative(PGFLEX, PRINCIPAL, servers, "backup", "resource") is None
    assert ra.scope_alternative(PGFLEX, PRINCIPAL, servers, "backup", "resource_group") is None
