# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backup policies as Ansible resources: desired body from options, ensure_present / ensure_absent, results.

The translation (readable form <-> API body, validation, comparison, retention preview) lives in
policy.py; this file adds what a module needs around it: which options make the desired body, what the
result looks like, when to write, and how to explain the service's refusals. It takes the SDK client as
an argument (``client.backup_policies``, ``client.backup_instances``), so unit tests drive it with a fake.

Result shape (``backup_policy``, also for each item of ``backup_policy_info``)::

    {id, name, vault_name, resource_group, datasource_types,
     schedule, retention,          # readable form (None when the policy is custom)
     custom, custom_reason,        # True when the readable form cannot express the policy, and why
     policy}                       # the raw policy properties as Azure stores them (camelCase)
"""

import re
from collections import namedtuple
from datetime import datetime, timezone

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, datasources, policy
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import as_dict
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import EnsureResult, InputError

DEFAULT_PREVIEW_HORIZON = "P1Y"

# Service error codes (lower case) this module explains.
IN_USE_CODES = ("usererrordpppolicyobjectinuse", "usererrorpolicyobjectinuse")
SOFT_DELETED_CODES = ("usererrorpolicyassociatedwithsoftdeleteditems",)
UPDATE_REFUSED_CODES = ("usererrorbmsupdatepolicynotsupported",)

_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/(?P<group>[^/]+)/providers/Microsoft\.DataProtection/backupVaults/"
    r"(?P<vault>[^/]+)/backupPolicies/(?P<name>[^/]+)$",
    re.IGNORECASE,
)

Desired = namedtuple("Desired", ["body", "warnings"])


class PolicyRefusedError(InputError):
    """Azure refused (or would refuse) the change; nothing was written. ``code`` is the service's error code."""

    def __init__(self, message, code, users=None):
        super(PolicyRefusedError, self).__init__(message, error_code=code, backup_instances=list(users or []))
        self.code = code
        self.users = list(users or [])


# ---------------------------------------------------------------------------------------------- options


def datasource_choices(record):
    """The values of a module's ``datasource_type`` option for a datasource: its ARM type and its short key."""
    return [record.arm_type, record.key]


def datasource_type(value):
    """The ARM datasource type an option value names (a registered record's type or its key)."""
    found = datasources.get(value) if value else datasources.default()
    if found is None:
        record = datasources.default()
        raise policy.PolicyError(
            "datasource_type", "only {0} (or {1}) is supported, got {2!r}".format(record.arm_type, record.key, value)
        )
    return found.arm_type


def desired_from_params(params):
    """The PUT body ``{"properties": ...}`` and the validation warnings; PolicyError names the option."""
    kind = datasource_type(params.get("datasource_type"))
    record = datasources.get(kind)
    raw = params.get("policy")
    if raw is not None:
        if params.get("schedule") is not None or params.get("retention") is not None:
            raise policy.PolicyError("policy", "use either policy (the raw body) or schedule and retention, not both")
        warnings = policy.validate_raw_body(raw, ds=record)
        props = raw["properties"] if isinstance(raw.get("properties"), dict) else raw
        kinds = [str(item).lower() for item in props.get("datasourceTypes") or []]
        if kinds != [kind.lower()]:
            raise policy.PolicyError(
                "policy.datasourceTypes", "must be [{0}] to match datasource_type".format(kind)
            )
        return Desired({"properties": _without_resource_fields(props)}, warnings)
    if params.get("schedule") is None or params.get("retention") is None:
        missing = "schedule" if params.get("schedule") is None else "retention"
        raise policy.PolicyError(missing, "required with state=present unless the raw policy is given")
    warnings = policy.validate_readable(params["schedule"], params["retention"], ds=record)
    return Desired(policy.readable_to_body(params["schedule"], params["retention"], kind, ds=record), warnings)


def _without_resource_fields(props):
    """Properties to send: the envelope fields (id, name, type, systemData) never belong inside them."""
    return dict((key, value) for key, value in props.items() if key not in ("id", "name", "type", "systemData"))


