# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which role assignments the Backup vault's identity needs, which already exist, and how to grant the rest.

Pure functions over plain dicts (ARM JSON shapes), no SDK and no Ansible imports, so the
``pgflex_role_assignment`` module stays thin and every rule here is unit-tested on its own.

The flow the module follows:

1. ``required_assignments()`` turns servers, operation and the chosen width (``scope``) into the grants needed,
   one dict per (role, scope, principal), deduplicated, each with a deterministic ``name`` (``assignment_name()``).
2. ``plan()`` compares them with the assignments ARM lists: an assignment for the same principal and role at the
   same scope is ``existing``, at a parent scope ``inherited``, otherwise ``missing``.
   ``plan_removal()`` does the same for ``state: absent`` and only ever returns exact matches.
3. Missing grants are PUT with ``assignment_body()`` under their deterministic name, so reruns and parallel runs
   converge (a 409 ``RoleAssignmentExists`` means someone got there first).
4. When the caller may not write role assignments (403 ``AuthorizationFailed``), ``arm_template()``,
   ``az_cli_commands()`` and ``missing_permission_message()`` hand the job to someone who may.

Role definitions are handled by id (GUID), never by display name: names of built-in roles have changed over time.
Conditional (ABAC) assignments are treated like plain ones; none of the roles here is usually granted with one.
"""

import json
import re
import shlex
import uuid

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, datasources
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError

# Namespace of the deterministic assignment names, uuid5(NAMESPACE_DNS, "role-assignments.dataprotection.azbackup").
# Never change it: every assignment this collection has created (and every template it has handed out) uses it, and a
# new namespace would make reruns create duplicates instead of converging.
ASSIGNMENT_NAME_NAMESPACE = uuid.UUID("697cf8ff-a555-5d5b-b709-ea95789dc0b7")

RG_TEMPLATE_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SUBSCRIPTION_TEMPLATE_SCHEMA = (
    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
)
TEMPLATE_CONTENT_VERSION = "1.0.0.0"

# ARM error codes the module reacts to.
ERROR_ASSIGNMENT_EXISTS = "RoleAssignmentExists"
ERROR_AUTHORIZATION_FAILED = "AuthorizationFailed"

PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup")
OPERATIONS = ("backup", "restore")
# Azure RBAC's fixed limit per subscription (assignments at the subscription, its groups and resources).
ASSIGNMENTS_PER_SUBSCRIPTION = 4000
SCOPES = ("resource", "resource_group", "subscription")
STATUSES = ("existing", "inherited", "missing")

# The built-in roles that may write role assignments; named in the failure message.
ROLE_ADMIN_ROLES = ("Owner", "User Access Administrator", "Role Based Access Control Administrator")


_ROLE_DEFINITION_RE = re.compile(
    r"^(?:/subscriptions/[^/]+)?/providers/Microsoft\.Authorization/roleDefinitions/([^/]+)$", re.IGNORECASE
)
_ASSIGNMENT_SUFFIX = "/providers/microsoft.authorization/roleassignments/"


class RoleAssignmentInputError(InputError):
    """A module option is wrong; ``option`` names it so the module can say which one to fix."""

    def __init__(self, option, message):
        super().__init__(f"{option}: {message}", option=option)


# ---------------------------------------------------------------------------------------------------------------
# ARM ids and scopes
# ---------------------------------------------------------------------------------------------------------------


is_guid = arm.is_guid
parse_resource_id = arm.parse_resource_id


def scope_key(scope):
    """The form in which two scopes compare: lower case, one leading slash, no trailing slash."""
    if not isinstance(scope, str):
        raise ValueError(f"expected a scope string, got {scope!r}")
    return "/" + scope.strip().strip("/").lower()


def canonical_scope(scope):
    """The scope with canonical keyword case (``resourceGroups``, ``providers``) and no trailing slash."""
    return parse_resource_id(scope)["id"]


def _management_group_scope(value):
    if value.strip().startswith("/"):
        return canonical_scope(value)
    return arm.MANAGEMENT_GROUP_PREFIX + value.strip()


def _levels(parts, depth=None):
    """``type/name[/child type/child name]`` of a parsed resource id, down to ``depth`` levels."""
    depth = len(parts["types"]) if depth is None else depth
    return "/".join(parts["types"][i] + "/" + parts["names"][i] for i in range(depth))


def scope_chain(scope, management_groups=()):
    """The scope and every scope above it, nearest first, ending with the tenant root ``/``.

    ARM cannot tell from an id which management groups sit above a subscription; pass them (names or ids,
    nearest first) as ``management_groups`` to have assignments there count as parents.
    """
    parts = parse_resource_id(scope)
    chain = []
    if parts["kind"] == "resource":
        base = "/subscriptions/" + parts["subscription_id"]
        if parts["resource_group"] is not None:
            base += "/resourceGroups/" + parts["resource_group"]
        base += "/providers/" + parts["namespace"]
        for depth in range(len(parts["types"]), 0, -1):
            chain.append(base + "/" + _levels(parts, depth))
    if parts["kind"] in ("resource", "resource_group") and parts["resource_group"] is not None:
        chain.append(f"/subscriptions/{parts['subscription_id']}/resourceGroups/{parts['resource_group']}")
    if parts["subscription_id"] is not None:
        chain.append("/subscriptions/" + parts["subscription_id"])
    if parts["kind"] == "management_group":
        chain.append(parts["id"])
    for group in management_groups or ():
        mg = _management_group_scope(group)
        if scope_key(mg) not in [scope_key(c) for c in chain]:
            chain.append(mg)
    chain.append("/")
    return chain


def is_same_or_parent_scope(parent, child, management_groups=()):
    """Whether an assignment at ``parent`` also applies at ``child`` (case and trailing slashes ignored)."""
    try:
        chain = scope_chain(child, management_groups)
    except ValueError:
        return scope_key(parent) == scope_key(child)
    return scope_key(parent) in [scope_key(c) for c in chain]


def role_definition_guid(value):
    """The GUID of a role definition given as a GUID or either id form ARM uses, in lower case."""
    if isinstance(value, str):
        text = value.strip().rstrip("/")
        match = _ROLE_DEFINITION_RE.match(text)
        if match:
            text = match.group(1)
        if is_guid(text):
            return text.lower()
    raise ValueError(f"{value!r} is not a role definition id or GUID")


def role_definition_id(guid, subscription_id=None):
    """The role definition id ARM expects in a PUT: under the subscription of the assignment's scope.

    Without a subscription (management group or tenant scopes) the tenant-level form is returned.
    """
    guid = role_definition_guid(guid)
    if subscription_id:
        return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    return f"/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def role_name(guid, datasource):
    """The display name of a role the datasource knows, else its GUID (names drift, so only for messages)."""
    return datasource.role_name(role_definition_guid(guid))


def assignment_name(scope, principal_id, role_definition):
    """The deterministic name (a GUID) of the assignment of a role to a principal at a scope.

    uuid5 over ``<scope>|<principal>|<role guid>`` in lower case with ``ASSIGNMENT_NAME_NAMESPACE``: the module,
    the template and a parallel run all pick the same name, so they converge instead of duplicating.
    """
    key = f"{scope_key(scope)}|{principal_id.strip().lower()}|{role_definition_guid(role_definition)}"
    return str(uuid.uuid5(ASSIGNMENT_NAME_NAMESPACE, key))


def assignment_id(scope, name):
    """The ARM id of the role assignment ``name`` at ``scope``."""
    return f"{canonical_scope(scope).rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name}"


# ---------------------------------------------------------------------------------------------------------------
# What is needed
# ---------------------------------------------------------------------------------------------------------------


def _parse_typed_id(option, value, expected_type, label):
    try:
        parts = parse_resource_id(value)
    except ValueError as exc:
        raise RoleAssignmentInputError(option, f"{value!r} is not a valid {label} id ({exc})") from exc
    if (
        parts["kind"] != "resource"
        or parts["resource_group"] is None
        or (parts["type"] or "").lower() != expected_type.lower()
    ):
        raise RoleAssignmentInputError(
            option,
            f"{value!r} is not a {label} id: expected /subscriptions/<id>/resourceGroups/"
            f"<group>/providers/{expected_type}/<name>",
        )
    if not is_guid(parts["subscription_id"]):
        raise RoleAssignmentInputError(option, f"{value!r}: subscription {parts['subscription_id']!r} is not a GUID")
    return parts


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _target_scope(target, width, server, storage):
    """Where one grant goes: the narrowest documented scope (``resource``) or the RG / subscription around it."""
    parts = storage if target == "storage_account" else server
    if width == "subscription":
        return "/subscriptions/" + parts["subscription_id"]
    if width == "resource_group" or target == "server_resource_group":
        return f"/subscriptions/{parts['subscription_id']}/resourceGroups/{parts['resource_group']}"
    return parts["id"]


def required_assignments(datasource, principal_id, servers, operation, scope, storage_account_id=None):
    """The grants the principal needs, one per (role, scope), in a stable order and without duplicates.

    ``datasource``: the record whose ``required_roles`` apply; ``servers``: ARM ids of its servers (one id or a list);
    ``operation``: ``backup`` or ``restore`` (or a list of both); ``scope``: ``resource`` (narrowest: each role on the
    target the record names, e.g. the server's resource group, the server, the storage account), ``resource_group``
    or ``subscription`` (of the server, or of the storage account for restore). Each item: ``role_definition_id``
    (GUID), ``role_name``, ``scope``, ``principal_id``, ``name`` (deterministic) and ``targets`` (the servers /
    storage account the grant serves).
    Raises ``RoleAssignmentInputError`` naming the offending option.
    """
    if not is_guid(principal_id):
        raise RoleAssignmentInputError("principal_id", f"{principal_id!r} is not an object id (GUID)")
    principal = principal_id.strip().lower()
    operations = _as_list(operation)
    if not operations:
        raise RoleAssignmentInputError("operation", f"one of {', '.join(OPERATIONS)} is required")
    for op in operations:
        if op not in datasource.required_roles:
            raise RoleAssignmentInputError("operation", f"{op!r} is not one of {', '.join(OPERATIONS)}")
    if scope not in SCOPES:
        raise RoleAssignmentInputError("scope", f"{scope!r} is not one of {', '.join(SCOPES)}")
    server_parts = [
        _parse_typed_id("server_id", s, datasource.arm_type, datasource.label) for s in _as_list(servers)
    ]
    storage = None
    if "restore" in operations:
        if not storage_account_id:
            raise RoleAssignmentInputError("storage_account_id", "required when operation is restore")
        storage = _parse_typed_id("storage_account_id", storage_account_id, arm.STORAGE_ACCOUNT_TYPE, "storage account")
    if "backup" in operations and not server_parts:
        raise RoleAssignmentInputError("server_id", "at least one server is required when operation is backup")

    items = []
    by_key = {}
    for op in operations:
        for need in datasource.required_roles[op]:
            sources = [storage] if need["target"] == "storage_account" else server_parts
            for source in sources:
                target_scope = _target_scope(need["target"], scope, source, storage)
                guid = role_definition_guid(need["role_definition_id"])
                key = (scope_key(target_scope), guid)
                if key in by_key:
                    item = by_key[key]
                else:
                    item = {
                        "role_definition_id": guid,
                        "role_name": role_name(guid, datasource),
                        "scope": target_scope,
                        "principal_id": principal,
                        "name": assignment_name(target_scope, principal, guid),
                        "targets": [],
                    }
                    by_key[key] = item
                    items.append(item)
                if scope_key(source["id"]) not in [scope_key(t) for t in item["targets"]]:
                    item["targets"].append(source["id"])
    return items


def scope_alternative(datasource, principal_id, servers, operation, scope, storage_account_id=None):
    """When ``resource_group`` scope would need fewer assignments than ``scope`` (servers sharing resource groups):
    ``{"scope", "assignments", "instead_of", "message"}``; else None."""
    if scope != "resource":
        return None
    narrow = required_assignments(datasource, principal_id, servers, operation, scope, storage_account_id)
    wide = required_assignments(datasource, principal_id, servers, operation, "resource_group", storage_account_id)
    if len(wide) >= len(narrow):
        return None
    return {"scope": "resource_group", "assignments": len(wide), "instead_of": len(narrow),
            "message": "scope resource_group would need {0} role assignments instead of {1} (the servers share "
                       "resource groups; Azure allows {2} per subscription).".format(
                           len(wide), len(narrow), ASSIGNMENTS_PER_SUBSCRIPTION)}


def subscription_of(scope):
    return parse_resource_id(scope)["subscription_id"]


def over_limit(to_add, in_use, alternative=None):
    """The refusal when adding ``to_add`` (items) to ``in_use`` ({subscription: assignments}) passes Azure's limit."""
    adding = {}
    for item in to_add:
        sub = (subscription_of(item["scope"]) or "").lower()
        if sub:
            adding[sub] = adding.get(sub, 0) + 1
    for sub, count in sorted(adding.items()):
        present = in_use.get(sub, 0)
        if present + count > ASSIGNMENTS_PER_SUBSCRIPTION:
            message = ("Subscription {0} holds {1} role assignments; this run would add {2}, past Azure's limit of {3} "
                       "per subscription (RoleAssignmentLimitExceeded). Nothing was written.").format(
                           sub, present, count, ASSIGNMENTS_PER_SUBSCRIPTION)
            if alternative:
                message += " With " + alternative["message"]
            return message
    return None


# ---------------------------------------------------------------------------------------------------------------
# What exists
# ---------------------------------------------------------------------------------------------------------------


def _pick(assignment, *keys):
    props = assignment.get("properties") or {}
    for key in keys:
        for source in (props, assignment):
            if source.get(key):
                return source[key]
    return None


def assignment_fields(assignment):
    """``(scope, role guid, principal id, id, name)`` of an assignment as ARM (or the SDK's ``as_dict()``) returns
    it, or ``None`` when it lacks what a comparison needs."""
    if not isinstance(assignment, dict):
        return None
    role = _pick(assignment, "roleDefinitionId", "role_definition_id")
    principal = _pick(assignment, "principalId", "principal_id")
    scope = _pick(assignment, "scope")
    ident = assignment.get("id")
    if not scope and isinstance(ident, str):
        cut = ident.lower().rfind(_ASSIGNMENT_SUFFIX)
        if cut >= 0:
            scope = ident[:cut] or "/"
    if not (role and principal and scope):
        return None
    try:
        guid = role_definition_guid(role)
    except ValueError:
        return None
    name = assignment.get("name") or (ident.rstrip("/").rsplit("/", 1)[-1] if isinstance(ident, str) else None)
    return scope, guid, str(principal).strip().lower(), ident, name


def _management_groups_for(management_groups, scope):
    if not management_groups:
        return ()
    if isinstance(management_groups, dict):
        try:
            sub = parse_resource_id(scope)["subscription_id"] or ""
        except ValueError:
            return ()
        lowered = {str(k).lower(): v for k, v in management_groups.items()}
        return lowered.get(sub.lower(), ())
    return management_groups


def plan(required, existing_assignments, management_groups=None):
    """Each required item with ``status``: ``existing`` (same scope), ``inherited`` (a parent scope has it;
    ``inherited_from`` says which, nearest first) or ``missing``.

    Only assignments of the same role to the same principal count. ``existing`` and ``inherited`` items carry the
    ``assignment_id`` that satisfies them. ``management_groups``: management groups above the subscriptions
    (a list for all, or a dict keyed by subscription id), so that assignments there count as inherited.
    """
    parsed = [f for f in (assignment_fields(a) for a in existing_assignments or ()) if f]
    result = []
    for item in required:
        entry = dict(item)
        guid = role_definition_guid(item["role_definition_id"])
        principal = item["principal_id"].strip().lower()
        candidates = [f for f in parsed if f[1] == guid and f[2] == principal]
        exact = [f for f in candidates if scope_key(f[0]) == scope_key(item["scope"])]
        if exact:
            entry.update(status="existing", assignment_id=exact[0][3])
            result.append(entry)
            continue
        chain = [
            scope_key(s) for s in scope_chain(item["scope"], _management_groups_for(management_groups, item["scope"]))
        ]
        parents = [f for f in candidates if scope_key(f[0]) in chain]
        if parents:
            nearest = min(parents, key=lambda f: chain.index(scope_key(f[0])))
            entry.update(status="inherited", inherited_from=nearest[0], assignment_id=nearest[3])
        else:
            entry["status"] = "missing"
        result.append(entry)
    return result


def plan_removal(required, existing_assignments):
    """The existing assignments ``state: absent`` deletes: exactly the role, scope and principal this module grants.

    Assignments at parent scopes are never returned: they were granted for something wider and are not ours to
    remove. Each item is the required item plus the ``assignment_id`` and ``assignment_name`` found.
    """
    parsed = [f for f in (assignment_fields(a) for a in existing_assignments or ()) if f]
    removals = []
    for item in required:
        guid = role_definition_guid(item["role_definition_id"])
        principal = item["principal_id"].strip().lower()
        for scope, role, who, ident, name in parsed:
            if role == guid and who == principal and scope_key(scope) == scope_key(item["scope"]):
                entry = dict(item)
                entry.update(assignment_id=ident or assignment_id(scope, name), assignment_name=name)
                removals.append(entry)
    return removals


def missing(planned):
    """The planned items that still have to be created."""
    return [p for p in planned if p.get("status") == "missing"]


def report(planned, missing_status="created"):
    """The module's ``assignments`` return value; ``missing`` becomes ``missing_status`` (``created`` after a
    real or predicted write, ``missing`` when nothing could be written)."""
    keys = (
        "role_name",
        "role_definition_id",
        "scope",
        "principal_id",
        "name",
        "status",
        "inherited_from",
        "assignment_id",
        "targets",
    )
    out = []
    for item in planned:
        entry = {k: item[k] for k in keys if k in item}
        if entry.get("status") == "missing":
            entry["status"] = missing_status
            if missing_status == "created":
                entry["assignment_id"] = assignment_id(item["scope"], item["name"])
        out.append(entry)
    return out


def _diff_entry(scope, item):
    return {
        "scope": scope,
        "role_name": item["role_name"],
        "role_definition_id": item["role_definition_id"],
        "principal_id": item["principal_id"],
    }


DIFF_KEY = "role_assignments"


def diff_present(planned):
    """``{before, after}`` for diff mode: the assignments that satisfy the need before, and after creating the rest.

    Each side is ``{"role_assignments": [...]}``: Ansible's callbacks render dicts (and strings), not bare lists.
    """
    before = []
    seen = set()
    for item in planned:
        if item.get("status") in ("existing", "inherited"):
            scope = item.get("inherited_from") or item["scope"]
            key = (scope_key(scope), item["role_definition_id"])
            if key not in seen:
                seen.add(key)
                before.append(_diff_entry(scope, item))
    after = before + [_diff_entry(i["scope"], i) for i in planned if i.get("status") == "missing"]
    return {"before": {DIFF_KEY: before}, "after": {DIFF_KEY: after}}


def diff_absent(removals):
    """``{before, after}`` for diff mode with ``state: absent``: the exact matches before, none after."""
    return {"before": {DIFF_KEY: [_diff_entry(r["scope"], r) for r in removals]}, "after": {DIFF_KEY: []}}


# ---------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------


def assignment_body(required_item, principal_type="ServicePrincipal", description=None):
    """The PUT body for one grant (spec: ``roleDefinitionId`` and ``principalId`` are required).

    ``principalType`` is always sent: ARM then skips the directory lookup that fails for a freshly created
    managed identity (replication delay). ``roleDefinitionId`` uses the subscription of the scope.
    """
    if principal_type not in PRINCIPAL_TYPES:
        allowed = ", ".join(PRINCIPAL_TYPES)
        raise RoleAssignmentInputError("principal_type", f"{principal_type!r} is not one of {allowed}")
    sub = parse_resource_id(required_item["scope"])["subscription_id"]
    props = {
        "roleDefinitionId": role_definition_id(required_item["role_definition_id"], sub),
        "principalId": required_item["principal_id"],
        "principalType": principal_type,
    }
    if description:
        props["description"] = description
    return {"properties": props}


# ---------------------------------------------------------------------------------------------------------------
# Handing the job to someone who may assign roles
# ---------------------------------------------------------------------------------------------------------------


def _single_principal(items, principal_id=None):
    principals = sorted({i["principal_id"].strip().lower() for i in items})
    if principal_id:
        principals = sorted(set(principals + [principal_id.strip().lower()]))
    if len(principals) > 1:
        raise ValueError(f"the items are for several principals ({', '.join(principals)}); one template per principal")
    return principals[0] if principals else None


def _deployment_target(scope):
    """``(subscription, resource group or None, extension scope or None)`` of one grant in the template."""
    parts = parse_resource_id(scope)
    if parts["kind"] == "subscription":
        return parts["subscription_id"], None, None
    if parts["kind"] == "resource_group":
        return parts["subscription_id"], parts["resource_group"], None
    if parts["kind"] == "resource" and parts["resource_group"] is not None:
        # Relative form "<namespace>/<type>/<name>[/<child type>/<child name>]" as ARM documents for extension
        # resources; it resolves inside the nested deployment's resource group.
        return parts["subscription_id"], parts["resource_group"], parts["namespace"] + "/" + _levels(parts)
    raise ValueError(f"{scope!r}: the template covers subscription, resource group and resource scopes only")


def _template_role_assignment(item, extension_scope, description):
    resource = {
        "type": arm.ROLE_ASSIGNMENT_TYPE,
        "apiVersion": arm.api_version(arm.ROLE_ASSIGNMENT_TYPE),
        "name": item["name"],
    }
    if extension_scope:
        resource["scope"] = extension_scope
    guid = role_definition_guid(item["role_definition_id"])
    props = {
        "roleDefinitionId": f"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{guid}')]",
        "principalId": "[parameters('principalId')]",
        "principalType": "[parameters('principalType')]",
    }
    if description:
        props["description"] = description
    resource["properties"] = props
    return resource


def _datasource_label(items):
    """The label of the datasource whose servers the grants serve (the record of the first server target)."""
    for item in items:
        for target in item.get("targets") or []:
            record = datasources.of_resource(target)
            if record is not None:
                return record.label
    return "server"


def arm_template(missing_items, principal_id=None, description=None):
    """An ARM template that creates exactly ``missing_items``, under the names the module would use.

    Deployment scope: a **resource group** deployment (``az deployment group create -g <any group you may deploy
    to>``; ``az_deployment_command()`` suggests the first server's group). A resource-group deployment can only
    place role assignments on that group and the resources in it, so the template holds nothing but nested
    deployments, one per target: each names its ``subscriptionId`` and ``resourceGroup`` explicitly (or, for
    subscription-wide grants, ``subscriptionId`` and ``location`` with a subscription-level inner template). The
    outcome therefore does not depend on which group the operator deploys into, servers in several groups or
    subscriptions and a storage account elsewhere fit in one file, and the operator needs no subscription-wide
    deployment right unless a subscription-wide grant is asked for.

    Inner templates use ``expressionEvaluationOptions.scope: inner`` so ``subscriptionResourceId()`` yields the role
    definition id in the target's own subscription. Assignment names are the precomputed deterministic GUIDs (not
    ``guid()``), so the template, the module and reruns of either converge; ``principalId`` defaults to the principal
    they were computed for. Resource scopes use the relative ``<namespace>/<type>/<name>`` form.
    """
    principal = _single_principal(missing_items, principal_id)
    parameters = {
        "principalId": {
            "type": "string",
            "metadata": {"description": "Object id of the identity that needs the roles (the Backup vault's)."},
        },
        "principalType": {
            "type": "string",
            "defaultValue": "ServicePrincipal",
            "allowedValues": list(PRINCIPAL_TYPES),
            "metadata": {"description": "Managed identities are service principals."},
        },
    }
    if principal:
        parameters["principalId"]["defaultValue"] = principal

    groups = []
    by_target = {}
    for item in missing_items:
        sub, rg, extension_scope = _deployment_target(item["scope"])
        key = (sub.lower(), (rg or "").lower())
        if key not in by_target:
            by_target[key] = {"subscription_id": sub, "resource_group": rg, "resources": []}
            groups.append(by_target[key])
        by_target[key]["resources"].append(_template_role_assignment(item, extension_scope, description))

    resources = []
    for group in groups:
        target = "/subscriptions/" + group["subscription_id"]
        if group["resource_group"]:
            target += "/resourceGroups/" + group["resource_group"]
        deployment = {
            "type": "Microsoft.Resources/deployments",
            "apiVersion": arm.api_version(arm.DEPLOYMENT_TYPE),
            "name": f"role-assignments-{uuid.uuid5(ASSIGNMENT_NAME_NAMESPACE, scope_key(target))}",
            "subscriptionId": group["subscription_id"],
        }
        if group["resource_group"]:
            deployment["resourceGroup"] = group["resource_group"]
        else:
            deployment["location"] = "[parameters('deploymentLocation')]"
            parameters["deploymentLocation"] = {
                "type": "string",
                "defaultValue": "[resourceGroup().location]",
                "metadata": {"description": "Where the subscription-level deployment records are kept."},
            }
        deployment["properties"] = {
            "mode": "Incremental",
            "expressionEvaluationOptions": {"scope": "inner"},
            "parameters": {
                "principalId": {"value": "[parameters('principalId')]"},
                "principalType": {"value": "[parameters('principalType')]"},
            },
            "template": {
                "$schema": RG_TEMPLATE_SCHEMA if group["resource_group"] else SUBSCRIPTION_TEMPLATE_SCHEMA,
                "contentVersion": TEMPLATE_CONTENT_VERSION,
                "parameters": {"principalId": {"type": "string"}, "principalType": {"type": "string"}},
                "resources": group["resources"],
            },
        }
        resources.append(deployment)

    return {
        "$schema": RG_TEMPLATE_SCHEMA,
        "contentVersion": TEMPLATE_CONTENT_VERSION,
        "metadata": {
            "description": "Role assignments the Backup vault identity needs for {0} backup and restore. Deploy to "
            "any resource group (az deployment group create): every assignment names its own target. Needs "
            "roleAssignments/write and deployments/write on the targets.".format(_datasource_label(missing_items)),
        },
        "parameters": parameters,
        "resources": resources,
    }


def az_cli_commands(missing_items, principal_type="ServicePrincipal"):
    """One ``az role assignment create`` line per missing grant, with the same deterministic ``--name``."""
    lines = []
    for item in missing_items:
        lines.append(
            f"az role assignment create --assignee-object-id {shlex.quote(item['principal_id'])}"
            f" --assignee-principal-type {principal_type}"
            f" --role {role_definition_guid(item['role_definition_id'])}"
            f" --scope {shlex.quote(canonical_scope(item['scope']))}"
            f" --name {item['name']}"
        )
    return lines


def az_deployment_command(missing_items, template_file="role-assignments.json"):
    """The command that deploys ``arm_template()``: into the resource group of the first grant's target."""
    group = None
    for item in missing_items:
        for source in list(item.get("targets") or []) + [item["scope"]]:
            parts = parse_resource_id(source)
            if parts["resource_group"]:
                group = parts
                break
        if group:
            break
    if group is None:
        rg_part = "--resource-group <a resource group you may deploy to>"
    else:
        rg_part = f"--subscription {group['subscription_id']} --resource-group {shlex.quote(group['resource_group'])}"
    return f"az deployment group create {rg_part} --template-file {shlex.quote(template_file)}"


def missing_permission_message(caller, missing_items, how=None, created=0):
    """Why nothing (or only part) was written, what is missing where, and who must grant it and how.

    ``how``: how the refusal showed (default: the write was denied with ``AuthorizationFailed``); ``created``:
    how many grants were written before a refusal stopped the rest.
    """
    who = caller or "The caller"
    principal = _single_principal(missing_items) if missing_items else None
    how = how or f"Microsoft.Authorization/roleAssignments/write was denied with {ERROR_AUTHORIZATION_FAILED}"
    if created:
        outcome = f"only {created} of {created + len(missing_items)} grants were created"
    else:
        outcome = "nothing was changed"
    lines = [
        f"{who} may not create role assignments ({how}), so {outcome}. The identity {principal} still needs:",
    ]
    for item in missing_items:
        lines.append(f"  - {item['role_name']} ({item['role_definition_id']}) on {item['scope']}")
    admins = ", ".join(ROLE_ADMIN_ROLES[:-1]) + " or " + ROLE_ADMIN_ROLES[-1]
    lines.append(f"Someone with {admins} on those scopes must grant them, with these commands:")
    lines.extend("  " + c for c in az_cli_commands(missing_items))
    lines.append(
        "or by deploying the ARM template this module returns with on_missing_permission: template "
        "(role_assignment_template; deploying also needs Microsoft.Resources/deployments/write, which Owner has): "
        + az_deployment_command(missing_items)
    )
    return "\n".join(lines)


def template_json(template):
    """The template as the file an operator saves: stable key order, two-space indent."""
    return json.dumps(template, indent=2) + "\n"
