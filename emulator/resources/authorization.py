"""Microsoft.Authorization: role definitions (built-in), role assignments and the caller's permissions.

Shapes follow authorization 2022-04-01 and its examples. A role assignment applies at its scope and
below (see ``rbac``); listing without a filter returns assignments at, above and below the scope,
``atScope()`` only those at or above it. Writes need ``roleAssignments/write`` at the assignment's own id
(the generic RBAC check in the server), so Contributor gets 403 AuthorizationFailed as in Azure.
"""

import re
import time

from emulator import identity, rbac, registry, seed
from emulator.arm import ArmError, json_response, require_resource_group
from emulator.clock import iso

PROVIDER = "Microsoft.Authorization"
TABLE = "roleAssignments"
SEEDED_ON = "2025-01-15T08:00:00.0000000Z"
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SCOPE = re.compile(r"^/subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/(?P<rg>[^/]+)(?:/providers/.+)?)?$",
                    re.IGNORECASE)

ASSIGNMENT_RULE = "/<path:scope>/providers/Microsoft.Authorization/roleAssignments"
DEFINITION_RULE = "/<path:scope>/providers/Microsoft.Authorization/roleDefinitions"
DEFINITION_READ = "Microsoft.Authorization/roleDefinitions/read"


# ----------------------------------------------------------------------------------------- helpers


def _scope_of(request):
    """The scope path of a scoped Microsoft.Authorization call, validated like ARM (subscription, group)."""
    return check_scope(request.store, "/" + request.values.get("scope", "").strip("/"))


def check_scope(store, scope):
    """(scope, subscription) of a subscription, resource group or resource scope; ARM's 400/404 otherwise."""
    match = _SCOPE.match(scope)
    if not match:
        raise ArmError(400, "InvalidScope", f"The scope '{scope}' is not valid for this emulator: use a subscription, "
                       "resource group or resource scope.")
    subscription = match.group("sub")
    if subscription.lower() not in {item["subscriptionId"] for item in seed.SUBSCRIPTIONS}:
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found.")
    if match.group("rg"):
        require_resource_group(store, subscription, match.group("rg"))
    return scope, subscription


def _assignment_body(record):
    return {
        "properties": {
            "roleDefinitionId": rbac.role_definition_id(record["roleDefinitionGuid"], record["subscriptionId"]),
            "principalId": record["principalId"],
            "principalType": record["principalType"],
            "scope": record["scope"],
            "condition": record["condition"],
            "conditionVersion": record["conditionVersion"],
            "createdOn": record["createdOn"],
            "updatedOn": record["updatedOn"],
            "createdBy": record["createdBy"],
            "updatedBy": record["updatedBy"],
            "delegatedManagedIdentityResourceId": None,
            "description": record["description"],
        },
        "id": record["id"],
        "type": "Microsoft.Authorization/roleAssignments",
        "name": record["name"],
    }


def add_assignment(store, scope, name, role_guid, principal_id, principal_type, created_by=None, created_on=None,
                   created_monotonic=None, description=None):
    """Store a role assignment (no checks); returns the record."""
    subscription = scope.split("/")[2]
    assignment_id = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    stamp = created_on or iso(store.clock.now())
    record = {
        "id": assignment_id, "name": name, "scope": scope, "subscriptionId": subscription,
        "roleDefinitionGuid": role_guid, "principalId": principal_id, "principalType": principal_type,
        "condition": None, "conditionVersion": None, "description": description,
        "createdOn": stamp, "updatedOn": stamp, "createdBy": created_by, "updatedBy": created_by,
        "_created_monotonic": time.monotonic() if created_monotonic is None else created_monotonic,
    }
    store.table(TABLE)[assignment_id.lower()] = record
    return record


@registry.seeder(order=40)
def seed_assignments(store):
    users = {user["objectId"] for user in seed.USERS}
    for principal_id, role_guid, scope in seed.ROLE_ASSIGNMENTS:
        add_assignment(store, scope, seed.derived_guid("seed-assignment", scope, principal_id, role_guid), role_guid,
                       principal_id, "User" if principal_id in users else "ServicePrincipal", created_on=SEEDED_ON,
                       created_monotonic=float("-inf"))


# ---------------------------------------------------------------------------------------- role definitions


def _get_definition(request, subscription):
    guid = (request.values.get("role_id") or "").lower()
    if guid not in rbac.ROLE_DEFINITIONS:
        raise ArmError(404, "RoleDefinitionDoesNotExist",
                       f"The specified role definition with ID '{request.values.get('role_id')}' does not exist.")
    return json_response(200, rbac.role_definition_resource(guid, subscription))


