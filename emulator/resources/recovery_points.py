"""Microsoft.DataProtection backupInstances/recoveryPoints: list and get, plus the records backups create.

Shapes follow the 2026-06-01 spec (AzureBackupRecoveryPointResource / AzureBackupDiscreteRecoveryPoint,
RecoveryPoints_List / RecoveryPoints_Get, examples ListRecoveryPoints.json / GetRecoveryPoint.json) and recorded
traffic (azure-cli-extensions ``test_dataprotection_recovery_point_show``): ``recoveryPointId`` is 32 hex digits,
``friendlyName`` repeats it, each data store detail has ``id``, ``type``, ``creationTime``, ``expiryTime``,
``metaData``, ``visible``, ``state: "COMMITTED"``. PostgreSQL flexible server backups are ``Full`` recovery points
in the ``VaultStore``.

- GET list -> 200 ``{"value": [...], "nextLink"}``, newest first. ``$filter`` (OData, optional) understands
  ``startDate eq '<iso>'`` / ``endDate eq '<iso>'`` joined by ``and`` (what the Azure CLI sends); an empty
  filter is ignored; anything else -> 400.
- GET one -> 200; 404 ``ResourceNotFound`` when the instance or the point does not exist.
"""

import re
import uuid
from datetime import datetime, timezone

from emulator import registry
from emulator.arm import ArmError, json_response, new_guid, paged, resource_not_found
from emulator.clock import iso
from emulator.protection import INSTANCE_TABLE
from emulator.resources.vaults import PROVIDER, VAULT_RULE, VAULT_TYPE, vault_child_or_404

TABLE = "recoveryPoints"
RP_TYPE = f"{VAULT_TYPE}/backupInstances/recoveryPoints"
_FILTER_TERM = re.compile(r"^\s*(startDate|endDate)\s+eq\s+'([^']+)'\s*$", re.IGNORECASE)


def create_recovery_point(store, instance_id, moment, tag, expiry, policy_name):
    """Record a Full recovery point in the VaultStore taken at ``moment``."""
    point_id = uuid.uuid4().hex
    record = {"id": f"{instance_id}/recoveryPoints/{point_id}", "name": point_id, "instanceId": instance_id,
              "time": moment, "tag": tag, "expiry": expiry, "policyName": policy_name, "storeId": new_guid(),
              "tagVersion": str(int(moment.timestamp() * 10_000_000) + 621_355_968_000_000_000)}
    store.table(TABLE)[record["id"].lower()] = record
    registry.call_hooks("recovery_point_created", store, record)
    return record


def points_of(store, instance_id):
    return store.under(TABLE, f"{instance_id}/recoveryPoints/")


def delete_points_of(store, instance_id):
    for record in points_of(store, instance_id):
        store.table(TABLE).pop(record["id"].lower(), None)


def expire_points(store, instance_id, now):
    """Delete the instance's recovery points whose expiry time has passed; returns how many."""
    expired = [record for record in points_of(store, instance_id) if record["expiry"] and record["expiry"] <= now]
    for record in expired:
        store.table(TABLE).pop(record["id"].lower(), None)
    return len(expired)


def render_point(record):
    """The recovery point as the service returns it (key order as recorded)."""
    created = iso(record["time"])
    expiry = iso(record["expiry"]) if record["expiry"] else None
    properties = {
        "objectType": "AzureBackupDiscreteRecoveryPoint",
        "recoveryPointId": record["name"],
        "recoveryPointTime": created,
        "recoveryPointType": "Full",
        "friendlyName": record["name"],
        "recoveryPointDataStoresDetails": [{
            "id": record["storeId"], "type": "VaultStore", "creationTime": created, "expiryTime": expiry,
            "metaData": None, "visible": True, "state": "COMMITTED", "rehydrationExpiryTime": None,
            "rehydrationStatus": None}],
        "retentionTagName": record["tag"],
        "retentionTagVersion": record["tagVersion"],
        "policyName": record["policyName"],
        "policyVersion": None,
        "expiryTime": expiry,
        "recoveryPointState": "Completed",
        "isPartialRP": False,
    }
    return {"properties": properties, "id": record["id"], "name": record["name"], "type": RP_TYPE}


def _instance_or_404(request):
    record, _vault = vault_child_or_404(request, INSTANCE_TABLE, "backupInstances", "instance",
                                        f"{VAULT_TYPE}/backupInstances")
    return record


def _parse_time(text):
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ArmError(400, "BMSUserErrorInvalidInput", f"'{text}' in $filter is not a date-time such as "
                       "2024-01-01T00:00:00Z.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_filter(text):
    """(start, end) from the OData filter; None for a bound not given."""
    start = end = None
    if not text or not text.strip():
        return start, end
    for term in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _FILTER_TERM.match(term)
        if not match:
            raise ArmError(400, "BMSUserErrorInvalidInput",
                           f"Unsupported $filter term '{term}'. Use startDate eq '<date-time>' and/or endDate eq "
                           "'<date-time>', joined by 'and'.")
        if match.group(1).lower() == "startdate":
            start = _parse_time(match.group(2))
        else:
            end = _parse_time(match.group(2))
    return start, end


@registry.route(f"{VAULT_RULE}/backupInstances/<instance>/recoveryPoints", ["GET"], action=f"{RP_TYPE}/read",
                provider=PROVIDER)
def list_points(request):
    instance = _instance_or_404(request)
    start, end = parse_filter(request.query.get("$filter"))
    records = [record for record in points_of(request.store, instance["id"])
               if (start is None or record["time"] >= start) and (end is None or record["time"] <= end)]
    records.sort(key=lambda record: (record["time"], record["name"]), reverse=True)
    return paged(request, [render_point(record) for record in records])


@registry.route(f"{VAULT_RULE}/backupInstances/<instance>/recoveryPoints/<point>", ["GET"],
                action=f"{RP_TYPE}/read", provider=PROVIDER)
def get_point(request):
    instance = _instance_or_404(request)
    record = request.store.table(TABLE).get(f"{instance['id']}/recoveryPoints/{request.values['point']}".lower())
    if record is None:
        raise resource_not_found(RP_TYPE, f"{request.values['vault']}/{request.values['instance']}/"
                                 f"{request.values['point']}", request.values["resource_group"])
    return json_response(200, render_point(record))


@registry.hook("vault_deleted")
def _drop_vault_points(store, vault_record):
    store.drop_under(TABLE, f"{vault_record['id']}/backupInstances/")
