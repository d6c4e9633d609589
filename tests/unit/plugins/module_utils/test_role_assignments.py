"""Unit tests for role_assignments: required grants, inheritance, deterministic names, removal and the hand-off
(ARM template, az CLI lines, failure message) when the caller may not assign roles."""

import json
import os
import re
import shlex
import uuid

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import role_assignments as ra
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources import pgflex
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX

SUB = "00000000-0000-0000-0000-00000000aaaa"
SUB2 = "00000000-0000-0000-0000-00000000bbbb"
PRINCIPAL = "11111111-2222-3333-4444-555555555555"
OTHER_PRINCIPAL = "99999999-8888-7777-6666-555555555555"
READER = pgflex.ROLE_READER
LTR = pgflex.ROLE_PGFLEX_LTR_BACKUP
BLOB = pgflex.ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def server(name, rg="rg-db", sub=SUB):
    return PGFLEX.server_id(sub, rg, name)


def rg_scope(rg="rg-db", sub=SUB):
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def sub_scope(sub=SUB):
    return f"/subscriptions/{sub}"


def storage(name="stbackup", rg="rg-restore", sub=SUB2):
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"


def existing(scope, role, principal=PRINCIPAL, name=None, tenant_form=False):
    """An assignment as ARM lists it (GET/list responses use the tenant-level roleDefinitionId form)."""
    name = name or str(uuid.uuid4())
    role_id = (
        f"/providers/Microsoft.Authorization/roleDefinitions/{role}"
        if tenant_form
        else f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    )
    return {
        "id": f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "name": name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": role_id,
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": scope,
        },
    }


def grants(items):
    """The (role, scope) pairs of required or planned items, scopes compared case-insensitively."""
    return sorted((i["role_definition_id"], ra.scope_key(i["scope"])) for i in items)


# ---------------------------------------------------------------------------------------------------------------
# ARM id helpers
# ---------------------------------------------------------------------------------------------------------------


def test_parse_server_id_is_case_insensitive_and_canonicalises_keywords():
    parts = ra.parse_resource_id(
        f"/SUBSCRIPTIONS/{SUB}/resourcegroups/rg-db/PROVIDERS/Microsoft.DBforPostgreSQL/flexibleServers/pg1/"
    )
    assert parts["kind"] == "resource"
    assert parts["subscription_id"] == SUB
    assert parts["resource_group"] == "rg-db"
    assert parts["namespace"] == "Microsoft.DBforPostgreSQL"
    assert parts["type"] == "Microsoft.DBforPostgreSQL/flexibleServers"
    assert parts["name"] == "pg1"
    assert parts["id"] == server("pg1")


@pytest.mark.parametrize(
    "value, kind, name",
    [
        (f"/subscriptions/{SUB}", "subscription", None),
        (f"/subscriptions/{SUB}/resourceGroups/rg-db/", "resource_group", "rg-db"),
        ("/providers/Microsoft.Management/managementGroups/mg-prod", "management_group", "mg-prod"),
        ("/", "root", None),
        ("", "root", None),
        (
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa/blobServices/default"
            "/containers/c1",
            "resource",
            "c1",
        ),
    ],
)
def test_parse_other_scopes(value, kind, name):
    parts = ra.parse_resource_id(value)
    assert parts["kind"] == kind
    assert parts["name"] == name


@pytest.mark.parametrize(
    "value",
    [
        "not-an-id",
        "/subscriptions",
        f"/subscriptions/{SUB}/resourceGroups",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers",
        f"/subscriptions/{SUB}/resourceGroups/rg/things/x",
        f"/subscriptions/{SUB}//resourceGroups/rg",
        "/providers/Microsoft.Authorization/roleDefinitions/x/y",
        None,
    ],
)
def test_parse_rejects_malformed_ids(value):
    with pytest.raises(ValueError):
        ra.parse_resource_id(value)


def test_scope_chain_goes_from_resource_to_tenant_root():
    assert ra.scope_chain(server("pg1") + "/") == [server("pg1"), rg_scope(), sub_scope(), "/"]
    child = storage() + "/blobServices/default/containers/c1"
    assert ra.scope_chain(child) == [
        child,
        storage() + "/blobServices/default",
        storage(),
        rg_scope("rg-restore", SUB2),
        sub_scope(SUB2),
        "/",
    ]


def test_scope_chain_includes_given_management_groups_nearest_first():
    chain = ra.scope_chain(rg_scope(), ["mg-team", "/providers/Microsoft.Management/managementGroups/mg-root"])
    assert chain == [
        rg_scope(),
        sub_scope(),
        "/providers/Microsoft.Management/managementGroups/mg-team",
        "/providers/Microsoft.Management/managementGroups/mg-root",
        "/",
    ]


