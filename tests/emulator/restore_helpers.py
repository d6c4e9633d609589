"""Shared helpers of the restore emulator tests (not a test module itself)."""

from emulator import seed
from tests.emulator.dp_helpers import GROUP, grant, instance_path, wait_for

API = "2026-06-01"


def account_id(name="stpgrestoreeus"):
    """The ARM id of a seeded storage account (in whichever subscription and group it is seeded)."""
    item = next(item for item in seed.STORAGE_ACCOUNTS if item["name"] == name)
    return seed.arm_id(item["subscriptionId"], item["resourceGroup"], "Microsoft.Storage/storageAccounts", name)


def blob_endpoint(emulator, name="stpgrestoreeus"):
    response = emulator.arm("GET", account_id(name), api_version="2023-05-01")
    assert response.status_code == 200, response.text
    return response.json()["properties"]["primaryEndpoints"]["blob"]


def restore_request(emulator, point, container="restores", prefix="drill", account="stpgrestoreeus",
                    location="eastus", **overrides):
    url = blob_endpoint(emulator, account) + container
    request = {"objectType": "AzureBackupRecoveryPointBasedRestoreRequest", "recoveryPointId": point,
               "sourceDataStoreType": "VaultStore",
               "restoreTargetInfo": {"objectType": "RestoreFilesTargetInfo", "recoveryOption": "FailIfExists",
                                     "restoreLocation": location,
                                     "targetDetails": {"url": url, "filePrefix": prefix,
                                                       "restoreTargetLocationType": "AzureBlobs",
                                                       "targetResourceArmId": f"{account_id(account)}"
                                                                              f"/blobServices/default/containers/"
                                                                              f"{container}"}},
               "identityDetails": {"useSystemAssignedIdentity": True}}
    request.update(overrides)
    return request


def grant_blob_role(emulator, principal, account="stpgrestoreeus"):
    grant(emulator, principal, seed.STORAGE_BLOB_DATA_CONTRIBUTOR_ROLE, account_id(account))


def backup_now(emulator, client, instance="bi-orders", vault="bv-bi"):
    """An on-demand backup through the SDK; returns the new recovery point's name once its job completed."""
    from azure.mgmt.dataprotection.models import AdHocBackupRuleOptions, AdhocBackupTriggerOption, TriggerBackupRequest

    before = {point.name for point in client.recovery_points.list(GROUP, vault, instance)}
    request = TriggerBackupRequest(backup_rule_options=AdHocBackupRuleOptions(
        rule_name="BackupWeekly", trigger_option=AdhocBackupTriggerOption(retention_tag_override="Default")))
    client.backup_instances.begin_adhoc_backup(GROUP, vault, instance, request).result()
    # A bound, not a speed assumption: with the data plane the job's end takes real dumps.
    points = wait_for(lambda: [point.name for point in client.recovery_points.list(GROUP, vault, instance)],
                      lambda names: set(names) - before, timeout=120)
    return next(name for name in points if name not in before)


def restore_path(emulator, action, instance="bi-orders", vault="bv-bi"):
    return f"{instance_path(emulator, instance, vault)}/{action}"


def wait_job(client, job_id, vault="bv-bi"):
    name = job_id.rstrip("/").split("/")[-1]
    return wait_for(lambda: client.jobs.get(GROUP, vault, name),
                    lambda job: job.properties.status in ("Completed", "Failed"), timeout=120)
