# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backup vaults: the readable form, what may change, and ensure_present / ensure_absent.

The readable form (snake_case, YAML-safe enum words) is what modules take and return; the ARM body
(camelCase) is what the API takes. Everything here is pure or takes the vault's DataProtectionApi as an
argument, so the unit tests drive it with a fake client.
"""

import re

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, compare
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import EnsureResult, InputError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9-]{2,50}$")
RETENTION_DAYS_RANGE = (14, 180)
REDUNDANCY = ["LocallyRedundant", "GeoRedundant", "ZoneRedundant"]
DEFAULT_REDUNDANCY = "GeoRedundant"  # what the portal proposes

SOFT_DELETE = {"disabled": "Off", "enabled": "On", "always_on": "AlwaysOn"}
IMMUTABILITY = {"disabled": "Disabled", "unlocked": "Unlocked", "locked": "Locked"}
CROSS_SUBSCRIPTION_RESTORE = {"disabled": "Disabled", "enabled": "Enabled",
                              "permanently_disabled": "PermanentlyDisabled"}
IDENTITY_TYPES = {
    "none": "None",
    "system_assigned": "SystemAssigned",
    "user_assigned": "UserAssigned",
    "system_and_user_assigned": "SystemAssigned,UserAssigned",
}
# What Azure applies when a vault is created without these settings; sent explicitly so that the
# check-mode prediction and the created vault are the same.
CREATE_DEFAULTS = {
    "soft_delete": "enabled",
    "soft_delete_retention_days": 14,
    "immutability": "disabled",
    "cross_region_restore": False,
    "cross_subscription_restore": "enabled",
    "alerts_for_all_job_failures": True,
    "identity": {"type": "system_assigned", "user_assigned_identities": []},
}


# A requested vault setting is invalid, or a change Azure does not allow; nothing was written.
VaultInputError = InputError


def _reverse(mapping, value, default=None):
    for readable, wire in mapping.items():
        if compare.same_enum(wire, value):
            return readable
    return default


def to_readable(vault):
    """The readable form of an ARM vault body (as the API or the SDK's as_dict returns it)."""
    if not vault:
        return None
    props = vault.get("properties") or {}
    security = props.get("securitySettings") or {}
    soft = security.get("softDeleteSettings") or {}
    immutability = (security.get("immutabilitySettings") or {}).get("state")
    crr = ((props.get("featureSettings") or {}).get("crossRegionRestoreSettings") or {}).get("state")
    csr = ((props.get("featureSettings") or {}).get("crossSubscriptionRestoreSettings") or {}).get("state")
    alerts = ((props.get("monitoringSettings") or {}).get("azureMonitorAlertSettings") or {}).get(
        "alertsForAllJobFailures")
    storage = props.get("storageSettings") or []
    identity = vault.get("identity") or {}
    user_assigned = identity.get("userAssignedIdentities") or {}
    return {
        "id": vault.get("id"),
        "name": vault.get("name"),
        "resource_group": arm.resource_group_of(vault.get("id")),
        "location": vault.get("location"),
        "tags": vault.get("tags") or {},
        "redundancy": storage[0].get("type") if storage else None,
        "soft_delete": _reverse(SOFT_DELETE, soft.get("state")),
        "soft_delete_retention_days": _int_or_none(soft.get("retentionDurationInDays")),
        "immutability": _reverse(IMMUTABILITY, immutability, "disabled"),
        "cross_region_restore": compare.same_enum(crr, "Enabled") if crr else False,
        # Azure enables cross-subscription restore on vaults that never set it.
        "cross_subscription_restore": _reverse(CROSS_SUBSCRIPTION_RESTORE, csr, "enabled"),
        "alerts_for_all_job_failures": None if alerts is None else compare.same_enum(alerts, "Enabled"),
        "identity": {
            "type": _reverse(IDENTITY_TYPES, identity.get("type") or "None", "none"),
            "principal_id": identity.get("principalId"),
            "tenant_id": identity.get("tenantId"),
            "user_assigned_identities": sorted(user_assigned),
            "user_assigned_principals": {
                key: (value or {}).get("principalId") for key, value in sorted(user_assigned.items())
            },
        },
        "provisioning_state": props.get("provisioningState"),
        "secure_score": props.get("secureScore"),
    }


def location_problem(location, regions):
    """Why ``location`` is not a region of the subscription (a sentence), or None.

    ``regions``: the subscription's locations as ARM lists them (``name`` such as ``eastus``, ``displayName`` such
    as ``East US``); either spelling is accepted, in any case and with or without spaces.
    """
    wanted = str(location or "").replace(" ", "").lower()
    names = sorted(r.get("name") for r in regions or () if r.get("name"))
    for region in regions or ():
        spellings = (region.get("name"), region.get("displayName"))
        if any(str(s or "").replace(" ", "").lower() == wanted for s in spellings):
            return None
    return "location {0!r} is not a region of this subscription. Use one of: {1}.".format(location, ", ".join(names))


def _int_or_none(value):
    return None if value is None else int(value)


def desired_from_params(params):
    """The settings the user asked for (None = not managed), validated for shape and range."""
    name = params["name"]
    if not NAME_PATTERN.match(name or ""):
        raise VaultInputError(
            "name '{0}' is not a valid Backup vault name: use 2 to 50 letters, digits and hyphens.".format(name))
    days = params.get("soft_delete_retention_days")
    low, high = RETENTION_DAYS_RANGE
    if days is not None and not low <= days <= high:
        raise VaultInputError(
            "soft_delete_retention_days must be between {0} and {1} days, got {2}.".format(low, high, days))
    if days is not None and params.get("soft_delete") == "disabled":
        raise VaultInputError("soft_delete_retention_days applies only when soft_delete is enabled or always_on.")
    identity = params.get("identity")
    if identity is not None:
        identity = {"type": identity.get("type") or "system_assigned",
                    "user_assigned_identities": sorted(identity.get("user_assigned_identities") or [])}
        wants_user = identity["type"] in ("user_assigned", "system_and_user_assigned")
        if wants_user and not identity["user_assigned_identities"]:
            raise VaultInputError("identity.type {0} needs identity.user_assigned_identities (resource ids of "
                                  "user-assigned managed identities).".format(identity["type"]))
        if not wants_user and identity["user_assigned_identities"]:
            raise VaultInputError("identity.user_assigned_identities is set but identity.type is {0}; use "
                                  "user_assigned or system_and_user_assigned.".format(identity["type"]))
    return {
        "location": params.get("location"),
        "redundancy": params.get("redundancy"),
        "soft_delete": params.get("soft_delete"),
        "soft_delete_retention_days": days,
        "immutability": params.get("immutability"),
        "cross_region_restore": params.get("cross_region_restore"),
        "cross_subscription_restore": params.get("cross_subscription_restore"),
        "alerts_for_all_job_failures": params.get("alerts_for_all_job_failures"),
        "identity": identity,
        "tags": params.get("tags"),
    }


def check_change_allowed(current, desired, allow_irreversible):
    """Fail (VaultInputError) for a change Azure forbids or that needs confirmation; current may be None."""
    problems = []
    creating = current is None
    base = dict(CREATE_DEFAULTS, redundancy=DEFAULT_REDUNDANCY) if creating else current
    redundancy = desired.get("redundancy") or base.get("redundancy")

    if not creating:
        if desired.get("location") and not compare.same_enum(desired["location"], current["location"]):
            problems.append("location cannot change: vault '{0}' is in {1}, not {2}.".format(
                current["name"], current["location"], desired["location"]))
        if desired.get("redundancy") and not compare.same_enum(desired["redundancy"], current["redundancy"]):
            problems.append(
                "redundancy cannot change after a vault is created: vault '{0}' is {1}. Create a new vault with "
                "{2}, or leave redundancy unset.".format(current["name"], current["redundancy"], desired["redundancy"]))
        if current.get("soft_delete") == "always_on" and desired.get("soft_delete") not in (None, "always_on"):
            problems.append("soft_delete is always_on on vault '{0}', which Azure makes irreversible; it cannot "
                            "become {1}.".format(current["name"], desired["soft_delete"]))
        if current.get("immutability") == "locked" and desired.get("immutability") not in (None, "locked"):
            problems.append("immutability is locked on vault '{0}', which Azure makes irreversible; it cannot "
                            "become {1}.".format(current["name"], desired["immutability"]))
        if current.get("cross_subscription_restore") == "permanently_disabled" and desired.get(
                "cross_subscription_restore") not in (None, "permanently_disabled"):
            problems.append("cross_subscription_restore is permanently_disabled on vault '{0}', which Azure makes "
                            "irreversible; it cannot become {1}.".format(current["name"],
                                                                         desired["cross_subscription_restore"]))
        if current.get("cross_region_restore") and desired.get("cross_region_restore") is False:
            problems.append("cross_region_restore is enabled on vault '{0}'; Azure does not allow disabling it."
                            .format(current["name"]))
    if desired.get("cross_region_restore") and not compare.same_enum(redundancy, "GeoRedundant"):
        problems.append("cross_region_restore needs redundancy GeoRedundant (the vault is {0}).".format(redundancy))
    if not allow_irreversible:
        if desired.get("soft_delete") == "always_on" and base.get("soft_delete") != "always_on":
            problems.append("soft_delete always_on cannot be undone (backups can then never be purged before "
                            "their retention ends); set allow_irreversible: true to confirm.")
        if desired.get("immutability") == "locked" and base.get("immutability") != "locked":
            problems.append("immutability locked cannot be undone (recovery points can then never be deleted "
                            "early); set allow_irreversible: true to confirm.")
        if desired.get("cross_subscription_restore") == "permanently_disabled" and base.get(
                "cross_subscription_restore", "enabled") != "permanently_disabled":
            problems.append("cross_subscription_restore permanently_disabled cannot be undone (restores to other "
                            "subscriptions are then refused for good); set allow_irreversible: true to confirm.")
    if problems:
        raise VaultInputError(" ".join(problems))


def predicted(current, desired, purge_tags):
    """The readable vault after applying ``desired`` to ``current`` (None = create)."""
    if current is None:
        result = dict(CREATE_DEFAULTS, redundancy=DEFAULT_REDUNDANCY, tags={}, provisioning_state="Succeeded")
        result["identity"] = dict(CREATE_DEFAULTS["identity"])
    else:
        result = dict(current)
        result["identity"] = dict(current.get("identity") or {})
    for key in ("location", "redundancy", "soft_delete", "immutability", "cross_region_restore",
                "cross_subscription_restore", "alerts_for_all_job_failures"):
        if desired.get(key) is not None:
            result[key] = desired[key]
    if desired.get("soft_delete_retention_days") is not None:
        result["soft_delete_retention_days"] = desired["soft_delete_retention_days"]
    if result.get("soft_delete") == "disabled":
        result["soft_delete_retention_days"] = current.get("soft_delete_retention_days") if current else None
    result["tags"] = compare.merge_tags(current.get("tags") if current else {}, desired.get("tags"), purge_tags)
    if desired.get("identity") is not None:
        result["identity"].update(desired["identity"])
    identity = result["identity"]
    had_system = current is not None and "system" in ((current.get("identity") or {}).get("type") or "")
    if not had_system or "system" not in identity["type"]:
        # Azure generates the system-assigned principal when it creates the identity: unknown until then.
        identity["principal_id"] = None
        identity["tenant_id"] = None
    if current is None or identity.get("user_assigned_identities") != (current.get("identity") or {}).get(
            "user_assigned_identities"):
        identity["user_assigned_principals"] = {key: None for key in identity.get("user_assigned_identities") or []}
    return result


COMPARED = ["redundancy", "soft_delete", "soft_delete_retention_days", "immutability", "cross_region_restore",
            "cross_subscription_restore", "alerts_for_all_job_failures", "tags"]


def changes(current, after):
    """Names of the settings that differ between the current and the predicted readable vault."""
    different = [key for key in COMPARED if current.get(key) != after.get(key)]
    identity_now = current.get("identity") or {}
    identity_then = after.get("identity") or {}
    if identity_now.get("type") != identity_then.get("type") or [
        i.lower() for i in identity_now.get("user_assigned_identities") or []
    ] != [i.lower() for i in identity_then.get("user_assigned_identities") or []]:
        different.append("identity")
    return different


def identity_body(identity):
    body = {"type": IDENTITY_TYPES[identity["type"]]}
    if identity.get("user_assigned_identities"):
        body["userAssignedIdentities"] = {item: {} for item in identity["user_assigned_identities"]}
    return body


def create_body(after):
    """The PUT body for a new vault from its predicted readable form."""
    security = {"softDeleteSettings": {"state": SOFT_DELETE[after["soft_delete"]]},
                "immutabilitySettings": {"state": IMMUTABILITY[after["immutability"]]}}
    if after.get("soft_delete_retention_days") is not None:
        security["softDeleteSettings"]["retentionDurationInDays"] = after["soft_delete_retention_days"]
    properties = {
        "storageSettings": [{"datastoreType": "VaultStore", "type": after["redundancy"]}],
        "securitySettings": security,
        "monitoringSettings": {"azureMonitorAlertSettings": {
            "alertsForAllJobFailures": "Enabled" if after["alerts_for_all_job_failures"] else "Disabled"}},
    }
    if after.get("cross_region_restore"):
        properties["featureSettings"] = {"crossRegionRestoreSettings": {"state": "Enabled"}}
    if after.get("cross_subscription_restore", "enabled") != "enabled":
        properties.setdefault("featureSettings", {})["crossSubscriptionRestoreSettings"] = {
            "state": CROSS_SUBSCRIPTION_RESTORE[after["cross_subscription_restore"]]}
    return {"location": after["location"], "tags": after.get("tags") or {},
            "identity": identity_body(after["identity"]), "properties": properties}


def patch_body(current, after, changed):
    """The PATCH body carrying only the sections that change."""
    body = {}
    properties = {}
    if "tags" in changed:
        body["tags"] = after.get("tags") or {}
    if "identity" in changed:
        body["identity"] = identity_body(after["identity"])
    if "soft_delete" in changed or "soft_delete_retention_days" in changed:
        soft = {"state": SOFT_DELETE[after["soft_delete"]]}
        if after.get("soft_delete_retention_days") is not None:
            soft["retentionDurationInDays"] = after["soft_delete_retention_days"]
        properties.setdefault("securitySettings", {})["softDeleteSettings"] = soft
    if "immutability" in changed:
        properties.setdefault("securitySettings", {})["immutabilitySettings"] = {
            "state": IMMUTABILITY[after["immutability"]]}
    if "cross_region_restore" in changed:
        properties["featureSettings"] = {"crossRegionRestoreSettings": {
            "state": "Enabled" if after["cross_region_restore"] else "Disabled"}}
    if "cross_subscription_restore" in changed:
        properties.setdefault("featureSettings", {})["crossSubscriptionRestoreSettings"] = {
            "state": CROSS_SUBSCRIPTION_RESTORE[after["cross_subscription_restore"]]}
    if "alerts_for_all_job_failures" in changed:
        properties["monitoringSettings"] = {"azureMonitorAlertSettings": {
            "alertsForAllJobFailures": "Enabled" if after["alerts_for_all_job_failures"] else "Disabled"}}
    if properties:
        body["properties"] = properties
    return body


def ensure_present(api, current_body, params, location, check_mode):
    """Create or update the vault; returns an EnsureResult (resource: the readable vault).

    ``api`` is the vault's DataProtectionApi (its ``wait`` decides whether writes are waited for);
    ``current_body`` is the ARM body (None when the vault does not exist); ``location`` the location to create in.
    """
    current = to_readable(current_body)
    desired = desired_from_params(params)
    if current is None:
        desired["location"] = desired.get("location") or location
    check_change_allowed(current, desired, params.get("allow_irreversible"))
    after = predicted(current, desired, params.get("purge_tags", True))
    resource_group, name = params["resource_group"], params["name"]
    if current is None:
        after["name"] = name
        after["resource_group"] = resource_group
        if check_mode:
            return EnsureResult(True, after, compare.diff_result(None, after))
        result = _readable_after(api, api.put_vault(create_body(after)))
        return EnsureResult(True, result, compare.diff_result(None, result))
    changed = changes(current, after)
    if not changed:
        return EnsureResult(False, current, compare.diff_result(current, current))
    if check_mode:
        return EnsureResult(True, after, compare.diff_result(current, after))
    result = _readable_after(api, api.patch_vault(patch_body(current, after, changed)))
    return EnsureResult(True, result, compare.diff_result(current, result))


def _readable_after(api, body):
    """The vault after a write: the operation's result, or a fresh read when the write was not waited for."""
    return to_readable(body if body is not None else api.vault())


def protected_items(api):
    """Names of backup instances the vault holds, live and soft-deleted: either blocks its deletion."""
    return [item.get("name") for item in api.instances()], [item.get("name") for item in api.deleted_instances()]


def ensure_absent(api, current_body, params, check_mode, wait_until_gone):
    """Delete the vault unless it still holds backups; returns an EnsureResult (no resource)."""
    current = to_readable(current_body)
    if current is None:
        return EnsureResult(False, None, compare.diff_result(None, None))
    name = params["name"]
    live, deleted = protected_items(api)
    if live or deleted:
        parts = []
        if live:
            parts.append("protects {0} backup instance(s): {1} (stop protection and delete them with "
                         "pgflex_backup_instance state=absent)".format(len(live), ", ".join(sorted(live))))
        if deleted:
            parts.append("holds {0} soft-deleted backup instance(s): {1} (they are purged when their soft-delete "
                         "retention ends)".format(len(deleted), ", ".join(sorted(deleted))))
        raise VaultInputError("Vault '{0}' cannot be deleted: it {1}. Nothing was deleted.".format(
            name, "; and it ".join(parts)))
    if check_mode:
        return EnsureResult(True, None, compare.diff_result(current, None))
    api.delete_vault()
    # The delete operation can report success while GET still finds the vault: wait until it is gone.
    wait_until_gone()
    return EnsureResult(True, None, compare.diff_result(current, None))
