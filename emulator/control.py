"""The ``/_emulator/`` control surface used by tests, the demo and benchmarks (loopback only, no auth)."""

import json
import re
from dataclasses import replace

from werkzeug.wrappers import Response

from emulator import dataplane, rbac, regions, seed, state
from emulator.clock import iso
from emulator.dataplane import control as dataplane_control

_METHODS = {"GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "*"}


def _json(status, body):
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def _error(status, message):
    return _json(status, {"error": message})


def handle_control(app, request):
    """Dispatch ``/_emulator/<name>``."""
    if request.remote_addr not in ("127.0.0.1", "::1"):
        return _error(403, "the control surface answers loopback clients only")
    name = request.path[len("/_emulator"):].strip("/")
    method = request.method
    store = app.store
    if name == "requests" and method == "GET":
        since = request.args.get("since", type=int, default=0)
        with store.lock:
            return _json(200, [entry for entry in store.request_log if entry["seq"] > since])
    if name == "reset" and method == "POST":
        store.reset()
        _apply_settings(app, app.startup_settings)
        return _json(200, {"reset": True, "now": iso(store.clock.now())})
    if name == "settings":
        return _settings(app, request)
    if name == "clock":
        return _clock(store, request)
    if name == "faults":
        return _faults(store, request)
    if name == "holds" or name.startswith("holds/"):
        return _holds(store, request, name[len("holds/"):] if "/" in name else None)
    if name == "seed" and method == "GET":
        return _json(200, seed_document(app.settings))
    answer = dataplane_control.handle(app, name, request)
    if answer is not None:
        return answer
    if name in ("", "health") and method == "GET":
        return _json(200, {"status": "ok", "now": iso(store.clock.now())})
    return _error(404, f"no control endpoint {method} /_emulator/{name}")


def _body(request):
    text = request.get_data(as_text=True).strip()
    if not text:
        return {}
    return json.loads(text)


def _object_body(request):
    """The body as a JSON object ({} when empty), or None when it is not one."""
    try:
        body = _body(request)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _clock(store, request):
    if request.method == "GET":
        return _json(200, {"now": iso(store.clock.now())})
    if request.method != "POST":
        return _error(405, "use GET or POST")
    body = _object_body(request)
    advance = body.get("advance") if body else None
    if not isinstance(advance, str):
        return _error(400, "body must be JSON such as {\"advance\": \"P7D\"}")
    try:
        before, after = store.advance_clock(advance)
    except ValueError as exc:
        return _error(400, str(exc))
    return _json(200, {"previous": iso(before), "now": iso(after), "advanced": advance})


# Run-time settings (additive to the contract): how long things take, in real seconds, and switches.
_TUNABLE = ("lro_seconds", "propagation_seconds", "protection_seconds", "job_seconds", "no_retry_after",
            "arm_limits")
_SWITCHES = ("no_retry_after", "arm_limits")


def _settings_body(settings):
    return {name: getattr(settings, name) for name in _TUNABLE} | {"latency_ms": settings.latency_ms}


def _apply_settings(app, settings):
    limits_changed = settings.arm_limits != app.store.settings.arm_limits
    app.settings = settings
    app.store.settings = settings
    if limits_changed:  # full buckets when the limits are switched on
        app.store.arm_limits = state.arm_limits(settings)


def _settings(app, request):
    """``GET /_emulator/settings``; ``POST`` with any of _TUNABLE (seconds >= 0; null = as --lro-seconds)."""
    if request.method == "GET":
        return _json(200, _settings_body(app.settings))
    if request.method != "POST":
        return _error(405, "use GET or POST")
    body = _object_body(request)
    if not body:
        return _error(400, "body must be a JSON object such as {\"propagation_seconds\": 5}")
    unknown = sorted(set(body) - set(_TUNABLE))
    if unknown:
        return _error(400, f"unknown settings {unknown}; known: {list(_TUNABLE)}")
    for key, value in body.items():
        if key in _SWITCHES:
            if not isinstance(value, bool):
                return _error(400, f"{key} must be true or false")
            continue
        nullable = key in ("protection_seconds", "job_seconds")
        if value is None and nullable:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            return _error(400, f"{key} must be a number of seconds >= 0" + (" or null" if nullable else ""))
    with app.store.lock:
        _apply_settings(app, replace(app.settings, **{
            key: value if key in _SWITCHES or value is None else float(value) for key, value in body.items()}))
    return _json(200, _settings_body(app.settings))


def _validate_job_failure(raw, next_id):
    """``{"job_failure": {"code", "message", "recommended_action", "count", "instance_regex"}}``: the next
    ``count`` backup jobs (ad hoc or scheduled; of instances whose name matches ``instance_regex``) fail."""
    if set(raw) != {"job_failure"} or not isinstance(raw["job_failure"], dict):
        raise ValueError("a job failure rule is {\"job_failure\": {\"code\": ..., \"message\": ..., \"count\": 1}}")
    spec = raw["job_failure"]
    unknown = set(spec) - {"code", "message", "recommended_action", "count", "instance_regex"}
    if unknown:
        raise ValueError(f"unknown job_failure keys: {sorted(unknown)}")
    count = spec.get("count", 1)
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError("job_failure.count must be a positive integer, or null for a rule that never runs out")
    pattern = spec.get("instance_regex") or ""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"job_failure.instance_regex does not compile: {exc}") from exc
    for key in ("code", "message", "recommended_action"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise ValueError(f"job_failure.{key} must be a string")
    # "method": "JOB" never matches an HTTP method, so ARM requests never consume this rule.
    return {"id": next_id, "kind": "job_failure", "method": "JOB", "path_regex": "", "status": None, "drop": False,
            "retry_after": None, "count": count, "remaining": count, "code": spec.get("code"),
            "message": spec.get("message"), "recommended_action": spec.get("recommended_action"),
            "instance_regex": pattern}


def _validate_rule(raw, next_id):
    """A normalised fault rule, or ValueError naming what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("a fault rule is a JSON object")
    unknown = set(raw) - {"method", "path_regex", "status", "retry_after", "count", "drop", "code", "message"}
    if unknown:
        raise ValueError(f"unknown fault rule keys: {sorted(unknown)}")
    method = str(raw.get("method") or "*").upper()
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}")
    path_regex = raw.get("path_regex") or ""
    try:
        re.compile(path_regex)
    except re.error as exc:
        raise ValueError(f"path_regex does not compile: {exc}") from exc
    drop = bool(raw.get("drop")) or raw.get("status") == "drop"
    status = "drop" if drop else raw.get("status")
    if not drop and (not isinstance(status, int) or not 400 <= status <= 599):
        raise ValueError("status must be an HTTP error code 400-599, or \"drop\" (or set \"drop\": true)")
    count = raw.get("count", 1)
    if count is not None and (not isinstance(count, int) or count < 1):
        raise ValueError("count must be a positive integer, or null for a rule that never runs out")
    retry_after = raw.get("retry_after")
    if retry_after is not None and (not isinstance(retry_after, int) or retry_after < 0):
        raise ValueError("retry_after must be a non-negative integer (seconds)")
    return {"id": next_id, "method": method, "path_regex": path_regex, "status": status, "drop": drop,
            "retry_after": retry_after, "count": count, "remaining": count,
            "code": raw.get("code"), "message": raw.get("message")}


def _faults(store, request):
    if request.method == "GET":
        with store.lock:
            return _json(200, list(store.faults))
    if request.method == "DELETE":
        with store.lock:
            removed = len(store.faults)
            store.faults.clear()
        return _json(200, {"removed": removed})
    if request.method != "POST":
        return _error(405, "use GET, POST or DELETE")
    try:
        body = _body(request)
        raw_rules = body if isinstance(body, list) else [body]
        with store.lock:
            rules = [(_validate_job_failure if isinstance(raw, dict) and "job_failure" in raw else _validate_rule)(
                raw, store.bump("fault_rule")) for raw in raw_rules]
            store.faults.extend(rules)
    except ValueError as exc:
        return _error(400, str(exc))
    return _json(201, rules)


def _holds(store, request, hold_id):
    """``POST holds {"kind_regex", "path_regex"}``: matching operations (and the jobs they run) stay in progress
    until ``DELETE holds[/<id>]``; ``GET holds``: the holds and the operations they keep running."""
    if request.method == "GET" and hold_id is None:
        with store.lock:
            held = [{"id": op.op_id, "kind": op.kind, "resourceId": op.resource_id}
                    for op in store.operations.operations.values() if op.running and store.operations.is_held(op)]
            return _json(200, {"holds": list(store.operations.holds), "held": held})
    if request.method == "DELETE":
        with store.lock:
            released = store.operations.release(hold_id)
            store.operations.settle()
        if hold_id is not None and not released:
            return _error(404, f"no hold {hold_id}")
        return _json(200, {"released": released})
    if request.method != "POST" or hold_id is not None:
        return _error(405, "use GET, POST or DELETE on /_emulator/holds, DELETE on /_emulator/holds/<id>")
    body = _object_body(request)
    if body is None or set(body) - {"kind_regex", "path_regex"}:
        return _error(400, "body must be JSON such as {\"kind_regex\": \"^backupJobs/run$\", \"path_regex\": "
                           "\"bi-orders\"}")
    for key in ("kind_regex", "path_regex"):
        if not isinstance(body.get(key, ""), str):
            return _error(400, f"{key} must be a string")
        try:
            re.compile(body.get(key, ""))
        except re.error as exc:
            return _error(400, f"{key} does not compile: {exc}")
    with store.lock:
        hold = store.operations.hold(str(store.bump("hold")), body.get("kind_regex", ""), body.get("path_regex", ""))
    return _json(201, hold)


def _roles_of(principal_id):
    names = {guid: definition["roleName"] for guid, definition in rbac.ROLE_DEFINITIONS.items()}
    return [{"role": names.get(role, role), "roleDefinitionId": role, "scope": scope}
            for principal, role, scope in seed.ROLE_ASSIGNMENTS if principal == principal_id]


def seed_document(settings):
    """Everything seeded, with ids, regions and principals, for tests and the demo."""
    default = seed.SUBSCRIPTION_ID
    return {
        "tenant": {"id": seed.TENANT_ID, "domain": seed.TENANT_DOMAIN},
        "audience": seed.AUDIENCE,
        "subscriptions": [dict(item, id=f"/subscriptions/{item['subscriptionId']}",
                               default=item["subscriptionId"] == default) for item in seed.SUBSCRIPTIONS],
        "principals": [{"name": item["name"], "clientId": item["clientId"], "objectId": item["objectId"],
                        "secret": item["secret"], "envFile": item["env_file"], "description": item["description"],
                        "roles": _roles_of(item["objectId"])} for item in seed.PRINCIPALS],
        "users": [{"name": item["name"], "userPrincipalName": item["userPrincipalName"], "objectId": item["objectId"],
                   "password": item["password"], "envFile": item["env_file"], "description": item["description"],
                   "roles": _roles_of(item["objectId"])} for item in seed.USERS],
        "resourceGroups": [dict(item, id=f"/subscriptions/{item['subscriptionId']}/resourceGroups/{item['name']}")
                           for item in seed.RESOURCE_GROUPS],
        "postgresServers": [{
            "id": seed.arm_id(item["subscriptionId"], item["resourceGroup"],
                              "Microsoft.DBforPostgreSQL/flexibleServers", item["name"]),
            "name": item["name"], "subscriptionId": item["subscriptionId"], "resourceGroup": item["resourceGroup"],
            "location": item["location"], "storageSizeGB": item["storageSizeGB"], "version": item["version"],
            "sku": {"name": item["sku"][0], "tier": item["sku"][1]},
            "publicNetworkAccess": item.get("publicNetworkAccess", "Enabled"),
            "customerManagedKey": bool(item.get("customerManagedKey")),
            "overOneTerabyte": item["storageSizeGB"] > 1024,
        } for item in seed.POSTGRES_SERVERS],
        "storageAccounts": [{
            "id": seed.arm_id(item["subscriptionId"], item["resourceGroup"], "Microsoft.Storage/storageAccounts",
                              item["name"]),
            "name": item["name"], "subscriptionId": item["subscriptionId"], "resourceGroup": item["resourceGroup"],
            "location": item["location"], "sku": item["sku"],
            "blobEndpoint": (dataplane.ACTIVE.azurite.endpoint(item["name"]) if dataplane.ACTIVE
                             else f"https://{item['name']}.blob.core.{seed.DNS_SUFFIX}/"),
        } for item in seed.STORAGE_ACCOUNTS],
        "userAssignedIdentities": [{
            "id": seed.arm_id(item["subscriptionId"], item["resourceGroup"],
                              "Microsoft.ManagedIdentity/userAssignedIdentities", item["name"]),
            "name": item["name"], "subscriptionId": item["subscriptionId"], "resourceGroup": item["resourceGroup"],
            "location": item["location"], "principalId": item["principalId"], "clientId": item["clientId"],
            "roles": _roles_of(item["principalId"]),
        } for item in seed.USER_ASSIGNED_IDENTITIES],
        "roleDefinitions": {definition["roleName"]: guid for guid, definition in rbac.ROLE_DEFINITIONS.items()},
        "regions": sorted(regions.REGIONS),
        "settings": {"lroSeconds": settings.lro_seconds, "latencyMs": settings.latency_ms,
                     "propagationSeconds": settings.propagation_seconds},
    }
