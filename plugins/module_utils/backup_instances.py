# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backup instances: protecting a PostgreSQL Flexible Server in a Backup vault, and what the service says about it.

``InstanceApi`` is the only place that talks to Azure (through the SDK client and an ``arm_get`` callable, so the
unit tests drive it with fakes). Everything else is logic over plain ARM dicts:

* ``to_readable()`` turns an instance into the snake_case form the modules return, with a ``state`` derived from
  ``currentProtectionState`` (``present``, ``stopped``, ``suspended``, ``configuring``, ``error``, ...).
* ``prepare()`` runs the read-only checks that must pass before anything is written: the vault exists, the server
  exists and is in the vault's region, the policy exists in the vault and is for PostgreSQL Flexible Server, the vault
  has the identity asked for, and the server is not larger than vaulted backup supports.
* ``validate_until_ready()`` calls validateForBackup and, while it fails only because the vault identity's access is
  missing or not yet effective (``is_access_error()``), retries with a growing pause until ``validation_timeout``.
* ``ensure_present()`` / ``ensure_state()`` / ``ensure_absent()`` make the changes and wait for the protection state.

Decisions:

* Finding the instance: with ``name`` unset, the instance whose ``dataSourceInfo.resourceID`` is the server is used,
  whatever its name (instances made in the portal or by the CLI are adopted). A new instance is named
  ``pgflex.instance_name(server)``: ``<server>-<server>-<uuid5 of the server id>``, the CLI's shape made deterministic.
* Only the policy and the identity change in place (a PUT of the same instance). The server of an existing instance
  never changes: that is another instance.
