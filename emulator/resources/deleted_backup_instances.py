"""Microsoft.DataProtection backupVaults/deletedBackupInstances: soft-deleted backup instances.

Shapes follow the 2026-06-01 spec (DeletedBackupInstances_List / _Get / _Undelete, examples under
DeletedBackupInstanceOperations/) and recorded real traffic (azure-cli-extensions dataprotection recording
``test_dataprotection_backup_instance_softdelete``):

- DELETE of a backup instance while the vault's soft delete is On or AlwaysOn moves it here with its recovery points:
  ``objectType DeletedBackupInstance``, ``protectionStatus.status`` / ``currentProtectionState`` ``SoftDeleted``,
  ``deletionInfo {deletionTime, billingEndDate, scheduledPurgeTime, deleteActivityID}`` with the purge time = now
  + the vault's soft delete retention days (as recorded).
- GET one / list -> 200 (``{"value", "nextLink"}``); an unknown one -> 404 ``UserErrorGenericResourceNotFound``
  (recorded for undelete of nothing).
- POST ``undelete`` (no body) -> 200 at once with no polling headers (recorded); the instance is back in
  "stop protection, retain data" (``ProtectionStopped``): restore from it, or resume protection.
- Purge: once its purge time has passed (simulated clock) the instance and its recovery points are gone for good.
- Hooks: ``backup_instance_deleted`` (keeps a deleted instance when soft delete is on), ``policy_soft_deleted_users``
  (policies refuse to be deleted while soft-deleted instances use them), ``vault_delete_blockers`` (a vault with
  soft-deleted instances cannot be deleted), ``vault_deleted``.
"""

from datetime import timedelta

from emulator import registry
from emulator.arm import ArmError, json_response, new_guid, paged
from emulator.clock import iso
from emulator.protection import DELETED_TABLE, INSTANCE_TABLE, SOFT_DELETED, STOPPED, enter_state, find_instance
from emulator.resources import recovery_points
from emulator.resources.backup_instances import instance_properties, users_of_policy, vault_not_empty
from emulator.resources.vaults import PROVIDER, VAULT_RULE, VAULT_TYPE, find_vault, get_vault_or_404
from emulator.validators import user_error

DELETED_TYPE = f"{VAULT_TYPE}/deletedBackupInstances"
DELETED_RULE = f"{VAULT_RULE}/deletedBackupInstances"


def soft_delete_settings(vault):
    """(enabled, retention days) of the vault's soft delete settings."""
    settings = (vault.get("settings") or {}).get("securitySettings", {}).get("softDeleteSettings") or {}
    state = str(settings.get("state") or "Off").lower()
    return state in ("on", "alwayson"), float(settings.get("retentionDurationInDays") or 14)


def deleted_id_of(vault_id, name):
    return f"{vault_id}/deletedBackupInstances/{name}"


@registry.hook("backup_instance_deleted")
def _keep_when_soft_delete_is_on(store, record):
    """Keep a deleted instance (and its recovery points) while the vault's soft delete is on; True when kept."""
    enabled, days = soft_delete_settings(find_vault(store, record["vaultId"]) or {})
    if not enabled:
        return None
    now = store.clock.now()
    record.update(deletedId=deleted_id_of(record["vaultId"], record["name"]),
                  deletionInfo={"deletionTime": now, "purgeTime": now + timedelta(days=days),
                                "activityId": new_guid()})
    store.table(DELETED_TABLE)[record["deletedId"].lower()] = record
    return True


def purge_due(store, now=None):
    """Permanently delete soft-deleted instances (and their recovery points) whose purge time has come."""
    now = now or store.clock.now()
    for key, record in list(store.table(DELETED_TABLE).items()):
        if record["deletionInfo"]["purgeTime"] <= now:
            del store.table(DELETED_TABLE)[key]
            recovery_points.delete_points_of(store, record["id"])


def render_deleted(record):
    info = record["deletionInfo"]
    deletion = {"deletionTime": iso(info["deletionTime"]), "billingEndDate": iso(info["deletionTime"]),
                "scheduledPurgeTime": iso(info["purgeTime"]), "deleteActivityID": info["activityId"]}
    properties = instance_properties(record["body"], first={"deletionInfo": deletion})
    properties.update(protectionStatus={"status": SOFT_DELETED}, currentProtectionState=SOFT_DELETED,
                      provisioningState="Succeeded", objectType="DeletedBackupInstance")
    return {"properties": properties, "id": record["deletedId"], "name": record["name"], "type": DELETED_TYPE}


def _deleted_or_404(request):
    vault = get_vault_or_404(request)
    purge_due(request.store)
    record = request.store.table(DELETED_TABLE).get(deleted_id_of(vault["id"], request.values["instance"]).lower())
    if record is None:
        raise ArmError(404, "UserErrorGenericResourceNotFound", "Azure resource does not exist. Please make sure "
                       "required resources exist. If the issue persists, contact Microsoft support.")
    return record


@registry.route(DELETED_RULE, ["GET"], action=f"{DELETED_TYPE}/read", provider=PROVIDER)
def list_deleted(request):
    vault = get_vault_or_404(request)
    purge_due(request.store)
    items = [render_deleted(record) for record in request.store.under(DELETED_TABLE, f"{vault['id']}/")]
    return paged(request, items)


@registry.route(f"{DELETED_RULE}/<instance>", ["GET"], action=f"{DELETED_TYPE}/read", provider=PROVIDER)
def get_deleted(request):
    return json_response(200, render_deleted(_deleted_or_404(request)))


@registry.route(f"{DELETED_RULE}/<instance>/undelete", ["POST"], action=f"{DELETED_TYPE}/undelete/action",
                provider=PROVIDER)
def undelete(request):
    record = _deleted_or_404(request)
    store = request.store
    if find_instance(store, record["id"]) is not None:
        raise user_error(409, "UserErrorAnotherOperationInProgress",
                         f"A backup instance named '{record['name']}' already exists in the vault.",
                         "Delete or rename the existing backup instance, then undelete.")
    store.table(DELETED_TABLE).pop(record["deletedId"].lower(), None)
    for key in ("deletedId", "deletionInfo"):
        record.pop(key, None)
    record.update(provisioningState="Succeeded", deleting=False)
    enter_state(store, record, STOPPED)
    store.table(INSTANCE_TABLE)[record["id"].lower()] = record
    return json_response(200)


@registry.hook("policy_soft_deleted_users")
def _policy_soft_deleted_users(store, policy_id):
    purge_due(store)
    return users_of_policy(store, DELETED_TABLE, policy_id)


@registry.hook("vault_delete_blockers")
def _vault_blockers(store, vault_record):
    purge_due(store)
    deleted = [record["name"] for record in store.under(DELETED_TABLE, f"{vault_record['id']}/")]
    if deleted:
        return vault_not_empty(vault_record, deleted, "backup instances in soft deleted state in the vault",
                               "Retry the vault deletion after the soft deleted backup instances are permanently "
                               "deleted.", " Soft deleted items are permanently deleted when their soft delete "
                               "retention ends.")
    return None


@registry.hook("vault_deleted")
def _drop_vault_deleted_instances(store, vault_record):
    store.drop_under(DELETED_TABLE, f"{vault_record['id']}/")


@registry.on_clock_advance
def _purge(store, _before, after):
    purge_due(store, after)
