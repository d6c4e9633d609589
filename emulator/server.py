"""The WSGI application and the HTTPS server.

Every ARM request goes through the same pipeline, in ARM's order: latency, injected faults, bearer
token (401), api-version present and well formed (400), route (404/405), subscription (400/404),
api-version supported by the provider (400), RBAC for the route's action at the request scope (403),
then the resource module's handler. Each ARM request and its answer is appended to the request log.
Identity endpoints (metadata, OpenID, token) and the ``/_emulator/`` control surface bypass all that.
"""

import json
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from emulator import api_versions, control, dataplane, identity, rbac, registry, seed, throttling, tls
from emulator.arm import ArmError, ArmRequest, ArmResponse, find_resource_group
from emulator.state import Store

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_LOGGED_REQUEST_HEADERS = ("Content-Type", "User-Agent", "x-ms-client-request-id", "x-ms-correlation-request-id",
                           "If-Match", "If-None-Match", "x-ms-authorization-auxiliary")
# What the remaining-budget headers say without --arm-limits (Azure's figures of old, never running out).
_UNLIMITED = {throttling.READS: (throttling.READS, 11999), throttling.WRITES: (throttling.WRITES, 1199),
              throttling.DELETES: (throttling.DELETES, 14999)}


class DroppedConnection(ConnectionAbortedError):
    """Raised after a fault rule closed the socket; Werkzeug treats ConnectionError as a dropped client."""


def build_arm_map():
    """The Werkzeug map of every registered ARM route, and the canonical spelling of its static segments."""
    registry.load_resource_modules()
    rules = []
    keywords = {}
    for index, item in enumerate(registry.REGISTRY.routes):
        rules.append(Rule(item.rule, endpoint=index, methods=list(item.methods)))
        for segment in item.rule.split("/"):
            if segment and "<" not in segment:
                keywords.setdefault(segment.lower(), segment)
    return Map(rules, strict_slashes=False, merge_slashes=False), keywords


