"""The ``/_emulator/`` control surface used by tests, the demo and benchmarks (loopback only, no auth)."""

import json
import re

from werkzeug.wrappers import Response

from emulator import rbac, regions, seed
from emulator.clock import iso

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
        return _json(200, {"reset": True, "now": iso(store.clock.now())})
    if name == "clock":
        return _clock(store, request)
    if name == "faults":
        return _faults(store, request)
    if name == "seed" and method == "GET":
        return _json(200, seed_document(app.settings))
    if name in ("", "health") and method == "GET":
        return _json(200, {"status": "ok", "now": iso(store.clock.now())})
    return _error(404, f"no control endpoint {method} /_emulator/{name}")


def _body(request):
    text = request.get_data(as_text=True).strip()
    if not text:
        return {}
    return json.loads(text)


def _clock(store, request):
    if request.method == "GET":
        return _json(200, {"now": iso(store.clock.now())})
    if request.method != "POST":
        return _error(405, "use GET or POST")
    try:
        body = _body(request)
    except ValueError:
        return _error(400, "body must be JSON such as {\"advance\": \"P7D\"}")
    advance = body.get("advance") if isinstance(body, dict) else None
    if not isinstance(advance, str):
        return _error(400, "body must be JSON such as {\"advance\": \"P7D\"}")
    try:
        before, after = store.advance_clock(advance)
    except ValueError as exc:
        return _error(400, str(exc))
    return _json(200, {"previous": iso(before), "now": iso(after), "advanced": advance})


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
            rules = [_validate_rule(raw, store.bump("fault_rule")) for raw in raw_rules]
            store.faults.extend(rules)
    except ValueError as exc:
        return _error(400, str(exc))
    return _json(201, rules)


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
            "blobEndpoint": f"https://{item['name']}.blob.core.{seed.DNS_SUFFIX}/",
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
