"""Microsoft.Resources/deployments at resource-group scope: enough of ARM template deployments to deploy the role
assignment template that ``pgflex_role_assignment`` hands over when its caller may not assign roles.

Shapes follow the Resources API (Deployments_CreateOrUpdate / _Get / _CheckExistence / _Validate,
DeploymentOperations_List, 2022-09-01) and what the Azure CLI (``az deployment group create``) does with them:

- PUT ``.../resourceGroups/{rg}/providers/Microsoft.Resources/deployments/{name}`` with ``properties {mode,
  template, parameters}`` -> 201 (200 when it replaces one) + the deployment (``provisioningState`` Accepted) +
  ``Azure-AsyncOperation`` (``.../deployments/{name}/operationStatuses/{id}``) + ``Retry-After``; the status
  answers ``{"status": "Running" | "Succeeded" | "Failed", "error"}``; GET gives the deployment with
  ``provisioningState`` Running / Succeeded / Failed and, when failed, ``error`` (``DeploymentFailed`` with the
  failing resources' errors in ``details``). POST ``.../validate`` checks the template without deploying it.
  ``.../deployments/{name}/operations`` lists one operation per resource.
- Templates are checked when they arrive (400 ``InvalidTemplate``): expressions and parameters per
  ``emulator.templates``; resources of type ``Microsoft.Authorization/roleAssignments`` (with an optional
  ``scope``: an ARM id, or the relative ``<namespace>/<type>/<name>`` form for a resource of the deployment's
  group) and nested ``Microsoft.Resources/deployments`` (``subscriptionId`` + ``resourceGroup``, or
  ``subscriptionId`` + ``location`` for a subscription-level template; ``expressionEvaluationOptions.scope``
  ``inner`` or ``outer``). Only ``Incremental`` mode.
- The resources are created as the deploying principal once the operation runs (``--lro-seconds``): each nested
  deployment needs ``Microsoft.Resources/deployments/write`` on its target and each role assignment
  ``Microsoft.Authorization/roleAssignments/write`` at its own id, as ARM checks them; a refused or invalid one
  fails the deployment (``AuthorizationFailed``, ``RoleAssignmentExists``, ...) and the others still run.
"""

from emulator import rbac, registry
from emulator.arm import ArmError, find_resource_group, json_response, new_guid, paged, require_resource_group
from emulator.clock import iso
from emulator.resources import authorization
from emulator.templates import Context, bind_parameters, evaluate, invalid_template

PROVIDER = "Microsoft.Resources"
TABLE = "deployments"
DEPLOYMENT_TYPE = f"{PROVIDER}/deployments"
ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
GROUP_RULE = f"/subscriptions/<subscription>/resourceGroups/<resource_group>/providers/{DEPLOYMENT_TYPE}/<name>"
WRITE = f"{DEPLOYMENT_TYPE}/write"
READ = f"{DEPLOYMENT_TYPE}/read"
FAILED_MESSAGE = ("At least one resource deployment operation failed. Please list deployment operations for details. "
                  "Please see https://aka.ms/arm-deployment-operations for usage details.")


# ------------------------------------------------------------------------------------------------ planning


def _target_scope(context):
    if context.resource_group is not None:
        return context.resource_group["id"]
    return f"/subscriptions/{context.subscription_id}"


def _plan_assignment(resource, context):
    name = evaluate(resource.get("name"), context)
    if not isinstance(name, str) or not name:
        raise invalid_template("A role assignment resource needs a name")
    scope = evaluate(resource.get("scope"), context) if resource.get("scope") else None
    base = _target_scope(context)
    if not scope:
        scope = base
    elif not scope.startswith("/"):
        scope = f"{base}/providers/{scope}"
    properties = evaluate(resource.get("properties") or {}, context)
    return {"kind": "roleAssignment", "scope": scope.rstrip("/"), "name": name, "properties": properties,
            "id": f"{scope.rstrip('/')}/providers/{ASSIGNMENT_TYPE}/{name}"}


def _plan_nested(store, resource, context):
    properties = resource.get("properties") or {}
    subscription = evaluate(resource.get("subscriptionId"), context) or context.subscription_id
    group_name = evaluate(resource.get("resourceGroup"), context) if resource.get("resourceGroup") else None
    if group_name is None and resource.get("subscriptionId") is None:
        group_name = context.resource_group["name"] if context.resource_group else None
    group = None
    if group_name:
        group = find_resource_group(store, subscription, group_name)
        if group is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{group_name}' could not be found.")
    location = evaluate(resource.get("location"), context) if resource.get("location") else ""
    inner_scope = ((properties.get("expressionEvaluationOptions") or {}).get("scope") or "outer").lower()
    supplied = evaluate(properties.get("parameters") or {}, context)
    inner = Context(subscription_id=subscription, resource_group=group, location=location)
    if inner_scope != "inner":
        inner = Context(subscription_id=subscription, resource_group=group, location=location,
                        parameters=context.parameters, variables=context.variables)
    name = evaluate(resource.get("name"), context)
    plan = plan_template(store, properties.get("template"), supplied if inner_scope == "inner" else None, inner,
                         properties.get("mode"))
    return {"kind": "deployment", "name": name, "subscription": subscription, "group": group, "location": location,
            "plan": plan, "id": f"{_target_scope(inner)}/providers/{DEPLOYMENT_TYPE}/{name}"}


