"""ARM errors become messages with status, code, message and what to do."""

from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.mgmt.core.exceptions import ARMErrorFormat

from ansible_collections.azbackup.dataprotection.plugins.module_utils import azure_errors
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.fakes import Response


def arm_error(status, code, message, headers=None):
    response = Response(status, {"error": {"code": code, "message": message}}, headers)
    return HttpResponseError(response=response, error_format=ARMErrorFormat)


def test_authorization_failed_has_code_message_status_and_hint():
    exc = arm_error(403, "AuthorizationFailed", "The client 'x' does not have authorization to perform action "
                    "'Microsoft.DataProtection/backupVaults/write'.", {"x-ms-request-id": "req-1"})
    result = azure_errors.describe_http_error(exc, "creating backup vault bv1")
    assert result["status_code"] == 403
    assert result["error_code"] == "AuthorizationFailed"
    assert "does not have authorization" in result["error_message"]
    assert result["request_id"] == "req-1"
    assert result["msg"].startswith("Failed creating backup vault bv1: HTTP 403 AuthorizationFailed:")
    assert "Grant the principal a role" in result["msg"]


def test_unknown_code_has_no_hint_but_keeps_the_message():
    exc = arm_error(400, "SomethingNew", "Something went wrong.")
    result = azure_errors.describe_http_error(exc, "doing x")
    assert "hint" not in result
    assert result["msg"] == "Failed doing x: HTTP 400 SomethingNew: Something went wrong."


def test_policy_in_use_explains_how_to_move_instances():
    exc = arm_error(400, "UserErrorDppPolicyObjectInUse", "Policy is in use.")
    assert "Move them to another policy" in azure_errors.describe_http_error(exc, "deleting")["msg"]


def test_body_without_arm_format_is_still_read():
    exc = HttpResponseError(response=Response(503, {"error": {"code": "ServiceUnavailable", "message": "busy"}}))
    status, code, message, dummy = azure_errors.error_parts(exc)
    assert (status, code, message) == (503, "ServiceUnavailable", "busy")


def test_tls_failure_names_the_ca_bundle(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/tmp/bundle.pem")
    exc = ServiceRequestError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    result = azure_errors.describe_connection_error(exc, "reading vault", "https://127.0.0.1:1/")
    assert "/tmp/bundle.pem" in result["msg"]
    assert "https://127.0.0.1:1/" in result["msg"]


def test_refused_connection_points_at_cloud_environment():
    exc = ServiceRequestError("Connection refused")
    assert "cloud_environment" in azure_errors.describe_connection_error(exc, "x", "https://h/")["msg"]


def test_dropped_connection_is_not_a_settings_problem():
    exc = ServiceRequestError("('Connection aborted.', RemoteDisconnected('Remote end closed connection'))")
    result = azure_errors.describe_connection_error(exc, "validating backup of pg1", "https://h/", dropped=True)
    assert result["error_code"] == "ServiceResponseError"
    assert "cloud_environment" not in result["msg"]
    assert "was lost before Azure answered" in result["msg"] and "Rerun the task" in result["msg"]
