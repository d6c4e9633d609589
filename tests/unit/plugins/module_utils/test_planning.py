"""Planning many servers in one vault, reading only: every problem at once, and each server's action from the same
decision pgflex_backup_instance uses. A fake access object stands for Azure and counts the reads."""

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import planning, policies
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX

SUB = "11111111-1111-1111-1111-111111111111"
VAULT_ID = "/subscriptions/{0}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv1".format(SUB)
GROUP = "/subscriptions/{0}/resourceGroups/rg-pg".format(SUB)
UAI = "/subscriptions/{0}/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1".format(
    SUB)
POLICY = {"schedule": {"days_of_week": ["Sunday"], "time": "02:00"}, "retention": {"default": {"duration": "P3M"}}}


def server_id(name, group=GROUP):
    return group + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/" + name


def server_body(name, location="eastus", size=128):
    return {"id": server_id(name), "name": name, "location": location,
            "properties": {"storage": {"storageSizeGB": size}}}


def policy_body(name, datasource=PGFLEX.arm_type):
    """The stored policy ``name``: the content of POLICY (so a plan that gives POLICY keeps it as it is)."""
    props = policies.desired_from_params(dict(POLICY, datasource_type=PGFLEX.arm_type)).body["properties"] \
        if datasource == PGFLEX.arm_type else {"objectType": "BackupPolicy", "policyRules": []}
    return {"id": VAULT_ID + "/backupPolicies/" + name, "name": name,
            "properties": dict(props, datasourceTypes=[datasource])}


def instance(name, policy="weekly", state="ProtectionConfigured"):
    body = PGFLEX.instance_body(server_body(name), VAULT_ID + "/backupPolicies/" + policy)
    body.update(id=VAULT_ID + "/backupInstances/i-" + name, name="i-" + name)
    body["properties"].update(currentProtectionState=state, protectionStatus={"status": state})
    return body


class Api:
    """The vault's DataProtectionApi, over dicts; ``reads`` counts what the plan asked for."""

    vault_name = "bv1"
    resource_group = "rg-backup"
    vault_id = VAULT_ID

    def __init__(self, vault=True, policies=(), instances=(), servers=(), resources=(), deleted=()):
        self._vault = {"id": VAULT_ID, "name": "bv1", "location": "eastus",
                       "identity": {"type": "SystemAssigned", "principalId": "p1"},
                       "properties": {"storageSettings": [{"type": "LocallyRedundant",
                                                           "datastoreType": "VaultStore"}]}} if vault else None
        self._policies = dict((body["name"], body) for body in policies)
        self._instances = list(instances)
        self._deleted = list(deleted)
        self._servers = dict((body["id"].lower(), body) for body in servers)
        self._resources = set(item.lower() for item in resources)
        self.reads = []

    def vault(self):
        self.reads.append("vault")
        return self._vault

    def policy(self, name):
        self.reads.append("policy")
        return self._policies.get(name)

    def policy_versions(self, name):
        self.reads.append("policy")
        return policies.versions_of(self._policies.values(), name)

    def instances(self):
        self.reads.append("instances")
        return self._instances

    def deleted_instances(self):
        self.reads.append("deleted")
        return self._deleted

    def server(self, resource_id):
        self.reads.append("server")
        return self._servers.get(resource_id.lower())

    def resource(self, resource_id):
        self.reads.append("resource")
        return {"id": resource_id} if resource_id.lower() in self._resources else None

    def list_group(self, group_id):
        self.reads.append("list " + group_id.rsplit("/", 1)[-1].lower())
        return [body for key, body in self._servers.items() if key.startswith(group_id.lower() + "/")]


def plan(api, group_location="eastus", vaults=None, **request):
    request = dict({"manage_vault": True, "vault": {}, "policy_name": "weekly", "policy": POLICY,
                    "on_unsupported_size": "warn"}, **request)
    return planning.build_plan(planning.Reads(api, api.list_group, lambda name: group_location, vaults), request,
                               SUB, PGFLEX)


