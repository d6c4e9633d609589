# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""validateForBackup (and configuring protection again) with retries while the vault identity's access is missing or
still propagating, and the failure that explains what to grant."""

import re
import time

from ansible_collections.azbackup.dataprotection.plugins.module_utils import azure_waits
from ansible_collections.azbackup.dataprotection.plugins.module_utils.arm import (
    error_text,
    last_segment,
    readable_error,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.roles import (
    fix_task,
    required_roles_text,
    roles_report,
)

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
    """The InputError for a validation that did not pass: the service's words, the missing roles, the fix.

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
        return InputError(text, **extra)
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
    return InputError(message, **extra)
