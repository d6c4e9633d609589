"""Read-only tracked resources (GET one, list by resource group, list by subscription) from one table."""

from emulator import registry
from emulator.arm import json_response, paged, require_resource_group, resource_not_found


def register_read_only(provider, type_name, table, seed_items=(), render=None):
    """Register the three read routes ARM offers for ``{provider}/{type_name}`` resources kept in ``table``, and a
    seeder that fills the table with ``render(item)`` for each seeded item."""
    provider_type = f"{provider}/{type_name}"

    @registry.seeder(order=30)
    def seed_table(store):
        rows = store.table(table)
        for item in seed_items:
            body = render(item)
            rows[body["id"].lower()] = body

    action = f"{provider_type}/read"
    group_rule = f"/subscriptions/<subscription>/resourceGroups/<resource_group>/providers/{provider_type}"

    @registry.route(f"{group_rule}/<name>", ["GET"], action=action, provider=provider)
    def get_one(request):
        group = request.values["resource_group"]
        require_resource_group(request.store, request.subscription_id, group)
        record = request.store.table(table).get(request.path.lower())
        if record is None:
            raise resource_not_found(provider_type, request.values["name"], group)
        return json_response(200, record)

    @registry.route(group_rule, ["GET"], action=action, provider=provider)
    def list_in_group(request):
        require_resource_group(request.store, request.subscription_id, request.values["resource_group"])
        items = request.store.under(table, request.path + "/")
        return paged(request, items)

    @registry.route(f"/subscriptions/<subscription>/providers/{provider_type}", ["GET"], action=action,
                    provider=provider)
    def list_in_subscription(request):
        prefix = f"/subscriptions/{request.subscription_id}/".lower()
        type_marker = f"/providers/{provider_type}/".lower()
        items = [value for key, value in sorted(request.store.table(table).items())
                 if key.startswith(prefix) and type_marker in key]
        return paged(request, items)

    return get_one, list_in_group, list_in_subscription, seed_table