def plan_template(store, template, supplied, context, mode="Incremental"):
    """What a template creates, every expression evaluated: ``[{"kind", "id", ...}]``; 400 InvalidTemplate."""
    if (mode or "Incremental").lower() != "incremental":
        raise ArmError(400, "InvalidDeployment", f"The deployment mode '{mode}' is not supported here; use "
                       "Incremental.")
    if not isinstance(template, dict) or not isinstance(template.get("resources", []), list):
        raise invalid_template("The template must be a JSON object with a 'resources' array")
    context.variables = template.get("variables") or context.variables or {}
    if supplied is not None:
        context.parameters = bind_parameters(template, supplied, context)
    steps = []
    for index, resource in enumerate(template.get("resources") or []):
        kind = str(resource.get("type", "")) if isinstance(resource, dict) else ""
        if kind.lower() == ASSIGNMENT_TYPE.lower():
            steps.append(_plan_assignment(resource, context))
        elif kind.lower() == DEPLOYMENT_TYPE.lower():
            steps.append(_plan_nested(store, resource, context))
        else:
            raise invalid_template(f"The resource type '{kind}' of resources[{index}] is not supported here: "
                                   f"only {ASSIGNMENT_TYPE} and nested {DEPLOYMENT_TYPE}")
    return steps


# ----------------------------------------------------------------------------------------------- running


def _authorization_failed(caller, action, scope):
    return {"code": "AuthorizationFailed",
            "message": f"The client '{caller.object_id}' with object id '{caller.object_id}' does not have "
                       f"authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. "
                       "If access was recently granted, please refresh your credentials."}


def _run_step(store, caller, step, operations):
    """Create one planned resource as the caller; returns its error (ARM shape) or None."""
    if step["kind"] == "roleAssignment":
        action = f"{ASSIGNMENT_TYPE}/write"
        if not rbac.is_allowed(store, caller.object_id, action, step["id"]):
            error = _authorization_failed(caller, action, step["id"])
        else:
            try:
                authorization.put_assignment(store, caller, step["scope"], step["name"],
                                             {"properties": step["properties"]})
                error = None
            except ArmError as exc:
                error = {"code": exc.code, "message": exc.message}
        resource_type = ASSIGNMENT_TYPE
    else:
        if not rbac.is_allowed(store, caller.object_id, WRITE, step["id"]):
            error = _authorization_failed(caller, WRITE, step["id"])
        else:
            record = _new_record(store, step["id"], step["name"], caller, step["location"])
            error = _run_plan(store, caller, step["plan"], record)
        resource_type = DEPLOYMENT_TYPE
    operations.append({"resource": step["id"], "type": resource_type, "error": error})
    return error


def _run_plan(store, caller, plan, record):
    """Run a plan into a deployment record; returns the deployment's error or None."""
    errors = [error for error in (_run_step(store, caller, step, record["operations"]) for step in plan) if error]
    record["end"] = store.clock.now()
    record["error"] = {"code": "DeploymentFailed", "message": FAILED_MESSAGE, "details": errors} if errors else None
    record["state"] = "Failed" if errors else "Succeeded"
    return record["error"]


def _new_record(store, deployment_id, name, caller, location):
    record = {"id": deployment_id, "name": name, "state": "Running", "start": store.clock.now(), "end": None,
              "error": None, "operations": [], "location": location, "correlationId": new_guid(),
              "principal": caller.object_id}
    store.table(TABLE)[deployment_id.lower()] = record
    return record


# ------------------------------------------------------------------------------------------------- routes


def _deployment_id(request):
    group = require_resource_group(request.store, request.subscription_id, request.values["resource_group"])
    return f"{group['id']}/providers/{DEPLOYMENT_TYPE}/{request.values['name']}", group


def _plan_request(request):
    deployment_id, group = _deployment_id(request)
    body = request.json_object()
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "
                       "'Required property 'properties' not found in JSON.'")
    if properties.get("templateLink") is not None and properties.get("template") is None:
        raise ArmError(400, "InvalidTemplate", "Deployment template validation failed: 'templateLink is not "
                       "supported here; send the template inline (template)'.")
    context = Context(subscription_id=request.subscription_id, resource_group=group, location=group["location"])
    plan = plan_template(request.store, properties.get("template"), properties.get("parameters") or {}, context,
                         properties.get("mode"))
    return deployment_id, properties, plan, context