def test_new_vault_every_server_would_be_protected():
    api = Api(vault=False, servers=[server_body("pg1"), server_body("pg2")])
    result = plan(api, servers=[{"name": "pg1", "resource_group": "rg-pg"}, {"name": "pg2", "resource_group": "rg-pg"}])
    assert result["problems"] == []
    assert result["vault"]["action"] == "create" and not result["vault"]["exists"]
    assert result["vault"]["region"] == "eastus"
    assert result["policy"]["action"] == "create" and result["policy"]["managed"]
    assert [item["action"] for item in result["servers"]] == ["protect", "protect"]
    assert result["to_configure"] == [server_id("pg1"), server_id("pg2")]
    assert result["counts"]["protect"] == 2
    # Per vault, not per server: one list of the servers' group; no policy or instance read of a vault that is not.
    assert api.reads == ["vault", "list rg-pg"]


def test_existing_vault_each_server_gets_what_it_needs():
    names = ["pg-new", "pg-same", "pg-other", "pg-stopped", "pg-error"]
    api = Api(policies=[policy_body("weekly")], servers=[server_body(name) for name in names], instances=[
        instance("pg-same"), instance("pg-other", policy="monthly"), instance("pg-stopped", state="ProtectionStopped"),
        instance("pg-error", state="ProtectionError")])
    result = plan(api, server_ids=[server_id(name) for name in names])
    assert result["problems"] == []
    assert dict((item["name"], item["action"]) for item in result["servers"]) == {
        "pg-new": "protect", "pg-same": "none", "pg-other": "change_policy", "pg-stopped": "resume",
        "pg-error": "repair"}
    assert result["servers"][2]["before"] == {"name": "i-pg-other", "state": "present", "policy_name": "monthly"}
    assert result["to_configure"] == [server_id(name) for name in names if name != "pg-same"]
    assert api.reads.count("instances") == 1 and api.reads.count("list rg-pg") == 1 and "server" not in api.reads


def test_a_soft_deleted_instance_is_a_problem_before_anything_is_written():
    api = Api(policies=[policy_body("weekly")], servers=[server_body("pg1")],
              instances=[instance("pg1", state="SoftDeleted")])
    result = plan(api, server_ids=[server_id("pg1")])
    assert result["servers"][0]["action"] == "blocked"
    assert result["to_configure"] == []
    assert len(result["problems"]) == 1 and "soft-deleted" in result["problems"][0]


def test_an_instance_soft_deleted_in_this_vault_is_named_with_how_to_undelete_it():
    gone = instance("pg1", state="SoftDeleted")
    gone["id"] = VAULT_ID + "/deletedBackupInstances/i-pg1"
    api = Api(policies=[policy_body("weekly")], servers=[server_body("pg1")], deleted=[gone])
    result = plan(api, server_ids=[server_id("pg1")])
    assert result["servers"][0]["action"] == "blocked" and result["to_configure"] == []
    assert len(result["problems"]) == 1
    problem = result["problems"][0]
    assert "soft-deleted in this vault ('bv1')" in problem
    assert VAULT_ID + "/deletedBackupInstances/i-pg1/undelete" in problem
    assert "other vault" not in problem
    assert api.reads.count("deleted") == 1


OTHER_VAULT = VAULT_ID.replace("rg-backup", "rg-other").replace("bv1", "bv-other")