def parse_preview_start(value, now=None):
    """``preview_start`` as an aware datetime (date or date-time; no offset means UTC); default ``now``."""
    if value is None or value == "":
        return now or datetime.now(timezone.utc)
    text = str(value).strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise policy.PolicyError(
            "preview_start", "{0!r} is not an ISO 8601 date or date-time such as 2025-01-01T00:00:00Z".format(value)
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when


def parse_preview_horizon(value):
    return policy.parse_duration(value or DEFAULT_PREVIEW_HORIZON, "preview_horizon", maximum=None)


def validate(params, now=None):
    """Every check that needs no request, for state=present: returns (Desired, preview start, horizon)."""
    desired = desired_from_params(params)
    start = parse_preview_start(params.get("preview_start"), now)
    horizon = parse_preview_horizon(params.get("preview_horizon"))
    return desired, start, horizon


# ---------------------------------------------------------------------------------------------- results


def policy_id(vault_id, name):
    return "{0}/backupPolicies/{1}".format(vault_id, name)


def _props(body):
    if isinstance(body, dict) and isinstance(body.get("properties"), dict):
        return body["properties"]
    return body or {}


def to_result(body, vault_name=None, resource_group=None, name=None, resource_id=None):
    """The readable ``backup_policy`` of a service body (or of a predicted one, with the names given)."""
    if not body:
        return {}
    props = _props(body)
    resource_id = body.get("id") or resource_id
    match = _ID.match(resource_id or "")
    readable = policy.body_to_readable(props)
    return {
        "id": resource_id,
        "name": body.get("name") or name or (match.group("name") if match else None),
        "vault_name": vault_name or (match.group("vault") if match else None),
        "resource_group": resource_group or (match.group("group") if match else None),
        "datasource_types": list(props.get("datasourceTypes") or []),
        "schedule": readable["schedule"],
        "retention": readable["retention"],
        "custom": readable["custom"],
        "custom_reason": readable.get("reason"),
        "policy": props,
    }


def preview(body, start, horizon):
    """(retention preview, warning): the preview of ``body``, or None and why it cannot be computed."""
    try:
        return policy.retention_preview(body, start, horizon), None
    except policy.PolicyError as error:
        return None, "No retention preview for this policy: {0}".format(error)


# ------------------------------------------------------------------------------------ ensure_present/absent


def ensure_present(client, current_body, params, check_mode):
    """Create or update the policy in place; returns an EnsureResult (resource: the backup_policy result).

    ``params`` carries the resolved vault (``resource_group``, ``vault_name``, ``vault_id``) and ``name``;
    ``current_body`` is the service's policy (None when absent). Nothing is sent when the service's policy
    already is the desired one, nor in check mode (the result is then the predicted policy).
    """
    desired = desired_from_params(params).body
    group, vault, name = params["resource_group"], params["vault_name"], params["name"]
    predicted_id = current_body.get("id") if current_body else policy_id(params["vault_id"], name)

    def result_of(body):
        return to_result(body, vault, group, name, predicted_id)

    if current_body is not None and policy.bodies_equal(desired, current_body):
        return EnsureResult(False, result_of(current_body), policy.policy_diff(current_body, current_body))
    if check_mode:
        return EnsureResult(True, result_of(desired), policy.policy_diff(current_body, desired))
    after = as_dict(client.backup_policies.create_or_update(group, vault, name, desired))
    return EnsureResult(True, result_of(after or desired), policy.policy_diff(current_body, after or desired))


def ensure_absent(client, current_body, params, check_mode):
    """Delete the policy; returns an EnsureResult (resource ``{}``). In check mode, a policy in use fails as Azure
    would."""
    if current_body is None:
        return EnsureResult(False, {}, policy.policy_diff(None, None))
    group, vault, name = params["resource_group"], params["vault_name"], params["name"]
    if check_mode:
        users = policy_users(client, group, vault, current_body.get("id") or policy_id(params["vault_id"], name))
        if users:
            raise PolicyRefusedError(
                refusal_message("delete", IN_USE_CODES[0], None, name, users), "UserErrorDppPolicyObjectInUse", users
            )
        return EnsureResult(True, {}, policy.policy_diff(current_body, None))
    client.backup_policies.delete(group, vault, name)
    return EnsureResult(True, {}, policy.policy_diff(current_body, None))


def policy_users(client, resource_group, vault_name, wanted_id):
    """Names of the vault's backup instances whose policyInfo.policyId is ``wanted_id``."""
    names = []
    for item in client.backup_instances.list(resource_group, vault_name):
        item = as_dict(item) or {}
        used = ((item.get("properties") or {}).get("policyInfo") or {}).get("policyId")
        if arm.same_id(used, wanted_id):
            names.append(item.get("name"))
    return sorted(name for name in names if name)


def refusal_message(action, code, service_message, name, users):
    """What to tell the operator when Azure refuses to update or delete a policy (or would, in check mode)."""
    lowered = (code or "").lower()
    said = " Azure answered {0}: {1}".format(code, service_message) if service_message else ""
    used_by = (
        " It is used by backup instance(s): {0}.".format(", ".join(users))
        if users
        else " Backup instances may still use it."
    )
    move = (
        " Move each instance to another policy with azbackup.dataprotection.pgflex_backup_instance "
        "(policy_name: <the other policy>), or stop protecting it (state: absent)"
    )
    if lowered in SOFT_DELETED_CODES:
        return (
            "Backup policy '{0}' cannot be deleted: soft-deleted backup instances still refer to it.{1} Nothing was "
            "deleted. They are purged when the vault's soft-delete retention ends; or undelete them and move them "
            "to another policy with azbackup.dataprotection.pgflex_backup_instance (policy_name: <the other "
            "policy>), then delete this policy.".format(name, said)
        )
    if action == "delete":
        return "Backup policy '{0}' cannot be deleted while backup instances use it.{1}{2} Nothing was deleted.{3}, " \
               "then delete the policy.".format(name, said, used_by if users else "", move)
    return (
        "Azure refused to update backup policy '{0}' in place.{1}{2} Nothing was changed. To change what the "
        "instances keep: create the new policy under another name (azbackup.dataprotection.backup_policy with "
        "name: {0}-v2), move the instances to it with azbackup.dataprotection.pgflex_backup_instance "
        "(policy_name: {0}-v2), then delete '{0}' (state: absent).".format(name, said, used_by)
    )


def in_use_update_warning(name, users):
    """Check mode: the update is predicted, but Azure may refuse it because instances use the policy."""
    return (
        "Backup policy '{0}' is used by backup instance(s) {1}; Azure may refuse to update it in place "
        "(UserErrorBMSUpdatePolicyNotSupported). If it does, create the new policy under another name and move "
        "the instances to it with azbackup.dataprotection.pgflex_backup_instance (policy_name).".format(
            name, ", ".join(users))
    )


def is_refusal(action, code):
    """Whether ``code`` is a refusal of ``action`` ("update" or "delete") that refusal_message explains."""
    lowered = (code or "").lower()
    if action == "delete":
        return lowered in IN_USE_CODES + SOFT_DELETED_CODES
    return lowered in UPDATE_REFUSED_CODES + IN_USE_CODES
