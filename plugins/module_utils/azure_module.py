# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one façade every module of this collection uses to reach Azure.

It wraps (does not subclass) AnsibleModule: merges the auth options into the module's argspec,
checks that the SDKs are importable, resolves credentials and the cloud lazily (a module that fails
validation never authenticates), builds SDK clients with our retry, polling and user-agent settings,
and turns the SDK's typed errors into ``fail_json`` calls with the ARM code, message and a hint.
Modules keep only their own logic, in pure helpers that take a client and return results.
"""

import base64
import contextlib
import json
import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.azbackup.dataprotection.plugins.module_utils import (
    arm,
    arm_pacing,
    azure_auth,
    azure_cloud,
    azure_errors,
    azure_waits,
    contract,
)

AZURE_IMPORT_ERROR = None
try:
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )
    from azure.core.pipeline.policies import RetryPolicy
    from azure.core.rest import HttpRequest
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.dataprotection import DataProtectionMgmtClient
except ImportError:
    AZURE_IMPORT_ERROR = traceback.format_exc()

    class RetryPolicy:  # noqa: D101 - placeholder so the class below can be defined without the SDK
        pass

    AzureError = ClientAuthenticationError = HttpResponseError = ResourceNotFoundError = None
    ServiceRequestError = ServiceResponseError = None

COLLECTION_NAME = "azbackup.dataprotection"
COLLECTION_VERSION = "0.1.0"
AZURE_REQUIREMENTS = "azure-identity, azure-mgmt-dataprotection and azure-mgmt-authorization"

# Retries of throttled (429) and transient (5xx) responses and of failed connections: bounded in count
# and in each pause, honouring Retry-After. An unreachable endpoint fails after one quick retry.
RETRY_TOTAL = 5
RETRY_CONNECT = 1
RETRY_BACKOFF_FACTOR = 0.8
RETRY_BACKOFF_MAX = 30
MAX_RETRY_AFTER = 60
CONNECTION_TIMEOUT = 10
READ_TIMEOUT = 120


class BoundedRetryPolicy(RetryPolicy):
    """azure-core's retry policy, with a ceiling on the pause a Retry-After header may ask for."""

    def __init__(self, **kwargs):
        # azure-core stops retrying statuses (429/5xx) after 3 unless told: the whole budget applies to them too.
        kwargs.setdefault("retry_status", kwargs.get("retry_total", RETRY_TOTAL))
        super(BoundedRetryPolicy, self).__init__(**kwargs)

    def get_retry_after(self, response):
        retry_after = super(BoundedRetryPolicy, self).get_retry_after(response)
        if retry_after is None:
            return None
        return min(retry_after, MAX_RETRY_AFTER)


def azure_available():
    return AZURE_IMPORT_ERROR is None