_ROLE_NAME_FILTER = re.compile(r"^\s*roleName\s+eq\s+'(?P<value>.*)'\s*$", re.IGNORECASE)
_TYPE_FILTER = re.compile(r"^\s*type\s+eq\s+'(?P<value>.*)'\s*$", re.IGNORECASE)


def _list_definitions(request, subscription):
    text = request.query.get("$filter", "")
    guids = list(rbac.ROLE_DEFINITIONS)
    if text:
        by_name = _ROLE_NAME_FILTER.match(text)
        by_type = _TYPE_FILTER.match(text)
        if by_name:
            wanted = by_name.group("value").replace("''", "'").lower()
            guids = [guid for guid in guids if rbac.ROLE_DEFINITIONS[guid]["roleName"].lower() == wanted]
        elif by_type:
            wanted = by_type.group("value").lower()
            guids = [guid for guid in guids if rbac.ROLE_DEFINITIONS[guid]["type"].lower() == wanted]
        elif text.strip().lower() != "atscopeandbelow()":
            raise ArmError(400, "UnsupportedQuery", f"The filter '{text}' is not supported. Use roleName eq '...' or "
                           "type eq 'BuiltInRole'.")
    return json_response(200, {"value": [rbac.role_definition_resource(guid, subscription) for guid in guids]})


def _definition_subscription(request):
    """The subscription a role definition is read in: the scope's, or none at the root (``/providers/...``)."""
    return _scope_of(request)[1] if "scope" in request.values else None


@registry.route(f"{DEFINITION_RULE}/<role_id>", ["GET"], action=DEFINITION_READ, provider=PROVIDER)
@registry.route("/providers/Microsoft.Authorization/roleDefinitions/<role_id>", ["GET"], action="", provider=PROVIDER)
def get_role_definition(request):
    return _get_definition(request, _definition_subscription(request))


@registry.route(DEFINITION_RULE, ["GET"], action=DEFINITION_READ, provider=PROVIDER)
@registry.route("/providers/Microsoft.Authorization/roleDefinitions", ["GET"], action="", provider=PROVIDER)
def list_role_definitions(request):
    return _list_definitions(request, _definition_subscription(request))


# --------------------------------------------------------------------------------------- role assignments


def _validate_name(name):
    if not _GUID.match(name or ""):
        raise ArmError(400, "InvalidRoleAssignmentId", f"The role assignment ID '{name}' is not valid. The role "
                       "assignment ID must be a GUID.")


@registry.route(f"{ASSIGNMENT_RULE}/<name>", ["PUT"], action="Microsoft.Authorization/roleAssignments/write",
                provider=PROVIDER)
def create_role_assignment(request):
    scope, _subscription = _scope_of(request)
    return put_assignment(request.store, request.caller, scope, request.values["name"], request.json_object())


def put_assignment(store, caller, scope, name, body):
    """Create (201) or confirm (200) a role assignment as ``caller``; ARM's 400/409 for what it refuses. The caller's
    ``roleAssignments/write`` is checked by whoever calls (the route's RBAC check, or a deployment)."""
    _validate_name(name)
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "
                       "'Required property 'properties' not found in JSON.'")
    requested_role = properties.get("roleDefinitionId")
    role_guid = rbac.role_guid(requested_role) if isinstance(requested_role, str) else None
    if role_guid is None or role_guid not in rbac.ROLE_DEFINITIONS:
        raise ArmError(400, "RoleDefinitionDoesNotExist", "The specified role definition with ID "
                       f"'{properties.get('roleDefinitionId')}' does not exist.")
    principal_id = properties.get("principalId")
    principal = identity.find_principal(store, principal_id if isinstance(principal_id, str) else None)
    if principal is None:
        raise ArmError(400, "PrincipalNotFound", f"Principal {principal_id} does not exist in the directory "
                       f"{seed.TENANT_ID}. Check that you have the correct principal ID. If you are creating this "
                       "principal and then immediately assigning a role, this error might be related to a replication "
                       "delay. In this case, set the role assignment principalType property to a value, such as "
                       "ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype")
    principal_type = properties.get("principalType")
    if principal_type is not None and principal_type not in PRINCIPAL_TYPES:
        raise ArmError(400, "InvalidPrincipalType", f"The principal type '{principal_type}' is not valid. Valid "
                       f"values are {', '.join(PRINCIPAL_TYPES)}.")
    if principal_type is not None and principal_type != principal["principalType"]:
        raise ArmError(400, "UnmatchedPrincipalType", f"The PrincipalId '{principal_id}' has type "
                       f"'{principal['principalType']}' , which is different from specified PrincipalType "
                       f"'{principal_type}'.")
    table = store.table(TABLE)
    assignment_id = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    existing = table.get(assignment_id.lower())
    if existing is not None:
        if (existing["principalId"].lower() != principal["objectId"].lower()
                or existing["roleDefinitionGuid"] != role_guid):
            raise ArmError(400, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and "
                           "scope are not allowed to be updated.")
        return json_response(200, _assignment_body(existing))
    for record in table.values():
        if (record["scope"].lower() == scope.lower() and record["principalId"].lower() == principal["objectId"].lower()
                and record["roleDefinitionGuid"] == role_guid):
            raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
    _check_assignment_limit(store, scope)
    description = properties.get("description") if isinstance(properties.get("description"), str) else None
    record = add_assignment(store, scope, name.lower(), role_guid, principal["objectId"],
                            principal["principalType"], created_by=caller.object_id, description=description)
    return json_response(201, _assignment_body(record))