class Vaults:
    """The other vaults the caller can read (server_inventory.AzureReader's shape); counts the listings."""

    def __init__(self, instances=(), deleted=(), forbidden=()):
        self._instances, self._deleted, self._forbidden = list(instances), list(deleted), set(forbidden)
        self.reads = []

    def subscriptions(self):
        self.reads.append("subscriptions")
        return [SUB]

    def vaults(self, subscription_id):
        self.reads.append("vaults " + subscription_id)
        return [{"id": VAULT_ID, "name": "bv1"}, {"id": OTHER_VAULT, "name": "bv-other"},
                {"id": OTHER_VAULT + "-locked", "name": "bv-other-locked"}]

    def _list(self, kind, vault_id, items):
        self.reads.append("{0} {1}".format(kind, vault_id.rsplit("/", 1)[-1]))
        if vault_id in self._forbidden:
            error = planning.HttpResponseError("forbidden")
            error.status_code = 403
            raise error
        return items if vault_id == OTHER_VAULT else []

    def instances(self, vault_id):
        return self._list("instances", vault_id, self._instances)

    def deleted_instances(self, vault_id):
        return self._list("deleted", vault_id, self._deleted)


def other_instance(name, state="ProtectionConfigured"):
    body = instance(name, state=state)
    body["id"] = OTHER_VAULT + "/backupInstances/i-" + name
    return body


def test_a_server_protected_by_another_vault_is_a_problem_found_with_one_listing_per_vault():
    vaults = Vaults(instances=[other_instance("pg1")], deleted=[other_instance("pg2", "SoftDeleted")],
                    forbidden=[OTHER_VAULT + "-locked"])
    api = Api(policies=[policy_body("weekly")], servers=[server_body(name) for name in ("pg1", "pg2", "pg3")])
    result = plan(api, vaults=vaults, server_ids=[server_id(name) for name in ("pg1", "pg2", "pg3")])
    assert [item["action"] for item in result["servers"]] == ["blocked", "blocked", "protect"]
    assert result["to_configure"] == [server_id("pg3")]
    assert len(result["problems"]) == 2
    assert "'pg1' is already protected by backup instance 'i-pg1' in vault 'bv-other'" in result["problems"][0]
    assert "'pg2' has a soft-deleted backup instance 'i-pg2' in vault 'bv-other'" in result["problems"][1]
    assert OTHER_VAULT + "/deletedBackupInstances/i-pg2/undelete" in result["problems"][1]
    assert any("bv-other-locked could not be read" in text for text in result["plan_warnings"])
    # The plan's own vault is read through its access object, the others once each, whatever the number of servers.
    assert sorted(vaults.reads) == sorted(["subscriptions", "vaults " + SUB, "instances bv-other", "deleted bv-other",
                                           "instances bv-other-locked"])


def test_a_server_protected_here_is_not_blocked_by_the_other_vault_listing():
    vaults = Vaults()
    api = Api(policies=[policy_body("weekly")], servers=[server_body("pg1")], instances=[instance("pg1")])
    result = plan(api, vaults=vaults, server_ids=[server_id("pg1")])
    assert result["problems"] == [] and result["servers"][0]["action"] == "none"


def test_without_policy_variables_protected_servers_keep_their_policy_and_new_ones_get_the_default():
    api = Api(policies=[policy_body("weekly"), policy_body("monthly")],
              servers=[server_body("pg-old"), server_body("pg-new")], instances=[instance("pg-old", policy="monthly")])
    result = plan(api, keep_current_policy=True, server_ids=[server_id("pg-old"), server_id("pg-new")],
                  option_names={"policy": "role_policy", "policy_name": "role_policy_name"})
    assert [item["action"] for item in result["servers"]] == ["none", "protect"]
    assert "keeps its policy 'monthly' (role_policy_name and role_policy are not set)" in result["servers"][0]["reason"]
    assert result["to_configure"] == [server_id("pg-new")] and result["policy_needed"]
    only_old = plan(api, keep_current_policy=True, server_ids=[server_id("pg-old")])
    assert only_old["servers"][0]["action"] == "none" and not only_old["policy_needed"]
    # With the policy named, the move is in the plan.
    moved = plan(api, server_ids=[server_id("pg-old")])
    assert moved["servers"][0]["action"] == "change_policy"
    assert "'monthly', not 'weekly'" in moved["servers"][0]["reason"]
    assert moved["policy_needed"]


