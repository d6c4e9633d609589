# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How modules name a vault and the servers they act on, declared once.

A vault is ``vault_name`` + ``resource_group`` or ``vault_id``; a server is ``server_name`` +
``server_resource_group`` or ``server_id``. The options are documented in doc_fragments/vault.py and
doc_fragments/server.py. Everything here is pure: it turns options into ARM ids and back.
"""

import re

from ansible_collections.azbackup.dataprotection.plugins.module_utils import pgflex

VAULT_TYPE = "Microsoft.DataProtection/backupVaults"
POSTGRES_API_VERSION = "2024-08-01"

_TYPED_ID = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)/providers/"
    r"(?P<namespace>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


class ReferenceInputError(ValueError):
    """An option naming a vault or server is incomplete or malformed; the message names the option."""


def vault_argument_spec():
    return dict(
        vault_name=dict(type="str"),
        resource_group=dict(type="str"),
        vault_id=dict(type="str"),
    )


def server_argument_spec(multiple=False):
    spec = dict(
        server_name=dict(type="str"),
        server_resource_group=dict(type="str"),
        server_id=dict(type="str"),
    )
    if multiple:
        spec["server_name"] = dict(type="list", elements="str")
        spec["server_id"] = dict(type="list", elements="str")
    return spec


def reference_rules(server=False, server_required=False, **extra):
    """AnsibleModule rules for the vault (and server) options, merged with a module's own ``extra`` rules."""
    rules = {
        "mutually_exclusive": [["vault_name", "vault_id"]],
        "required_one_of": [["vault_name", "vault_id"]],
        "required_by": {"vault_name": "resource_group"},
    }
    if server:
        rules["mutually_exclusive"].append(["server_name", "server_id"])
        rules["required_by"]["server_name"] = "server_resource_group"
    if server_required:
        rules["required_one_of"].append(["server_name", "server_id"])
    for key, value in extra.items():
        if isinstance(value, dict):
            rules.setdefault(key, {}).update(value)
        else:
            rules[key] = rules.get(key, []) + list(value)
    return rules


def parse_typed_id(value, expected_type, option):
    """(subscription, resource group, name) of an ARM id of ``expected_type``; fails naming ``option``."""
    match = _TYPED_ID.match((value or "").rstrip("/"))
    if not match or "{0}/{1}".format(match.group("namespace"), match.group("type")).lower() != expected_type.lower():
        raise ReferenceInputError(
            "{0} must be the resource id of a {1}: /subscriptions/<id>/resourceGroups/<group>/providers/{1}/<name>; "
            "got '{2}'.".format(option, expected_type, value))
    return match.group("subscription"), match.group("group"), match.group("name")


def vault_reference(params, subscription_id):
    """(subscription, resource group, vault name, vault id) from vault_id or vault_name + resource_group."""
    if params.get("vault_id"):
        if params.get("vault_name"):
            raise ReferenceInputError("vault_id and vault_name are mutually exclusive: name the vault one way.")
        subscription, group, name = parse_typed_id(params["vault_id"], VAULT_TYPE, "vault_id")
    else:
        if not (params.get("vault_name") and params.get("resource_group")):
            raise ReferenceInputError("Name the vault with vault_name and resource_group, or with vault_id.")
        subscription, group, name = subscription_id, params["resource_group"], params["vault_name"]
    vault_id = "/subscriptions/{0}/resourceGroups/{1}/providers/{2}/{3}".format(subscription, group, VAULT_TYPE, name)
    return subscription, group, name, vault_id


def server_references(params, subscription_id):
    """ARM ids of the servers named by server_id (one or a list) or server_name (+ server_resource_group)."""
    ids = params.get("server_id")
    names = params.get("server_name")
    if ids and names:
        raise ReferenceInputError("server_id and server_name are mutually exclusive: name the servers one way.")
    if ids:
        ids = ids if isinstance(ids, list) else [ids]
        for value in ids:
            parse_typed_id(value, pgflex.DATASOURCE_TYPE, "server_id")
        return [value.rstrip("/") for value in ids]
    if not names:
        raise ReferenceInputError("Name the server with server_name and server_resource_group, or with server_id.")
    if not params.get("server_resource_group"):
        raise ReferenceInputError("server_name needs server_resource_group (or use server_id).")
    names = names if isinstance(names, list) else [names]
    return [pgflex.server_id(subscription_id, params["server_resource_group"], name) for name in names]