@pytest.mark.parametrize(
    "parent, child, expected",
    [
        (server("pg1"), server("pg1"), True),
        (rg_scope(), server("pg1"), True),
        (sub_scope(), server("pg1"), True),
        ("/", server("pg1"), True),
        (rg_scope().upper() + "/", server("pg1").lower(), True),
        (f"subscriptions/{SUB}/", server("pg1"), True),
        (server("pg1"), rg_scope(), False),
        (rg_scope("rg-d"), server("pg1"), False),  # a prefix of the name is not a parent
        (rg_scope("rg-db2"), server("pg1"), False),
        (server("pg"), server("pg1"), False),
        (sub_scope(SUB2), server("pg1"), False),
        (rg_scope(), server("pg1", "rg-other"), False),
    ],
)
def test_is_same_or_parent_scope(parent, child, expected):
    assert ra.is_same_or_parent_scope(parent, child) is expected


def test_management_group_is_parent_only_when_known():
    mg = "/providers/Microsoft.Management/managementGroups/mg-prod"
    assert not ra.is_same_or_parent_scope(mg, server("pg1"))
    assert ra.is_same_or_parent_scope(mg, server("pg1"), ["mg-prod"])


@pytest.mark.parametrize(
    "value",
    [
        READER,
        READER.upper(),
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
        f"/providers/Microsoft.Authorization/roleDefinitions/{READER}",
        f"/Subscriptions/{SUB}/Providers/microsoft.authorization/ROLEDEFINITIONS/{READER.upper()}/",
    ],
)
def test_role_definition_guid_accepts_both_id_forms(value):
    assert ra.role_definition_guid(value) == READER


@pytest.mark.parametrize("value", ["Reader", "", None, f"/subscriptions/{SUB}/providers/Microsoft.Foo/bar/{READER}"])
def test_role_definition_guid_rejects_names_and_other_ids(value):
    with pytest.raises(ValueError):
        ra.role_definition_guid(value)


def test_role_definition_id_forms():
    assert (
        ra.role_definition_id(READER.upper(), SUB)
        == f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    )
    assert ra.role_definition_id(READER) == f"/providers/Microsoft.Authorization/roleDefinitions/{READER}"


# ---------------------------------------------------------------------------------------------------------------
# required_assignments
# ---------------------------------------------------------------------------------------------------------------


def test_backup_resource_scope_reader_on_group_and_ltr_on_server():
    items = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    assert grants(items) == grants(
        [
            {"role_definition_id": READER, "scope": rg_scope()},
            {"role_definition_id": LTR, "scope": server("pg1")},
        ]
    )
    reader = items[0]
    assert reader["role_name"] == "Reader"
    assert reader["principal_id"] == PRINCIPAL
    assert reader["name"] == ra.assignment_name(rg_scope(), PRINCIPAL, READER)
    assert reader["targets"] == [server("pg1")]
    assert items[1]["role_name"] == PGFLEX.role_names[LTR]


def test_backup_resource_group_scope_puts_both_roles_on_the_group():
    items = ra.required_assignments(PGFLEX, PRINCIPAL, server("pg1"), "backup", "resource_group")
    assert grants(items) == grants(
        [
            {"role_definition_id": READER, "scope": rg_scope()},
            {"role_definition_id": LTR, "scope": rg_scope()},
        ]
    )


def test_backup_subscription_scope_puts_both_roles_on_the_subscription():
    items = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "subscription")
    assert grants(items) == grants(
        [
            {"role_definition_id": READER, "scope": sub_scope()},
            {"role_definition_id": LTR, "scope": sub_scope()},
        ]
    )


@pytest.mark.parametrize(
    "scope, expected",
    [
        ("resource", storage()),
        ("resource_group", rg_scope("rg-restore", SUB2)),
        ("subscription", sub_scope(SUB2)),
    ],
)
def test_restore_grants_blob_data_contributor_around_the_storage_account(scope, expected):
    items = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "restore", scope, storage_account_id=storage())
    assert grants(items) == [(BLOB, expected.lower())]
    assert items[0]["role_name"] == "Storage Blob Data Contributor"
    assert items[0]["targets"] == [storage()]


def test_restore_needs_no_server():
    items = ra.required_assignments(PGFLEX, PRINCIPAL, None, "restore", "resource", storage_account_id=storage())
    assert grants(items) == [(BLOB, storage().lower())]


def test_backup_and_restore_together():
    items = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], ["backup", "restore"], "resource", storage())
    assert [i["role_definition_id"] for i in items] == [READER, LTR, BLOB]


def test_role_ids_come_from_the_datasource_file():
    items = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    assert [i["role_definition_id"] for i in items] == [
        r["role_definition_id"] for r in PGFLEX.required_roles["backup"]
    ]