def test_an_instance_only_in_the_deleted_list_blocks_the_server_and_says_how_to_undelete():
    body = instance("pg1", state="ProtectionStopped")
    body["properties"]["deletionInfo"] = {"scheduledPurgeTime": "2026-02-01T00:00:00Z"}
    api = Api(policies=[policy_body("weekly")], servers=[server_body("pg1")], deleted=[body])
    result = plan(api, server_ids=[server_id("pg1")])
    assert result["servers"][0]["action"] == "blocked" and result["to_configure"] == []
    assert "pgflex_backup_instance_undelete" in result["problems"][0] and "2026-02-01" in result["problems"][0]


def test_every_problem_at_once_in_the_callers_words():
    api = Api(vault=False, servers=[server_body("pg1"), server_body("pg-weu", location="westeurope"),
                                    server_body("pg-big", size=2048)])
    names = {"vault.soft_delete_retention_days": "my_retention", "policy": "my_policy",
             "on_unsupported_size": "my_size"}
    result = plan(api, vault={"location": "eastus", "soft_delete_retention_days": 7},
                  policy={"schedule": {"days_of_week": ["Sunday"], "time": "25:00"},
                          "retention": {"default": {"duration": "P3M"}}},
                  servers=[{"name": name, "resource_group": "rg-pg"}
                           for name in ("pg1", "pg-weu", "pg-missing", "Bad_Name", "pg-big")],
                  on_unsupported_size="fail", option_names=names)
    problems = result["problems"]
    assert len(problems) == 6, problems
    assert problems[0].startswith("Backup vault 'bv1' (resource group rg-backup): my_retention must be between")
    assert "'Bad_Name' is not a valid PostgreSQL Flexible Server name" in problems[1]
    assert "'pg-weu' is in region westeurope, not eastus" in problems[2]
    assert "'pg-missing' does not exist" in problems[3]
    assert problems[4].endswith("(my_size: fail)") and "pg-big" in problems[4]
    assert problems[5].startswith("Backup policy 'weekly': my_policy.schedule.time")


def test_hosts_name_their_servers_and_a_host_without_one_is_named():
    api = Api(policies=[policy_body("weekly")], servers=[server_body("pg1"), server_body("pg2")])
    names = {"hosts.id": "srv_id", "hosts.resource_group": "srv_rg", "hosts.name": "srv_name"}
    result = plan(api, hosts=[{"host": "pg1", "resource_group": "rg-pg"},
                              {"host": "web1"},
                              {"host": "db2", "id": server_id("pg2")}], option_names=names)
    assert [item["name"] for item in result["servers"]] == ["pg1", "pg2"]
    assert result["problems"] == ["Host 'web1' names no server: give it srv_id, or srv_rg (and srv_name when the "
                                  "server is not named like the host), or leave it out of the play."]


def test_each_host_gets_the_problems_of_its_server_and_those_of_the_vault():
    api = Api(policies=[policy_body("weekly")], servers=[server_body("pg1"), server_body("pg2", location="westus")])
    hosts = [{"host": "pg1", "resource_group": "rg-pg"}, {"host": "db-two", "name": "pg2", "resource_group": "rg-pg"},
             {"host": "web"}]
    result = plan(api, hosts=hosts)
    assert result["host_servers"] == {"pg1": server_id("pg1"), "db-two": server_id("pg2")}
    assert result["host_problems"]["pg1"] == []
    assert len(result["host_problems"]["db-two"]) == 1 and "'pg2' is in region westus" in \
        result["host_problems"]["db-two"][0]
    assert len(result["host_problems"]["web"]) == 1
    assert "Host 'web' names no server" in result["host_problems"]["web"][0]
    vault_problem = plan(Api(vault=False, servers=[server_body("pg1")]), hosts=hosts[:1], manage_vault=False)
    assert vault_problem["host_problems"]["pg1"] and vault_problem["host_problems"]["pg1"] == vault_problem["problems"]
    assert plan(api, server_ids=[server_id("pg1")])["host_problems"] == {}


