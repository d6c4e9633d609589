"""List mode of the per-server modules: resolving ``servers``, the shared reads, and one result per server with the
failures named at the end."""

import contextlib

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import server_list
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX

SUB = "11111111-1111-1111-1111-111111111111"
RG = "/subscriptions/{0}/resourceGroups/rg-pg".format(SUB)


def server(name):
    return RG + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/" + name


class Ended(Exception):
    pass


class Module:
    """The façade as list mode uses it: params, warn, fail / exit (which end the module), input_errors."""

    subscription_id = SUB

    def __init__(self, **params):
        self.params = dict({"servers": [], "server_resource_group": None, "max_parallel": 4, "server_id": None,
                            "server_name": None}, **params)
        self.warned = []
        self.ended = None

    def warn(self, msg):
        self.warned.append(msg)

    def fail(self, msg, **kwargs):
        self.ended = dict(kwargs, failed=True, msg=msg)
        raise Ended()

    def exit(self, changed, diff=None, **result):
        self.ended = dict(result, changed=changed, diff=diff)
        raise Ended()

    @contextlib.contextmanager
    def input_errors(self):
        try:
            yield
        except InputError as exc:
            self.fail(str(exc), **exc.fail_kwargs())


def run(module, work):
    with pytest.raises(Ended):
        server_list.run(module, [server(n) for n in ("pg1", "pg2", "pg3")], work)
    return module.ended


def test_resolve_ids_and_names_once_each():
    module = Module(servers=["pg1", server("pg2"), "pg1", server("PG2").replace("rg-pg", "RG-PG")],
                    server_resource_group="rg-pg")
    assert server_list.resolve(module, PGFLEX) == [server("pg1"), server("pg2")]


def test_resolve_the_roles_dictionaries():
    module = Module(servers=[{"name": "pg1", "resource_group": "rg-pg"}, {"id": server("pg2")}])
    assert server_list.resolve(module, PGFLEX) == [server("pg1"), server("pg2")]


def test_resolve_a_name_needs_the_resource_group():
    module = Module(servers=["pg1"])
    with pytest.raises(Ended):
        server_list.resolve(module, PGFLEX)
    assert module.ended["option"] == "servers" and "server_resource_group" in module.ended["msg"]


def test_resolve_refuses_max_parallel_out_of_range():
    module = Module(servers=[server("pg1")], max_parallel=0)
    with pytest.raises(Ended):
        server_list.resolve(module, PGFLEX)
    assert module.ended["option"] == "max_parallel"


def test_every_server_succeeds():
    module = Module()

    def work(scope, server_id):
        scope.warn("looked at " + server_id.rsplit("/", 1)[-1])
        return server_id.endswith("pg2"), {"action": "protect"}, {"before": None, "after": server_id}

    result = run(module, work)
    assert result["changed"] is True and result["failed_servers"] == []
    assert [item["server_name"] for item in result["servers"]] == ["pg1", "pg2", "pg3"]
    assert [item["changed"] for item in result["servers"]] == [False, True, False]
    assert result["diff"] == [{"before": None, "after": server("pg2")}]
    assert result["servers"][0]["warnings"] == ["looked at pg1"]
    assert module.warned == ["pg1: looked at pg1", "pg2: looked at pg2", "pg3: looked at pg3"]


def test_a_failed_server_does_not_stop_the_others_and_is_named_at_the_end():
    module = Module()

    def work(scope, server_id):
        if server_id.endswith("pg2"):
            scope.fail("pg2 is in another region", server_location="westeurope")  # as the façade fails an item
        if server_id.endswith("pg3"):
            raise InputError("pg3 has no backup instance", option="servers", backup_instance=None)
        return True, {"job_id": "j1"}, None

    result = run(module, work)
    assert result["failed"] is True
    assert result["msg"] == ("2 of 3 server(s) failed: pg2: pg2 is in another region; "
                             "pg3: pg3 has no backup instance")
    assert result["failed_servers"] == [server("pg2"), server("pg3")]
    assert result["changed"] is True
    first, second, third = result["servers"]
    assert first == {"job_id": "j1", "changed": True, "failed": False, "warnings": [], "server_id": server("pg1"),
                     "server_name": "pg1"}
    assert second["failed"] and second["server_location"] == "westeurope" and not second["changed"]
    assert third["failed"] and third["option"] == "servers" and third["backup_instance"] is None


class Api:
    def __init__(self):
        self.policy_reads = []

    def policy(self, name):
        self.policy_reads.append(name)
        return {"name": name}

    def instance(self, name):
        return {"name": name, "fresh": True}


def test_shared_reads_answer_the_vault_instances_and_policies_once():
    shared = server_list.SharedReads({"name": "bv1"}, [{"name": "i1"}])
    first, second = Api(), Api()
    assert shared.bind(first).vault() == {"name": "bv1"}
    assert shared.bind(second).instances() == [{"name": "i1"}]
    assert shared.bind(first).policy("weekly") == {"name": "weekly"}
    assert shared.bind(second).policy("Weekly") == {"name": "weekly"}
    assert first.policy_reads + second.policy_reads == ["weekly"]
    assert shared.bind(second).instance("i1") == {"name": "i1", "fresh": True}  # not shared: read after writes