class AzureSession:
    """Resolved credentials, cloud and subscription, and the SDK clients built from them."""

    def __init__(self, params, environ, credential_file_text, run_command=None):
        self.plan = azure_auth.resolve_auth(params, environ, credential_file_text)
        verify = self.plan["cert_validation_mode"] != "ignore"
        self.cloud = azure_cloud.resolve_cloud(
            self.plan.get("cloud_environment"),
            lambda url: azure_cloud.fetch_metadata_with_requests(url, verify=verify),
        )
        self.credential = azure_auth.build_credential(self.plan, self.cloud, environ)
        self.scope = azure_cloud.credential_scope(self.cloud)
        self.subscription_id = self.plan.get("subscription_id")
        self._run_command = run_command
        self._clients = {}
        # One pace for every client and thread of this session: ARM's budgets are per subscription and principal.
        self.pace = arm_pacing.SessionPace()

    @property
    def auth_description(self):
        return azure_auth.describe_plan(self.plan)

    def client_kwargs(self):
        kwargs = {
            "base_url": self.cloud["resource_manager"],
            "credential_scopes": [self.scope],
            "retry_policy": BoundedRetryPolicy(
                retry_total=RETRY_TOTAL,
                retry_connect=RETRY_CONNECT,
                retry_backoff_factor=RETRY_BACKOFF_FACTOR,
                retry_backoff_max=RETRY_BACKOFF_MAX,
            ),
            "per_retry_policies": [arm_pacing.RequestPacing(self.pace)],
            "connection_timeout": CONNECTION_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
            "polling_interval": azure_waits.FALLBACK_POLLING_INTERVAL,
            "user_agent": "{0}/{1}".format(COLLECTION_NAME, COLLECTION_VERSION),
        }
        if self.plan["cert_validation_mode"] == "ignore":
            kwargs["connection_verify"] = False
        return kwargs

    def client(self, name, subscription_id=None):
        """The SDK client ``name`` for a subscription (the session's own by default), built once."""
        subscription_id = subscription_id or self.require_subscription()
        key = (name, subscription_id.lower())
        if key not in self._clients:
            factory = {"dataprotection": DataProtectionMgmtClient, "authorization": AuthorizationManagementClient}[name]
            self._clients[key] = factory(self.credential, subscription_id, **self.client_kwargs())
        return self._clients[key]

    def require_subscription(self):
        if not self.subscription_id:
            self.subscription_id = self._discover_subscription()
        return self.subscription_id

    def _discover_subscription(self):
        """The subscription when none is set: the Azure CLI's current one, or the only one visible."""
        if self.plan["kind"] == "cli" and self._run_command:
            rc, out, dummy = self._run_command(["az", "account", "show", "--query", "id", "--output", "tsv"])
            if rc == 0 and out.strip():
                return out.strip()
        client = DataProtectionMgmtClient(self.credential, "-", **self.client_kwargs())
        response = client.send_request(
            HttpRequest("GET", "/subscriptions", params={"api-version": arm.api_version(arm.SUBSCRIPTION)})
        )
        response.raise_for_status()
        ids = [item.get("subscriptionId") for item in response.json().get("value", [])]
        if len(ids) == 1:
            return ids[0]
        raise azure_auth.AuthConfigError(
            "subscription_id is not set and {0} can see {1} subscriptions ({2}). Set subscription_id or "
            "AZURE_SUBSCRIPTION_ID.".format(self.auth_description, len(ids), ", ".join(ids) or "none")
        )

    def arm_get(self, path, api_version):
        """GET any ARM resource by id or path with the same pipeline (auth, retries); None when it is 404."""
        response = self.client("dataprotection").send_request(
            HttpRequest("GET", path, params={"api-version": api_version})
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def arm_list(self, path, api_version, subscription_id=None):
        """Every item of an ARM collection (following ``nextLink``); [] when the collection's parent is 404.

        ``subscription_id``: the client's subscription when not the session's (``-`` for tenant-level lists).
        """
        client = self.client("dataprotection", subscription_id)
        response = client.send_request(HttpRequest("GET", path, params={"api-version": api_version}))
        items = []
        while True:
            if response.status_code == 404:
                return items
            response.raise_for_status()
            page = response.json()
            items.extend(page.get("value") or [])
            if not page.get("nextLink"):
                return items
            response = client.send_request(HttpRequest("GET", page["nextLink"]))

    def caller(self):
        """Who the token says we are (object id, app id, tenant), for messages that name the caller."""
        token = self.credential.get_token(self.scope).token
        try:
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8"))
        except (IndexError, ValueError):
            claims = {}
        return {"object_id": claims.get("oid"), "app_id": claims.get("appid") or claims.get("azp"),
                "tenant_id": claims.get("tid")}


class AzureBackupModule:
    """What a module of this collection holds: the AnsibleModule, its params and the Azure session."""

    def __init__(self, argument_spec, supports_check_mode=True, name_kind=None, **kwargs):
        """``name_kind``: what the module's ``name`` option names (a key of arm.NAME_RULES), checked with the other
        names before any request."""
        spec = azure_auth.auth_argument_spec()
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=supports_check_mode, **kwargs)
        if not azure_available():
            self.module.fail_json(msg=missing_required_lib(AZURE_REQUIREMENTS), exception=AZURE_IMPORT_ERROR)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self._session = None
        for bound in ("wait_timeout", "validation_timeout"):
            if (self.params.get(bound) or 0) < 0:
                self.fail("{0} must be 0 or more seconds, got {1}.".format(bound, self.params[bound]))
        from ansible_collections.azbackup.dataprotection.plugins.module_utils import references

        with self.input_errors():  # a name that breaks Azure's rule never reaches a request path
            references.check_names(self.params, name_kind)

    @property
    def session(self):
        if self._session is None:
            with self.input_errors():  # AuthConfigError, CloudConfigError
                self._session = AzureSession(self.params, os.environ, read_credential_file(),
                                             run_command=self.module.run_command)
        return self._session

    @property
    def dataprotection(self):
        return self._client("dataprotection")

    @property
    def authorization(self):
        return self._client("authorization")

    def dataprotection_for(self, subscription_id):
        """The DataProtection client for a vault that may live in another subscription than the session's."""
        return self._client("dataprotection", subscription_id)

    def _client(self, name, subscription_id=None):
        with self.azure_errors("connecting to Azure"):
            return self.session.client(name, subscription_id)

    @property
    def subscription_id(self):
        with self.azure_errors("finding the subscription"):
            return self.session.require_subscription()

    def arm_get(self, path, api_version, action=None):
        with self.azure_errors(action or "reading {0}".format(path)):
            return self.session.arm_get(path, api_version)

    def arm_list(self, path, api_version, action=None):
        """Every item of an ARM collection, all pages read."""
        with self.azure_errors(action or "listing {0}".format(path)):
            return self.session.arm_list(path, api_version)

    def vault_reference(self):
        """(subscription, resource group, name, id) of the vault the options name; a bad option fails here."""
        from ansible_collections.azbackup.dataprotection.plugins.module_utils import references

        with self.input_errors():
            references.vault_reference(self.params, "-")  # bad input fails before any request
        return references.vault_reference(self.params, self.subscription_id)

    def server_id(self, datasource, required=True):
        """The ``datasource`` server id of server_id / server_name + server_resource_group (None when not given and
        not required); a bad option fails here."""
        from ansible_collections.azbackup.dataprotection.plugins.module_utils import references

        if not required and not self.params.get("server_id") and not self.params.get("server_name"):
            return None
        with self.input_errors():
            return references.server_references(self.params, self.subscription_id, datasource)[0]

    def dataprotection_api(self, validation_wait_timeout=None):
        """The Data Protection access object of the vault the options name (its subscription may be another)."""
        from ansible_collections.azbackup.dataprotection.plugins.module_utils import dataprotection

        subscription, dummy, dummy2, vault_id = self.vault_reference()
        return dataprotection.DataProtectionApi(
            self.dataprotection_for(subscription), vault_id, self.arm_get, self.wait,
            dataprotection.assignment_lister(self.authorization),
            validation_wait_timeout or contract.DEFAULT_WAIT_TIMEOUT)

    def resource_group(self, name):
        """The resource group (dict) or a failure that says it does not exist."""
        group = self.arm_get(
            "/subscriptions/{0}/resourceGroups/{1}".format(self.subscription_id, name),
            arm.api_version(arm.RESOURCE_GROUP),
            "reading resource group {0}".format(name),
        )
        if group is None:
            self.fail("Resource group '{0}' does not exist in subscription {1}. Create it first or check "
                      "resource_group.".format(name, self.subscription_id), error_code="ResourceGroupNotFound")
        return group

    @contextlib.contextmanager
    def input_errors(self):
        """Fail the module for an input error raised inside the block: its message, the option and extra keys."""
        try:
            yield
        except contract.InputError as exc:
            self.fail(str(exc), **exc.fail_kwargs())

    @contextlib.contextmanager
    def azure_errors(self, action):
        """Fail the module with an actionable message for any Azure or input error raised inside the block."""
        try:
            yield
        except AZURE_ERRORS as exc:
            self.fail(**describe_error(exc, action, self._session))

    @property
    def waits(self):
        """(wait, timeout) of the module's ``wait`` / ``wait_timeout`` options; ``wait_timeout: 0`` = do not wait."""
        return contract.waits(self.params)

    def wait(self, poller, what, timeout=None):
        """Wait for a long-running operation, bounded by ``wait_timeout``; failures carry Azure's error.

        With ``wait_timeout: 0`` the operation is left running in Azure and None is returned.
        """
        timeout = timeout if timeout is not None else self.waits[1]
        if timeout <= 0:
            return None
        with self.azure_errors(what):
            return azure_waits.wait_for_poller(poller, timeout, what)

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    def warn(self, msg):
        self.module.warn(msg)

    def exit(self, changed, diff=None, **result):
        if diff is not None and self.module._diff:
            result["diff"] = diff
        self.module.exit_json(changed=changed, **result)


