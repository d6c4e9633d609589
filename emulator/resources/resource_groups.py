"""Microsoft.Resources: subscriptions, resource groups and locations (read only).

ARM filters these lists by what the caller may see: a subscription appears when the caller holds any
role assignment in it, a resource group when the caller may read it.
"""

from emulator import rbac, regions, registry, seed
from emulator.arm import ArmError, json_response, require_resource_group, resource_group_id

PROVIDER = "Microsoft.Resources"
TABLE = "resourceGroups"
RG_READ = "Microsoft.Resources/subscriptions/resourceGroups/read"


@registry.seeder(order=20)
def seed_resource_groups(store):
    table = store.table(TABLE)
    for group in seed.RESOURCE_GROUPS:
        group_id = resource_group_id(group["subscriptionId"], group["name"])
        table[group_id.lower()] = {
            "id": group_id,
            "name": group["name"],
            "type": "Microsoft.Resources/resourceGroups",
            "location": group["location"],
            "tags": {},
            "properties": {"provisioningState": "Succeeded"},
        }


def _subscription_body(item):
    return {
        "id": f"/subscriptions/{item['subscriptionId']}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": item["subscriptionId"],
        "tenantId": seed.TENANT_ID,
        "displayName": item["displayName"],
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                 "spendingLimit": "Off"},
    }


def _has_any_role_in(store, principal_id, subscription_id):
    prefix = f"/subscriptions/{subscription_id}".lower()
    for record in store.table("roleAssignments").values():
        scope = record["scope"].lower()
        in_subscription = scope == prefix or scope.startswith(prefix + "/")
        if record["principalId"].lower() == principal_id.lower() and in_subscription:
            return True
    return False


def _visible_subscriptions(request):
    return [item for item in seed.SUBSCRIPTIONS
            if _has_any_role_in(request.store, request.caller.object_id, item["subscriptionId"])]


@registry.route("/subscriptions", ["GET"], action="", provider=PROVIDER)
def list_subscriptions(request):
    items = [_subscription_body(item) for item in _visible_subscriptions(request)]
    return json_response(200, {"value": items, "count": {"type": "Total", "value": len(items)}})


@registry.route("/subscriptions/<subscription>", ["GET"], action="", provider=PROVIDER)
def get_subscription(request):
    for item in _visible_subscriptions(request):
        if item["subscriptionId"].lower() == request.subscription_id.lower():
            return json_response(200, _subscription_body(item))
    raise ArmError(403, "AuthorizationFailed",
                   f"The client '{request.caller.object_id}' with object id '{request.caller.object_id}' does not "
                   f"have authorization to perform action 'Microsoft.Resources/subscriptions/read' over scope "
                   f"'/subscriptions/{request.subscription_id}' or the scope is invalid. If access was recently "
                   "granted, please refresh your credentials.", headers={"x-ms-failure-cause": "gateway"})


@registry.route("/subscriptions/<subscription>/locations", ["GET"], action="", provider=PROVIDER)
def list_locations(request):
    return json_response(200, {"value": [regions.location_resource(request.subscription_id, name)
                                         for name in sorted(regions.REGIONS)]})


@registry.route("/subscriptions/<subscription>/resourceGroups", ["GET"], action="", provider=PROVIDER)
def list_resource_groups(request):
    prefix = f"/subscriptions/{request.subscription_id}/".lower()
    items = [group for key, group in sorted(request.store.table(TABLE).items()) if key.startswith(prefix)
             and rbac.is_allowed(request.store, request.caller.object_id, RG_READ, group["id"])]
    if not items and not _has_any_role_in(request.store, request.caller.object_id, request.subscription_id):
        raise ArmError(403, "AuthorizationFailed",
                       f"The client '{request.caller.object_id}' with object id '{request.caller.object_id}' does not "
                       f"have authorization to perform action '{RG_READ}' over scope "
                       f"'/subscriptions/{request.subscription_id}' or the scope is invalid. If access was recently "
                       "granted, please refresh your credentials.", headers={"x-ms-failure-cause": "gateway"})
    return json_response(200, {"value": items})


@registry.route("/subscriptions/<subscription>/resourceGroups/<resource_group>", ["GET", "HEAD"], action=RG_READ,
                provider=PROVIDER)
def get_resource_group(request):
    if request.method == "HEAD":
        group = request.store.table(TABLE).get(
            resource_group_id(request.subscription_id, request.values["resource_group"]).lower())
        return json_response(204 if group else 404)
    return json_response(200, require_resource_group(request.store, request.subscription_id,
                                                     request.values["resource_group"]))
