# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Finding backup instances: ids, the instance that protects a server, the one a task names."""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.readable import (
    lifecycle_state,
)


def instance_id(vault_id, name):
    return "{0}/backupInstances/{1}".format(vault_id, name)


def policy_id_for(vault_id, name):
    return "{0}/backupPolicies/{1}".format(vault_id, name)


def find_for_server(instances, server_id):
    """The instances (ARM bodies) whose data source is ``server_id``, live ones first."""
    found = [item for item in instances or []
             if arm.same_id((arm.properties(item).get("dataSourceInfo") or {}).get("resourceID"), server_id)]
    return sorted(found, key=lambda item: lifecycle_state(item) == "deleted")


def undelete_advice(vault_id, name):
    """How to bring a soft-deleted instance back: the one wording the plan and the modules give."""
    return ("undelete it with azbackup.dataprotection.pgflex_backup_instance_undelete (the API's POST "
            "{0}/deletedBackupInstances/{1}/undelete)").format(vault_id, name)


def soft_deleted_here(vault_id, vault_name, name, purge_time=None):
    """Why a server whose instance is soft-deleted in this vault cannot be protected here again, and what to do."""
    return ("its backup instance '{0}' is soft-deleted in this vault ('{1}'){3}, and Azure protects a server once per "
            "vault: {2}, or wait until its soft-delete retention ends; undeleting brings back its recovery points, "
            "stopped, and the next run resumes it".format(
                name, vault_name, undelete_advice(vault_id, name),
                " until it is purged at {0}".format(purge_time) if purge_time else ""))


def find_soft_deleted(api, server_id):
    """The soft-deleted instance (ARM body) of ``server_id`` in the vault, or None."""
    found = find_for_server(api.deleted_instances(), server_id)
    return found[0] if found else None


def find_instance(api, name=None, server_id=None):
    """The instance (ARM body) named ``name`` or protecting ``server_id``; None when there is none.

    With both, the named instance must protect that server.
    """
    if name:
        body = api.instance(name)
        if body is not None and server_id and not arm.same_id(
                (arm.properties(body).get("dataSourceInfo") or {}).get("resourceID"), server_id):
            raise InputError("Backup instance '{0}' protects {1}, not {2}.".format(
                name, (arm.properties(body).get("dataSourceInfo") or {}).get("resourceID"), server_id))
        return body
    found = [item for item in find_for_server(api.instances(), server_id) if lifecycle_state(item) != "deleted"]
    return found[0] if found else None
