# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Turning Azure SDK errors into messages an operator can act on.

Every failure a module reports carries the HTTP status, the ARM error code and message, and, for the
errors we know, what to do about it. Only azure-core's typed exceptions are handled here.
"""

import os

# ARM / service error codes we can say something useful about.
HINTS = {
    "authorizationfailed": "The caller lacks permission for this action at this scope. Grant the principal a role "
                           "that allows it (for example Backup Contributor on the vault's resource group), or run "
                           "the task as a principal that has one. New grants can take a few minutes to apply.",
    "linkedauthorizationfailed": "The caller may act on this resource but not on a resource it refers to (a "
                                 "server, identity or policy). Grant read access on that resource too.",
    "resourcegroupnotfound": "Create the resource group first, or check resource_group and subscription_id.",
    "subscriptionnotfound": "Check subscription_id (AZURE_SUBSCRIPTION_ID) and that the principal can see it.",
    "invalidauthenticationtokenaudience": "The token was issued for another cloud: check cloud_environment "
                                          "(AZURE_CLOUD_ENVIRONMENT).",
    "invalidauthenticationtokentenant": "The principal belongs to another tenant than the subscription: check "
                                        "tenant (AZURE_TENANT) and subscription_id.",
    "expiredauthenticationtoken": "The access token expired; rerun the task.",
    "usererrordpppolicyobjectinuse": "Backup instances still use this policy. Move them to another policy "
                                     "(pgflex_backup_instance with a new policy_name) before deleting or "
                                     "replacing it.",
    "usererrorpolicyobjectinuse": "Backup instances still use this policy. Move them to another policy first.",
    "usererrorbmsupdatepolicynotsupported": "Azure does not update this policy in place. Create a new policy, move "
                                            "the backup instances to it (pgflex_backup_instance with the new "
                                            "policy_name), then delete the old one.",
    "roleassignmentexists": "An identical role assignment already exists.",
    "toomanyrequests": "Azure throttled the requests and the retries ran out; rerun later or with fewer "
                       "parallel tasks (forks).",
    "subscriptionrequeststhrottled": "Azure throttled the requests and the retries ran out; rerun later or with "
                                     "fewer parallel tasks (forks).",
    "resourcecollectionrequeststhrottled": "Azure throttled the requests and the retries ran out; rerun later.",
    "noregisteredproviderfound": "The resource provider does not know this API version in this region: upgrade "
                                 "azure-mgmt-dataprotection, or check the location.",
    "missingsubscriptionregistration": "Register the resource provider: az provider register --namespace "
                                       "Microsoft.DataProtection.",
    "resourcenotfound": "Check the names, resource group and subscription.",
}


def error_parts(exc):
    """(status, code, message, request_id) of an azure-core HttpResponseError (or any AzureError)."""
    status = getattr(exc, "status_code", None)
    code = None
    message = None
    error = getattr(exc, "error", None)
    if error is not None:
        code = getattr(error, "code", None)
        message = getattr(error, "message", None)
    if not code or not message:
        body_code, body_message = _parse_body(getattr(exc, "response", None))
        code = code or body_code
        message = message or body_message
    if not message:
        message = getattr(exc, "message", None) or str(exc)
    request_id = None
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        request_id = headers.get("x-ms-request-id") or headers.get("x-ms-correlation-request-id")
    return status, code, _first_line(message), request_id


def _parse_body(response):
    if response is None:
        return None, None
    try:
        body = response.json()
    except (ValueError, AttributeError):
        return None, None
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else body
        return error.get("code"), error.get("message")
    return None, None


def _first_line(message):
    # azure-core appends the whole response body ("Code: ...\nMessage: ...") to str(exc); keep the message itself.
    text = str(message).strip().split("\nCode:", 1)[0].strip()
    if text.startswith("(") and ") " in text:
        text = text.split(") ", 1)[1]
    return text


def hint_for(code):
    return HINTS.get((code or "").lower())


def describe_http_error(exc, action):
    """fail_json keyword arguments for an ARM error raised while doing ``action``."""
    status, code, message, request_id = error_parts(exc)
    text = "Failed {0}: HTTP {1} {2}: {3}".format(action, status if status is not None else "-", code or "", message)
    hint = hint_for(code)
    if hint:
        text += " " + hint
    result = {"msg": text, "status_code": status, "error_code": code, "error_message": message}
    if hint:
        result["hint"] = hint
    if request_id:
        result["request_id"] = request_id
    return result


def describe_auth_error(exc, action, auth_description, login_endpoint):
    """fail_json keyword arguments for a credential that could not get a token."""
    message = _first_line(getattr(exc, "message", None) or str(exc))
    text = (
        "Failed {0}: could not authenticate with {1} against {2}: {3} Check the client id, secret or "
        "certificate and tenant (options client_id/secret/tenant or AZURE_CLIENT_ID/AZURE_SECRET/AZURE_TENANT), "
        "or choose another auth_source.".format(action, auth_description, login_endpoint, message)
    )
    return {"msg": text, "error_code": "AuthenticationFailed", "error_message": message}


def describe_connection_error(exc, action, endpoint, dropped=False):
    """fail_json keyword arguments for an endpoint that could not be reached (DNS, refused, TLS), or, with
    ``dropped``, a connection that was lost after the request went out (ServiceResponseError)."""
    message = _first_line(getattr(exc, "message", None) or str(exc))
    if dropped:
        text = (
            "Failed {0}: the connection to {1} was lost before Azure answered ({2}), after the retries. The endpoint "
            "is reachable, so the settings are fine; Azure may or may not have acted on the request. Rerun the task: "
            "it reads the current state first and does only what is still missing.".format(action, endpoint, message)
        )
        return {"msg": text, "error_code": "ServiceResponseError", "error_message": message}
    text = "Failed {0}: could not reach {1}: {2}".format(action, endpoint, message)
    if "CERTIFICATE_VERIFY_FAILED" in message or "SSL" in message:
        text += " TLS verification used the CA bundle {0}; point REQUESTS_CA_BUNDLE at a bundle that holds the " \
                "endpoint's CA.".format(os.environ.get("REQUESTS_CA_BUNDLE") or "(the default bundle)")
    else:
        text += " Check cloud_environment (AZURE_CLOUD_ENVIRONMENT) and the network path to Azure."
    return {"msg": text, "error_code": "ServiceRequestError", "error_message": message}
