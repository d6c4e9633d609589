# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Restore as files: the one restore Azure offers for PostgreSQL Flexible Server.

Order of a run: every read-only check (recovery point, storage account and container, network and replication
settings, region rules, the vault identity's role on the account), then the grant (or the template), then
validateRestore (retried while a new grant propagates), then the trigger, then the Restore job. Nothing is written
before every check passed; check mode stops before the grant.
"""

import os
import re
import time

from ansible_collections.azbackup.dataprotection.plugins.module_utils import (
    arm,
    contract,
    dataprotection,
    datasources,
    jobs,
    recovery_points,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils import role_assignment_resource as rar
from ansible_collections.azbackup.dataprotection.plugins.module_utils import role_assignments as ra
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.readable import (
    identity_of,
    to_readable,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.validation import (
    is_access_error,
    validate_until_ready,
)

# 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.
CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
STORAGE_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
# Blob names may not end with a dot or slash; the prefix is the start of every file name.
FILE_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
TRUSTED_VAULT_TYPE = "microsoft.dataprotection/backupvaults"
RUNNING = ("in_progress",)


def storage_account_id(params, subscription_id):
    """The target account's ARM id from ``storage_account_id``, or ``storage_account_name`` + its resource group
    (and subscription); an InputError naming the option otherwise."""
    if params.get("storage_account_id"):
        value = params["storage_account_id"]
        parts = arm.try_parse(value)
        if not parts or str(parts.get("type") or "").lower() != arm.STORAGE_ACCOUNT_TYPE.lower() \
                or parts.get("children"):
            raise InputError("storage_account_id '{0}' is not the resource id of a storage account "
                             "(/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/"
                             "<name>).".format(value), option="storage_account_id")
        return value
    name = params.get("storage_account_name")
    if not name or not params.get("storage_account_resource_group"):
        raise InputError("Name the target storage account: storage_account_id, or storage_account_name with "
                         "storage_account_resource_group.", option="storage_account_name")
    if not STORAGE_ACCOUNT_NAME.match(name):
        raise InputError("storage_account_name '{0}' is not a storage account name (3 to 24 lowercase letters and "
                         "digits).".format(name), option="storage_account_name")
    return arm.resource_id(params.get("storage_account_subscription_id") or subscription_id,
                           params["storage_account_resource_group"], arm.STORAGE_ACCOUNT_TYPE, name)


def check_options(params):
    """The options that need no request: container name and file prefix."""
    container = params.get("container") or ""
    if not CONTAINER_NAME.match(container):
        raise InputError("container '{0}' is not a valid blob container name: 3 to 63 lowercase letters, digits and "
                         "single hyphens, starting and ending with a letter or digit.".format(container),
                         option="container")
    prefix = params.get("file_prefix")
    if prefix is not None and not FILE_PREFIX.match(prefix):
        raise InputError("file_prefix '{0}' must start with a letter or digit and hold only letters, digits, dots, "
                         "hyphens and underscores (at most 200).".format(prefix), option="file_prefix")


def default_prefix(server_name, point):
    """``<server>-<point time>``: one prefix per server and point, so that reruns find their files."""
    when = jobs.parse_time(point["time"]) if point.get("time") else None
    stamp = when.strftime("%Y%m%dT%H%M%SZ") if when else str(point["recovery_point_id"])[:12]
    return "{0}-{1}".format(server_name, stamp)


def account_problems(account, account_id):
    """What keeps the vault from writing into the account (sentences that say what to change)."""
    props = arm.properties(account)
    problems = []
    if props.get("allowCrossTenantReplication") is not True:
        problems.append(
            "storage account '{0}' does not allow cross-tenant replication, which restore as files needs: set "
            "allowCrossTenantReplication to true (az storage account update -n {0} -g {1} "
            "--allow-cross-tenant-replication true).".format(account.get("name"), arm.resource_group_of(account_id)))
    public = str(props.get("publicNetworkAccess") or "Enabled").lower()
    acls = props.get("networkAcls") or {}
    denies = str(acls.get("defaultAction") or "Allow").lower() == "deny"
    if public == "disabled" or denies:
        rules = [rule for rule in acls.get("resourceAccessRules") or []
                 if TRUSTED_VAULT_TYPE in str(rule.get("resourceId") or "").lower()]
        trusted = "azureservices" in str(acls.get("bypass") or "").lower()
        if not rules or not trusted:
            problems.append(
                "storage account '{0}' is not reachable by the Backup vault (public network access {1}, default "
                "network action {2}): add a resource instance rule for Microsoft.DataProtection/BackupVaults and "
                "allow trusted Microsoft services (bypass AzureServices), or enable public network access.".format(
                    account.get("name"), props.get("publicNetworkAccess") or "Enabled",
                    acls.get("defaultAction") or "Allow"))
    return problems


def restore_request(point_id, region, container_url, prefix, container_arm_id, identity_id=None):
    """The AzureBackupRecoveryPointBasedRestoreRequest that restores a point as files into a container."""
    return {
        "objectType": "AzureBackupRecoveryPointBasedRestoreRequest",
        "recoveryPointId": point_id,
        "sourceDataStoreType": "VaultStore",
        "restoreTargetInfo": {
            "objectType": "RestoreFilesTargetInfo",
            "recoveryOption": "FailIfExists",
            "restoreLocation": region,
            "targetDetails": {
                "url": container_url,
                "filePrefix": prefix,
                "restoreTargetLocationType": "AzureBlobs",
                # Needed when the vault's cross-subscription restore is disabled; harmless otherwise.
                "targetResourceArmId": container_arm_id,
            },
        },
        "identityDetails": datasources.identity_details(identity_id),
    }


def _same_url(left, right):
    return str(left or "").rstrip("/").lower() == str(right or "").rstrip("/").lower()


def previous_restore(read_jobs, read_job, instance_name, point_id, container_url):
    """The newest restore job of the same point into the same container that is running or succeeded (readable,
    with ``destination``), or None. ``read_jobs()``: job bodies; ``read_job(id)``: one job with its extendedInfo."""
    candidates = jobs.select(read_jobs(), {"backup_instance": instance_name, "operations": ["restore"]})
    for job in candidates:
        if not (job["status"] in RUNNING or job["succeeded"]):
            continue
        body = read_job(job["job_id"]) or {}
        extended = arm.properties(body).get("extendedInfo") or {}
        source = extended.get("sourceRecoverPoint") or {}
        if _same_url(extended.get("recoveryDestination"), container_url) and \
                str(source.get("recoveryPointID") or "").lower() == str(point_id).lower():
            readable = jobs.to_readable(body)
            readable["destination"] = extended.get("recoveryDestination")
            return readable
    return None


class RoleAccess:
    """The role-assignment side of a restore: what the vault identity lacks on the account, and the grant.

    ``authorization``: the AuthorizationManagementClient; ``read_permissions``: ``rar.permission_reader(...)``.
    """

    def __init__(self, authorization, read_permissions):
        self.authorization = authorization
        self.read_permissions = read_permissions

    def plan(self, principal_id, account_id, datasource):
        """(required, existing, management groups) for the restore roles; None when they cannot be read."""
        required = ra.required_assignments(datasource, principal_id, [], "restore", "resource", account_id)
        try:
            existing, groups = rar.list_assignments(self.authorization, principal_id, [i["scope"] for i in required])
        except rar.HttpResponseError as exc:
            if getattr(exc, "status_code", None) in (401, 403):
                return required, None, None
            raise
        return required, existing, groups

    def grant(self, required, existing, groups, check_mode):
        return rar.ensure_present(self.authorization, self.read_permissions, required, existing or [], groups or {},
                                  check_mode)


def restore(api, params, server_id, check_mode, warn, open_container, roles, caller=None,
            sleep=time.sleep, clock=time.monotonic):
    """Restore a recovery point of a protected server as files; returns the result dict of pgflex_restore.

    ``open_container(url)`` -> a ``blob_files.Container``-like reader; ``roles``: a ``RoleAccess``; ``caller()``:
    who runs the task (for the message when it may not grant).
    """
    check_options(params)
    account_id = storage_account_id(params, arm.subscription_of(api.vault_id))
    vault = api.require_vault()
    # Region rules of the vault first: they hold whatever the server.
    secondary = recovery_points.secondary_region(api, vault) if params.get("use_secondary_region") else None
    body = recovery_points.protected_instance(api, params, server_id, "a restore")
    instance = to_readable(body)
    server_name = arm.last_segment(instance["server_id"]) or arm.last_segment(server_id)
    datasource = datasources.get(instance["datasource_type"]) or datasources.of_resource(instance["server_id"]) \
        or datasources.default()
    if "RestoreAsFiles" not in datasource.restore_target_kinds:
        raise InputError("{0} backups cannot be restored as files.".format(datasource.label))

    # The recovery point.
    points, source_region, secondary = recovery_points.list_points(
        api, vault, body, {"use_secondary_region": bool(secondary), "secondary_region": secondary})
    point = recovery_points.choose_point(points, params.get("recovery_point"), "'{0}'".format(server_name))
    if point["is_partial"]:
        warn("Recovery point {0} is partial: some databases may be missing from it.".format(point["recovery_point_id"]))
    region = secondary or source_region

    # The storage account and container.
    account = api.resource(account_id)
    option = "storage_account_id" if params.get("storage_account_id") else "storage_account_name"
    if account is None:
        raise InputError("Storage account {0} does not exist (or the caller may not read it).".format(account_id),
                         option=option, error_code="ResourceNotFound")
    account_region = arm.canonical_region(account.get("location"))
    if secondary and account_region != secondary:
        raise InputError("A cross-region restore writes into the secondary region {0}; storage account '{1}' is in "
                         "{2}. Use an account in {0}.".format(secondary, account.get("name"), account_region),
                         option=option)
    if not secondary and account_region != source_region:
        warn("Storage account '{0}' is in {1}, the vault in {2}: the files cross regions.".format(
            account.get("name"), account_region, source_region))
    problems = account_problems(account, account_id)
    if problems:
        raise InputError("The restore cannot write into the target: " + " ".join(problems), option=option)
    blob_endpoint = (arm.properties(account).get("primaryEndpoints") or {}).get("blob")
    if not blob_endpoint:
        raise InputError("Storage account '{0}' has no blob endpoint (properties.primaryEndpoints.blob): restore as "
                         "files needs a blob storage account.".format(account.get("name")), option=option)
    container_url = blob_endpoint.rstrip("/") + "/" + params["container"]
    container_arm_id = "{0}/blobServices/default/containers/{1}".format(account_id, params["container"])
    container = open_container(container_url)
    exists = container.exists()
    if exists is False:
        raise InputError("Container '{0}' does not exist in storage account '{1}'. Create it first (az storage "
                         "container create -n {0} --account-name {1} --auth-mode login).".format(
                             params["container"], account.get("name")), option="container",
                         error_code="ContainerNotFound")
    if exists is None:
        warn("Container {0} could not be read from here ({1}); the restore job will tell whether it exists.".format(
            container_url, container.problem))

    prefix = params.get("file_prefix") or default_prefix(server_name, point)
    identity_id = identity_of(body)
    identity_id = None if identity_id == "system_assigned" else identity_id
    system, users = dataprotection.vault_identities(vault)
    principal_id = users.get(identity_id) if identity_id else system
    if identity_id and principal_id is None:
        principal_id = api.identity_principal(identity_id)
    if not principal_id:
        raise InputError("Vault '{0}' has no {1} identity to restore with; give it one with backup_vault "
                         "identity.".format(api.vault_name, "such user-assigned" if identity_id else "system-assigned"))
    request = restore_request(point["recovery_point_id"], region, container_url, prefix, container_arm_id,
                              identity_id)
    target = {"storage_account_id": account_id, "storage_account_name": account.get("name"),
              "storage_account_location": account_region, "container": params["container"],
              "container_url": container_url, "file_prefix": prefix, "cross_region": bool(secondary),
              "restore_location": region}
    result = {"backup_instance": instance, "recovery_point": point, "target": target, "request": request,
              "restore_job": None, "job_id": None, "files": [], "roles": None, "validation": None,
              "already_restored": False, "role_assignment_template": None}

    # Rerun safety: the same point into the same container and prefix, running or done, is reported.
    if not params.get("force"):
        if secondary:
            def read_jobs():
                return api.cross_region_restore_jobs(secondary, source_region)

            def read_job(job_id):
                return api.cross_region_restore_job(secondary, source_region, job_id)
        else:
            read_jobs, read_job = api.jobs, api.job
        earlier = previous_restore(read_jobs, read_job, instance["name"], point["recovery_point_id"], container_url)
        files = container.files(prefix + "_") if earlier is not None and exists else None
        if earlier is not None and (earlier["status"] in RUNNING or files is None or files):
            result.update(restore_job=earlier, job_id=earlier["job_id"], files=files or [], already_restored=True,
                          msg="Recovery point {0} of '{1}' is already {2} into {3} (job {4}); nothing was triggered. "
                              "Use force: true to restore it again.".format(
                                  point["recovery_point_id"], server_name,
                                  "being restored" if earlier["status"] in RUNNING else "restored",
                                  container_url, earlier["job_id"]))
            download(container, result["files"], params.get("download_to") if files else None)
            return result

    # The vault identity's role on the account.
    required, existing, groups = roles.plan(principal_id, account_id, datasource)
    if existing is None:
        result["roles"] = "unknown (the caller may not read role assignments)"
        outcome = None
    else:
        planned = ra.plan(required, existing, groups)
        result["roles"] = [{"role_name": i["role_name"], "scope": i["scope"], "status": i["status"]} for i in planned]
        outcome = None
        if ra.missing(planned):
            if params.get("on_missing_permission") == "template" or check_mode:
                outcome = rar.Outcome("present", planned)
                if not check_mode:
                    outcome.denied, outcome.denied_how = True, "template"
            else:
                outcome = roles.grant(required, existing, groups, False)
            granted, problem = rar.result(outcome, principal_id, caller() if outcome.denied and caller else None)
            result["role_assignment_template"] = granted["role_assignment_template"]
            result["az_cli_commands"] = granted["az_cli_commands"]
            result["roles"] = granted["assignments"]
            if check_mode:
                for item in result["roles"]:
                    if item["status"] == "missing":
                        item["status"] = "would be created"
            elif outcome.denied:
                if params.get("on_missing_permission") == "template":
                    result["msg"] = ("The vault identity {0} lacks {1} on storage account '{2}'. Nothing was written: "
                                     "deploy role_assignment_template (or run az_cli_commands), then rerun.").format(
                        principal_id, ", ".join(i["role_name"] for i in ra.missing(planned)), account.get("name"))
                    result["changed"] = False
                    return result
                raise InputError(problem + " Nothing was restored.", **dict(result, changed=False))
    if check_mode:
        result["validation"] = "skipped in check mode (validateRestore is a POST)"
        result["msg"] = "Check mode: would restore recovery point {0} of '{1}' into {2} with prefix {3}.".format(
            point["recovery_point_id"], server_name, container_url, prefix)
        return result
    granted_now = bool(outcome and outcome.done)
    result["changed"] = granted_now

    # validateRestore, retried while a new grant propagates.
    timeout = params.get("validation_timeout") or 0
    location = secondary
    outcome = validate_until_ready(
        lambda: api.validate_restore(instance["name"], request, location, body.get("id"), source_region), timeout,
        sleep=sleep, clock=clock)
    result["validation"] = {"passed": outcome["passed"], "attempts": outcome["attempts"],
                            "waited_seconds": outcome["waited_seconds"]}
    if not outcome["passed"]:
        cause = jobs.innermost_cause(outcome["error"]) or outcome["error"] or {}
        advice = (" The role was granted just now and may still be propagating; rerun in a few minutes or raise "
                  "validation_timeout." if is_access_error(outcome["error"]) and granted_now else "")
        raise InputError("validateRestore refused the restore: {0}.{1}".format(arm.error_text(outcome["error"]) or
                                                                             cause.get("message"), advice),
                         **dict(result, error=outcome["error"]))

    job_id = api.trigger_restore(instance["name"], request, location, body.get("id"), source_region)
    result["changed"] = True
    result["job_id"] = job_id

    def read():
        job = api.cross_region_restore_job(location, source_region, job_id) if location else api.job(job_id)
        return jobs.to_readable(job)

    if job_id is None:
        warn("The service accepted the restore but named no job; see backup_job_info.")
        return result
    wait, wait_timeout = contract.waits(params, 1800)
    if not wait:
        result["restore_job"] = read()
        return result
    job = jobs.wait_until_terminal(read, wait_timeout, "restore job {0} to finish".format(job_id), sleep=sleep,
                                   clock=clock)
    result["restore_job"] = job
    if job is None:
        raise InputError("Restore job {0} could not be found after it was triggered.".format(job_id), **result)
    if not job["succeeded"]:
        raise InputError(jobs.failure_message(job, "Restore job"), **result)
    files = container.files(prefix + "_")
    if files is None:
        warn("The restored files could not be listed from here ({0}).".format(container.problem))
    result["files"] = files or []
    download(container, result["files"], params.get("download_to"))
    return result


def download(container, files, directory):
    """Copy the restored files into a local ``directory`` (each file gains ``local_path``)."""
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    for item in files:
        item["local_path"] = container.download(item["name"], directory)
