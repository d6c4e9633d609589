"""Cloud metadata, OpenID configuration and the client-credentials token flow, with the real azure-identity."""

import base64
import json
import time

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential, DefaultAzureCredential, EnvironmentCredential


def _claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_metadata_2022_09_01_is_one_cloud_object_with_legacy_keys(emulator):
    body = requests.get(f"{emulator.url}/metadata/endpoints", params={"api-version": "2022-09-01"},
                        verify=emulator.ca_bundle, timeout=10).json()
    assert body["resourceManager"] == emulator.url + "/"
    auth = body["authentication"]
    assert auth["loginEndpoint"] == emulator.url + "/"
    assert auth["audiences"][0] == "https://management.emulator.azbackup.invalid/"
    assert auth["tenant"] == "common" and auth["identityProvider"] == "AAD"
    for key in ("name", "suffixes", "galleryEndpoint", "graphEndpoint", "portalEndpoint", "microsoftGraphResourceId",
                "activeDirectoryDataLake", "graph", "portal", "ossrdbmsResourceId"):
        assert key in body, key
    assert "ossrDbmsResourceId" not in body  # Azure's spelling, all lower case after "ossr"
    assert "management.azure.com" not in json.dumps(body)


def test_metadata_2019_05_01_is_a_list(emulator):
    body = requests.get(f"{emulator.url}/metadata/endpoints", params={"api-version": "2019-05-01"},
                        verify=emulator.ca_bundle, timeout=10).json()
    assert isinstance(body, list) and body[0]["resourceManager"] == emulator.url + "/"


@pytest.mark.parametrize("version", ["1.0", "2015-01-01", None])
def test_metadata_accepts_any_api_version(emulator, version):
    params = {"api-version": version} if version else {}
    response = requests.get(f"{emulator.url}/metadata/endpoints", params=params, verify=emulator.ca_bundle, timeout=10)
    assert response.status_code == 200 and response.json()["authentication"]["loginEndpoint"]


def test_openid_configuration_names_the_token_endpoint(emulator):
    tenant = emulator.env["AZURE_TENANT"]
    body = requests.get(f"{emulator.url}/{tenant}/v2.0/.well-known/openid-configuration",
                        verify=emulator.ca_bundle, timeout=10).json()
    assert body["token_endpoint"] == f"{emulator.url}/{tenant}/oauth2/v2.0/token"
    assert body["authorization_endpoint"].startswith(emulator.url)
    adfs = requests.get(f"{emulator.url}/adfs/.well-known/openid-configuration", verify=emulator.ca_bundle,
                        timeout=10).json()
    assert adfs["token_endpoint"] == f"{emulator.url}/adfs/oauth2/token"


def test_client_secret_credential_gets_a_jwt_naming_the_caller(emulator):
    owner = emulator.seed["principals"][0]
    token = emulator.credential().get_token(emulator.audience + ".default")
    claims = _claims(token.token)
    assert claims["aud"] == emulator.audience.rstrip("/")  # scope "<audience>.default" names the resource
    assert claims["oid"] == owner["objectId"] and claims["appid"] == owner["clientId"]
    assert claims["tid"] == emulator.seed["tenant"]["id"]
    assert claims["exp"] - time.time() > 3000 and token.expires_on > time.time() + 3000


