# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Recovery points of a protected server: the instance that holds them, the API's date filter, the paired region's
points, and the one point a restore names (``latest``, an id, or a point in time)."""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, datasources, jobs
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.info import readable_recovery_point
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.lookup import (
    find_for_server,
    find_instance,
)

UNDELETE_MODULE = "azbackup.dataprotection.pgflex_backup_instance_undelete"


def readable_point(body):
    """The snake_case form of a recovery point: the one of pgflex_backup_instance_info plus the policy version and
    whether the point is partial."""
    point = readable_recovery_point(body)
    props = arm.properties(body)
    point["recovery_point_id"] = body.get("name") or point["recovery_point_id"]
    point["policy_version"] = props.get("policyVersion")
    point["is_partial"] = str(props.get("recoveryPointState") or "").lower() == "partial"
    stores = props.get("recoveryPointDataStoresDetails") or []
    point["data_stores"] = [{"type": item.get("type"), "state": item.get("state"),
                             "expiry_time": item.get("expiryTime")} for item in stores]
    return point


def soft_deleted_for(api, name=None, server_id=None):
    """The soft-deleted instance (ARM body) named ``name`` or of ``server_id``; None when there is none."""
    if name:
        return api.deleted_instance(name)
    found = find_for_server(api.deleted_instances(), server_id)
    return found[0] if found else None


def soft_deleted_message(body, vault_name, doing):
    """Why ``doing`` cannot go on: the instance is soft-deleted; and how to undelete it."""
    deletion = arm.properties(body).get("deletionInfo") or {}
    return ("Backup instance '{0}' of server '{1}' is soft-deleted in vault '{2}' (deleted {3}, purged {4}), so {5} "
            "is not possible. Undelete it first with {6} (vault, and server or backup_instance_name), or wait until "
            "its soft-delete retention ends.").format(
        body.get("name"), arm.last_segment((arm.properties(body).get("dataSourceInfo") or {}).get("resourceID")),
        vault_name, deletion.get("deletionTime") or "at an unknown time",
        deletion.get("scheduledPurgeTime") or "at an unknown time", doing, UNDELETE_MODULE)


def protected_instance(api, params, server_id, doing):
    """The live backup instance (ARM body) of the server or ``backup_instance_name``; an InputError when the server
    is not protected or its instance is soft-deleted."""
    api.require_vault()
    name = params.get("backup_instance_name")
    body = find_instance(api, name, server_id)
    if body is not None:
        return body
    deleted = soft_deleted_for(api, name, server_id)
    option = "backup_instance_name" if name else ("server_id" if params.get("server_id") else "server_name")
    if deleted is not None:
        raise InputError(soft_deleted_message(deleted, api.vault_name, doing), option=option,
                         error_code="BackupInstanceSoftDeleted")
    what = "backup instance '{0}'".format(name) if name else "server '{0}'".format(arm.last_segment(server_id))
    datasource = datasources.of_resource(server_id) if server_id else datasources.default()
    raise InputError("There is no backup instance for {0} in vault '{1}': the server is not protected there, so {2} "
                     "is not possible. Protect it with {3}, or name the vault that protects it.".format(
                         what, api.vault_name, doing, (datasource or datasources.default()).instance_module),
                     option=option, error_code="BackupInstanceNotFound")


def date_filter(start_time=None, end_time=None):
    """The API's ``$filter`` (``startDate eq '...' and endDate eq '...'``), or None; fails naming the option."""
    try:
        start = jobs.parse_time(start_time, "start_time") if start_time else None
        end = jobs.parse_time(end_time, "end_time") if end_time else None
    except jobs.JobInputError as exc:
        raise InputError(str(exc), option="end_time" if "end_time" in str(exc) else "start_time") from None
    if start and end and start > end:
        raise InputError("start_time ({0}) is after end_time ({1}).".format(start_time, end_time), option="start_time")
    parts = []
    if start:
        parts.append("startDate eq '{0}'".format(jobs._iso(start)))
    if end:
        parts.append("endDate eq '{0}'".format(jobs._iso(end)))
    return " and ".join(parts) or None