def test_hosts_are_not_used_when_servers_are_given():
    api = Api(policies=[policy_body("weekly")], servers=[server_body("pg1")])
    result = plan(api, server_ids=[server_id("pg1")], hosts=[{"host": "web1"}])
    assert result["problems"] == [] and result["server_ids"] == [server_id("pg1")]


def test_no_server_at_all_is_a_problem():
    result = plan(Api(policies=[policy_body("weekly")]))
    assert len(result["problems"]) == 1 and result["problems"][0].startswith("No server to protect")


@pytest.mark.parametrize("policies, vault, expected", [
    ([], True, "does not exist in Backup vault 'bv1'"),
    ([], False, "should already exist"),
    ([policy_body("weekly", "Microsoft.Compute/disks")], True, "is for Microsoft.Compute/disks"),
])
def test_an_existing_policy_must_exist_and_be_for_the_datasource(policies, vault, expected):
    api = Api(vault=vault, policies=policies, servers=[server_body("pg1")])
    result = plan(api, policy={}, server_ids=[server_id("pg1")], vault={"location": "eastus"})
    assert len(result["problems"]) == 1 and expected in result["problems"][0]
    assert not result["policy"]["managed"]


def test_an_unmanaged_vault_must_exist():
    api = Api(vault=False, servers=[server_body("pg1")])
    result = plan(api, manage_vault=False, server_ids=[server_id("pg1")], option_names={"manage_vault": "keep"})
    assert "does not exist, and keep is false" in result["problems"][0]
    assert result["plan_warnings"] == ["The region of Backup vault 'bv1' (resource group rg-backup) is not known, so "
                                       "the servers' regions were not checked."]


def test_identity_must_exist_and_changes_the_plan():
    api = Api(policies=[policy_body("weekly")], servers=[server_body("pg1")], instances=[instance("pg1")],
              resources=[UAI])
    result = plan(api, server_ids=[server_id("pg1")], identity=UAI)
    assert result["problems"] == []
    assert result["servers"][0]["action"] == "change_identity"
    assert result["vault"]["identity"] == {"type": "system_and_user_assigned", "user_assigned_identities": [UAI]}
    assert result["vault"]["action"] == "update"
    missing = plan(Api(policies=[policy_body("weekly")], servers=[server_body("pg1")]),
                   server_ids=[server_id("pg1")], identity=UAI)
    assert "does not exist" in missing["problems"][0]


def test_a_changed_policy_plans_its_next_version_and_the_moves():
    names = ["pg1", "pg2", "pg3"]
    api = Api(policies=[policy_body("weekly")], servers=[server_body(name) for name in names],
              instances=[instance(name) for name in names])
    longer = dict(POLICY, retention={"default": {"duration": "P6M"}})
    result = plan(api, server_ids=[server_id(name) for name in names], policy=longer)
    assert result["problems"] == []
    assert result["policy"]["action"] == "new_version" and result["policy"]["name"] == "weekly-v2"
    assert result["policy"]["id"] == VAULT_ID + "/backupPolicies/weekly-v2"
    assert result["policy"]["versions"]["summary"] == "create weekly-v2, move 3 servers, delete weekly"
    assert [item["action"] for item in result["servers"]] == ["change_policy"] * 3


def test_the_newest_version_is_the_policy_of_that_name():
    api = Api(policies=[policy_body("weekly"), policy_body("weekly-v2"), policy_body("weekly-v10")],
              servers=[server_body("pg1")], instances=[instance("pg1", policy="weekly-v10")])
    result = plan(api, server_ids=[server_id("pg1")])
    assert result["policy"]["name"] == "weekly-v10" and result["policy"]["action"] == "clean_up_versions"
    assert result["policy"]["versions"]["deleted"] == ["weekly", "weekly-v2"]
    assert result["servers"][0]["action"] == "none"
    used_as_is = plan(api, server_ids=[server_id("pg1")], policy={})
    assert used_as_is["policy"]["id"] == VAULT_ID + "/backupPolicies/weekly-v10"