# Everything describe_error turns into a message (the SDK's typed errors, and our own configuration errors).
AZURE_ERRORS = (contract.InputError, azure_waits.WaitTimeout) + ((AzureError,) if AzureError is not None else ())


def describe_error(exc, action, session=None):
    """fail_json keyword arguments (msg, and the ARM details when there are some) for an error of AZURE_ERRORS."""
    if isinstance(exc, azure_waits.WaitTimeout):
        return {"msg": str(exc), "error_code": "WaitTimeout"}
    if isinstance(exc, contract.InputError):  # AuthConfigError, CloudConfigError, ...
        return dict(exc.fail_kwargs(), msg=str(exc))
    if isinstance(exc, ClientAuthenticationError):
        if getattr(exc, "response", None) is not None and getattr(exc, "status_code", None):
            return azure_errors.describe_http_error(exc, action)
        # azure-identity wraps a DNS, refused or TLS failure of the login endpoint in an authentication
        # error: it is a connection problem, and the credentials may be fine.
        unreachable = _connection_cause(exc)
        if unreachable is not None:
            return azure_errors.describe_connection_error(
                unreachable, action, session.cloud["login_endpoint"] if session else "the login endpoint")
        return azure_errors.describe_auth_error(
            exc, action, session.auth_description if session else "the configured credential",
            session.cloud["login_endpoint"] if session else "the login endpoint")
    if isinstance(exc, HttpResponseError):
        return azure_errors.describe_http_error(exc, action)
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        endpoint = session.cloud["resource_manager"] if session else "Azure"
        return azure_errors.describe_connection_error(
            exc, action, endpoint, dropped=isinstance(exc, ServiceResponseError))
    return {"msg": "Failed {0}: {1}: {2}".format(action, type(exc).__name__, exc)}


def _connection_cause(exc):
    """The ServiceRequestError / ServiceResponseError an exception was raised from, if any."""
    seen = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, (ServiceRequestError, ServiceResponseError)):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def read_credential_file():
    """The text of ~/.azure/credentials, or None when there is none."""
    path = os.path.expanduser(azure_auth.CREDENTIAL_FILE)
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        return handle.read()


def get_or_none(operation, *args, **kwargs):
    """The resource an SDK ``get`` returns, as a dict, or None when Azure answers 404."""
    try:
        return as_dict(operation(*args, **kwargs))
    except ResourceNotFoundError:
        return None


def as_dict(model):
    """A plain dict (wire names, camelCase) of an SDK model, a dict, or None."""
    if model is None:
        return None
    if isinstance(model, dict):
        return model
    if hasattr(model, "as_dict"):
        return model.as_dict()
    return dict(model)