def secondary_region(api, vault):
    """The region the vault's data is replicated to: an InputError (option ``use_secondary_region``) unless the vault
    is GeoRedundant with cross-region restore enabled."""
    props = arm.properties(vault)
    storage = props.get("storageSettings") or []
    redundancy = storage[0].get("type") if storage else None
    crr = ((props.get("featureSettings") or {}).get("crossRegionRestoreSettings") or {}).get("state")
    if str(redundancy or "").lower() != "georedundant":
        raise InputError(
            "use_secondary_region needs a GeoRedundant vault; vault '{0}' is {1}, so it keeps no copy in a paired "
            "region. Restore from the primary region (use_secondary_region: false).".format(
                api.vault_name, redundancy or "of unknown redundancy"), option="use_secondary_region")
    if str(crr or "").lower() != "enabled":
        raise InputError(
            "use_secondary_region needs cross-region restore on vault '{0}' (it is {1}). Enable it with "
            "azbackup.dataprotection.backup_vault cross_region_restore: true (irreversible), then wait for the "
            "points to replicate.".format(api.vault_name, crr or "Disabled"), option="use_secondary_region")
    region = arm.canonical_region(vault.get("location"))
    locations = api.arm_get("/subscriptions/{0}/locations".format(arm.subscription_of(api.vault_id)),
                            arm.api_version(arm.SUBSCRIPTION)) or {}
    for item in locations.get("value") or []:
        if arm.canonical_region(item.get("name")) == region:
            paired = ((item.get("metadata") or {}).get("pairedRegion") or [{}])[0].get("name")
            if paired:
                return arm.canonical_region(paired)
    raise InputError("The paired region of {0} (vault '{1}') is not known to this subscription; cross-region "
                     "restore is not possible from it.".format(region, api.vault_name), option="use_secondary_region")


def list_points(api, vault, instance, params):
    """(readable points newest first, source region, secondary region or None) of an instance, with the filters of
    recovery_point_info (``start_time``, ``end_time``, ``retention_tag``, ``latest``, ``use_secondary_region``)."""
    odata_filter = date_filter(params.get("start_time"), params.get("end_time"))
    source_region = arm.canonical_region(vault.get("location"))
    target_region = params.get("secondary_region")
    if params.get("use_secondary_region"):
        target_region = target_region or secondary_region(api, vault)
        bodies = api.secondary_recovery_points(target_region, instance.get("id"), source_region, odata_filter)
    else:
        bodies = api.recovery_points(instance.get("name"), odata_filter)
    points = [readable_point(body) for body in bodies]
    tag = params.get("retention_tag")
    if tag:
        points = [point for point in points if str(point["retention_tag"] or "").lower() == tag.lower()]
    points.sort(key=lambda point: jobs.parse_time(point["time"]) if point["time"] else jobs.parse_time("1970-01-01"),
                reverse=True)
    if params.get("latest"):
        points = points[:1]
    return points, source_region, target_region


def choose_point(points, requested, server_label):
    """The point ``requested`` names among ``points`` (newest first): ``latest``, a recovery point id, or an ISO 8601
    time (the newest point at or before it). An InputError naming ``recovery_point`` otherwise."""
    requested = str(requested or "latest").strip()
    usable = [point for point in points if str(point["state"] or "Completed").lower() != "partial"] or points
    if not points:
        raise InputError("Server {0} has no recovery point yet: back it up first (pgflex_ondemand_backup), or wait "
                         "for its scheduled backup.".format(server_label), option="recovery_point")
    if requested.lower() == "latest":
        return usable[0]
    for point in points:
        if requested.lower() in (str(point["recovery_point_id"]).lower(), str(point["id"] or "").lower()):
            return point
    try:
        when = jobs.parse_time(requested, "recovery_point")
    except jobs.JobInputError:
        raise InputError("recovery_point '{0}' is not a recovery point of {1}; it has {2} (newest: {3}). Use latest, "
                         "one of their ids, or a point in time.".format(
                             requested, server_label, len(points), points[0]["recovery_point_id"]),
                         option="recovery_point") from None
    at_or_before = [point for point in usable if point["time"] and jobs.parse_time(point["time"]) <= when]
    if not at_or_before:
        oldest = usable[-1]
        raise InputError("recovery_point {0} is before the first recovery point of {1} ({2}, {3}).".format(
            requested, server_label, oldest["time"], oldest["recovery_point_id"]), option="recovery_point")
    return at_or_before[0]