@pytest.mark.parametrize(
    "scope, expected_count, readers, ltrs",
    [
        ("resource", 3, [rg_scope()], [server("pg1"), server("pg2")]),
        ("resource_group", 2, [rg_scope()], [rg_scope()]),
        ("subscription", 2, [sub_scope()], [sub_scope()]),
    ],
)
def test_servers_in_one_group_are_deduplicated(scope, expected_count, readers, ltrs):
    items = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1"), server("pg2")], "backup", scope)
    assert len(items) == expected_count
    assert [i["scope"] for i in items if i["role_definition_id"] == READER] == readers
    assert [i["scope"] for i in items if i["role_definition_id"] == LTR] == ltrs
    reader = [i for i in items if i["role_definition_id"] == READER][0]
    assert reader["targets"] == [server("pg1"), server("pg2")]
    assert len({(i["role_definition_id"], i["scope"].lower()) for i in items}) == len(items)
    assert len({i["name"] for i in items}) == len(items)


@pytest.mark.parametrize("scope, expected_count", [("resource", 5), ("resource_group", 4), ("subscription", 2)])
def test_servers_in_two_groups(scope, expected_count):
    servers = [server("pg1", "rg-a"), server("pg2", "rg-b"), server("pg3", "rg-a")]
    items = ra.required_assignments(PGFLEX, PRINCIPAL, servers, "backup", scope)
    assert len(items) == expected_count
    if scope == "resource":
        assert grants(items) == grants(
            [
                {"role_definition_id": READER, "scope": rg_scope("rg-a")},
                {"role_definition_id": READER, "scope": rg_scope("rg-b")},
            ]
            + [{"role_definition_id": LTR, "scope": s} for s in servers]
        )
    if scope == "resource_group":
        assert grants(items) == grants(
            [{"role_definition_id": r, "scope": rg_scope(g)} for r in (READER, LTR) for g in ("rg-a", "rg-b")]
        )
    if scope == "subscription":
        assert grants(items) == grants([{"role_definition_id": r, "scope": sub_scope()} for r in (READER, LTR)])


def test_same_server_given_twice_in_different_case_is_one_grant():
    shouting = server("pg1").upper()
    items = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1"), shouting], "backup", "resource")
    assert len(items) == 2
    assert items[0]["targets"] == [server("pg1")]


def test_principal_id_is_normalised():
    items = ra.required_assignments(PGFLEX, " " + PRINCIPAL.upper(), [server("pg1")], "backup", "resource")
    assert {i["principal_id"] for i in items} == {PRINCIPAL}


@pytest.mark.parametrize(
    "kwargs, option",
    [
        ({"principal_id": "vault-identity"}, "principal_id"),
        ({"principal_id": None}, "principal_id"),
        ({"servers": ["pg1"]}, "server_id"),
        ({"servers": [storage()]}, "server_id"),
        ({"servers": [rg_scope()]}, "server_id"),
        ({"servers": [PGFLEX.server_id("my-sub", "rg", "pg1")]}, "server_id"),
        ({"servers": []}, "server_id"),
        ({"operation": "archive"}, "operation"),
        ({"operation": []}, "operation"),
        ({"scope": "tenant"}, "scope"),
        ({"scope": None}, "scope"),
        ({"operation": "restore"}, "storage_account_id"),
        ({"operation": "restore", "storage_account_id": server("pg1")}, "storage_account_id"),
        ({"operation": "restore", "storage_account_id": storage() + "/blobServices/default"}, "storage_account_id"),
    ],
)
def test_input_errors_name_the_option(kwargs, option):
    args = {"principal_id": PRINCIPAL, "servers": [server("pg1")], "operation": "backup", "scope": "resource"}
    args.update(kwargs)
    with pytest.raises(ra.RoleAssignmentInputError) as excinfo:
        ra.required_assignments(PGFLEX, **args)
    assert excinfo.value.option == option
    assert str(excinfo.value).startswith(option + ": ")
    assert isinstance(excinfo.value, ValueError)


# ---------------------------------------------------------------------------------------------------------------
# Deterministic names
# ---------------------------------------------------------------------------------------------------------------


def test_assignment_name_is_pinned():
    """Changing the namespace or the key would make every rerun create duplicates: pin both."""
    assert str(ra.ASSIGNMENT_NAME_NAMESPACE) == "697cf8ff-a555-5d5b-b709-ea95789dc0b7"
    assert ra.ASSIGNMENT_NAME_NAMESPACE == uuid.uuid5(uuid.NAMESPACE_DNS, "role-assignments.dataprotection.azbackup")
    key = f"{rg_scope().lower()}|{PRINCIPAL}|{READER}"
    assert ra.assignment_name(rg_scope(), PRINCIPAL, READER) == str(uuid.uuid5(ra.ASSIGNMENT_NAME_NAMESPACE, key))


def test_assignment_name_is_stable_and_a_guid():
    first = ra.assignment_name(server("pg1"), PRINCIPAL, LTR)
    assert first == ra.assignment_name(server("pg1"), PRINCIPAL, LTR)
    assert ra.is_guid(first)
    assert uuid.UUID(first).version == 5


