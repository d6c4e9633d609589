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
