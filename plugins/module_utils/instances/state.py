# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Protection of a server as a state machine: ``ensure_present`` (protect, repair, resume, change policy or identity,
stop, suspend) and ``ensure_absent``; what to do comes from ``decision.decide``, the waits from azure_waits.

Decisions:

* Finding the instance: with ``name`` unset, the instance whose ``dataSourceInfo.resourceID`` is the server is used,
  whatever its name (instances made in the portal or by the CLI are adopted). A new instance is named by the
  datasource record (``Datasource.instance_name``): ``<server>-<server>-<uuid5 of the server id>``.
* Only the policy and the identity change in place (a PUT of the same instance). The server of an existing instance
  never changes: that is another instance.
* validateForBackup runs before a new instance is created and before an instance in ProtectionError is configured
  again (that is the portal's "revalidate"); it is a POST, so it never runs in check mode. Check mode instead compares
  the vault identity's role assignments (read-only) with the roles the server needs and reports the outcome."""

import time

from ansible_collections.azbackup.dataprotection.plugins.module_utils import (
    arm,
    azure_waits,
    compare,
    contract,
    datasources,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.arm import error_text, last_segment
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import EnsureResult, InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.checks import (
    check_server,
    resolve_identity,
    resolve_policy,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.decision import decide
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.lookup import (
    find_for_server,
    instance_id,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.readable import (
    diff_view,
    identity_of,
    lifecycle_state,
    to_readable,
    wire_state,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.roles import (
    fix_task,
    require_roles,
    required_roles_text,
    role_plan,
    roles_report,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.validation import (
    validate_until_ready,
    validation_failure,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.recovery_points import (
    soft_deleted_for,
    soft_deleted_message,
)

STATES = ("present", "absent", "stopped", "suspended")


SIZE_ACTIONS = ("warn", "fail")


def wait_for_state(api, name, wanted, timeout, sleep=time.sleep, clock=time.monotonic, fail_on_error=True):
    """Poll the instance until its state is ``wanted``; a ProtectionError fails with the service's error details.

    While waiting for ``present``, an ``error`` state ends the wait too (it will not become ``present`` by itself).
    """
    def done(body):
        state = lifecycle_state(body)
        return body is None or state == wanted or (wanted == "present" and state == "error")

    body = azure_waits.poll_until(lambda: api.instance(name), done, timeout,
                                  "backup instance {0} to reach state {1}".format(name, wanted),
                                  describe=wire_state, sleep=sleep, clock=clock)
    if body is None:
        raise InputError("Backup instance '{0}' disappeared while waiting for it to reach state {1}.".format(
            name, wanted))
    if lifecycle_state(body) == "error" and fail_on_error:
        readable = to_readable(body)
        raise InputError(
            "Protection of server '{0}' failed in vault '{1}' ({2}): {3} Fix the cause and rerun the task: it "
            "validates and configures protection again.".format(
                readable["server_name"], api.vault_name, wire_state(body),
                error_text(readable["error"]) or "the service gave no error details."),
            backup_instance=readable, protection_error=readable["error"])
    return body


def locate(api, params, server_id, datasource):
    """(name, current body or None) of the instance the task is about; fails on a conflicting ``name``."""
    name = params.get("name")
    if name:
        current = api.instance(name)
        if current is not None:
            current_server = (arm.properties(current).get("dataSourceInfo") or {}).get("resourceID")
            if not arm.same_id(current_server, server_id):
                raise InputError(
                    "Backup instance '{0}' protects server {1}, not {2}: the server of an instance cannot change. "
                    "Use another name (or leave name unset), or delete that instance first.".format(
                        name, current_server, server_id))
            return name, current
        others = find_for_server(api.instances(), server_id)
        if others:
            raise InputError(
                "Server '{0}' is already protected in vault '{1}' by backup instance '{2}'; Azure protects a server "
                "once per vault. Leave name unset (the module then finds it) or use name: {2}.".format(
                    last_segment(server_id), api.vault_name, others[0].get("name")))
        return name, None
    found = find_for_server(api.instances(), server_id)
    if found:
        return found[0].get("name"), found[0]
    return datasource.instance_name(server_id), None


def _predicted(current, vault_id, name, server, policy_id, identity_id, state, datasource):
    if current is not None:
        after = dict(to_readable(current))
    else:
        after = {
            "id": instance_id(vault_id, name), "name": name, "friendly_name": server.get("name"),
            "server_id": server.get("id"), "server_name": server.get("name"),
            "server_location": server.get("location"), "datasource_type": datasource.arm_type,
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
    """Protect the server (state present, stopped or suspended); returns an EnsureResult.

    Its ``extra`` holds ``validation``: what was checked before writing, and how the service validation went.
    """
    state = params.get("state") or "present"
    wait, timeout = contract.waits(params)
    datasource = datasources.of_resource(server_id)
    vault = api.require_vault()
    name, current = locate(api, params, server_id, datasource)
    current_state = lifecycle_state(current)
    deleted = current if current_state == "deleted" else None
    if current is None:
        deleted = soft_deleted_for(api, server_id=server_id)
    if deleted is not None:
        raise InputError(soft_deleted_message(deleted, api.vault_name, "protecting the server again"),
                         option="server_id" if params.get("server_id") else "server_name",
                         error_code="BackupInstanceSoftDeleted")
    if current is None and state != "present":
        raise InputError(
            "Server '{0}' has no backup instance in vault '{1}', so it cannot be {2}. Protect it first with "
            "state=present.".format(last_segment(server_id), api.vault_name, state))

    # Read-only checks, in the order an operator would fix them.
    validation = {"vault_location": arm.canonical_region(vault.get("location"))}
    policy_id = None
    if state == "present" or params.get("policy_name") or params.get("policy_id"):
        policy_id, dummy = resolve_policy(api, params, datasource)
    server, warnings = check_server(api, vault, server_id, params.get("on_unsupported_size") or "warn", datasource)
    server = dict(server, id=server.get("id") or server_id)
    for text in warnings:
        warn(text)
    validation.update(server_location=arm.canonical_region(server.get("location")), warnings=warnings)
    identity_requested = params.get("identity")
    identity_id, principal_id = resolve_identity(
        api, vault, identity_requested or (identity_of(current) if current else None))
    validation.update(identity=identity_id or "system_assigned", principal_id=principal_id)

    if current_state == "configuring" and wait and not check_mode:
        # Someone (a previous run, the portal) is configuring it right now: let that finish, then compare.
        current = wait_for_state(api, name, "present", timeout, sleep=sleep, clock=clock, fail_on_error=False)
        current_state = lifecycle_state(current)

    before = to_readable(current)
    decision = decide(current, server_id, policy_id, state,
                      (identity_id or "system_assigned") if identity_requested else None)
    if decision.policy_ignored:
        warn("policy_name/policy_id is applied only with state=present; backup instance '{0}' keeps policy '{1}' "
             "while it is {2}.".format(name, before["policy_name"], state))
    protect, changed = decision.protect, decision.changed
    policy_change, identity_change = decision.policy_change, decision.identity_change

    after = _predicted(current, api.vault_id, name, server, policy_id if (current is None or policy_change) else None,
                       identity_id if (current is None or identity_change) else False, state, datasource)
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
                         principal_id, required_roles_text(server_id, planned),
                         datasources.of_resource(server_id).role_assignment_module))
        return EnsureResult(changed, diff_after, compare.diff_result(diff_view(before), diff_view(diff_after)),
                            extra={"validation": validation})

    body = datasource.instance_body(server, policy_id or before["policy_id"], identity_id)
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
                require_roles(api, name, server_id, identity_id, principal_id)
            if current_state in ("stopped", "suspended"):
                result = _transition(api, name, current_state, "present", wait, timeout, sleep, clock)
            if policy_change or identity_change:
                api.put(name, body)
                result = wait_for_state(api, name, "present", timeout, sleep=sleep, clock=clock) if wait \
                    else api.instance(name)
        else:
            result = _transition(api, name, current_state, state, wait, timeout, sleep, clock)
    readable = to_readable(result)
    return EnsureResult(True, readable, compare.diff_result(diff_view(before), diff_view(readable)),
                        extra={"validation": validation})


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
    props = arm.properties(body)
    return ((props.get("protectionStatus") or {}).get("errorDetails") or props.get("protectionErrorDetails")
            or {"code": None, "message": "The instance is in {0} and the service gave no error details.".format(
                wire_state(body))})


def _reconfigure(api, params, name, body, server_id, identity_id, principal_id, validation, sleep, clock):
    """Configure protection of an existing instance again (after a ProtectionError): PUT it and wait.

    validateForBackup cannot be used here: the service refuses it for a server that already has an instance. The
    service checks access again while it configures, so while the instance ends in ProtectionError for lack of access
    (roles missing or still propagating), the PUT is repeated with growing pauses up to ``validation_timeout``.
    """
    wait, timeout = contract.waits(params)
    last = {"body": None}

    def attempt():
        api.put(name, body)
        if not wait:
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
    settings = ((arm.properties(vault).get("securitySettings") or {}).get("softDeleteSettings") or {})
    return settings.get("state"), settings.get("retentionDurationInDays")


def ensure_absent(api, params, server_id, check_mode, sleep=time.sleep, clock=time.monotonic):
    """Delete the instance (its recovery points go with it, or into soft delete); returns an EnsureResult whose
    ``extra`` says whether the vault keeps it soft-deleted."""
    vault = api.vault()
    if vault is None:
        return EnsureResult(False, None, compare.diff_result(None, None), extra={"soft_deleted": False})
    name, current = locate(api, params, server_id, datasources.of_resource(server_id))
    if current is None or lifecycle_state(current) == "deleted":
        return EnsureResult(False, None, compare.diff_result(None, None), extra={"soft_deleted": False})
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
        return EnsureResult(True, None, compare.diff_result(diff_view(before), None), extra=extra)
    api.delete(name)
    wait, timeout = contract.waits(params)
    if wait:
        azure_waits.poll_until(lambda: api.instance(name), lambda body: body is None,
                               timeout, "backup instance {0} to disappear".format(name),
                               sleep=sleep, clock=clock)
    return EnsureResult(True, None, compare.diff_result(diff_view(before), None), extra=extra)
