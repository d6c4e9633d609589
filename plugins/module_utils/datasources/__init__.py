# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Datasources Azure Backup protects: one record per kind of server, and the registry that finds them.

A record (``Datasource``) holds everything specific to its datasource: ARM type and API version, how servers are
found and named, size and network rules, the roles backup and restore need and where, the policy constraints, the
backup instance body and naming, and the restore target kinds. The helpers in module_utils take a record; only the
record files and the modules' documentation name a datasource's facts.

A record module creates its ``Datasource`` and calls ``register()``; ``get()`` finds a record by key or ARM type.
"""

import re
import uuid

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm

REGISTRY = {}


class Datasource:
    """One datasource kind. Every field is a keyword argument; the methods derive ids, names and bodies from them."""

    def __init__(self, key, label, arm_type, api_version, name_pattern, name_rule, max_storage_gb, size_path,
                 network_path, roles, role_names, required_roles, schedule_periods, datastore_type, backup_type,
                 backup_rule_name, tag_priorities, max_retention_years, instance_name_namespace,
                 restore_target_kinds, role_assignment_module, instance_module):
        self.key = key
        self.label = label
        self.arm_type = arm_type
        self.api_version = api_version
        self.name_pattern = re.compile(name_pattern)
        self.name_rule = name_rule
        self.max_storage_gb = max_storage_gb
        self.size_path = tuple(size_path)
        self.network_path = tuple(network_path)
        self.roles = dict(roles)
        self.role_names = dict(role_names)
        self.required_roles = dict((op, [dict(item) for item in needs]) for op, needs in required_roles.items())
        self.schedule_periods = tuple(schedule_periods)
        self.datastore_type = datastore_type
        self.backup_type = backup_type
        self.backup_rule_name = backup_rule_name
        self.tag_priorities = dict(tag_priorities)
        self.max_retention_years = max_retention_years
        self.instance_name_namespace = uuid.UUID(instance_name_namespace)
        self.restore_target_kinds = tuple(restore_target_kinds)
        # The front-end module that grants the roles, named in the fix task failures suggest.
        self.role_assignment_module = role_assignment_module
        # The front-end module that protects servers, named in advice about backup instances.
        self.instance_module = instance_module

    def __repr__(self):
        return "Datasource({0!r})".format(self.key)

    # ------------------------------------------------------------------------------------------- servers
    def is_type(self, value):
        return str(value or "").lower() == self.arm_type.lower()

    def server_id(self, subscription_id, resource_group, name):
        return arm.resource_id(subscription_id, resource_group, self.arm_type, name)

    def list_path(self, scope):
        """The collection path that lists the servers of a subscription or resource group id."""
        return "{0}/providers/{1}".format(scope.rstrip("/"), self.arm_type)

    def name_problem(self, name):
        """Why ``name`` cannot be a server name of this datasource, or None."""
        if self.name_pattern.match(name or ""):
            return None
        return "'{0}' is not a valid {1} name ({2}).".format(name, self.label, self.name_rule)

    def storage_size_gb(self, server):
        """The server's provisioned storage in GB, or None when not reported."""
        value = server
        for key in self.size_path:
            value = (value or {}).get(key)
        try:
            return None if value is None else int(value)
        except (TypeError, ValueError):
            return None

    def size_problem(self, server):
        """A sentence about the server's size when it exceeds what vaulted backup supports, else None."""
        size = self.storage_size_gb(server)
        if size is None or size <= self.max_storage_gb:
            return None
        return ("Server '{0}' has {1} GB of storage; Azure Backup supports vaulted backup of {2} only up to {3} GB "
                "(1 TB): backups of a larger server are unsupported and may fail.").format(
                    _server_name(server), size, self.label, self.max_storage_gb)

    def public_network_access(self, server):
        value = server
        for key in self.network_path:
            value = (value or {}).get(key)
        return value

    # ------------------------------------------------------------------------------------------- roles
    def role_name(self, guid):
        return self.role_names.get(guid, guid)

    # ------------------------------------------------------------------------------------------- policies
    def policy_datasource_types(self, policy):
        """The datasource types a backup policy (ARM body) is for."""
        return list(((policy or {}).get("properties") or {}).get("datasourceTypes") or [])

    def policy_is_for(self, policy):
        return any(self.is_type(item) for item in self.policy_datasource_types(policy))

    def policy_backup_rule_name(self, policy):
        """Name of the policy's backup rule (the one an on-demand backup names); the record's when none is found."""
        for rule in ((policy or {}).get("properties") or {}).get("policyRules") or []:
            if str(rule.get("objectType") or "").lower() == "azurebackuprule" and rule.get("name"):
                return rule["name"]
        return self.backup_rule_name

    @staticmethod
    def policy_retention_tags(policy):
        """Names of the policy's retention rules: the tags an on-demand backup may use."""
        return [rule["name"] for rule in ((policy or {}).get("properties") or {}).get("policyRules") or []
                if str(rule.get("objectType") or "").lower() == "azureretentionrule" and rule.get("name")]

    # ------------------------------------------------------------------------------------------- instances
    def instance_name(self, server_resource_id):
        """The name a new backup instance of this server gets: ``<server>-<server>-<uuid>``.

        The Azure CLI (``az dataprotection backup-instance initialize``) and the portal name instances
        ``<datasource name>-<datasource name>-<random uuid>``; the uuid here derives from the server's resource id
        (uuid5, case-insensitive), so reruns and parallel runs pick the same name and converge.
        """
        server = arm.last_segment(server_resource_id)
        guid = uuid.uuid5(self.instance_name_namespace, server_resource_id.rstrip("/").lower())
        return "{0}-{0}-{1}".format(server, guid)

    def datasource_info(self, server, object_type="Datasource"):
        """``dataSourceInfo`` (or, with ``object_type="DatasourceSet"``, ``dataSourceSetInfo``) of a server body."""
        return {
            "objectType": object_type,
            "datasourceType": self.arm_type,
            "resourceType": self.arm_type,
            "resourceID": server["id"],
            "resourceUri": server["id"],
            "resourceName": _server_name(server),
            "resourceLocation": server.get("location"),
        }

    def instance_body(self, server, policy_id, user_assigned_identity_id=None):
        """The PUT (and validateForBackup) body of a backup instance that protects ``server`` with ``policy_id``."""
        return {
            "properties": {
                "objectType": "BackupInstance",
                "friendlyName": _server_name(server),
                "dataSourceInfo": self.datasource_info(server),
                "dataSourceSetInfo": self.datasource_info(server, "DatasourceSet"),
                "policyInfo": {"policyId": policy_id},
                "identityDetails": identity_details(user_assigned_identity_id),
            }
        }


