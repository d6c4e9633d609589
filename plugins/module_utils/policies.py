# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backup policies as Ansible resources: desired body from options, ensure_present / ensure_absent, results.

The translation (readable form <-> API body, validation, comparison, retention preview) lives in
the policy/ package; this file adds what a module needs around it: which options make the desired body, what the
result looks like, when to write, and how to explain the service's refusals. It takes the vault's
DataProtectionApi as an argument, so unit tests drive it with a fake client.

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


# ------------------------------------------------------------------------------------------------ versions
#
# Azure refuses every update of an existing backup policy (UserErrorBMSUpdatePolicyNotSupported: "Update of existing
# policy is not supported. Please create a new policy."). A policy is therefore immutable here: the policy the user
# calls ``pg-weekly`` is the newest of its versions ``pg-weekly``, ``pg-weekly-v2``, ``pg-weekly-v3``...; a change
# creates the next version, moves the backup instances to it and deletes the versions nothing uses any more.


def version_number(candidate, name):
    """The version ``candidate`` is of the policy called ``name`` (1 for ``name`` itself, N for ``name-vN``, N >= 2),
    or None when it is another policy. Names compare without case, as Azure's do."""
    match = re.match(re.escape(name) + r"(?:-v([2-9]|[1-9][0-9]+))?$", str(candidate or ""), re.IGNORECASE)
    if not match:
        return None
    return int(match.group(1)) if match.group(1) else 1


def version_name(name, number):
    """The name of version ``number`` of the policy called ``name``."""
    return name if number <= 1 else "{0}-v{1}".format(name, number)


def versions_of(bodies, name):
    """The service's policies that are versions of ``name``, oldest first."""
    found = [(version_number(_policy_name_of(body), name), body) for body in bodies or ()]
    return [body for number, body in sorted((item for item in found if item[0]), key=lambda item: item[0])]


def _policy_name_of(body):
    return body.get("name") or arm.last_segment(body.get("id"))


def _version_id(api, body):
    return body.get("id") or policy_id(api.vault_id, _policy_name_of(body))


def _instance_policy(instance):
    return ((instance.get("properties") or {}).get("policyInfo") or {}).get("policyId")


# The writable properties of a backup instance (the rest is state the service reports).
_INSTANCE_WRITABLE = ("objectType", "friendlyName", "dataSourceInfo", "dataSourceSetInfo", "policyInfo",
                      "datasourceAuthCredentials", "validationType", "identityDetails")


def moved_instance_body(instance, new_policy_id):
    """The PUT body that moves a backup instance to another policy, everything else as it is."""
    props = instance.get("properties") or {}
    body = dict((key, props[key]) for key in _INSTANCE_WRITABLE if props.get(key) is not None)
    body["policyInfo"] = dict(props.get("policyInfo") or {}, policyId=new_policy_id)
    body["policyInfo"].pop("policyVersion", None)
    return {"properties": body}


def version_plan(api, older, keep_old):
    """What moving to ``target_id`` needs: (instances to move, versions to delete, versions kept and why).

    ``older`` are the other versions of the policy. Live instances of any of them move; a version is deleted once
    nothing uses it, unless ``keep_old``; soft-deleted instances still hold theirs, so it is kept.
    """
    if not older:
        return [], [], []
    older_ids = [_version_id(api, body) for body in older]
    moves = [item for item in api.instances()
             if any(arm.same_id(_instance_policy(item), older_id) for older_id in older_ids)]
    held = api.deleted_instances() if not keep_old else []
    deletions, kept = [], []
    for body in older:
        version_id = _version_id(api, body)
        holders = sorted(item.get("name") for item in held if arm.same_id(_instance_policy(item), version_id))
        if keep_old:
            kept.append({"name": _policy_name_of(body), "reason": "keep_old_versions is set"})
        elif holders:
            reason = "soft-deleted backup instance(s) {0} still refer to it".format(", ".join(holders))
            kept.append({"name": _policy_name_of(body), "reason": reason})
        else:
            deletions.append(_policy_name_of(body))
    return moves, deletions, kept