def test_assignment_name_ignores_case_and_id_form():
    base = ra.assignment_name(server("pg1"), PRINCIPAL, LTR)
    assert ra.assignment_name(server("pg1").upper() + "/", PRINCIPAL.upper(), LTR.upper()) == base
    assert (
        ra.assignment_name(server("pg1"), PRINCIPAL, f"/providers/Microsoft.Authorization/roleDefinitions/{LTR}")
        == base
    )
    assert (
        ra.assignment_name(
            server("pg1"), PRINCIPAL, f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{LTR}"
        )
        == base
    )


def test_assignment_name_differs_per_role_scope_and_principal():
    names = {
        ra.assignment_name(server("pg1"), PRINCIPAL, LTR),
        ra.assignment_name(server("pg1"), PRINCIPAL, READER),
        ra.assignment_name(server("pg2"), PRINCIPAL, LTR),
        ra.assignment_name(rg_scope(), PRINCIPAL, LTR),
        ra.assignment_name(server("pg1"), OTHER_PRINCIPAL, LTR),
    }
    assert len(names) == 5


def test_required_names_are_the_same_across_calls_and_input_case():
    a = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    b = ra.required_assignments(PGFLEX, PRINCIPAL.upper(), [server("pg1").lower()], "backup", "resource")
    assert [i["name"] for i in a] == [i["name"] for i in b]


def test_assignment_id():
    assert (
        ra.assignment_id(rg_scope() + "/", "abc")
        == rg_scope() + "/providers/Microsoft.Authorization/roleAssignments/abc"
    )


# ---------------------------------------------------------------------------------------------------------------
# plan: existing / inherited / missing
# ---------------------------------------------------------------------------------------------------------------


def _by_role(planned):
    return {p["role_definition_id"]: p for p in planned}


def test_plan_nothing_exists():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    planned = ra.plan(required, [])
    assert [p["status"] for p in planned] == ["missing", "missing"]
    assert ra.missing(planned) == planned


def test_plan_exact_scope_is_existing():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    found = existing(rg_scope(), READER, name="portal-made")
    planned = _by_role(ra.plan(required, [found]))
    assert planned[READER]["status"] == "existing"
    assert planned[READER]["assignment_id"] == found["id"]
    assert planned[LTR]["status"] == "missing"


def test_plan_group_assignment_satisfies_server_need():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1"), server("pg2")], "backup", "resource")
    planned = ra.plan(required, [existing(rg_scope(), LTR), existing(rg_scope(), READER)])
    ltrs = [p for p in planned if p["role_definition_id"] == LTR]
    assert [p["status"] for p in ltrs] == ["inherited", "inherited"]
    assert all(p["inherited_from"] == rg_scope() for p in ltrs)
    assert _by_role(planned)[READER]["status"] == "existing"
    assert ra.missing(planned) == []


def test_plan_subscription_assignments_satisfy_everything():
    servers = [server("pg1", "rg-a"), server("pg2", "rg-b")]
    required = ra.required_assignments(PGFLEX, PRINCIPAL, servers, "backup", "resource")
    planned = ra.plan(required, [existing(sub_scope(), READER), existing(sub_scope(), LTR)])
    assert {p["status"] for p in planned} == {"inherited"}
    assert {p["inherited_from"] for p in planned} == {sub_scope()}


def test_plan_tenant_root_assignment_is_inherited():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    planned = ra.plan(required, [existing("/", READER), existing("/", LTR)])
    assert {p["status"] for p in planned} == {"inherited"}


def test_plan_prefers_the_nearest_parent():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    sub_one = existing(sub_scope(), LTR)
    rg_one = existing(rg_scope(), LTR)
    planned = _by_role(ra.plan(required, [sub_one, rg_one]))
    assert planned[LTR]["inherited_from"] == rg_scope()
    assert planned[LTR]["assignment_id"] == rg_one["id"]


def test_plan_exact_wins_over_parent():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    planned = _by_role(ra.plan(required, [existing(sub_scope(), LTR), existing(server("pg1"), LTR)]))
    assert planned[LTR]["status"] == "existing"
    assert "inherited_from" not in planned[LTR]


def test_plan_other_principal_or_other_role_does_not_count():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    found = [
        existing(sub_scope(), READER, principal=OTHER_PRINCIPAL),
        existing(server("pg1"), LTR, principal=OTHER_PRINCIPAL),
        existing(sub_scope(), CONTRIBUTOR),  # a broader role is not the role asked for
        existing(server("pg1"), READER),  # right role, but it is needed on the group, not below it
    ]
    planned = ra.plan(required, found)
    assert [p["status"] for p in planned] == ["missing", "missing"]