* validateForBackup runs before a new instance is created and before an instance in ProtectionError is configured
  again (that is the portal's "revalidate"); it is a POST, so it never runs in check mode. Check mode instead compares
  the vault identity's role assignments (read-only) with the roles the server needs and reports the outcome.
"""

import re
import time

from ansible_collections.azbackup.dataprotection.plugins.module_utils import (
    azure_waits,
    compare,
    jobs,
    pgflex,
    references,
    role_assignment_resource,
    role_assignments,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import as_dict, get_or_none

try:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
except ImportError:  # the modules fail with missing_required_lib before any of this runs

    class HttpResponseError(Exception):  # noqa: D101
        pass

    class ResourceNotFoundError(HttpResponseError):  # noqa: D101
        pass


VAULT_TYPE = "Microsoft.DataProtection/backupVaults"
USER_ASSIGNED_IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
MANAGED_IDENTITY_API_VERSION = "2023-01-31"
ROLE_ASSIGNMENTS_API_VERSION = "2022-04-01"

STATES = ("present", "absent", "stopped", "suspended")
SIZE_ACTIONS = ("warn", "fail")

# currentProtectionState (or, when absent, protectionStatus.status) -> the state the modules report.
LIFECYCLE = {
    "protectionconfigured": "present",
    "backupssuspended": "suspended",  # what real Azure reports (both fields)
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

# Error codes of validateForBackup (and of ProtectionError) that mean "the vault identity cannot (yet) reach the
# server": a missing role, or one assigned so recently that it has not propagated. The Data Protection service uses
# UserErrorMissingRequiredPermissions for every datasource ("Appropriate permissions to perform the operation is
# missing"), the older PostgreSQL path UserErrorMSIMissingPermissions; the others are the ARM codes the service
# passes through when its own calls with the vault identity are denied.
ACCESS_ERROR_CODES = frozenset(code.lower() for code in (
    "UserErrorMissingRequiredPermissions",
    "UserErrorMSIMissingPermissions",
    "UserErrorMissingPermissions",
    "UserErrorInsufficientPermissions",
    "UserErrorRoleAssignmentMissing",
    "UserErrorRoleAssignmentNotPropagated",
    "AuthorizationFailed",
    "LinkedAuthorizationFailed",
    "AuthorizationPermissionMismatch",
))
# Unknown codes still count when their words say so (permission, authorization, role, propagation, access denied).
_ACCESS_CODE_RE = re.compile(r"permission|authori[sz]|accessdenied|roleassignment|rolenotassigned|propagat", re.I)


_POLICY_ID_RE = re.compile(r"^(.*)/backupPolicies/[^/]+$", re.I)


class InstanceInputError(ValueError):
    """Input or state that rules out the change; nothing was written. ``extra`` goes into the failure result."""

    def __init__(self, message, **extra):
        super(InstanceInputError, self).__init__(message)
        self.extra = extra


# ---------------------------------------------------------------------------------------------------------------
# Plain helpers
# ---------------------------------------------------------------------------------------------------------------


def last_segment(resource_id):
    return (resource_id or "").rstrip("/").rsplit("/", 1)[-1] or None


def region_name(value):
    """The programmatic region name: Azure spells regions both ``westeurope`` and ``West Europe``."""
    return str(value or "").replace(" ", "").lower() or None


def same_region(left, right):
    return region_name(left) == region_name(right)


def _props(body):
    return (body or {}).get("properties") or {}


def readable_error(error):
    """A UserFacingError (or ARM error) in snake_case, or None."""
    if not error:
        return None
    actions = list(error.get("recommendedAction") or [])
    for item in error.get("additionalInfo") or []:
        info = (item or {}).get("info") if isinstance(item, dict) else None
        if not actions and isinstance(info, dict):
            actions = list(info.get("recommendedAction") or [])
    result = {
        "code": error.get("code"),
        "message": error.get("message"),
        "recommended_action": [action for action in actions if action],
        "is_retryable": error.get("isRetryable"),
        "is_user_error": error.get("isUserError"),
        "target": error.get("target"),
    }
    inner = error.get("innerError") or {}
    if inner.get("code"):
        result["inner_code"] = inner["code"]
    details = [readable_error(item) for item in error.get("details") or [] if item]
    if details:
        result["details"] = details
    return result


def error_text(error):
    """``code: message (recommended action)`` of a readable error, for failure messages."""
    if not error:
        return ""
    text = "{0}: {1}".format(error.get("code") or "error", error.get("message") or "(no message)")
    actions = [a for a in error.get("recommended_action") or [] if a]
    if actions:
        text += " Recommended action: " + " ".join(actions)
    for detail in error.get("details") or []:
        text += " [" + error_text(detail) + "]"
    return text


def lifecycle_state(body):
    """The module-level state of an instance body (None when there is no instance)."""
    if not body:
        return None
    props = _props(body)
    current = props.get("currentProtectionState") or (props.get("protectionStatus") or {}).get("status")
    return LIFECYCLE.get(str(current or "").lower(), "not_protected" if not current else "unknown")


def identity_of(body):
    """``system_assigned`` or the user-assigned identity id an instance uses (null identityDetails = system)."""
    details = _props(body).get("identityDetails") or {}
    if details.get("userAssignedIdentityArmUrl") and not details.get("useSystemAssignedIdentity"):
        return details["userAssignedIdentityArmUrl"]
    return "system_assigned"


def to_readable(body):
    """The snake_case form of a backup instance (as ARM or the SDK's as_dict returns it)."""
    if not body:
        return None
    props = _props(body)
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


def instance_id(vault_id, name):
    return "{0}/backupInstances/{1}".format(vault_id, name)


def policy_id_for(vault_id, name):
    return "{0}/backupPolicies/{1}".format(vault_id, name)


def find_for_server(instances, server_id):
    """The instances (ARM bodies) whose data source is ``server_id``, live ones first."""
    found = [item for item in instances or []
             if compare.same_id((_props(item).get("dataSourceInfo") or {}).get("resourceID"), server_id)]
    return sorted(found, key=lambda item: lifecycle_state(item) == "deleted")


def is_access_error(error):
    """Whether a validateForBackup error (raw ARM/UserFacingError dict) is about the vault identity's access."""
    if not error:
        return False
    codes = []
    _collect_codes(error, codes)
    for code in codes:
        if code.lower() in ACCESS_ERROR_CODES or _ACCESS_CODE_RE.search(code):
            return True
    if not any(codes):
        message = str(error.get("message") or "")
        return bool(re.search(r"permission|role assignment|not authori[sz]ed|propagat", message, re.I))
    return False


def _collect_codes(error, codes):
    if not isinstance(error, dict):
        return
    if error.get("code"):
        codes.append(str(error["code"]))
    inner = error.get("innerError") or {}
    while isinstance(inner, dict) and inner:
        if inner.get("code"):
            codes.append(str(inner["code"]))
        inner = inner.get("embeddedInnerError") or {}
    for detail in error.get("details") or []:
        _collect_codes(detail, codes)


def error_from_exception(exc):
    """The ARM error dict (code, message, details, ...) carried by an azure-core HttpResponseError."""
    body = None
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            body = response.json()
        except (ValueError, AttributeError, TypeError):
            body = None
    error = None
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else None
        if error is None and body.get("code"):
            error = body
    if error is None:
        odata = getattr(exc, "error", None)
        error = {"code": getattr(odata, "code", None), "message": getattr(odata, "message", None) or str(exc)}
        details = getattr(odata, "details", None) or []
        if details:
            error["details"] = [{"code": getattr(d, "code", None), "message": getattr(d, "message", None)}
                                for d in details]
    error = dict(error)
    error["status_code"] = getattr(exc, "status_code", None)
    return error


# ---------------------------------------------------------------------------------------------------------------
# Talking to Azure
# ---------------------------------------------------------------------------------------------------------------


class InstanceApi:
    """The calls the backup instance modules make, for one vault.

    ``client``: the DataProtectionMgmtClient of the vault's subscription; ``arm_get(path, api_version)``: GET any ARM
    resource (None on 404); ``wait(poller, what)``: wait for a long-running operation (the façade's, bounded by
    ``wait_timeout``); ``list_assignments(principal_id, scopes)``: the principal's role assignments and the management
    groups above (``assignment_lister()``), or None when the caller may not read them; ``validation_wait_timeout``:
    bound of one validateForBackup operation.
    """

    def __init__(self, client, vault_id, arm_get, wait, list_assignments=None, validation_wait_timeout=300):
        self.client = client
        self.vault_id = vault_id
        parts = vault_id.split("/")
        self.resource_group = parts[4]
        self.vault_name = parts[-1]
        self.arm_get = arm_get
        self.wait = wait
        self.list_assignments = list_assignments
        self.validation_wait_timeout = validation_wait_timeout

    # reads
    def vault(self):
        return get_or_none(self.client.backup_vaults.get, self.resource_group, self.vault_name)

    def policy(self, name):
        return get_or_none(self.client.backup_policies.get, self.resource_group, self.vault_name, name)

    def instances(self):
        return [as_dict(item) for item in self.client.backup_instances.list(self.resource_group, self.vault_name)]

    def instance(self, name):
        return get_or_none(self.client.backup_instances.get, self.resource_group, self.vault_name, name)

    def deleted_instance(self, name):
        return get_or_none(self.client.deleted_backup_instances.get, self.resource_group, self.vault_name, name)

    def server(self, server_id):
        return self.arm_get(server_id, references.POSTGRES_API_VERSION)

    def identity_principal(self, identity_id):
        body = self.arm_get(identity_id, MANAGED_IDENTITY_API_VERSION)
        return _props(body).get("principalId") if body else None

    def assignments(self, principal_id, scopes):
        """(assignments, management groups) of the principal that matter for ``scopes``; None when unreadable."""
        if self.list_assignments is None:
            return None
        return self.list_assignments(principal_id, scopes)

    # the POST that writes nothing
    def validate(self, body):
        """None when validateForBackup passes, else the service's error (dict with ``status_code``).

        A 401/403 on the request itself is the caller's problem (it may not run validateForBackup), not the vault
        identity's: that error is raised, not returned.
        """
        try:
            poller = self.client.backup_instances.begin_validate_for_backup(
                self.resource_group, self.vault_name, {"backupInstance": body["properties"]})
            azure_waits.wait_for_poller(poller, self.validation_wait_timeout, "validateForBackup")
        except ResourceNotFoundError:
            raise
        except HttpResponseError as exc:
            if getattr(exc, "status_code", None) in (401, 403):
                raise
            return error_from_exception(exc)
        return None

    # writes
    def put(self, name, body):
        poller = self.client.backup_instances.begin_create_or_update(
            self.resource_group, self.vault_name, name, body)
        return as_dict(self.wait(poller, "creating or updating backup instance " + name))

    def stop(self, name):
        self.wait(self.client.backup_instances.begin_stop_protection(self.resource_group, self.vault_name, name),
                  "stopping protection of backup instance " + name)

    def suspend(self, name):
        self.wait(self.client.backup_instances.begin_suspend_backups(self.resource_group, self.vault_name, name),
                  "suspending backups of backup instance " + name)

    def resume_protection(self, name):
        self.wait(self.client.backup_instances.begin_resume_protection(self.resource_group, self.vault_name, name),
                  "resuming protection of backup instance " + name)

    def resume_backups(self, name):
        self.wait(self.client.backup_instances.begin_resume_backups(self.resource_group, self.vault_name, name),
                  "resuming backups of backup instance " + name)

    def delete(self, name):
        self.wait(self.client.backup_instances.begin_delete(self.resource_group, self.vault_name, name),
                  "deleting backup instance " + name)

    def adhoc_backup(self, name, body):
        """Trigger a backup now; returns the job id the service gives (None if it gives none)."""
        poller = self.client.backup_instances.begin_adhoc_backup(self.resource_group, self.vault_name, name, body)
        result = as_dict(self.wait(poller, "triggering an on-demand backup of backup instance " + name)) or {}
        return result.get("jobId") or (result.get("properties") or {}).get("jobId")

    # jobs and recovery points
    def job(self, job_id):
        return get_or_none(self.client.jobs.get, self.resource_group, self.vault_name, job_id)

    def jobs(self):
        return [as_dict(item) for item in self.client.jobs.list(self.resource_group, self.vault_name)]

    def recovery_points(self, name):
        items = self.client.recovery_points.list(self.resource_group, self.vault_name, name)
        return [as_dict(item) for item in items]


# ---------------------------------------------------------------------------------------------------------------
# Read-only checks before any write
# ---------------------------------------------------------------------------------------------------------------


def vault_identities(vault):
    """(system principal id or None, {user-assigned identity id: principal id or None}) of a vault body."""
    identity = (vault or {}).get("identity") or {}
    kind = str(identity.get("type") or "").lower()
    system = identity.get("principalId") if "systemassigned" in kind.replace(" ", "").replace(",", "") else None
    assigned = identity.get("userAssignedIdentities") or {}
    users = dict((key, (value or {}).get("principalId")) for key, value in assigned.items())
    return system, users


def resolve_identity(api, vault, requested):
    """(identity id or None for system-assigned, principal id) the instance uses; fails before any write."""
    vault_name = (vault or {}).get("name") or api.vault_name
    system, users = vault_identities(vault)
    if requested in (None, "", "system_assigned"):
        if system:
            return None, system
        if users:
            raise InstanceInputError(
                "Backup vault '{0}' has no system-assigned identity, only user-assigned ones: set identity to the one "
                "that should reach the server ({1}), or give the vault a system-assigned identity with "
                "azbackup.dataprotection.backup_vault.".format(vault_name, ", ".join(sorted(users))),
                vault_user_assigned_identities=sorted(users))
        raise InstanceInputError(
            "Backup vault '{0}' has no managed identity, so it cannot reach any server. Give it one with "
            "azbackup.dataprotection.backup_vault (identity: {{type: system_assigned}}).".format(vault_name))
    for key, principal in users.items():
        if compare.same_id(key, requested):
            return key, principal or api.identity_principal(key)
    raise InstanceInputError(
        "identity '{0}' is not an identity of Backup vault '{1}' (its user-assigned identities: {2}; system-assigned: "
        "{3}). Add it to the vault with azbackup.dataprotection.backup_vault first.".format(
            requested, vault_name, ", ".join(sorted(users)) or "none", "yes" if system else "no"),
        vault_user_assigned_identities=sorted(users))


def resolve_policy(api, params):
    """(policy id, policy body) of policy_name / policy_id, checked to be a PostgreSQL Flexible Server policy."""
    policy_id = params.get("policy_id")
    if policy_id:
        match = _POLICY_ID_RE.match(policy_id.rstrip("/"))
        if not match or not compare.same_id(match.group(1), api.vault_id):
            raise InstanceInputError(
                "policy_id '{0}' is not a policy of Backup vault '{1}': an instance can only use a policy of its own "
                "vault ({2}/backupPolicies/<name>).".format(policy_id, api.vault_name, api.vault_id))
        name = last_segment(policy_id)
    else:
        name = params.get("policy_name")
        if not name:
            raise InstanceInputError("Set policy_name (or policy_id): the backup policy that protects the server.")
    policy = api.policy(name)
    if policy is None:
        raise InstanceInputError(
            "Backup policy '{0}' does not exist in vault '{1}'. Create it with azbackup.dataprotection.backup_policy "
            "first, or check policy_name.".format(name, api.vault_name))
    if not pgflex.policy_is_for_datasource(policy):
        raise InstanceInputError(
            "Backup policy '{0}' is for {1}, not for {2} ({3}): choose a policy made for {2}.".format(
                name, ", ".join(pgflex.policy_datasource_types(policy)) or "no datasource type",
                pgflex.DATASOURCE_LABEL, pgflex.DATASOURCE_TYPE))
    return policy.get("id") or policy_id_for(api.vault_id, name), policy


def check_server(api, vault, server_id, size_action):
    """The server body, after checking it exists, sits in the vault's region and is not too large.

    Returns (server, warnings).
    """
    server = api.server(server_id)
    if server is None:
        raise InstanceInputError(
            "PostgreSQL Flexible Server '{0}' does not exist, or the caller cannot read it ({1}).".format(
                last_segment(server_id), server_id))
    vault_location = region_name((vault or {}).get("location"))
    server_location = region_name(server.get("location"))
    if server_location != vault_location:
        raise InstanceInputError(
            "Server '{0}' is in region {1} but Backup vault '{2}' is in region {3}: Azure Backup protects a "
            "PostgreSQL Flexible Server only from a vault in the same region. Use a vault in {1}. Nothing was "
            "written.".format(server.get("name") or last_segment(server_id), server_location,
                              (vault or {}).get("name") or api.vault_name, vault_location),
            server_location=server_location, vault_location=vault_location)
    warnings = []
    problem = pgflex.size_problem(server)
    if problem:
        if size_action == "fail":
            raise InstanceInputError(problem + " Nothing was written (on_unsupported_size=fail).",
                                     storage_size_gb=pgflex.storage_size_gb(server))
        warnings.append(problem + " Set on_unsupported_size=fail to refuse such servers.")
    return server, warnings


def assignment_lister(authorization_client):
    """``list_assignments`` for InstanceApi: the principal's assignments, or None when the caller may not read them
    (403): the role check is then unknown, and the service's validation decides alone."""
    def list_assignments(principal_id, scopes):
        try:
            return role_assignment_resource.list_assignments(authorization_client, principal_id, scopes)
        except HttpResponseError as exc:
            if getattr(exc, "status_code", None) in (401, 403):
                return None
            raise
    return list_assignments


def role_plan(api, principal_id, server_id):
    """The backup roles the principal needs on the server, each with status existing/inherited/missing.

    None when the caller may not read role assignments (the plan is then unknown, not empty).
    """
    required = role_assignments.required_assignments(principal_id, [server_id], "backup", "resource")
    listed = api.assignments(principal_id, [item["scope"] for item in required])
    if listed is None:
        return None
    existing, management_groups = listed
    return role_assignments.plan(required, existing, management_groups)


def roles_report(planned):
    if planned is None:
        return None
    return [{"role_name": item["role_name"], "role_definition_id": item["role_definition_id"], "scope": item["scope"],
             "status": item["status"], "inherited_from": item.get("inherited_from")} for item in planned]


def required_roles_text(server_id, planned=None):
    """``Reader on <rg>, PostgreSQL ... on <server>``: the missing roles, or all required ones when unknown."""
    if planned is not None:
        items = [item for item in planned if item["status"] == "missing"]
    else:
        items = role_assignments.required_assignments("00000000-0000-0000-0000-000000000000", [server_id], "backup",
                                                      "resource")
    return ", ".join("{0} ({1}) on {2}".format(item["role_name"], item["role_definition_id"], item["scope"])
                     for item in items)


# Option names of azbackup.dataprotection.pgflex_role_assignment, used in the task this module suggests.
ROLE_MODULE = "azbackup.dataprotection.pgflex_role_assignment"


def fix_task(vault_id, server_id, identity_id=None):
    """The pgflex_role_assignment task (YAML) that grants the vault identity what backup of the server needs."""
    lines = [
        "- name: Grant the Backup vault's identity the roles backup of {0} needs".format(last_segment(server_id)),
        "  {0}:".format(ROLE_MODULE),
        "    vault_id: {0}".format(vault_id),
    ]
    if identity_id:
        lines.append("    user_assigned_identity_id: {0}".format(identity_id))
    lines.extend([
        "    server_id: {0}".format(server_id),
        "    operation: backup",
    ])
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# validateForBackup with retries while access is missing or propagating
# ---------------------------------------------------------------------------------------------------------------


def validate_until_ready(validate_once, timeout, sleep=time.sleep, clock=time.monotonic):
    """Call ``validate_once()`` until it passes or fails for another reason than access, at most ``timeout`` s.

    ``validate_once()`` returns None (passed) or the service's error dict. Returns a dict: ``passed``, ``error`` (the
    last one), ``access`` (the last error was about access), ``timed_out``, ``attempts``, ``waited_seconds``.
    """
    attempts = []
    started = clock()

    def read():
        error = validate_once()
        attempts.append(error)
        return error

    timed_out = False
    try:
        azure_waits.poll_until(read, lambda error: error is None or not is_access_error(error), timeout,
                               "validateForBackup to pass", sleep=sleep, clock=clock)
    except azure_waits.WaitTimeout:
        timed_out = True
    last = attempts[-1] if attempts else None
    return {
        "passed": last is None,
        "error": last,
        "access": is_access_error(last),
        "timed_out": timed_out,
        "attempts": len(attempts),
        "waited_seconds": round(clock() - started, 1),
    }


def validation_failure(outcome, api, server_id, identity_id, principal_id, planned, timeout, reconfigured=None):
    """The InstanceInputError for a validation that did not pass: the service's words, the missing roles, the fix.

    ``reconfigured``: the instance (readable) when the check was a configuration attempt of an existing instance
    (which is a write) rather than validateForBackup.
    """
    error = readable_error(outcome["error"])
    server = last_segment(server_id)
    if reconfigured is not None:
        what = "Configuring protection of existing backup instance '{0}' kept ending in ProtectionError".format(
            reconfigured["name"])
        written = "The instance stays in ProtectionError."
    else:
        what = "validateForBackup kept failing"
        written = "Nothing was written."
    extra = {"validation_error": error}
    if reconfigured is not None:
        extra["backup_instance"] = reconfigured
    if not outcome["access"]:
        if reconfigured is not None:
            text = "Protection of server '{0}' failed in vault '{1}': {2} {3}".format(
                server, api.vault_name, error_text(error) or "the service gave no error details.", written)
            extra["protection_error"] = error
        else:
            text = "validateForBackup refused to protect server '{0}' in vault '{1}': {2} {3}".format(
                server, api.vault_name, error_text(error), written)
        return InstanceInputError(text, **extra)
    who = "user-assigned identity {0}".format(identity_id) if identity_id else "system-assigned identity"
    if planned is not None and not [item for item in planned if item["status"] == "missing"]:
        roles = ("The roles are assigned ({0}) but not effective yet: new role assignments can take several "
                 "minutes to propagate. Rerun the task, or raise validation_timeout.").format(
                     ", ".join(item["role_name"] for item in planned))
    else:
        roles = "Missing: {0}.".format(required_roles_text(server_id, planned))
    message = (
        "{0} for {1} s (validation_timeout {2} s, {3} attempt(s)) because the vault's {4} ({5}) cannot access "
        "server '{6}': {7} {8} {9} Grant the roles with this task (then rerun; the module waits for them to "
        "propagate):\n{10}").format(
            what, outcome["waited_seconds"], timeout, outcome["attempts"], who, principal_id, server,
            error_text(error), roles, written, fix_task(api.vault_id, server_id, identity_id))
    extra.update(
        missing_roles=roles_report([item for item in planned if item["status"] == "missing"])
        if planned is not None else None,
        required_roles=roles_report(planned), fix_task=fix_task(api.vault_id, server_id, identity_id),
        principal_id=principal_id)
    return InstanceInputError(message, **extra)


# ---------------------------------------------------------------------------------------------------------------
# Waiting for the protection state
# ---------------------------------------------------------------------------------------------------------------


def wait_for_state(api, name, wanted, timeout, sleep=time.sleep, clock=time.monotonic, fail_on_error=True):
    """Poll the instance until its state is ``wanted``; a ProtectionError fails with the service's error details.

    While waiting for ``present``, an ``error`` state ends the wait too (it will not become ``present`` by itself).
    """
    def done(body):
        state = lifecycle_state(body)
        return body is None or state == wanted or (wanted == "present" and state == "error")

    body = azure_waits.poll_until(lambda: api.instance(name), done, timeout,
                                  "backup instance {0} to reach state {1}".format(name, wanted),
                                  describe=_wire_state, sleep=sleep, clock=clock)
    if body is None:
        raise InstanceInputError("Backup instance '{0}' disappeared while waiting for it to reach state {1}.".format(
            name, wanted))
    if lifecycle_state(body) == "error" and fail_on_error:
        readable = to_readable(body)
        raise InstanceInputError(
            "Protection of server '{0}' failed in vault '{1}' ({2}): {3} Fix the cause and rerun the task: it "
            "validates and configures protection again.".format(
                readable["server_name"], api.vault_name, _wire_state(body),
                error_text(readable["error"]) or "the service gave no error details."),
            backup_instance=readable, protection_error=readable["error"])
    return body


def _wire_state(body):
    props = _props(body)
    return props.get("currentProtectionState") or (props.get("protectionStatus") or {}).get("status")


# ---------------------------------------------------------------------------------------------------------------
# ensure_*
# ---------------------------------------------------------------------------------------------------------------


def locate(api, params, server_id):
    """(name, current body or None) of the instance the task is about; fails on a conflicting ``name``."""
    name = params.get("name")
    if name:
        current = api.instance(name)
        if current is not None:
            current_server = (_props(current).get("dataSourceInfo") or {}).get("resourceID")
            if not compare.same_id(current_server, server_id):
                raise InstanceInputError(
                    "Backup instance '{0}' protects server {1}, not {2}: the server of an instance cannot change. "
                    "Use another name (or leave name unset), or delete that instance first.".format(
                        name, current_server, server_id))
            return name, current
        others = find_for_server(api.instances(), server_id)
        if others:
            raise InstanceInputError(
                "Server '{0}' is already protected in vault '{1}' by backup instance '{2}'; Azure protects a server "
                "once per vault. Leave name unset (the module then finds it) or use name: {2}.".format(
                    last_segment(server_id), api.vault_name, others[0].get("name")))
        return name, None
    found = find_for_server(api.instances(), server_id)
    if found:
        return found[0].get("name"), found[0]
    return pgflex.instance_name(server_id), None


def _predicted(current, vault_id, name, server, policy_id, identity_id, state):
    if current is not None:
        after = dict(to_readable(current))
    else:
        after = {
            "id": instance_id(vault_id, name), "name": name, "friendly_name": server.get("name"),
            "server_id": server.get("id"), "server_name": server.get("name"),
            "server_location": server.get("location"), "datasource_type": pgflex.DATASOURCE_TYPE,
            "policy_version": None, "provisioning_state": "Succeeded", "error": None,
        }
    if policy_id is not None:
        after["policy_id"] = policy_id
        after["policy_name"] = last_segment(policy_id)
    if identity_id is not False:
        after["identity"] = identity_id or "system_assigned"
    wire = {"present": ("ProtectionConfigured", "ProtectionConfigured"),
            "stopped": ("ProtectionStopped", "ProtectionStopped"),
            "suspended": ("BackupsSuspended", "BackupsSuspended")}[state]
    if after.get("state") != state:
        after["protection_status"], after["current_protection_state"] = wire
        after["state"] = state
        after["error"] = None
    return after


def ensure_present(api, params, server_id, check_mode, warn, sleep=time.sleep, clock=time.monotonic):
    """Protect the server (state present, stopped or suspended); returns (changed, readable instance, diff, extra).

    ``extra`` holds ``validation``: what was checked before writing, and how the service validation went.
    """
    state = params.get("state") or "present"
    wait = params.get("wait", True)
    timeout = params.get("wait_timeout") or 600
    vault = api.vault()
    if vault is None:
        raise InstanceInputError("Backup vault '{0}' does not exist ({1}). Create it with "
                                 "azbackup.dataprotection.backup_vault first.".format(api.vault_name, api.vault_id))
    name, current = locate(api, params, server_id)
    current_state = lifecycle_state(current)
    if current_state == "deleted":
        raise InstanceInputError(
            "Backup instance '{0}' of server '{1}' is soft-deleted in vault '{2}'. Undelete it (az dataprotection "
            "backup-instance deleted-backup-instance undelete) or wait until its soft-delete retention ends before "
            "protecting the server again.".format(name, last_segment(server_id), api.vault_name))
    if current is None and state != "present":
        raise InstanceInputError(
            "Server '{0}' has no backup instance in vault '{1}', so it cannot be {2}. Protect it first with "
            "state=present.".format(last_segment(server_id), api.vault_name, state))

    # Read-only checks, in the order an operator would fix them.
    validation = {"vault_location": region_name(vault.get("location"))}
    policy_id = None
    if state == "present" or params.get("policy_name") or params.get("policy_id"):
        policy_id, dummy = resolve_policy(api, params)
    server, warnings = check_server(api, vault, server_id, params.get("on_unsupported_size") or "warn")
    server = dict(server, id=server.get("id") or server_id)
    for text in warnings:
        warn(text)
    validation.update(server_location=region_name(server.get("location")), warnings=warnings)
    identity_requested = params.get("identity")
    identity_id, principal_id = resolve_identity(
        api, vault, identity_requested or (identity_of(current) if current else None))
    validation.update(identity=identity_id or "system_assigned", principal_id=principal_id)

    if current_state == "configuring" and wait and not check_mode:
        # Someone (a previous run, the portal) is configuring it right now: let that finish, then compare.
        current = wait_for_state(api, name, "present", timeout, sleep=sleep, clock=clock, fail_on_error=False)
        current_state = lifecycle_state(current)

    before = to_readable(current)
    policy_change = current is not None and policy_id is not None and not compare.same_id(before["policy_id"],
                                                                                          policy_id)
    if policy_change and state != "present":
        warn("policy_name/policy_id is applied only with state=present; backup instance '{0}' keeps policy '{1}' "
             "while it is {2}.".format(name, before["policy_name"], state))
        policy_change = False
    identity_change = current is not None and bool(identity_requested) and not compare.same_id(
        before["identity"], identity_id or "system_assigned")
    protect = state == "present" and (current is None or current_state in ("error", "not_protected", "unknown"))
    changed = protect or policy_change or identity_change or current_state != state
    if current_state == "configuring" and state == "present" and not (policy_change or identity_change):
        changed = False  # not waited for (wait=false or check mode): it is on its way

    after = _predicted(current, api.vault_id, name, server, policy_id if (current is None or policy_change) else None,
                       identity_id if (current is None or identity_change) else False, state)
    diff_after = after if changed else before
    needs_roles = protect or identity_change

    if check_mode or not changed:
        validation["service_validation"] = "not needed"
        if check_mode and needs_roles:
            planned = role_plan(api, principal_id, server_id)
            validation["roles"] = roles_report(planned) if planned is not None else \
                "unknown (the caller may not read role assignments)"
            if protect and params.get("validate", True):
                validation["service_validation"] = "skipped in check mode (validateForBackup is a POST)"
            missing = [item for item in planned or [] if item["status"] == "missing"]
            if missing:
                validation["missing_roles"] = roles_report(missing)
                validation["fix_task"] = fix_task(api.vault_id, server_id, identity_id)
                warn("The vault's identity {0} lacks {1}: a real run would retry validation for up to "
                     "validation_timeout and then fail. Grant the roles first with {2}.".format(
                         principal_id, required_roles_text(server_id, planned), ROLE_MODULE))
        return changed, diff_after, compare.diff_result(diff_view(before), diff_view(diff_after)), \
            {"validation": validation}

    body = pgflex.instance_body(server, policy_id or before["policy_id"], identity_id)
    if protect and current is None:
        _validate_for_protection(api, params, body, server_id, identity_id, principal_id, validation, warn,
                                 sleep, clock)
        api.put(name, body)
        result = wait_for_state(api, name, "present", timeout, sleep=sleep, clock=clock) if wait \
            else api.instance(name)
    elif protect:
        result = _reconfigure(api, params, name, body, server_id, identity_id, principal_id, validation, sleep, clock)
    else:
        validation["service_validation"] = "not needed"
        result = current
        if state == "present":
            if identity_change:
                _require_roles(api, name, server_id, identity_id, principal_id)
            if current_state in ("stopped", "suspended"):
                result = _transition(api, name, current_state, "present", wait, timeout, sleep, clock)
            if policy_change or identity_change:
                api.put(name, body)
                result = wait_for_state(api, name, "present", timeout, sleep=sleep, clock=clock) if wait \
                    else api.instance(name)
        else:
            result = _transition(api, name, current_state, state, wait, timeout, sleep, clock)
    readable = to_readable(result)
    return True, readable, compare.diff_result(diff_view(before), diff_view(readable)), {"validation": validation}


def _validate_for_protection(api, params, body, server_id, identity_id, principal_id, validation, warn, sleep,
                             clock):
    """validateForBackup with retries while access is missing or propagating; raises when it does not pass."""
    if not params.get("validate", True):
        validation["service_validation"] = "skipped (validate=false)"
        planned = role_plan(api, principal_id, server_id)
        if [item for item in planned or [] if item["status"] == "missing"]:
            warn("validate=false: the vault's identity lacks {0}; protection will end in ProtectionError.".format(
                required_roles_text(server_id, planned)))
        return
    timeout = params.get("validation_timeout") or 0
    outcome = validate_until_ready(lambda: api.validate(body), timeout, sleep=sleep, clock=clock)
    validation.update(service_validation="passed" if outcome["passed"] else "failed",
                      attempts=outcome["attempts"], waited_seconds=outcome["waited_seconds"])
    if not outcome["passed"]:
        planned = role_plan(api, principal_id, server_id) if outcome["access"] else None
        raise validation_failure(outcome, api, server_id, identity_id, principal_id, planned, timeout)


def _protection_error(body):
    """The error of an instance in ProtectionError (raw service dict), never None."""
    props = _props(body)
    return ((props.get("protectionStatus") or {}).get("errorDetails") or props.get("protectionErrorDetails")
            or {"code": None, "message": "The instance is in {0} and the service gave no error details.".format(
                _wire_state(body))})


def _reconfigure(api, params, name, body, server_id, identity_id, principal_id, validation, sleep, clock):
    """Configure protection of an existing instance again (after a ProtectionError): PUT it and wait.

    validateForBackup cannot be used here: the service refuses it for a server that already has an instance. The
    service checks access again while it configures, so while the instance ends in ProtectionError for lack of access
    (roles missing or still propagating), the PUT is repeated with growing pauses up to ``validation_timeout``.
    """
    timeout = params.get("wait_timeout") or 600
    last = {"body": None}

    def attempt():
        api.put(name, body)
        if not params.get("wait", True):
            last["body"] = api.instance(name)
            return None
        last["body"] = wait_for_state(api, name, "present", timeout, sleep=sleep, clock=clock, fail_on_error=False)
        return _protection_error(last["body"]) if lifecycle_state(last["body"]) == "error" else None

    limit = (params.get("validation_timeout") or 0) if params.get("validate", True) else 0
    outcome = validate_until_ready(attempt, limit, sleep=sleep, clock=clock)
    validation.update(service_validation="configured again" if outcome["passed"] else "failed",
                      attempts=outcome["attempts"], waited_seconds=outcome["waited_seconds"])
    if not outcome["passed"]:
        planned = role_plan(api, principal_id, server_id) if outcome["access"] else None
        raise validation_failure(outcome, api, server_id, identity_id, principal_id, planned, limit,
                                 reconfigured=to_readable(last["body"]))
    return last["body"]


def _require_roles(api, name, server_id, identity_id, principal_id):
    """Before switching an instance to another identity: that identity must hold the roles (read-only check)."""
    planned = role_plan(api, principal_id, server_id)
    missing = [item for item in planned or [] if item["status"] == "missing"]
    if missing:
        raise InstanceInputError(
            "The identity {0} ({1}) lacks {2}; switching backup instance '{3}' to it would break its backups. "
            "Nothing was written. Grant the roles first:\n{4}".format(
                identity_id or "system_assigned", principal_id, required_roles_text(server_id, planned), name,
                fix_task(api.vault_id, server_id, identity_id)),
            missing_roles=roles_report(missing), fix_task=fix_task(api.vault_id, server_id, identity_id))


def _transition(api, name, from_state, to_state, wait, timeout, sleep, clock):
    """Move an existing instance between present, stopped and suspended; returns its body afterwards."""
    if from_state == to_state:
        return api.instance(name)
    if to_state == "present":
        if from_state == "suspended":
            api.resume_backups(name)
        else:
            api.resume_protection(name)
    elif to_state == "stopped":
        api.stop(name)
    elif to_state == "suspended":
        if from_state == "stopped":
            api.resume_protection(name)
            if wait:
                wait_for_state(api, name, "present", timeout, sleep=sleep, clock=clock)
        api.suspend(name)
    if not wait:
        return api.instance(name)
    return wait_for_state(api, name, to_state, timeout, sleep=sleep, clock=clock)


def soft_delete_state(vault):
    settings = ((_props(vault).get("securitySettings") or {}).get("softDeleteSettings") or {})
    return settings.get("state"), settings.get("retentionDurationInDays")


def ensure_absent(api, params, server_id, check_mode, sleep=time.sleep, clock=time.monotonic):
    """Delete the instance (its recovery points go with it, or into soft delete); returns (changed, diff, extra)."""
    vault = api.vault()
    if vault is None:
        return False, compare.diff_result(None, None), {"soft_deleted": False}
    name, current = locate(api, params, server_id)
    if current is None or lifecycle_state(current) == "deleted":
        return False, compare.diff_result(None, None), {"soft_deleted": False}
    before = to_readable(current)
    soft_state, retention = soft_delete_state(vault)
    soft = str(soft_state or "").lower() in ("on", "alwayson", "enabled")
    extra = {"soft_deleted": soft, "deleted_instance": before}
    if soft:
        extra["soft_delete_retention_days"] = int(retention) if retention is not None else None
        extra["note"] = (
            "Vault '{0}' has soft delete {1}: the instance and its recovery points are kept as a soft-deleted "
            "instance for {2} days (undelete is possible until then) and the vault cannot be deleted before they are "
            "purged.").format(api.vault_name, soft_state, extra["soft_delete_retention_days"])
    if check_mode:
        return True, compare.diff_result(diff_view(before), None), extra
    api.delete(name)
    if params.get("wait", True):
        azure_waits.poll_until(lambda: api.instance(name), lambda body: body is None,
                               params.get("wait_timeout") or 600, "backup instance {0} to disappear".format(name),
                               sleep=sleep, clock=clock)
    return True, compare.diff_result(diff_view(before), None), extra


# ---------------------------------------------------------------------------------------------------------------
# Module glue
# ---------------------------------------------------------------------------------------------------------------


def connect(azure):
    """The InstanceApi for the vault the module's options name (its own subscription may differ from the default).

    Bad vault options fail here, naming the option.
    """
    params = azure.params
    try:
        subscription, dummy, dummy2, vault_id = references.vault_reference(params, azure.subscription_id)
    except references.ReferenceInputError as exc:
        azure.fail(str(exc))
    client = azure.dataprotection_for(subscription)
    return InstanceApi(client, vault_id, azure.arm_get, azure.wait, assignment_lister(azure.authorization),
                       params.get("wait_timeout") or 600)


def server_id_from_params(azure, required=True):
    """The server id of server_id / server_name + server_resource_group (None when not given and not required)."""
    params = azure.params
    if not required and not params.get("server_id") and not params.get("server_name"):
        return None
    try:
        return references.server_references(params, azure.subscription_id)[0]
    except references.ReferenceInputError as exc:
        azure.fail(str(exc))


# ---------------------------------------------------------------------------------------------------------------
# Finding an instance for the other modules
# ---------------------------------------------------------------------------------------------------------------


def find_instance(api, name=None, server_id=None):
    """The instance (ARM body) named ``name`` or protecting ``server_id``; None when there is none.

    With both, the named instance must protect that server.
    """
    if name:
        body = api.instance(name)
        if body is not None and server_id and not compare.same_id(
                (_props(body).get("dataSourceInfo") or {}).get("resourceID"), server_id):
            raise InstanceInputError("Backup instance '{0}' protects {1}, not {2}.".format(
                name, (_props(body).get("dataSourceInfo") or {}).get("resourceID"), server_id))
        return body
    found = [item for item in find_for_server(api.instances(), server_id) if lifecycle_state(item) != "deleted"]
    return found[0] if found else None


# ---------------------------------------------------------------------------------------------------------------
# On-demand backup
# ---------------------------------------------------------------------------------------------------------------


def ondemand_backup(api, params, server_id, check_mode, warn, sleep=time.sleep, clock=time.monotonic):
    """Trigger a backup of a protected server now; returns the result dict of pgflex_ondemand_backup.

    Fails (InstanceInputError) before triggering when the server is not protected, protection is not configured, or
    the retention tag is not a rule of the instance's policy; fails after triggering (with ``job_id``) when
    ``wait`` is set and the job does not complete.
    """
    if api.vault() is None:
        raise InstanceInputError("Backup vault '{0}' does not exist ({1}).".format(api.vault_name, api.vault_id))
    body = find_instance(api, params.get("backup_instance_name"), server_id)
    what = "backup instance '{0}'".format(params["backup_instance_name"]) if params.get("backup_instance_name") \
        else "server '{0}'".format(last_segment(server_id))
    if body is None:
        raise InstanceInputError(
            "There is no backup instance for {0} in vault '{1}'. Protect the server first with "
            "azbackup.dataprotection.pgflex_backup_instance.".format(what, api.vault_name))
    instance = to_readable(body)
    if instance["state"] != "present":
        if instance["state"] in ("stopped", "suspended"):
            advice = "Resume it with pgflex_backup_instance state=present."
        else:
            advice = error_text(instance["error"]) or "Wait for it, or fix it with pgflex_backup_instance."
        raise InstanceInputError(
            "Backup instance '{0}' is {1} ({2}); on-demand backups need protection configured "
            "(ProtectionConfigured). {3}".format(instance["name"], instance["state"], _wire_state(body), advice),
            backup_instance=instance)
    policy = api.policy(instance["policy_name"]) if instance["policy_name"] else None
    tag = params.get("retention_tag") or "Default"
    if policy is None:
        warn("The policy of backup instance '{0}' ({1}) could not be read; using rule {2} and retention tag {3} as "
             "given.".format(instance["name"], instance["policy_id"], params.get("rule_name") or
                             pgflex.BACKUP_RULE_NAME, tag))
        rule_name = params.get("rule_name") or pgflex.BACKUP_RULE_NAME
    else:
        rule_name = params.get("rule_name") or pgflex.policy_backup_rule_name(policy)
        try:
            tag = jobs.resolve_retention_tag(tag, pgflex.policy_retention_tags(policy))
        except jobs.JobInputError as exc:
            raise InstanceInputError(str(exc) + " (policy {0})".format(instance["policy_name"]),
                                     backup_instance=instance) from None
    trigger = {"backup_instance_name": instance["name"], "server_id": instance["server_id"], "rule_name": rule_name,
               "retention_tag": tag, "policy_name": instance["policy_name"]}
    result = {"backup_instance": instance, "trigger": trigger, "job_id": None, "job": None}
    if check_mode:
        return result
    job_id = api.adhoc_backup(instance["name"], jobs.adhoc_backup_body(rule_name, tag))
    job_id = jobs.job_id_of(job_id) if job_id else None
    if job_id is None:
        # The service gave no job id: the newest on-demand job of this instance is ours.
        candidates = jobs.select(api.jobs(), {"backup_instance": instance["name"], "operations": ["on_demand"]})
        job_id = candidates[0]["job_id"] if candidates else None
    result["job_id"] = job_id
    if job_id is None:
        warn("The service accepted the backup but named no job; see backup_job_info.")
        return result
    if not params.get("wait"):
        result["job"] = jobs.to_readable(api.job(job_id))
        return result
    job = jobs.wait_until_terminal(lambda: jobs.to_readable(api.job(job_id)), params.get("wait_timeout") or 600,
                                   "backup job {0} to finish".format(job_id), sleep=sleep, clock=clock)
    result["job"] = job
    if job is None:
        raise InstanceInputError("Backup job {0} could not be found after it was triggered.".format(job_id),
                                 **result)
    if not job["succeeded"]:
        raise InstanceInputError(jobs.failure_message(job, "On-demand backup job"), **result)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Info: instances with their last backup and recovery points
# ---------------------------------------------------------------------------------------------------------------


def readable_recovery_point(body):
    props = _props(body)
    return {
        "id": body.get("id"),
        "recovery_point_id": props.get("recoveryPointId") or body.get("name"),
        "time": props.get("recoveryPointTime"),
        "type": props.get("recoveryPointType"),
        "retention_tag": props.get("retentionTagName"),
        "expiry_time": props.get("expiryTime"),
        "state": props.get("recoveryPointState"),
        "policy_name": props.get("policyName"),
    }


def _newest(values):
    values = [v for v in values if v]
    return max(values, key=jobs.parse_time) if values else None


def _oldest(values):
    values = [v for v in values if v]
    return min(values, key=jobs.parse_time) if values else None


def backup_summary(instance_jobs):
    """last_backup (newest backup job, any outcome) and the end of the newest successful one."""
    backups = [job for job in instance_jobs if job["operation"] in ("on_demand", "scheduled")]
    last = backups[0] if backups else None
    successful = [job for job in backups if job["succeeded"]]
    summary = None
    if last:
        summary = dict((key, last.get(key)) for key in (
            "job_id", "operation", "status", "start_time", "end_time", "duration_seconds", "retention_tag",
            "error_code", "error_message", "recommended_action"))
    return summary, (successful[0].get("end_time") or successful[0].get("start_time")) if successful else None


def instances_info(api, params, server_id, policy_id=None):
    """The pgflex_backup_instance_info list: instances of the vault that pass the filters, newest data first."""
    if api.vault() is None:
        raise InstanceInputError("Backup vault '{0}' does not exist ({1}).".format(api.vault_name, api.vault_id))
    name = params.get("name")
    if name:
        body = api.instance(name)
        bodies = [body] if body else []
    else:
        bodies = api.instances()
    bodies = [body for body in bodies if str((_props(body).get("dataSourceInfo") or {}).get("datasourceType") or
                                             pgflex.DATASOURCE_TYPE).lower() == pgflex.DATASOURCE_TYPE.lower()]
    if server_id:
        bodies = find_for_server(bodies, server_id)
    if policy_id:
        bodies = [body for body in bodies if compare.same_id((_props(body).get("policyInfo") or {}).get("policyId"),
                                                             policy_id)]
    all_jobs = jobs.select(api.jobs(), {}) if bodies and params.get("include_jobs", True) else []
    result = []
    for body in sorted(bodies, key=lambda item: item.get("name") or ""):
        item = to_readable(body)
        if params.get("include_jobs", True):
            mine = [job for job in all_jobs if str(job.get("backup_instance_name") or "").lower() ==
                    str(item["name"]).lower() or compare.same_id(job.get("server_id"), item["server_id"])]
            item["last_backup"], last_success = backup_summary(mine)
            item["last_backup_status"] = item["last_backup"]["status"] if item["last_backup"] else None
            item["last_backup_time"] = item["last_backup"]["start_time"] if item["last_backup"] else None
        else:
            last_success = None
        if params.get("include_recovery_points", True):
            points = [readable_recovery_point(point) for point in api.recovery_points(item["name"])]
            points.sort(key=lambda point: point["time"] or "", reverse=True)
            by_tag = {}
            for point in points:
                tag = point["retention_tag"] or "unknown"
                # Tags compare without case: real Azure reports an on-demand backup's default tag as "default".
                tag = next((known for known in by_tag if known.lower() == tag.lower()), tag)
                by_tag[tag] = by_tag.get(tag, 0) + 1
            item["recovery_point_count"] = len(points)
            item["recovery_points_by_tag"] = by_tag
            item["latest_recovery_point_time"] = _newest([p["time"] for p in points])
            item["oldest_recovery_point_time"] = _oldest([p["time"] for p in points])
            if params.get("list_recovery_points"):
                item["recovery_points"] = points
            last_success = _newest([last_success, item["latest_recovery_point_time"]])
        item["last_successful_backup_time"] = last_success
        result.append(item)
    return result
