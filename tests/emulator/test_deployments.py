"""Microsoft.Resources deployments of the role-assignment template that pgflex_role_assignment hands over.

The templates under ``data/`` are what ``role_assignments.arm_template()`` produced for seeded servers (three
servers in two groups and two subscriptions plus a restore storage account at resource scope; one server at
subscription scope). They are deployed the way ``az deployment group create`` does it: a PUT followed by
azure-core's ARM long-running-operation poller, then a GET of the deployment.
"""

import json
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RequestIdPolicy
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.polling.arm_polling import ARMPolling

from emulator import seed
from tests.emulator.dp_helpers import GROUP, instance_body, make_policy, make_vault, wait_for

DATA = Path(__file__).parent / "data"
API = "2022-09-01"
LTR_ROLE = seed.PG_LTR_BACKUP_ROLE


def _template(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _deployment_path(emulator, name, group="rg-pg-eastus"):
    return (f"/subscriptions/{emulator.subscription}/resourceGroups/{group}/providers/Microsoft.Resources/"
            f"deployments/{name}")


def _deploy(emulator, name, template, principal_id, env_file="env.sh", group="rg-pg-eastus"):
    """PUT the deployment and follow it with azure-core's ARM poller (as the Azure SDK and CLI do)."""
    client = ARMPipelineClient(base_url=emulator.url, policies=[RequestIdPolicy(), BearerTokenCredentialPolicy(
        emulator.credential(env_file), emulator.audience + "/.default")])
    body = {"properties": {"mode": "Incremental", "template": template,
                           "parameters": {"principalId": {"value": principal_id}}}}
    request = HttpRequest("PUT", emulator.url + _deployment_path(emulator, name, group), params={"api-version": API},
                          json=body)
    # What a generated SDK client does: run the request through its pipeline, hand the answer to an ARM poller.
    pipeline_response = client._pipeline.run(request, stream=False)  # pylint: disable=protected-access
    response = pipeline_response.http_response
    response.raise_for_status()
    poller = LROPoller(client, pipeline_response, lambda resp: json.loads(resp.http_response.text()),
                       ARMPolling(timeout=0.1))
    return response, poller


def _assignments_of(emulator, principal_id):
    response = emulator.arm("GET", f"/subscriptions/{emulator.subscription}/providers/Microsoft.Authorization/"
                            "roleAssignments", api_version="2022-04-01",
                            params={"$filter": f"principalId eq '{principal_id}'"})
    assert response.status_code == 200, response.text
    return [item["properties"] for item in response.json()["value"]]


def test_the_template_deploys_and_grants_what_backup_needs(emulator):
    vault = make_vault(emulator)
    principal = vault["identity"]["principalId"]
    policy_id = make_policy(emulator)
    validate = {"backupInstance": instance_body(emulator, policy_id)["properties"]}
    client = emulator.dataprotection(polling_interval=0.1)
    with pytest.raises(HttpResponseError):
        client.backup_instances.begin_validate_for_backup(GROUP, "bv-bi", validate).result()

    response, poller = _deploy(emulator, "roles-for-bv-bi", _template("role_assignments_resource_scope.json"),
                               principal)
    assert response.status_code == 201
    assert response.json()["properties"]["provisioningState"] == "Accepted"
    assert "/operationStatuses/" in response.headers["Azure-AsyncOperation"]
    done = poller.result()
    assert done["properties"]["provisioningState"] == "Succeeded", done
    got = emulator.arm("GET", _deployment_path(emulator, "roles-for-bv-bi"), api_version=API).json()
    assert got["properties"]["provisioningState"] == "Succeeded"
    granted = _assignments_of(emulator, principal)
    scopes = {(item["roleDefinitionId"].rsplit("/", 1)[1], item["scope"]) for item in granted}
    orders = (f"/subscriptions/{emulator.subscription}/resourceGroups/rg-pg-eastus/providers/"
              "Microsoft.DBforPostgreSQL/flexibleServers/pg-eus-orders")
    assert (LTR_ROLE, orders) in scopes
    assert (seed.READER_ROLE, f"/subscriptions/{emulator.subscription}/resourceGroups/rg-pg-eastus") in scopes
    assert (seed.STORAGE_BLOB_DATA_CONTRIBUTOR_ROLE, f"/subscriptions/{emulator.subscription}/resourceGroups/"
            "rg-backup/providers/Microsoft.Storage/storageAccounts/stpgrestoreeus") in scopes
    # The partner subscription's server got its roles too (a nested deployment there).
    partner = emulator.arm("GET", f"/subscriptions/{seed.PARTNER_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/"
                           "roleAssignments", api_version="2022-04-01",
                           params={"$filter": f"principalId eq '{principal}'"}).json()["value"]
    assert {item["properties"]["roleDefinitionId"].rsplit("/", 1)[1] for item in partner} == \
        {seed.READER_ROLE, LTR_ROLE}
    assert all(item["createdBy"] == emulator.seed["principals"][0]["objectId"] for item in granted)
    # The roles are what validateForBackup checks.
    assert client.backup_instances.begin_validate_for_backup(GROUP, "bv-bi", validate).result()
    # Deploying again converges: same names, nothing new, still Succeeded.
    _response, again = _deploy(emulator, "roles-for-bv-bi", _template("role_assignments_resource_scope.json"),
                               principal)
    assert again.result()["properties"]["provisioningState"] == "Succeeded"
    assert len(_assignments_of(emulator, principal)) == len(granted)
    operations = emulator.arm("GET", _deployment_path(emulator, "roles-for-bv-bi") + "/operations",
                              api_version=API).json()["value"]
    assert operations and all(item["properties"]["provisioningState"] == "Succeeded" for item in operations)


def test_a_subscription_wide_grant_goes_through_a_subscription_level_nested_deployment(emulator):
    vault = make_vault(emulator)
    principal = vault["identity"]["principalId"]
    _response, poller = _deploy(emulator, "roles-sub", _template("role_assignments_subscription_scope.json"),
                                principal)
    assert poller.result()["properties"]["provisioningState"] == "Succeeded"
    scopes = {item["scope"] for item in _assignments_of(emulator, principal)}
    assert scopes == {f"/subscriptions/{emulator.subscription}"}


def test_a_principal_that_may_not_assign_roles_gets_a_failed_deployment(emulator):
    vault = make_vault(emulator)
    principal = vault["identity"]["principalId"]
    # Contributor may deploy (deployments/write) but not write role assignments: ARM runs the deployment, and each
    # assignment fails with AuthorizationFailed.
    response, poller = _deploy(emulator, "roles-denied", _template("role_assignments_resource_scope.json"), principal,
                               env_file="env-no-rbac.sh")
    assert response.status_code == 201
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert caught.value.error.code == "DeploymentFailed"
    got = emulator.arm("GET", _deployment_path(emulator, "roles-denied"), api_version=API).json()["properties"]
    assert got["provisioningState"] == "Failed"
    nested = got["error"]["details"][0]
    assert nested["code"] == "DeploymentFailed"
    assert {item["code"] for item in nested["details"]} == {"AuthorizationFailed"}
    assert _assignments_of(emulator, principal) == []
    # A reader may not even start one.
    reader = emulator.arm("PUT", _deployment_path(emulator, "roles-reader"), env_file="env-reader.sh",
                          api_version=API, json={"properties": {"mode": "Incremental", "template": _template(
                              "role_assignments_resource_scope.json")}})
    assert reader.status_code == 403 and emulator.error_code(reader) == "AuthorizationFailed"


def test_deployments_stay_running_while_held(emulator):
    vault = make_vault(emulator)
    emulator.control("POST", "holds", json={"kind_regex": "^deployments/write$"})
    response, _poller = _deploy(emulator, "roles-held", _template("role_assignments_subscription_scope.json"),
                                vault["identity"]["principalId"])
    status_path = response.headers["Azure-AsyncOperation"].replace(emulator.url, "").split("?")[0]
    assert emulator.arm("GET", status_path, api_version=API).json() == {"status": "Running"}
    second = emulator.arm("PUT", _deployment_path(emulator, "roles-held"), api_version=API,
                          json={"properties": {"mode": "Incremental", "template": _template(
                              "role_assignments_subscription_scope.json")}})
    assert second.status_code == 409 and emulator.error_code(second) == "DeploymentActive"
    emulator.control("DELETE", "holds")
    wait_for(lambda: emulator.arm("GET", status_path, api_version=API).json(),
             lambda body: body["status"] == "Succeeded")


@pytest.mark.parametrize("template, code", [
    ({"resources": [{"type": "Microsoft.Storage/storageAccounts", "name": "x"}]}, "InvalidTemplate"),
    ({"parameters": {"p": {"type": "string"}}, "resources": []}, "InvalidTemplate"),
    ({"resources": [{"type": "Microsoft.Authorization/roleAssignments", "name": "[nosuch('x')]"}]}, "InvalidTemplate"),
    ({"resources": [{"type": "Microsoft.Authorization/roleAssignments", "name": "[parameters('missing')]"}]},
     "InvalidTemplate"),
    ("not a template", "InvalidTemplate"),
])
def test_templates_the_emulator_cannot_run_are_refused_before_anything_happens(emulator, template, code):
    response = emulator.arm("PUT", _deployment_path(emulator, "bad"), api_version=API,
                            json={"properties": {"mode": "Incremental", "template": template}})
    assert response.status_code == 400 and emulator.error_code(response) == code, response.text
    assert emulator.arm("GET", _deployment_path(emulator, "bad"), api_version=API).status_code == 404


def test_validate_checks_without_deploying(emulator):
    response = emulator.arm("POST", _deployment_path(emulator, "check") + "/validate", api_version=API,
                            json={"properties": {"mode": "Incremental", "template": _template(
                                "role_assignments_subscription_scope.json")}})
    assert response.status_code == 200, response.text
    assert response.json()["properties"]["parameters"]["deploymentLocation"]["value"] == "eastus"
    assert emulator.arm("GET", _deployment_path(emulator, "check"), api_version=API).status_code == 404


def test_template_expressions():
    from emulator.templates import Context, evaluate

    group = {"id": "/subscriptions/s1/resourceGroups/rg", "name": "rg", "location": "westeurope"}
    context = Context(subscription_id="s1", resource_group=group, parameters={"p": "v"})
    assert evaluate("[parameters('p')]", context) == "v"
    assert evaluate("[resourceGroup().location]", context) == "westeurope"
    assert evaluate("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'abc')]", context) == \
        "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/abc"
    assert evaluate("[resourceId('Microsoft.Storage/storageAccounts', 'st')]", context) == \
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st"
    assert evaluate("[concat('a', toLower('B'), 'it''s')]", context) == "abit's"
    assert evaluate("[[literal]", context) == "[literal]"
    assert evaluate({"list": ["[parameters('p')]", 1]}, context) == {"list": ["v", 1]}