def test_wrong_secret_raises_client_authentication_error(emulator):
    env = emulator.env
    credential = ClientSecretCredential(env["AZURE_TENANT"], env["AZURE_CLIENT_ID"], "not-the-secret",
                                        authority=emulator.url, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        credential.get_token(emulator.audience + ".default")


def _token_request(emulator, tenant=None, **form):
    data = {"grant_type": "client_credentials", "client_id": emulator.env["AZURE_CLIENT_ID"],
            "client_secret": emulator.env["AZURE_SECRET"], "scope": emulator.audience + "/.default"}
    data.update(form)
    return requests.post(f"{emulator.url}/{tenant or emulator.env['AZURE_TENANT']}/oauth2/v2.0/token", data=data,
                         verify=emulator.ca_bundle, timeout=10)


def test_token_errors_look_like_entra_id(emulator):
    wrong_secret = _token_request(emulator, client_secret="nope")
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    assert wrong_secret.json()["error_codes"] == [7000215]
    unknown = _token_request(emulator, client_id="00000000-0000-0000-0000-000000000001")
    assert unknown.status_code == 400 and unknown.json()["error"] == "unauthorized_client"
    assert unknown.json()["error_codes"] == [700016]
    tenant = _token_request(emulator, tenant="11111111-2222-3333-4444-555555555555")
    assert tenant.status_code == 400 and tenant.json()["error_codes"] == [90002]
    no_default = _token_request(emulator, scope="openid")
    assert no_default.status_code == 400 and no_default.json()["error"] == "invalid_scope"


def test_wrong_tenant_fails_in_the_sdk(emulator):
    env = emulator.env
    credential = ClientSecretCredential("11111111-2222-3333-4444-555555555555", env["AZURE_CLIENT_ID"],
                                        env["AZURE_SECRET"], authority=emulator.url, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError):
        credential.get_token(emulator.audience + ".default")


def _set_environment(monkeypatch, emulator):
    monkeypatch.setenv("AZURE_TENANT_ID", "adfs")
    monkeypatch.setenv("AZURE_CLIENT_ID", emulator.env["AZURE_CLIENT_ID"])
    monkeypatch.setenv("AZURE_CLIENT_SECRET", emulator.env["AZURE_SECRET"])
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", emulator.url)


def test_environment_credential_with_adfs_tenant_needs_no_code(emulator, monkeypatch):
    _set_environment(monkeypatch, emulator)
    token = EnvironmentCredential().get_token(emulator.audience + ".default")
    assert _claims(token.token)["oid"] == emulator.seed["principals"][0]["objectId"]


def test_default_azure_credential_limited_to_environment(emulator, monkeypatch):
    _set_environment(monkeypatch, emulator)
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
    token = DefaultAzureCredential().get_token(emulator.audience + ".default")
    assert _claims(token.token)["aud"] == emulator.audience.rstrip("/")


def _user_credential(emulator, password=None):
    from azure.identity import UsernamePasswordCredential
    from msal.authority import Authority

    from tests.emulator.conftest import parse_env_file

    env = parse_env_file(emulator.state_dir / "env-user.sh")
    # MSAL asks https://<host>/common/userrealm without the port: tell it this host has no realm discovery.
    Authority._domains_without_user_realm_discovery.add("127.0.0.1")
    # The Azure CLI's public client id, as azure.azcollection uses for a user name and password.
    return env, UsernamePasswordCredential("04b07795-8ddb-461a-bbee-02f9e1bf7b46", env["AZURE_AD_USER"],
                                           password or env["AZURE_PASSWORD"], authority=emulator.url,
                                           disable_instance_discovery=True)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_password_grant_of_the_seeded_user_names_the_user(emulator):
    user = emulator.seed["users"][0]
    env, credential = _user_credential(emulator)
    assert "AZURE_TENANT" not in env and env["AZURE_AD_USER"] == user["userPrincipalName"]
    claims = _claims(credential.get_token(emulator.audience + ".default").token)
    assert claims["oid"] == user["objectId"] and claims["idtyp"] == "user"
    assert claims["upn"] == user["userPrincipalName"] and claims["tid"] == emulator.seed["tenant"]["id"]
    assert {"role": "Owner", "roleDefinitionId": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            "scope": "/subscriptions/" + emulator.subscription} in user["roles"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_password_grant_with_a_wrong_password_is_invalid_grant(emulator):
    dummy, credential = _user_credential(emulator, password="not-the-password")
    with pytest.raises(ClientAuthenticationError, match="AADSTS50126"):
        credential.get_token(emulator.audience + ".default")


def test_user_token_reaches_arm(emulator):
    env = emulator.env
    response = requests.post(f"{emulator.url}/organizations/oauth2/v2.0/token", verify=emulator.ca_bundle, timeout=10,
                             data={"grant_type": "password", "client_id": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                                   "username": emulator.seed["users"][0]["userPrincipalName"],
                                   "password": emulator.seed["users"][0]["password"],
                                   "scope": emulator.audience + "/.default"})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    listed = requests.get(f"{emulator.url}/subscriptions", params={"api-version": "2022-12-01"},
                          headers={"Authorization": "Bearer " + token}, verify=emulator.ca_bundle, timeout=10)
    assert sorted(item["subscriptionId"] for item in listed.json()["value"]) == sorted(
        item["subscriptionId"] for item in emulator.seed["subscriptions"])
    assert env["AZURE_SUBSCRIPTION_ID"] in listed.text


def test_user_realm_says_managed(emulator):
    user = emulator.seed["users"][0]["userPrincipalName"]
    body = requests.get(f"{emulator.url}/common/userrealm/{user}", params={"api-version": "1.0"},
                        verify=emulator.ca_bundle, timeout=10).json()
    assert body["account_type"] == "Managed" and body["domain_name"] == user.split("@")[1]