class EmulatorApp:
    """WSGI entry point; holds the store, the token issuer and the route map."""

    def __init__(self, settings, store=None):
        self.settings = settings
        self.startup_settings = settings  # what POST /_emulator/reset restores
        self.arm_map, self.keywords = build_arm_map()
        self.store = store or Store(settings)
        self.tokens = identity.TokenIssuer()
        self.audiences = [seed.AUDIENCE, seed.AUDIENCE.rstrip("/")]
        self.store.reset()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except DroppedConnection:
            raise
        except Exception:  # pylint: disable=broad-exception-caught
            # The one top-level guard: a bug in a handler must answer like ARM's 500 (and be logged like any
            # ARM answer), not kill the thread with an HTML page; the traceback goes to stderr for the tests.
            traceback.print_exc(file=sys.stderr)
            body = {"error": {"code": "InternalServerError",
                              "message": "The emulator hit an internal error; see its stderr for the traceback."}}
            response = _json_response(500, body)
            entry = environ.get("emulator.log_entry")
            if entry is not None and entry["seq"] is None:
                entry.update(status=500, response_body=body, response_headers=dict(response.headers))
                self._append_log(entry, environ["emulator.started"])
        return response(environ, start_response)

    def dispatch(self, request):
        if request.path.startswith("/_emulator"):
            return control.handle_control(self, request)
        base_url = request.host_url.rstrip("/")
        answer = identity.handle_identity(self.store, self.tokens, base_url, request)
        if answer is not None:
            return answer
        return self.handle_arm(request, base_url)

    # ------------------------------------------------------------------------------------------- ARM calls

    def handle_arm(self, request, base_url):
        started = time.monotonic()
        if self.settings.latency_ms > 0:
            time.sleep(self.settings.latency_ms / 1000.0)
        raw_body = request.get_data(cache=True)
        request_id = str(uuid.uuid4())
        entry = self._log_entry(request, raw_body)
        request.environ["emulator.log_entry"] = entry
        request.environ["emulator.started"] = started
        fault = self._take_fault(request.method, request.path)
        if fault is not None and _is_drop(fault):
            entry.update(status=None, dropped=True, fault=fault["id"], response_body=None, response_headers={})
            self._append_log(entry, started)
            _drop_connection(request.environ)
            raise DroppedConnection("connection dropped by an emulator fault rule")
        if fault is not None:
            answer = _fault_response(fault, request.method, request.path)
            entry["fault"] = fault["id"]
        else:
            with self.store.lock:
                self.store.operations.settle()
                answer, caller = self._process(request, raw_body, base_url)
            entry["principal"] = caller.object_id if caller else None
            entry["client_id"] = caller.client_id if caller else None
        headers = self._arm_headers(request, request_id, answer)
        # Serialise now: handlers may return live store objects, and the log must keep what was sent.
        payload = b"" if answer.body is None or request.method == "HEAD" else json.dumps(answer.body).encode()
        entry.update(status=answer.status, response_body=json.loads(payload) if payload else None,
                     response_headers=headers)
        self._append_log(entry, started)
        return _build_response(answer.status, payload, headers)

    def _process(self, request, raw_body, base_url):
        """Authenticate, validate, route, authorize and run the handler; returns (ArmResponse, caller)."""
        caller = None
        try:
            caller = self.tokens.verify(self.store, request.headers.get("Authorization"), self.audiences)
            version = request.args.get("api-version")
            path = self._canonical_path(request.path)
            route, values = self._match(path, request.method)
            api_versions.check_present_and_well_formed(route.provider, version)
            self._check_subscription(path)
            self._admit(request, path, caller)
            api_versions.check_supported(route.provider, version, _resource_type(path, route.provider),
                                         self._location_hint(values, raw_body))
            arm_request = ArmRequest(method=request.method, path=path.rstrip("/") or "/",
                                     query=request.args.to_dict(flat=True), values=values, base_url=base_url,
                                     api_version=version, caller=caller, store=self.store, settings=self.settings,
                                     raw_body=raw_body)
            self._authorize(route, arm_request)
            answer = route.handler(arm_request)
            if not isinstance(answer, ArmResponse):
                raise TypeError(f"handler {route.handler.__name__} returned {type(answer).__name__}")
            return answer, caller
        except ArmError as error:
            return ArmResponse(error.status, error.body(), dict(error.headers)), caller

    def _admit(self, request, path, caller):
        """ARM's request limits (--arm-limits): a token from the caller's and the subscription's buckets, or 429."""
        limits = self.store.arm_limits
        if limits is None:
            return
        parts = path.strip("/").split("/")
        subscription = parts[1] if len(parts) > 1 and parts[0] == "subscriptions" else None
        kind, remaining, retry_after = limits.admit(subscription, caller.object_id, request.method)
        request.environ["emulator.ratelimit"] = (kind, remaining)
        if retry_after is not None:
            raise ArmError(429, "SubscriptionRequestsThrottled",
                           throttling.throttled_message(kind, path, retry_after),
                           headers={"Retry-After": str(retry_after)})

    def _canonical_path(self, path):
        """ARM paths are case-insensitive: give known static segments their registered spelling."""
        return "/".join(self.keywords.get(part.lower(), part) for part in path.split("/"))

    def _match(self, path, method):
        adapter = self.arm_map.bind("emulator", path_info=path, url_scheme="https")
        try:
            endpoint, values = adapter.match(method=method)
        except MethodNotAllowed as exc:
            raise ArmError(405, "MethodNotAllowed",
                           f"The requested resource does not support http method '{method}'.") from exc
        except NotFound as exc:
            raise ArmError(404, "InvalidResourceType",
                           f"The resource type could not be found for the request path '{path}'.") from exc
        return registry.REGISTRY.routes[endpoint], values

    @staticmethod
    def _check_subscription(path):
        """400/404 for a malformed or unknown subscription anywhere ARM would look for one (path prefix)."""
        parts = path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != "subscriptions":
            return
        subscription = parts[1]
        if not _GUID.match(subscription):
            raise ArmError(400, "InvalidSubscriptionId",
                           f"The provided subscription identifier '{subscription}' is malformed or invalid.")
        if subscription.lower() not in {item["subscriptionId"] for item in seed.SUBSCRIPTIONS}:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found.")

    def _location_hint(self, values, raw_body):
        """The location ARM names in NoRegisteredProviderFound: the body's, else the resource group's."""
        try:
            body = json.loads(raw_body or b"null")
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("location"), str):
            return body["location"]
        if values.get("subscription") and values.get("resource_group"):
            group = find_resource_group(self.store, values["subscription"], values["resource_group"])
            if group:
                return group["location"]
        return "global"

    def _authorize(self, route, arm_request):
        if not route.action:
            return
        scope = route.scope(arm_request) if route.scope else arm_request.path
        caller = arm_request.caller
        if not rbac.is_allowed(self.store, caller.object_id, route.action, scope):
            raise ArmError(403, "AuthorizationFailed",
                           f"The client '{caller.object_id}' with object id '{caller.object_id}' does not have "
                           f"authorization to perform action '{route.action}' over scope '{scope}' or the scope is "
                           "invalid. If access was recently granted, please refresh your credentials.",
                           headers={"x-ms-failure-cause": "gateway"})

    def _arm_headers(self, request, request_id, answer):
        """ARM's common response headers plus the handler's own (Location, Azure-AsyncOperation, ...)."""
        now = datetime.now(timezone.utc)
        kind, remaining = request.environ.get("emulator.ratelimit") or _UNLIMITED[throttling.kind_of(request.method)]
        headers = {
            "Cache-Control": "no-cache",
            "Pragma": "no-cache",
            "Expires": "-1",
            "x-ms-request-id": request_id,
            "x-ms-correlation-request-id": request.headers.get("x-ms-correlation-request-id", request_id),
            "x-ms-routing-request-id": f"EASTUS:{now:%Y%m%dT%H%M%SZ}:{request_id}",
            "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
            "X-Content-Type-Options": "nosniff",
            throttling.remaining_header(kind): str(remaining),
        }
        headers.update(answer.headers)
        if answer.body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        return headers

    # ---------------------------------------------------------------------------------------- log, faults

    def _log_entry(self, request, raw_body):
        query = {key: values[0] if len(values) == 1 else values
                 for key, values in request.args.to_dict(flat=False).items()}
        return {
            "seq": None,
            "time": datetime.now(timezone.utc).isoformat(),
            "method": request.method,
            "path": request.path,
            "query": query,
            "status": None,
            "principal": None,
            "client_id": None,
            "request_headers": {name: request.headers[name] for name in _LOGGED_REQUEST_HEADERS
                                if name in request.headers},
            "request_body": _parse_json(raw_body),
            "response_body": None,
            "response_headers": {},
            "fault": None,
            "dropped": False,
        }

    def _append_log(self, entry, started):
        entry["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        with self.store.lock:
            entry["seq"] = self.store.next_seq()
            self.store.request_log.append(entry)

    def _take_fault(self, method, path):
        """The first fault rule matching this request (its count decremented), or None."""
        with self.store.lock:
            for rule in list(self.store.faults):
                if rule["method"] not in ("*", method.upper()):
                    continue
                if rule["path_regex"] and not re.search(rule["path_regex"], path):
                    continue
                if rule["remaining"] is not None:
                    rule["remaining"] -= 1
                    if rule["remaining"] <= 0:
                        self.store.faults.remove(rule)
                return dict(rule)
        return None


def _is_drop(rule):
    return rule.get("drop") or rule.get("status") == "drop"


def _drop_connection(environ):
    """Close the client's socket without any HTTP answer (the client sees a reset/EOF)."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _fault_response(rule, method, path):
    """ARM-shaped answer for an injected fault (throttling, internal error, unavailable...)."""
    status = int(rule["status"])
    headers = {}
    if rule.get("retry_after") is not None:
        headers["Retry-After"] = str(rule["retry_after"])
    if status == 429:
        headers.setdefault("Retry-After", "1")
        kind = "read" if method.upper() in ("GET", "HEAD") else "write"
        code = rule.get("code") or "SubscriptionRequestsThrottled"
        message = rule.get("message") or (
            f"Number of '{kind}' requests for subscription exceeded the limit for path '{path}'. Please try again "
            f"after '{headers['Retry-After']}' seconds after additional tokens are available. Refer to "
            "https://aka.ms/throttling for additional information.")
    elif status == 500:
        code = rule.get("code") or "InternalServerError"
        message = rule.get("message") or (f"Encountered internal server error. Diagnostic information: timestamp "
                                          f"'{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}', tracking id "
                                          f"'{uuid.uuid4()}'.")
    elif status == 503:
        code = rule.get("code") or "ServiceUnavailable"
        message = rule.get("message") or "The server (leader) is currently unable to handle this request. " \
                                         "Please retry later."
    else:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        code = rule.get("code") or phrase.replace(" ", "")
        message = rule.get("message") or f"Injected fault: {status} {phrase}."
    return ArmResponse(status, {"error": {"code": code, "message": message}}, headers)


def _resource_type(path, provider):
    """The resource type named after ``providers/{namespace}/`` in a path, for error messages."""
    parts = path.strip("/").split("/")
    for index, part in enumerate(parts[:-1]):
        if part.lower() == "providers" and parts[index + 1].lower() == provider.lower() and index + 2 < len(parts):
            return parts[index + 2]
    return provider


def _parse_json(raw):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _json_response(status, body, headers=None):
    response = Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _build_response(status, payload, headers):
    response = Response(payload, status=status)
    response.headers.clear()
    for name, value in headers.items():
        response.headers[name] = str(value)
    return response


# ------------------------------------------------------------------------------------------- the server


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without one log line per request (the request log has them)."""

    def log_request(self, code="-", size="-"):
        return None


def env_files(base_url, state_dir):
    """The contents of each principal's and user's env file (shell ``export`` lines)."""
    after = {"AZURE_SUBSCRIPTION_ID": seed.SUBSCRIPTION_ID,
             "REQUESTS_CA_BUNDLE": str(Path(state_dir).resolve() / "ca-bundle.pem"), "EMULATOR_URL": base_url}
    credentials = [(principal, {"AZURE_CLIENT_ID": principal["clientId"], "AZURE_SECRET": principal["secret"],
                                "AZURE_TENANT": seed.TENANT_ID}) for principal in seed.PRINCIPALS]
    # What AWX's "Microsoft Azure Resource Manager" credential injects for a user name and password: no tenant.
    credentials += [(user, {"AZURE_AD_USER": user["userPrincipalName"], "AZURE_PASSWORD": user["password"]})
                    for user in seed.USERS]
    files = {}
    for owner, values in credentials:
        lines = [f"# {owner['name']}: {owner['description']}"]
        values = dict({"AZURE_CLOUD_ENVIRONMENT": base_url}, **values, **after)
        lines += [f"export {name}='{value}'" for name, value in values.items()]
        files[owner["env_file"]] = "\n".join(lines) + "\n"
    return files


def _write_atomic(path, text):
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def _remove_env_files(state_dir):
    for principal in seed.PRINCIPALS + seed.USERS:
        try:
            (Path(state_dir) / principal["env_file"]).unlink()
        except FileNotFoundError:
            pass


def serve(settings):
    """Run until SIGTERM/SIGINT. Writes the env files once the port is bound and the store is seeded."""
    state_dir = Path(settings.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    _remove_env_files(state_dir)
    ssl_context = tls.create_tls_files(state_dir)
    if settings.data_plane:
        print("emulator: starting the data plane (PostgreSQL, Azurite)", file=sys.stderr, flush=True)
        try:
            dataplane.start(state_dir, [item["name"] for item in seed.STORAGE_ACCOUNTS], state_dir / "ca-bundle.pem")
        except dataplane.DataPlaneError as exc:
            print(f"emulator: the data plane did not start: {exc}", file=sys.stderr, flush=True)
            return 1
    try:
        return _serve(settings, state_dir, ssl_context)
    finally:
        dataplane.stop()


def _serve(settings, state_dir, ssl_context):
    app = EmulatorApp(settings)
    server = make_server("127.0.0.1", settings.port, app, threaded=True, ssl_context=ssl_context,
                         request_handler=_QuietHandler)
    server.daemon_threads = True
    base_url = f"https://127.0.0.1:{server.server_port}"

    def stop(signum, _frame):
        print(f"emulator: signal {signum}, stopping", file=sys.stderr, flush=True)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # env.sh last: waiting for it (the readiness signal of the contract) means every env file is there.
    for name, text in sorted(env_files(base_url, state_dir).items(), key=lambda item: item[0] == "env.sh"):
        _write_atomic(state_dir / name, text)
    print(f"emulator: listening on {base_url} (state in {state_dir})", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        _remove_env_files(state_dir)
    return 0