def test_plan_sibling_scopes_do_not_count():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    found = [existing(rg_scope("rg-d"), READER), existing(server("pg"), LTR), existing(sub_scope(SUB2), LTR)]
    assert [p["status"] for p in ra.plan(required, found)] == ["missing", "missing"]


def test_plan_matches_despite_case_differences():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    reader = existing(rg_scope().upper() + "/", READER.upper(), principal=PRINCIPAL.upper(), tenant_form=True)
    ltr = existing(rg_scope().lower(), LTR.upper(), principal=PRINCIPAL.upper())
    planned = _by_role(ra.plan(required, [reader, ltr]))
    assert planned[READER]["status"] == "existing"
    assert planned[LTR]["status"] == "inherited"


def test_plan_accepts_sdk_as_dict_shape_and_scope_from_id():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    sdk_shape = {
        "id": rg_scope() + "/providers/Microsoft.Authorization/roleAssignments/x1",
        "name": "x1",
        "role_definition_id": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
        "principal_id": PRINCIPAL,
        "scope": rg_scope(),
    }
    no_scope = existing(server("pg1"), LTR)
    del no_scope["properties"]["scope"]
    planned = _by_role(ra.plan(required, [sdk_shape, no_scope]))
    assert planned[READER]["status"] == "existing"
    assert planned[LTR]["status"] == "existing"


def test_plan_ignores_malformed_entries():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    junk = [None, {}, {"properties": {"roleDefinitionId": "Reader", "principalId": PRINCIPAL, "scope": rg_scope()}}]
    assert [p["status"] for p in ra.plan(required, junk)] == ["missing", "missing"]


def test_plan_management_groups_count_only_when_given():
    mg = "/providers/Microsoft.Management/managementGroups/mg-prod"
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    found = [existing(mg, READER), existing(mg, LTR)]
    assert {p["status"] for p in ra.plan(required, found)} == {"missing"}
    assert {p["status"] for p in ra.plan(required, found, ["mg-prod"])} == {"inherited"}
    assert {p["status"] for p in ra.plan(required, found, {SUB.upper(): ["mg-prod"]})} == {"inherited"}
    assert {p["status"] for p in ra.plan(required, found, {SUB2: ["mg-prod"]})} == {"missing"}


def test_plan_does_not_change_its_input():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    snapshot = json.dumps(required)
    ra.plan(required, [existing(rg_scope(), LTR)])
    assert json.dumps(required) == snapshot


# ---------------------------------------------------------------------------------------------------------------
# plan_removal
# ---------------------------------------------------------------------------------------------------------------


def test_removal_takes_exact_matches_only():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    exact_reader = existing(rg_scope().upper(), READER, principal=PRINCIPAL.upper(), tenant_form=True)
    found = [
        exact_reader,
        existing(sub_scope(), LTR),  # inherited: never ours to remove
        existing(rg_scope(), LTR),  # inherited too
        existing(server("pg1"), LTR, principal=OTHER_PRINCIPAL),
        existing(server("pg1"), CONTRIBUTOR),
    ]
    removals = ra.plan_removal(required, found)
    assert [(r["role_definition_id"], r["assignment_id"]) for r in removals] == [(READER, exact_reader["id"])]
    assert removals[0]["assignment_name"] == exact_reader["name"]


def test_removal_of_group_scope_grants():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource_group")
    found = [existing(rg_scope(), READER), existing(rg_scope(), LTR), existing(server("pg1"), LTR)]
    removals = ra.plan_removal(required, found)
    assert sorted(r["assignment_id"] for r in removals) == sorted([found[0]["id"], found[1]["id"]])


def test_removal_with_nothing_there():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    assert ra.plan_removal(required, []) == []
    assert ra.plan_removal(required, [existing(sub_scope(), READER), existing(sub_scope(), LTR)]) == []


# ---------------------------------------------------------------------------------------------------------------
# report and diff
# ---------------------------------------------------------------------------------------------------------------


def test_report_turns_missing_into_created_with_its_id():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    planned = ra.plan(required, [existing(sub_scope(), READER)])
    out = {r["role_definition_id"]: r for r in ra.report(planned)}
    assert out[READER]["status"] == "inherited"
    assert out[READER]["inherited_from"] == sub_scope()
    assert out[LTR]["status"] == "created"
    assert out[LTR]["assignment_id"] == ra.assignment_id(server("pg1"), out[LTR]["name"])
    assert {r["status"] for r in ra.report(planned, missing_status="missing")} == {"inherited", "missing"}
    for entry in out.values():
        assert {"role_name", "role_definition_id", "scope", "principal_id", "status"} <= set(entry)