def version_summary(created, moves, deletions, kept):
    """One line an operator reads: "create pg-weekly-v2, move 3 servers, delete pg-weekly"."""
    steps = []
    if created:
        steps.append("create " + created)
    if moves:
        steps.append("move {0} server{1}".format(len(moves), "" if len(moves) == 1 else "s"))
    if deletions:
        steps.append("delete " + ", ".join(deletions))
    if kept:
        steps.append("keep " + ", ".join(item["name"] for item in kept))
    return ", ".join(steps) or "nothing to do"


# ------------------------------------------------------------------------------------ ensure_present/absent


def ensure_present(api, current_body, params, check_mode, versions=None):
    """Bring the policy called ``params["name"]`` to the desired content; returns an EnsureResult (resource: the
    backup_policy result of its current version, ``extra["policy_versions"]``: what was (or would be) done).

    ``api`` is the vault's DataProtectionApi; ``params`` carries the resolved vault (``resource_group``,
    ``vault_name``, ``vault_id``), ``name`` and ``keep_old_versions``; ``current_body`` is the newest version
    (None when there is none) and ``versions`` all of them, oldest first (read when not given). A change creates
    the next version (``<name>-v2``, ``-v3``...), moves the backup instances to it and deletes the versions nothing
    uses; the same content again changes nothing. Nothing is sent in check mode: the result is then the prediction.
    """
    desired = desired_from_params(params).body
    group, vault, name = params["resource_group"], params["vault_name"], params["name"]
    keep_old = bool(params.get("keep_old_versions"))
    if versions is None:
        versions = api.policy_versions(name) if current_body is not None else []
    if current_body is not None and policy.bodies_equal(desired, current_body):
        target_name, target_body, created = _policy_name_of(current_body), current_body, None
    else:
        number = version_number(_policy_name_of(current_body), name) + 1 if current_body is not None else 1
        target_name, target_body, created = version_name(name, number), desired, version_name(name, number)
    target_id = policy_id(params["vault_id"], target_name)
    older = [body for body in versions if not arm.same_id(body.get("id"), target_id)
             and _policy_name_of(body).lower() != target_name.lower()]
    moves, deletions, kept = version_plan(api, older, keep_old)
    changed = bool(created or moves or deletions)
    summary = {"current": target_name, "created": created, "previous": _policy_name_of(current_body)
               if current_body is not None else None,
               "moved_instances": sorted(item.get("name") for item in moves), "deleted": deletions, "kept": kept,
               "summary": version_summary(created, moves, deletions, kept)}

    def result_of(body):
        return to_result(body, vault, group, target_name, body.get("id") or target_id)

    diff = policy.policy_diff(current_body, target_body if created else current_body)
    if check_mode or not changed:
        return EnsureResult(changed, result_of(target_body), diff, extra={"policy_versions": summary})
    if created:
        target_body = api.put_policy(target_name, desired) or desired
    for item in moves:
        api.put(item.get("name"), moved_instance_body(item, target_body.get("id") or target_id))
    for old_name in deletions:
        api.delete_policy(old_name)
    return EnsureResult(True, result_of(target_body), policy.policy_diff(current_body, target_body),
                        extra={"policy_versions": summary})


def ensure_absent(api, current_body, params, check_mode):
    """Delete every version of the policy; returns an EnsureResult (resource ``{}``). In check mode, a version in use
    fails as Azure would."""
    if current_body is None:
        return EnsureResult(False, {}, policy.policy_diff(None, None))
    bodies = api.policy_versions(params["name"]) or [current_body]
    names = [_policy_name_of(body) for body in bodies]
    if check_mode:
        for body, name in [(body, _policy_name_of(body)) for body in bodies]:
            users = policy_users(api, _version_id(api, body))
            if users:
                raise PolicyRefusedError(
                    refusal_message("delete", IN_USE_CODES[0], None, name, users), "UserErrorDppPolicyObjectInUse",
                    users)
    else:
        for name in reversed(names):
            api.delete_policy(name)
    return EnsureResult(True, {}, policy.policy_diff(current_body, None), extra={"deleted_versions": names})


def policy_users(api, wanted_id):
    """Names of the vault's backup instances whose policyInfo.policyId is ``wanted_id``."""
    names = []
    for item in api.instances():
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