def _check_assignment_limit(store, scope):
    """With --arm-limits, Azure's fixed limit of role assignments per subscription (all scopes in it count)."""
    settings = store.settings
    if not getattr(settings, "arm_limits", False) or not scope.lower().startswith("/subscriptions/"):
        return
    subscription = scope.split("/")[2].lower()
    count = sum(1 for record in store.table(TABLE).values() if record["subscriptionId"].lower() == subscription)
    if count >= settings.role_assignment_limit:
        raise ArmError(400, "RoleAssignmentLimitExceeded", "No more role assignments can be created.")


def _assignment_key(request):
    scope, _subscription = _scope_of(request)
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{request.values['name']}".lower()


@registry.route(f"{ASSIGNMENT_RULE}/<name>", ["GET"], action="Microsoft.Authorization/roleAssignments/read",
                provider=PROVIDER)
def get_role_assignment(request):
    record = request.store.table(TABLE).get(_assignment_key(request))
    if record is None:
        raise ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{request.values['name']}' is not found.")
    return json_response(200, _assignment_body(record))


@registry.route(f"{ASSIGNMENT_RULE}/<name>", ["DELETE"], action="Microsoft.Authorization/roleAssignments/delete",
                provider=PROVIDER)
def delete_role_assignment(request):
    record = request.store.table(TABLE).pop(_assignment_key(request), None)
    if record is None:
        return json_response(204)
    return json_response(200, _assignment_body(record))


_AT_SCOPE = re.compile(r"^atScope\(\)$", re.IGNORECASE)
_PRINCIPAL = re.compile(r"^principalId\s+eq\s+'?(?P<value>[0-9a-fA-F-]{36})'?$", re.IGNORECASE)
_ASSIGNED_TO = re.compile(r"^assignedTo\('(?P<value>[0-9a-fA-F-]{36})'\)$", re.IGNORECASE)


def _parse_assignment_filter(text):
    """(at_scope_only, principal_id or None) from ``$filter``; 400 for anything else."""
    at_scope, principal = False, None
    for clause in [part.strip() for part in re.split(r"\s+and\s+", text or "", flags=re.IGNORECASE) if part.strip()]:
        if _AT_SCOPE.match(clause):
            at_scope = True
            continue
        match = _PRINCIPAL.match(clause) or _ASSIGNED_TO.match(clause)
        if match:
            principal = match.group("value").lower()
            continue
        raise ArmError(400, "UnsupportedQuery", f"The filter '{text}' is not supported. Supported filters are "
                       "'atScope()', 'principalId eq {id}' and 'assignedTo('{id}')'.")
    return at_scope, principal


@registry.route(ASSIGNMENT_RULE, ["GET"], action="Microsoft.Authorization/roleAssignments/read", provider=PROVIDER)
def list_role_assignments(request):
    scope, _subscription = _scope_of(request)
    at_scope, principal = _parse_assignment_filter(request.query.get("$filter"))
    items = []
    for record in sorted(request.store.table(TABLE).values(), key=lambda item: item["id"].lower()):
        above_or_at = rbac.scope_covers(record["scope"], scope)
        below = rbac.scope_covers(scope, record["scope"])
        if not (above_or_at or (below and not at_scope)):
            continue
        if principal and record["principalId"].lower() != principal:
            continue
        items.append(_assignment_body(record))
    return json_response(200, {"value": items})


# ------------------------------------------------------------------------------------------ permissions


@registry.route("/<path:scope>/providers/Microsoft.Authorization/permissions", ["GET"], action="", provider=PROVIDER)
def list_permissions(request):
    scope, _subscription = _scope_of(request)
    return json_response(200, {"value": rbac.permissions_at(request.store, request.caller.object_id, scope)})