def identity_details(user_assigned_identity_id=None):
    """``identityDetails``: the vault's system-assigned identity, or one of its user-assigned identities."""
    if user_assigned_identity_id:
        return {"useSystemAssignedIdentity": False, "userAssignedIdentityArmUrl": user_assigned_identity_id}
    return {"useSystemAssignedIdentity": True}


def _server_name(server):
    return server.get("name") or arm.last_segment(server.get("id"))


def register(record):
    REGISTRY[record.key] = record
    arm.register_type(record.arm_type, record.api_version)
    return record


def get(value):
    """The record whose key or ARM type is ``value`` (any case), or None."""
    text = str(value or "").lower()
    for record in REGISTRY.values():
        if text in (record.key.lower(), record.arm_type.lower()):
            return record
    return None


def default():
    """The record the datasource-generic helpers (policies) apply when a request names none: the only one
    registered, or the first when the modules loaded several."""
    if not REGISTRY:
        raise LookupError("no datasource record is registered")
    return next(iter(REGISTRY.values()))


def of_resource(resource_id):
    """The record of a server id's ARM type, or None."""
    parts = arm.try_parse(resource_id)
    return get(parts["type"]) if parts and parts["type"] else None


def of_policy(policy):
    """The record of the first datasource type a policy body names, or None."""
    for kind in ((policy or {}).get("properties") or {}).get("datasourceTypes") or []:
        if get(kind):
            return get(kind)
    return None