def render_deployment(record, mode="Incremental"):
    properties = {"templateHash": record.get("templateHash", ""), "mode": mode,
                  "provisioningState": record["state"], "timestamp": iso(record["end"] or record["start"]),
                  "duration": "PT0S", "correlationId": record["correlationId"], "providers": [],
                  "dependencies": [], "outputResources": [{"id": item["resource"]} for item in record["operations"]
                                                          if item["error"] is None]}
    if record.get("parameters") is not None:
        properties["parameters"] = record["parameters"]
    if record["error"]:
        properties["error"] = record["error"]
    body = {"id": record["id"], "name": record["name"], "type": DEPLOYMENT_TYPE, "properties": properties}
    if record.get("location"):
        body["location"] = record["location"]
    return body


@registry.route(GROUP_RULE, ["PUT"], action=WRITE, provider=PROVIDER)
def put_deployment(request):
    deployment_id, properties, plan, context = _plan_request(request)
    store = request.store
    existing = store.table(TABLE).get(deployment_id.lower())
    if existing is not None and existing["state"] in ("Accepted", "Running"):
        raise ArmError(409, "DeploymentActive", f"The deployment '{request.values['name']}' is already in progress.")
    caller = request.caller
    record = _new_record(store, deployment_id, request.values["name"], caller, "")
    record.update(state="Accepted", templateHash=str(abs(hash(str(properties.get("template")))) % 10 ** 19),
                  parameters={name: {"type": "String", "value": value} for name, value in context.parameters.items()})

    def run(st, _op):
        record["state"] = "Running"
        return _run_plan(st, caller, plan, record)

    op = store.operations.start("deployments/write", deployment_id, context.location, on_complete=run)
    headers = {"Azure-AsyncOperation": request.url(f"{deployment_id}/operationStatuses/{op.op_id}",
                                                   **{"api-version": request.api_version}),
               **store.operations.start_headers(op)}
    rendered = render_deployment(record, properties.get("mode") or "Incremental")
    return json_response(200 if existing else 201, rendered, headers)


@registry.route(f"{GROUP_RULE}/validate", ["POST"], action=WRITE, provider=PROVIDER)
def validate_deployment(request):
    deployment_id, properties, _plan, context = _plan_request(request)
    return json_response(200, {"id": deployment_id, "name": request.values["name"], "type": DEPLOYMENT_TYPE,
                               "properties": {"provisioningState": "Succeeded", "mode": properties.get("mode"),
                                              "parameters": {name: {"type": "String", "value": value}
                                                             for name, value in context.parameters.items()}}})


def _record_or_404(request):
    deployment_id, _group = _deployment_id(request)
    record = request.store.table(TABLE).get(deployment_id.lower())
    if record is None:
        raise ArmError(404, "DeploymentNotFound", f"Deployment '{request.values['name']}' could not be found.")
    return record


@registry.route(GROUP_RULE, ["GET"], action=READ, provider=PROVIDER)
def get_deployment(request):
    return json_response(200, render_deployment(_record_or_404(request)))


@registry.route(f"{GROUP_RULE}/operationStatuses/<operation>", ["GET"], action=READ, provider=PROVIDER)
def deployment_status(request):
    record = _record_or_404(request)
    op = request.store.operations.get(request.values["operation"])
    if op is None or op.resource_id.lower() != record["id"].lower():
        raise ArmError(404, "OperationNotFound", f"The operation '{request.values['operation']}' was not found.")
    body = {"status": "Running" if op.running else record["state"]}
    if record["error"] and not op.running:
        body["error"] = record["error"]
    return json_response(200, body, request.store.operations.poll_headers(op))


@registry.route(f"{GROUP_RULE}/operations", ["GET"], action=READ, provider=PROVIDER)
def list_deployment_operations(request):
    record = _record_or_404(request)
    items = []
    for item in record["operations"]:
        operation_id = new_guid().replace("-", "").upper()[:16]
        status = {"provisioningState": "Failed" if item["error"] else "Succeeded",
                  "timestamp": iso(record["end"] or record["start"]), "duration": "PT0S",
                  "statusCode": "Forbidden" if (item["error"] or {}).get("code") == "AuthorizationFailed"
                  else ("BadRequest" if item["error"] else "Created"),
                  "targetResource": {"id": item["resource"], "resourceType": item["type"],
                                     "resourceName": item["resource"].rsplit("/", 1)[-1]}}
        if item["error"]:
            status["statusMessage"] = {"error": item["error"]}
        items.append({"id": f"{record['id']}/operations/{operation_id}", "operationId": operation_id,
                      "properties": status})
    return paged(request, items)