def test_diff_present_and_absent():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1"), server("pg2")], "backup", "resource")
    planned = ra.plan(required, [existing(rg_scope(), LTR)])
    diff = ra.diff_present(planned)
    before, after = diff["before"]["role_assignments"], diff["after"]["role_assignments"]
    assert [(d["role_definition_id"], d["scope"]) for d in before] == [(LTR, rg_scope())]
    assert [(d["role_definition_id"], d["scope"]) for d in after] == [(LTR, rg_scope()), (READER, rg_scope())]
    removals = ra.plan_removal(required, [existing(rg_scope(), READER)])
    assert ra.diff_absent(removals) == {
        "before": {
            "role_assignments": [
                {"scope": rg_scope(), "role_name": "Reader", "role_definition_id": READER, "principal_id": PRINCIPAL}
            ]
        },
        "after": {"role_assignments": []},
    }


def test_diff_sides_are_dicts_for_ansible_callbacks():
    # Ansible's diff callbacks serialise dicts (and take strings); a bare list breaks them ('list' has no splitlines).
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    for diff in (ra.diff_present(ra.plan(required, [])), ra.diff_absent([]), ra.diff_present([])):
        assert isinstance(diff["before"], dict) and isinstance(diff["after"], dict)


# ---------------------------------------------------------------------------------------------------------------
# PUT body
# ---------------------------------------------------------------------------------------------------------------


def test_assignment_body_uses_the_scope_subscription():
    item = ra.required_assignments(PGFLEX, PRINCIPAL, None, "restore", "resource", storage_account_id=storage())[0]
    assert ra.assignment_body(item) == {
        "properties": {
            "roleDefinitionId": f"/subscriptions/{SUB2}/providers/Microsoft.Authorization/roleDefinitions/{BLOB}",
            "principalId": PRINCIPAL,
            "principalType": "ServicePrincipal",
        }
    }
    body = ra.assignment_body(item, principal_type="User", description="for restore")
    assert body["properties"]["principalType"] == "User"
    assert body["properties"]["description"] == "for restore"
    with pytest.raises(ValueError):
        ra.assignment_body(item, principal_type="Robot")


def test_assignment_body_matches_the_sdk_model():
    models = pytest.importorskip("azure.mgmt.authorization.v2022_04_01.models")
    item = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")[1]
    params = models.RoleAssignmentCreateParameters.deserialize(ra.assignment_body(item))
    assert params.role_definition_id.endswith(LTR)
    assert params.principal_id == PRINCIPAL
    assert params.principal_type == "ServicePrincipal"
    assert params.serialize() == ra.assignment_body(item)


# ---------------------------------------------------------------------------------------------------------------
# ARM template
# ---------------------------------------------------------------------------------------------------------------

_PARAM_RE = re.compile(r"^\[parameters\('(\w+)'\)\]$")
_ROLE_DEF_RE = re.compile(
    r"^\[subscriptionResourceId\('Microsoft\.Authorization/roleDefinitions', '([0-9a-f-]{36})'\)\]$"
)


def _evaluate(value, parameters, subscription_id):
    """The few ARM expressions the template may use, evaluated as ARM would; anything else fails the test."""
    if not isinstance(value, str) or not value.startswith("["):
        return value
    match = _PARAM_RE.match(value)
    if match:
        assert match.group(1) in parameters, value
        return parameters[match.group(1)]
    match = _ROLE_DEF_RE.match(value)
    if match:
        return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{match.group(1)}"
    if value == "[resourceGroup().location]":
        return "westeurope"
    raise AssertionError("unexpected expression " + value)


def deploy(template, parameters=None, deployment_rg=(SUB, "rg-anywhere")):
    """Simulate ``az deployment group create``: what role assignments would exist afterwards, in ARM shape."""
    assert template["$schema"] == ra.RG_TEMPLATE_SCHEMA
    declared = template["parameters"]
    values = {k: _evaluate(v.get("defaultValue"), {}, deployment_rg[0]) for k, v in declared.items()}
    values.update(parameters or {})
    created = []
    for dep in template["resources"]:
        assert dep["type"] == "Microsoft.Resources/deployments"
        assert dep["properties"]["mode"] == "Incremental"
        assert dep["properties"]["expressionEvaluationOptions"] == {"scope": "inner"}
        sub = dep["subscriptionId"]
        target = f"/subscriptions/{sub}"
        if "resourceGroup" in dep:
            target += f"/resourceGroups/{dep['resourceGroup']}"
            assert dep["properties"]["template"]["$schema"] == ra.RG_TEMPLATE_SCHEMA
        else:
            assert _evaluate(dep["location"], values, sub) == "westeurope"
            assert dep["properties"]["template"]["$schema"] == ra.SUBSCRIPTION_TEMPLATE_SCHEMA
        inner = dep["properties"]["template"]
        inner_values = {k: _evaluate(v["value"], values, sub) for k, v in dep["properties"]["parameters"].items()}
        assert set(inner_values) == set(inner["parameters"])
        for res in inner["resources"]:
            assert res["type"] == "Microsoft.Authorization/roleAssignments"
            scope = target
            if "scope" in res:
                assert "resourceGroup" in dep, "a resource scope needs a resource group deployment"
                assert not res["scope"].startswith("/") and not res["scope"].startswith("[")
                scope = f"{target}/providers/{res['scope']}"
            props = {k: _evaluate(v, inner_values, sub) for k, v in res["properties"].items()}
            props["scope"] = scope
            created.append(
                {
                    "id": ra.assignment_id(scope, res["name"]),
                    "name": res["name"],
                    "type": res["type"],
                    "properties": props,
                }
            )
    return created


