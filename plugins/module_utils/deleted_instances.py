# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Soft-deleted backup instances: their readable form, and undelete (back to "stop protection, retain data")."""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, recovery_points
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.lookup import (
    find_for_server,
    find_instance,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.readable import to_readable


def to_readable_deleted(body, point_count=None):
    """The readable instance plus its deletion facts and how many recovery points it keeps."""
    item = to_readable(body)
    deletion = arm.properties(body).get("deletionInfo") or {}
    item.update(deletion_time=deletion.get("deletionTime"), scheduled_purge_time=deletion.get("scheduledPurgeTime"),
                billing_end_date=deletion.get("billingEndDate"), delete_activity_id=deletion.get("deleteActivityID"),
                recovery_point_count=point_count)
    return item


def deleted_info(api, name=None, server_id=None, count_points=True):
    """The vault's soft-deleted instances (of the server, or the one named), each readable with its point count."""
    api.require_vault()
    if name:
        body = api.deleted_instance(name)
        bodies = [body] if body else []
    else:
        bodies = api.deleted_instances()
        if server_id:
            bodies = find_for_server(bodies, server_id)
    result = []
    for body in sorted(bodies, key=lambda item: item.get("name") or ""):
        count = len(api.recovery_points(body.get("name"))) if count_points else None
        result.append(to_readable_deleted(body, count))
    return result


def undelete(api, name, server_id, check_mode):
    """Undelete the soft-deleted instance of the server (or the one named): (changed, readable instance, message).

    Nothing to do when the instance is live already; an InputError when there is neither.
    """
    api.require_vault()
    deleted = recovery_points.soft_deleted_for(api, name, server_id)
    if deleted is None:
        live = find_instance(api, name, server_id)
        if live is not None:
            return False, to_readable(live), "Backup instance '{0}' is not soft-deleted.".format(live.get("name"))
        what = "backup instance '{0}'".format(name) if name else "server '{0}'".format(arm.last_segment(server_id))
        raise InputError("Vault '{0}' has no soft-deleted backup instance for {1} (it may have been purged).".format(
            api.vault_name, what), option="backup_instance_name" if name else "server_name")
    name = deleted.get("name")
    if check_mode:
        return True, to_readable_deleted(deleted), "Would undelete backup instance '{0}'.".format(name)
    api.undelete(name)
    return True, to_readable(api.instance(name)), (
        "Backup instance '{0}' is undeleted with protection stopped and its recovery points kept: restore from it, "
        "or resume protection with azbackup.dataprotection.pgflex_backup_instance state=present.".format(name))
