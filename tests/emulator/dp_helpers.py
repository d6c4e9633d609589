"""Shared helpers for the backup instance, job and schedule emulator tests (not a test module itself)."""

import time
import uuid

from emulator import rbac, seed

PGFLEX = "Microsoft.DBforPostgreSQL/flexibleServers"
AUTH_API = "2022-04-01"
GROUP = "rg-backup"


def server_id(emulator, name="pg-eus-orders", group="rg-pg-eastus"):
    return f"/subscriptions/{emulator.subscription}/resourceGroups/{group}/providers/{PGFLEX}/{name}"


def group_scope(emulator, group="rg-pg-eastus"):
    return f"/subscriptions/{emulator.subscription}/resourceGroups/{group}"


def make_vault(emulator, name="bv-bi", location="eastus", soft_delete="Off", identity="SystemAssigned",
               user_identities=(), group=GROUP):
    """Create a vault through the SDK (waits for the LRO); returns its body as a dict."""
    body = emulator.vault_body(location, securitySettings={"softDeleteSettings": {"state": soft_delete,
                                                                                  "retentionDurationInDays": 14}})
    body["identity"] = {"type": identity}
    if user_identities:
        body["identity"]["userAssignedIdentities"] = {item: {} for item in user_identities}
    path = emulator.vault_path(name, group)
    response = emulator.arm("PUT", path, json=body)
    assert response.status_code == 201, response.text
    return wait_for(lambda: emulator.arm("GET", path).json(),
                    lambda vault: vault["properties"]["provisioningState"] == "Succeeded")


def tag(name, priority, **criteria):
    item = {"isDefault": not criteria, "tagInfo": {"tagName": name}, "taggingPriority": priority}
    if criteria:
        item["criteria"] = [dict(criteria, objectType="ScheduleBasedBackupCriteria")]
    return item


def policy_body(intervals=("R/2024-01-07T02:00:00+00:00/P1W",), time_zone="UTC", tags=None, durations=None):
    """A PostgreSQL flexible server policy; default: weekly on Sunday 02:00 UTC, Default P3M, Weekly P12W,
    Monthly P12M, Yearly P10Y with the Azure tools' priorities and first-of-period criteria."""
    durations = durations or {"Default": "P3M", "Weekly": "P12W", "Monthly": "P12M", "Yearly": "P10Y"}
    if tags is None:
        tags = [tag("Default", 99), tag("Weekly", 20, absoluteCriteria=["FirstOfWeek"]),
                tag("Monthly", 15, absoluteCriteria=["FirstOfMonth"]),
                tag("Yearly", 10, absoluteCriteria=["FirstOfYear"])]
    tags = [item for item in tags if item["tagInfo"]["tagName"] in durations]
    rules = [{"name": "BackupWeekly", "objectType": "AzureBackupRule",
              "backupParameters": {"backupType": "Full", "objectType": "AzureBackupParams"},
              "dataStore": {"dataStoreType": "VaultStore", "objectType": "DataStoreInfoBase"},
              "trigger": {"objectType": "ScheduleBasedTriggerContext",
                          "schedule": {"repeatingTimeIntervals": list(intervals), "timeZone": time_zone},
                          "taggingCriteria": tags}}]
    for name, duration in durations.items():
        rules.append({"name": name, "objectType": "AzureRetentionRule", "isDefault": name == "Default",
                      "lifecycles": [{"deleteAfter": {"duration": duration, "objectType": "AbsoluteDeleteOption"},
                                      "sourceDataStore": {"dataStoreType": "VaultStore",
                                                          "objectType": "DataStoreInfoBase"},
                                      "targetDataStoreCopySettings": []}]})
    return {"properties": {"datasourceTypes": [PGFLEX], "objectType": "BackupPolicy", "policyRules": rules}}


def make_policy(emulator, vault="bv-bi", name="pol-pg", body=None, group=GROUP):
    response = emulator.arm("PUT", f"{emulator.vault_path(vault, group)}/backupPolicies/{name}",
                            json=body or policy_body())
    assert response.status_code == 200, response.text
    return response.json()["id"]


def grant(emulator, principal, role, scope):
    body = {"properties": {"roleDefinitionId": rbac.role_definition_id(role, emulator.subscription),
                           "principalId": principal, "principalType": "ServicePrincipal"}}
    response = emulator.arm("PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                            api_version=AUTH_API, json=body)
    assert response.status_code == 201 or (response.status_code == 409 and "RoleAssignmentExists" in response.text), \
        response.text


def grant_backup_roles(emulator, principal, server="pg-eus-orders", group="rg-pg-eastus"):
    grant(emulator, principal, seed.READER_ROLE, group_scope(emulator, group))
    grant(emulator, principal, seed.PG_LTR_BACKUP_ROLE, server_id(emulator, server, group))


def instance_body(emulator, policy_id, server="pg-eus-orders", group="rg-pg-eastus", location="eastus",
                  identity=None):
    resource = server_id(emulator, server, group)
    source = {"datasourceType": PGFLEX, "objectType": "Datasource", "resourceID": resource,
              "resourceLocation": location, "resourceName": server, "resourceType": PGFLEX, "resourceUri": resource}
    properties = {"dataSourceInfo": source, "dataSourceSetInfo": dict(source, objectType="DatasourceSet"),
                  "friendlyName": server, "objectType": "BackupInstance", "policyInfo": {"policyId": policy_id}}
    if identity is not None:
        properties["identityDetails"] = identity
    return {"properties": properties}


def instance_path(emulator, name, vault="bv-bi", group=GROUP):
    return f"{emulator.vault_path(vault, group)}/backupInstances/{name}"


def wait_for(read, done, timeout=10.0, interval=0.05):
    """Poll ``read()`` until ``done(value)``; returns the last value (assertion error on timeout)."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value):
        assert time.monotonic() < deadline, f"timed out; last value: {value}"
        time.sleep(interval)
        value = read()
    return value


def protection_state(emulator, name, vault="bv-bi"):
    response = emulator.arm("GET", instance_path(emulator, name, vault))
    assert response.status_code == 200, response.text
    return response.json()["properties"]


def wait_state(emulator, name, states, vault="bv-bi"):
    return wait_for(lambda: protection_state(emulator, name, vault),
                    lambda props: props["currentProtectionState"] in states)


def protected_instance(emulator, name="bi-orders", vault="bv-bi", server="pg-eus-orders", policy=None,
                       soft_delete="Off"):
    """Vault (system identity with the backup roles) + policy + instance in ProtectionConfigured."""
    created = make_vault(emulator, vault, soft_delete=soft_delete)
    grant_backup_roles(emulator, created["identity"]["principalId"], server)
    policy_id = make_policy(emulator, vault, body=policy)
    response = emulator.arm("PUT", instance_path(emulator, name, vault),
                            json=instance_body(emulator, policy_id, server))
    assert response.status_code == 201, response.text
    wait_state(emulator, name, ("ProtectionConfigured",), vault)
    return emulator.dataprotection(), created, policy_id