def _template_roles(template):
    return [r for dep in template["resources"] for r in dep["properties"]["template"]["resources"]]


def test_template_structure():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    template = ra.arm_template(required, PRINCIPAL)
    assert json.loads(ra.template_json(template)) == template
    assert template["$schema"] == "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
    assert template["contentVersion"] == "1.0.0.0"
    assert template["parameters"]["principalId"] == {
        "type": "string",
        "defaultValue": PRINCIPAL,
        "metadata": template["parameters"]["principalId"]["metadata"],
    }
    assert template["parameters"]["principalType"]["defaultValue"] == "ServicePrincipal"
    assert "deploymentLocation" not in template["parameters"]
    [dep] = template["resources"]
    assert (dep["subscriptionId"], dep["resourceGroup"]) == (SUB, "rg-db")
    assert dep["apiVersion"] == "2022-09-01"
    roles = _template_roles(template)
    assert [r["name"] for r in roles] == [i["name"] for i in required]
    for res, item in zip(roles, required, strict=True):
        assert res["type"] == "Microsoft.Authorization/roleAssignments"
        assert res["apiVersion"] == "2022-04-01"
        assert ra.is_guid(res["name"])
        assert (
            res["properties"]["roleDefinitionId"]
            == f"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{item['role_definition_id']}')]"
        )
        assert res["properties"]["principalId"] == "[parameters('principalId')]"
        assert res["properties"]["principalType"] == "[parameters('principalType')]"
    reader, ltr = roles
    assert "scope" not in reader  # the nested deployment's resource group itself
    assert ltr["scope"] == "Microsoft.DBforPostgreSQL/flexibleServers/pg1"


def test_template_groups_by_target_and_uses_subscription_deployments_for_subscription_scope():
    servers = [server("pg1", "rg-a"), server("pg2", "rg-b", SUB2)]
    template = ra.arm_template(ra.required_assignments(PGFLEX, PRINCIPAL, servers, "backup", "resource"))
    assert [(d["subscriptionId"], d.get("resourceGroup")) for d in template["resources"]] == [
        (SUB, "rg-a"),
        (SUB2, "rg-b"),
    ]
    names = [d["name"] for d in template["resources"]]
    assert len(set(names)) == len(names) and all(len(n) <= 64 for n in names)

    template = ra.arm_template(ra.required_assignments(PGFLEX, PRINCIPAL, servers, "backup", "subscription"))
    assert [(d["subscriptionId"], d.get("resourceGroup")) for d in template["resources"]] == [(SUB, None), (SUB2, None)]
    assert all(d["location"] == "[parameters('deploymentLocation')]" for d in template["resources"])
    assert template["parameters"]["deploymentLocation"]["defaultValue"] == "[resourceGroup().location]"


GOLDEN_TEMPLATE = os.path.join(os.path.dirname(__file__), "golden", "role_assignment_template.json")


def test_template_matches_the_golden_file():
    """The template for fixed servers, operations and storage account is exactly the reviewed file: names, scopes,
    nesting and key order cannot drift between releases (reruns and handed-out templates must converge)."""
    servers = [server("pg1"), server("pg2", "rg-b"), server("pg3", "rg-c", SUB2)]
    required = ra.required_assignments(PGFLEX, PRINCIPAL, servers, ["backup", "restore"], "resource", storage())
    with open(GOLDEN_TEMPLATE) as handle:
        assert ra.template_json(ra.arm_template(required)) == handle.read()


