# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, servers
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX

SUB = "00000000-0000-0000-0000-000000000001"
RG = "/subscriptions/{0}/resourceGroups/rg".format(SUB)


def sid(name, group="rg"):
    return "/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{2}".format(
        SUB, group, name)


def body(name, location="East US", size=128, group="rg"):
    return {"id": sid(name, group), "name": name, "location": location,
            "properties": {"storage": {"storageSizeGB": size}, "version": "16", "state": "Ready"}}


def test_canonical_region():
    assert arm.canonical_region("East US") == "eastus"
    assert arm.canonical_region(None) is None


def test_name_problem():
    assert PGFLEX.name_problem("pg-orders") is None
    assert "not a valid" in PGFLEX.name_problem("Bad_Name")
    assert PGFLEX.name_problem("ab") is not None


def test_lookup_groups_use_one_list_and_report_every_problem():
    calls = []

    def read(server_id):
        calls.append(("get", server_id))
        return {sid("solo", "other"): body("solo", "West Europe", group="other")}.get(server_id)

    def list_group(group):
        calls.append(("list", group))
        return [body("a"), body("big", size=2048)]

    result = servers.lookup(PGFLEX, read, list_group, [sid("a"), sid("missing"), sid("big"), sid("solo", "other")],
                            "eastus")
    assert calls == [("list", RG.lower()), ("get", sid("solo", "other"))]
    assert [s["name"] for s in result["servers"]] == ["a", "big", "solo"]
    assert result["missing"] == [sid("missing")]
    assert result["wrong_region"][0]["name"] == "solo"
    assert len(result["problems"]) == 2
    assert result["servers"][1]["over_size_limit"] is True


def test_requested_ids_from_names_skips_invalid_names():
    ids, invalid = servers.requested_ids({"server_name": ["pg-a", "Bad_Name"], "server_resource_group": "rg"}, SUB,
                                         PGFLEX)
    assert ids == [sid("pg-a")]
    assert len(invalid) == 1
