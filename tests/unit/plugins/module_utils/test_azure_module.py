"""The façade's retry policy and client settings, with a fake transport instead of the network."""

import base64
import json

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline import Pipeline
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import azure_module


class Response:
    """Just enough of an azure-core transport response for the retry policy."""

    def __init__(self, request, status, headers=None):
        self.request = request
        self.status_code = status
        self.headers = headers or {}
        self.reason = "r"
        self.content_type = "application/json"

    def body(self):
        return b"{}"

    def text(self, encoding=None):
        return "{}"


class ScriptedTransport(HttpTransport):
    """Answers with a scripted list of (status, headers); records sleeps instead of sleeping."""

    def __init__(self, script):
        self.script = list(script)
        self.sent = 0
        self.sleeps = []

    def send(self, request, **kwargs):
        self.sent += 1
        status, headers = self.script.pop(0)
        return Response(request, status, headers)

    def sleep(self, duration):
        self.sleeps.append(duration)

    def open(self):
        pass

    def close(self):
        pass

    def __exit__(self, *args):
        pass


def run(script, method="PUT", **policy_args):
    transport = ScriptedTransport(script)
    policy = azure_module.BoundedRetryPolicy(retry_backoff_factor=0, **policy_args)
    pipeline = Pipeline(transport=transport, policies=[policy])
    response = pipeline.run(HttpRequest(method, "https://arm.example/x")).http_response
    return response, transport


def test_throttled_put_is_retried_after_the_services_pause():
    response, transport = run([(429, {"Retry-After": "2"}), (429, {"Retry-After": "1"}), (200, {})])
    assert response.status_code == 200
    assert transport.sent == 3
    assert transport.sleeps == [2, 1]


def test_service_unavailable_is_retried():
    response, transport = run([(503, {}), (200, {})])
    assert response.status_code == 200
    assert transport.sent == 2


def test_retry_after_is_capped():
    response, transport = run([(429, {"Retry-After": "3600"}), (200, {})])
    assert transport.sleeps == [azure_module.MAX_RETRY_AFTER]


def test_retries_are_bounded():
    response, transport = run([(503, {})] * 10, retry_total=3)
    assert response.status_code == 503
    assert transport.sent == 4


def test_four_unavailable_answers_in_a_row_are_within_the_budget():
    response, transport = run([(503, {})] * 4 + [(200, {})], method="GET", retry_total=azure_module.RETRY_TOTAL)
    assert response.status_code == 200
    assert transport.sent == 5


def test_the_status_budget_ends_after_retry_total():
    response, transport = run([(503, {})] * 10, method="GET", retry_total=azure_module.RETRY_TOTAL)
    assert response.status_code == 503
    assert transport.sent == azure_module.RETRY_TOTAL + 1


def test_client_errors_are_not_retried():
    response, transport = run([(400, {}), (200, {})])
    assert response.status_code == 400
    assert transport.sent == 1


def make_session(plan=None):
    session = azure_module.AzureSession.__new__(azure_module.AzureSession)
    session.plan = plan or {"cert_validation_mode": "validate", "kind": "service_principal_secret",
                            "source": "env", "client_id": "app", "tenant": "t"}
    session.cloud = {"resource_manager": "https://127.0.0.1:8443/", "login_endpoint": "https://127.0.0.1:8443/",
                     "audience": "https://management.example/"}
    session.scope = "https://management.example/.default"
    session.subscription_id = "sub"
    session._clients = {}
    session.pace = azure_module.arm_pacing.SessionPace()
    return session


def test_clients_target_the_clouds_resource_manager_and_audience():
    kwargs = make_session().client_kwargs()
    assert kwargs["base_url"] == "https://127.0.0.1:8443/"
    assert kwargs["credential_scopes"] == ["https://management.example/.default"]
    assert kwargs["user_agent"] == "azbackup.dataprotection/{0}".format(azure_module.COLLECTION_VERSION)
    assert kwargs["polling_interval"] < 30
    assert "connection_verify" not in kwargs


def test_ignore_cert_validation_is_passed_to_clients():
    session = make_session({"cert_validation_mode": "ignore", "kind": "cli", "source": "cli"})
    assert session.client_kwargs()["connection_verify"] is False


def test_caller_is_read_from_the_token():
    claims = {"oid": "object-1", "appid": "app-1", "tid": "tenant-1"}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")

    class Token:
        token = "header." + payload + ".signature"

    class Credential:
        def get_token(self, *scopes):
            return Token()

    session = make_session()
    session.credential = Credential()
    assert session.caller() == {"object_id": "object-1", "app_id": "app-1", "tenant_id": "tenant-1"}


def test_collection_version_matches_galaxy_yml():
    import os

    import yaml

    root = os.path.dirname(os.path.dirname(os.path.abspath(azure_module.__file__)))
    with open(os.path.join(os.path.dirname(root), "galaxy.yml")) as handle:
        assert yaml.safe_load(handle)["version"] == azure_module.COLLECTION_VERSION


def test_get_or_none_maps_404_to_none_and_keeps_other_errors():
    from azure.core.exceptions import ResourceNotFoundError

    def missing(*args):
        raise ResourceNotFoundError("gone")

    def forbidden(*args):
        raise HttpResponseError("no")

    assert azure_module.get_or_none(missing, "rg", "name") is None
    assert azure_module.get_or_none(lambda *args: {"name": args[1]}, "rg", "bv1") == {"name": "bv1"}
    with pytest.raises(HttpResponseError):
        azure_module.get_or_none(forbidden)


def test_clients_are_built_once_per_subscription():
    session = make_session()
    session.credential = object()
    default = session.client("dataprotection")
    assert session.client("dataprotection", "SUB") is default
    other = session.client("dataprotection", "11111111-1111-1111-1111-111111111111")
    assert other is not default
    assert other._config.subscription_id == "11111111-1111-1111-1111-111111111111"
    assert session.client("dataprotection", "11111111-1111-1111-1111-111111111111") is other


def test_unreachable_login_endpoint_is_a_connection_failure_not_an_authentication_failure():
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

    class Module:
        def fail_json(self, **kwargs):
            raise SystemExit(kwargs)

    facade = azure_module.AzureBackupModule.__new__(azure_module.AzureBackupModule)
    facade.module = Module()
    facade._session = make_session()
    dns = ServiceRequestError("Failed to resolve 'login.example' ([Errno -2] Name or service not known)")
    error = ClientAuthenticationError("Authentication failed: Failed to resolve 'login.example'")
    error.__cause__ = dns  # what ``raise ... from dns`` inside azure-identity leaves
    with pytest.raises(SystemExit) as failed:
        with facade.azure_errors("reading the vault"):
            raise error
    result = failed.value.args[0]
    assert result["error_code"] == "ServiceRequestError"
    assert "could not reach https://127.0.0.1:8443/" in result["msg"]
    assert "authenticate" not in result["msg"]
