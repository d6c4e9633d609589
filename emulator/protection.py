"""Backup instance records as the instance, deleted-instance, recovery-point and schedule code share them: the
table names, the protection states (spelled as the real service reports them) and the one way to change state."""

INSTANCE_TABLE = "backupInstances"
DELETED_TABLE = "deletedBackupInstances"

CONFIGURING = "ConfiguringProtection"
UPDATING = "UpdatingProtection"
CONFIGURED = "ProtectionConfigured"
PROTECTION_ERROR = "ProtectionError"
STOPPED = "ProtectionStopped"
SUSPENDED = "BackupsSuspended"  # in both protectionStatus.status and currentProtectionState (recorded)
SOFT_DELETED = "SoftDeleted"


def find_instance(store, instance_id):
    return store.table(INSTANCE_TABLE).get(instance_id.lower())


def find_deleted(store, instance_id):
    """The soft-deleted instance that was ``instance_id`` (…/backupInstances/{name}), or None."""
    return store.table(DELETED_TABLE).get(
        instance_id.replace("/backupInstances/", "/deletedBackupInstances/").lower())


def enter_state(store, record, state, error=None):
    """Move an instance to a protection state. Scheduled backups run from the moment it (re)enters
    ProtectionConfigured (the ``watermark``); states without backups forget the watermark (no catch-up)."""
    if state == CONFIGURED:
        if record.get("watermark") is None:
            record["watermark"] = store.clock.now()
    elif state != UPDATING:
        record["watermark"] = None
    record["state"] = state
    record["error"] = error if state == PROTECTION_ERROR else None