@pytest.mark.parametrize(
    "servers, operation, scope, storage_account_id",
    [
        ([server("pg1")], "backup", "resource", None),
        ([server("pg1", "rg-a"), server("pg2", "rg-b"), server("pg3", "rg-c", SUB2)], "backup", "resource", None),
        ([server("pg1", "rg-a"), server("pg2", "rg-b")], "backup", "resource_group", None),
        ([server("pg1", "rg-a"), server("pg2", "rg-b", SUB2)], "backup", "subscription", None),
        ([server("pg1")], "restore", "resource", storage()),
        ([server("pg1")], "restore", "resource_group", storage()),
        ([server("pg1")], ["backup", "restore"], "subscription", storage()),
    ],
)
def test_applying_the_template_leaves_nothing_missing(servers, operation, scope, storage_account_id):
    required = ra.required_assignments(PGFLEX, PRINCIPAL, servers, operation, scope, storage_account_id)
    already = [existing(required[0]["scope"], required[0]["role_definition_id"])]
    todo = ra.missing(ra.plan(required, already))
    created = deploy(ra.arm_template(todo, PRINCIPAL))
    assert len(created) == len(todo)
    planned = ra.plan(required, already + created)
    assert ra.missing(planned) == []
    # The template creates what the module would: same names, ids and PUT bodies.
    by_name = {c["name"]: c for c in created}
    for item in todo:
        made = by_name[item["name"]]
        assert made["id"] == ra.assignment_id(item["scope"], item["name"])
        body = ra.assignment_body(item)["properties"]
        assert {k: made["properties"][k] for k in body} == body
    # ...and state: absent would remove exactly those again.
    assert sorted(r["assignment_id"] for r in ra.plan_removal(todo, created)) == sorted(c["id"] for c in created)


def test_template_for_nothing_is_empty_and_valid():
    template = ra.arm_template([], PRINCIPAL)
    assert template["resources"] == []
    assert template["parameters"]["principalId"]["defaultValue"] == PRINCIPAL
    assert deploy(template) == []


def test_template_refuses_several_principals():
    a = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    b = ra.required_assignments(PGFLEX, OTHER_PRINCIPAL, [server("pg1")], "backup", "resource")
    with pytest.raises(ValueError):
        ra.arm_template(a + b)
    with pytest.raises(ValueError):
        ra.arm_template(a, OTHER_PRINCIPAL)


# ---------------------------------------------------------------------------------------------------------------
# az CLI and the failure message
# ---------------------------------------------------------------------------------------------------------------


def _args(line):
    words = shlex.split(line)
    assert words[:4] == ["az", "role", "assignment", "create"]
    return dict(zip(words[4::2], words[5::2], strict=True))


def test_az_cli_commands():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    lines = ra.az_cli_commands(required)
    assert lines[1] == (
        f"az role assignment create --assignee-object-id {PRINCIPAL} --assignee-principal-type ServicePrincipal"
        f" --role {LTR} --scope {server('pg1')} --name {required[1]['name']}"
    )
    for line, item in zip(lines, required, strict=True):
        assert _args(line) == {
            "--assignee-object-id": PRINCIPAL,
            "--assignee-principal-type": "ServicePrincipal",
            "--role": item["role_definition_id"],
            "--scope": item["scope"],
            "--name": item["name"],
        }


def test_az_cli_commands_quote_scopes_for_the_shell():
    odd = server("pg1", "rg (prod)")
    reader = ra.required_assignments(PGFLEX, PRINCIPAL, [odd], "backup", "resource")[0]
    line = ra.az_cli_commands([reader])[0]
    assert _args(line)["--scope"] == rg_scope("rg (prod)")


def test_az_deployment_command_targets_a_server_group():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1", "rg-a")], "backup", "subscription")
    command = ra.az_deployment_command(required, "roles.json")
    assert (
        command == f"az deployment group create --subscription {SUB} --resource-group rg-a --template-file roles.json"
    )


def test_missing_permission_message_names_caller_roles_scopes_and_who_can_fix_it():
    servers = [server("pg1", "rg-a"), server("pg2", "rg-b")]
    required = ra.required_assignments(PGFLEX, PRINCIPAL, servers, "backup", "resource")
    message = ra.missing_permission_message("user alice@contoso.com (object id 1234)", required)
    assert message.startswith("user alice@contoso.com (object id 1234) may not create role assignments")
    assert "AuthorizationFailed" in message
    assert "nothing was changed" in message
    assert PRINCIPAL in message
    for item in required:
        assert f"{item['role_name']} ({item['role_definition_id']}) on {item['scope']}" in message
    for role in ("Owner", "User Access Administrator", "Role Based Access Control Administrator"):
        assert role in message
    for line in ra.az_cli_commands(required):
        assert line in message
    assert "on_missing_permission: template" in message
    assert "az deployment group create" in message


def test_missing_permission_message_says_how_it_was_refused_and_what_was_done():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    how = "its permissions do not include Microsoft.Authorization/roleAssignments/write on " + rg_scope()
    message = ra.missing_permission_message("The caller", required[1:], how=how, created=1)
    assert message.startswith(
        f"The caller may not create role assignments ({how}), so only 1 of 2 grants were created."
    )
    still_needed = message.split("still needs:", 1)[1].split("Someone", 1)[0]
    assert "Reader" not in still_needed
    assert f"{required[1]['role_name']} ({LTR}) on {server('pg1')}" in message
    assert "nothing was changed" not in message


def test_missing_permission_message_without_a_caller_name():
    required = ra.required_assignments(PGFLEX, PRINCIPAL, [server("pg1")], "backup", "resource")
    assert ra.missing_permission_message(None, required).startswith("The caller may not")
