"""The inventory plugin: hosts, default and constructed groups, filters, cache, and Azure errors."""

import pytest
from ansible.errors import AnsibleError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader

from ansible_collections.azbackup.dataprotection.plugins.inventory import pgflex_servers
from ansible_collections.azbackup.dataprotection.plugins.module_utils import azure_auth

HOSTS = [
    {"server_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-a",
     "server_name": "pg-a", "region": "eastus", "server_tags": {"team": "orders"}, "protection_group": "protected",
     "backup": {"protected": True, "vault_name": "bv1", "soft_deleted_instance": None}},
    {"server_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-b",
     "server_name": "pg-b", "region": "westeurope", "server_tags": {}, "protection_group": "unprotected",
     "backup": {"protected": False, "vault_name": None, "soft_deleted_instance": {"name": "bi-b"}}},
]
DEFAULTS = {"subscriptions": [], "recovery_points": True, "filters": [], "exclude": [], "default_groups": True,
            "compose": {}, "groups": {}, "keyed_groups": [], "strict": False, "cache": False}


try:
    from ansible.template import trust_as_template  # ansible-core >= 2.19 renders trusted templates only
except ImportError:
    def trust_as_template(value):
        return value


def trusted(value):
    """Option values as the configuration file gives them (templates in it are trusted)."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [trusted(item) for item in value]
    if isinstance(value, dict):
        return dict((key, trusted(item)) for key, item in value.items())
    return value


def run(monkeypatch, collect=None, flush_cache=False, plugin=None, **options):
    values = trusted(dict(DEFAULTS, **options))
    plugin = plugin or pgflex_servers.InventoryModule()
    monkeypatch.setattr(plugin, "_read_config_data", lambda path: None)
    monkeypatch.setattr(plugin, "get_option", values.get)
    monkeypatch.setattr(pgflex_servers.azure_module, "AzureSession", lambda *args: object())
    calls = []

    def fake_collect(reader, subscriptions, recovery_points):
        calls.append((subscriptions, recovery_points))
        if collect:
            return collect()
        return [dict(host) for host in HOSTS]

    monkeypatch.setattr(pgflex_servers.server_inventory, "collect", fake_collect)
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), "prod.pgflex_servers.yml", cache=not flush_cache)
    return inventory, calls


def members(inventory, group):
    return sorted(host.name for host in inventory.groups[group].get_hosts()) if group in inventory.groups else []


def test_only_pgflex_servers_files_are_taken(tmp_path):
    plugin = pgflex_servers.InventoryModule()
    for name, taken in (("prod.pgflex_servers.yml", True), ("pgflex_servers.yaml", True), ("hosts.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: azbackup.dataprotection.pgflex_servers\n")
        assert plugin.verify_file(str(path)) is taken


def test_hosts_carry_the_role_variables_and_default_groups(monkeypatch):
    inventory, calls = run(monkeypatch)
    assert calls == [(None, True)]
    assert members(inventory, "protected") == ["pg-a"] and members(inventory, "unprotected") == ["pg-b"]
    assert members(inventory, "region_eastus") == ["pg-a"] and members(inventory, "soft_deleted") == ["pg-b"]
    host_vars = inventory.get_host("pg-a").vars
    assert host_vars["pgflex_protection_server_id"].endswith("/flexibleServers/pg-a")
    assert host_vars["ansible_connection"] == "local" and host_vars["backup"]["vault_name"] == "bv1"


def test_constructed_features_and_filters(monkeypatch):
    inventory, calls = run(monkeypatch, subscriptions=["s"], recovery_points=False, default_groups=False,
                           compose={"vault": "backup.vault_name"}, groups={"needs_vault": "not backup.protected"},
                           keyed_groups=[{"key": "server_tags.team | default('none')", "prefix": "team"}],
                           filters=["region in ['eastus', 'westeurope']"], exclude=["server_name == 'pg-x'"])
    assert calls == [(["s"], False)]
    assert "protected" not in inventory.groups
    assert members(inventory, "needs_vault") == ["pg-b"]
    assert members(inventory, "team_orders") == ["pg-a"] and members(inventory, "team_none") == ["pg-b"]
    assert inventory.get_host("pg-a").vars["vault"] == "bv1"
    inventory, dummy = run(monkeypatch, exclude=["backup.protected"])
    assert sorted(inventory.hosts) == ["pg-b"]
    inventory, dummy = run(monkeypatch, filters=["region == 'eastus'"])
    assert sorted(inventory.hosts) == ["pg-a"]


def test_a_broken_filter_fails_only_when_strict(monkeypatch):
    inventory, dummy = run(monkeypatch, filters=["no_such_variable.x"])
    assert sorted(inventory.hosts) == []
    with pytest.raises(AnsibleError, match="Could not evaluate the filters"):
        run(monkeypatch, filters=["no_such_variable.x"], strict=True)


def test_the_cache_is_used_and_refreshed(monkeypatch):
    plugin = pgflex_servers.InventoryModule()
    plugin._cache = {}
    dummy, calls = run(monkeypatch, plugin=plugin, cache=True)
    assert len(calls) == 1 and len(plugin._cache) == 1
    inventory, calls = run(monkeypatch, plugin=plugin, cache=True)
    assert calls == [] and sorted(inventory.hosts) == ["pg-a", "pg-b"]
    dummy, calls = run(monkeypatch, plugin=plugin, flush_cache=True, cache=True)
    assert len(calls) == 1


def test_azure_errors_become_the_modules_messages(monkeypatch):
    def failing():
        raise azure_auth.AuthConfigError("Azure credentials from environment variables are incomplete: missing secret")

    with pytest.raises(AnsibleError, match="incomplete: missing secret"):
        run(monkeypatch, collect=failing)
