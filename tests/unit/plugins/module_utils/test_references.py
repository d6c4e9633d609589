"""Vault and server references: one way or the other, never both, and well-formed ids only."""

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import references
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX

SUB = "11111111-2222-3333-4444-555555555555"
VAULT_ID = "/subscriptions/{0}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1".format(SUB)
SERVER_ID = "/subscriptions/{0}/resourceGroups/rg-pg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1".format(
    SUB)


def test_vault_by_name():
    assert references.vault_reference({"vault_name": "bv1", "resource_group": "rg-backup"}, SUB) == (
        SUB, "rg-backup", "bv1", VAULT_ID)


def test_vault_by_id_in_another_subscription():
    other = VAULT_ID.replace(SUB, "other-sub").lower()
    sub, group, name, vault_id = references.vault_reference({"vault_id": other}, SUB)
    assert (sub, group, name) == ("other-sub", "rg-backup", "bv1")
    assert vault_id.startswith("/subscriptions/other-sub/resourceGroups/rg-backup/")


@pytest.mark.parametrize("params, message", [
    ({"vault_name": "bv1"}, "vault_name and resource_group, or with vault_id"),
    ({"vault_id": VAULT_ID, "vault_name": "bv1"}, "mutually exclusive"),
    ({"vault_id": SERVER_ID}, "vault_id must be the resource id of a Microsoft.DataProtection/backupVaults"),
])
def test_bad_vault_references(params, message):
    with pytest.raises(references.ReferenceInputError, match=message):
        references.vault_reference(params, SUB)


def test_servers_by_name_and_by_id():
    by_name = references.server_references({"server_name": ["pg1", "pg2"], "server_resource_group": "rg-pg"}, SUB,
                                           PGFLEX)
    assert by_name == [SERVER_ID, SERVER_ID.replace("pg1", "pg2")]
    assert references.server_references({"server_id": SERVER_ID + "/"}, SUB, PGFLEX) == [SERVER_ID]


@pytest.mark.parametrize("params, message", [
    ({}, "server_name and server_resource_group, or with server_id"),
    ({"server_name": "pg1"}, "needs server_resource_group"),
    ({"server_id": VAULT_ID}, "server_id must be the resource id of a Microsoft.DBforPostgreSQL/flexibleServers"),
    ({"server_id": SERVER_ID, "server_name": "pg1"}, "mutually exclusive"),
])
def test_bad_server_references(params, message):
    with pytest.raises(references.ReferenceInputError, match=message):
        references.server_references(params, SUB, PGFLEX)


def test_reference_rules_merge_module_rules():
    rules = references.reference_rules(server=True, server_required=True, mutually_exclusive=[["a", "b"]],
                                       required_by={"x": "y"})
    assert rules["mutually_exclusive"] == [["vault_name", "vault_id"], ["server_name", "server_id"], ["a", "b"]]
    assert rules["required_one_of"] == [["vault_name", "vault_id"], ["server_name", "server_id"]]
    assert rules["required_by"] == {"vault_name": "resource_group", "server_name": "server_resource_group", "x": "y"}
    assert references.reference_rules() == {
        "mutually_exclusive": [["vault_name", "vault_id"]],
        "required_one_of": [["vault_name", "vault_id"]],
        "required_by": {"vault_name": "resource_group"},
    }


@pytest.mark.parametrize("params, kind, option, rule", [
    ({"resource_group": "rg/../x"}, None, "resource_group", "not ending in a period"),
    ({"resource_group": "rg."}, None, "resource_group", "not ending in a period"),
    ({"resource_group": "r" * 91}, None, "resource_group", "1 to 90 characters"),
    ({"server_resource_group": "a/b"}, None, "server_resource_group", "1 to 90 characters"),
    ({"vault_name": "1vault"}, None, "vault_name", "starting with a letter"),
    ({"policy_name": "pol/../evil"}, None, "policy_name", "1 to 150 letters"),
    ({"name": "pol \u2603"}, "backup policy", "name", "1 to 150 letters"),
    ({"backup_instance_name": "a/b"}, None, "backup_instance_name", "1 to 150 letters"),
])
def test_names_breaking_azure_rules_are_refused_naming_the_option_and_the_rule(params, kind, option, rule):
    with pytest.raises(references.ReferenceInputError) as caught:
        references.check_names(params, kind)
    assert caught.value.option == option
    assert str(caught.value).startswith(option + ": ")
    assert rule in str(caught.value)


def test_every_bad_name_is_listed_at_once():
    problems = references.name_problems({"resource_group": "a/b", "vault_name": "v/..", "policy_name": "ok-1"})
    assert [problem.split(":")[0] for problem in problems] == ["resource_group", "vault_name"]


@pytest.mark.parametrize("params", [
    {"resource_group": "rg-(prod).eu_1", "vault_name": "bv-1", "policy_name": "pg-weekly-v2"},
    {"name": "pgflexsrv-pgflexsrv-0b7c3d2e-1234-5678-9abc-def012345678", "backup_instance_name": "x"},
])
def test_valid_names_pass(params):
    references.check_names(params, "backup instance")


def test_server_names_and_vault_id_groups_are_checked():
    with pytest.raises(references.ReferenceInputError, match="server_name"):
        references.server_references({"server_name": "a/b", "server_resource_group": "rg"}, "s", PGFLEX)
    with pytest.raises(references.ReferenceInputError, match="server_resource_group"):
        references.server_references({"server_name": "pg-a", "server_resource_group": "rg/../x"}, "s", PGFLEX)
    vault_id = "/subscriptions/s/resourceGroups/rg./providers/Microsoft.DataProtection/backupVaults/bv"
    with pytest.raises(references.ReferenceInputError, match="vault_id"):
        references.vault_reference({"vault_id": vault_id}, "s")
