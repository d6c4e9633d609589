# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backup instances as the modules report them: the snake_case form and the state derived from the service's."""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm
from ansible_collections.azbackup.dataprotection.plugins.module_utils.arm import last_segment, readable_error

# currentProtectionState (or, when absent, protectionStatus.status) -> the state the modules report.
LIFECYCLE = {
    "protectionconfigured": "present",
    "backupschedulessuspended": "suspended",
    "retentionschedulessuspended": "stopped",
    "protectionstopped": "stopped",
    "configuringprotection": "configuring",
    "updatingprotection": "configuring",
    "protectionerror": "error",
    "configuringprotectionfailed": "error",
    "softdeleting": "deleted",
    "softdeleted": "deleted",
    "notprotected": "not_protected",
    "invalid": "not_protected",
}


def lifecycle_state(body):
    """The module-level state of an instance body (None when there is no instance)."""
    if not body:
        return None
    props = arm.properties(body)
    current = props.get("currentProtectionState") or (props.get("protectionStatus") or {}).get("status")
    return LIFECYCLE.get(str(current or "").lower(), "not_protected" if not current else "unknown")


def identity_of(body):
    """``system_assigned`` or the user-assigned identity id an instance uses (null identityDetails = system)."""
    details = arm.properties(body).get("identityDetails") or {}
    if details.get("userAssignedIdentityArmUrl") and not details.get("useSystemAssignedIdentity"):
        return details["userAssignedIdentityArmUrl"]
    return "system_assigned"


def to_readable(body):
    """The snake_case form of a backup instance (as ARM or the SDK's as_dict returns it)."""
    if not body:
        return None
    props = arm.properties(body)
    source = props.get("dataSourceInfo") or {}
    status = props.get("protectionStatus") or {}
    policy = props.get("policyInfo") or {}
    error = readable_error(status.get("errorDetails") or props.get("protectionErrorDetails"))
    return {
        "id": body.get("id"),
        "name": body.get("name"),
        "friendly_name": props.get("friendlyName"),
        "server_id": source.get("resourceID"),
        "server_name": source.get("resourceName") or last_segment(source.get("resourceID")),
        "server_location": source.get("resourceLocation"),
        "datasource_type": source.get("datasourceType"),
        "policy_id": policy.get("policyId"),
        "policy_name": last_segment(policy.get("policyId")),
        "policy_version": policy.get("policyVersion"),
        "identity": identity_of(body),
        "protection_status": status.get("status"),
        "current_protection_state": props.get("currentProtectionState"),
        "state": lifecycle_state(body),
        "provisioning_state": props.get("provisioningState"),
        "error": error,
    }


DIFF_KEYS = ("name", "server_id", "policy_id", "identity", "state")


def diff_view(readable):
    if not readable:
        return None
    return dict((key, readable.get(key)) for key in DIFF_KEYS)


def wire_state(body):
    props = arm.properties(body)
    return props.get("currentProtectionState") or (props.get("protectionStatus") or {}).get("status")
