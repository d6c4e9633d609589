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
