# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How modules name a vault and the servers they act on, declared once.

A vault is ``vault_name`` + ``resource_group`` or ``vault_id``; a server is ``server_name`` +
``server_resource_group`` or ``server_id``. The options are documented in doc_fragments/vault.py and
doc_fragments/server.py. Everything here is pure: it turns options into ARM ids and back.
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError


class ReferenceInputError(InputError):
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


def argument_spec(vault=True, server=False, multiple=False, policy=False, **options):
    """A module's argspec: the vault options, the server options (``server``; lists with ``multiple``), the options
    naming a policy of the vault (``policy``: policy_name, policy_id) and the module's own ``options``."""
    spec = vault_argument_spec() if vault else {}
    if server:
        spec.update(server_argument_spec(multiple))
    if policy:
        spec.update(policy_name=dict(type="str"), policy_id=dict(type="str"))
    spec.update(options)
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
    try:
        return arm.parse_typed_id(value, expected_type, option)
    except InputError as exc:
        raise ReferenceInputError(str(exc), option=option) from None


def vault_reference(params, subscription_id):
    """(subscription, resource group, vault name, vault id) from vault_id or vault_name + resource_group."""
    if params.get("vault_id"):
        if params.get("vault_name"):
            raise ReferenceInputError("vault_id and vault_name are mutually exclusive: name the vault one way.",
                                      option="vault_id")
        subscription, group, name = parse_typed_id(params["vault_id"], arm.VAULT_TYPE, "vault_id")
    else:
        if not (params.get("vault_name") and params.get("resource_group")):
            raise ReferenceInputError("Name the vault with vault_name and resource_group, or with vault_id.",
                                      option="vault_name")
        subscription, group, name = subscription_id, params["resource_group"], params["vault_name"]
    vault_id = arm.resource_id(subscription, group, arm.VAULT_TYPE, name)
    return subscription, group, name, vault_id


def server_references(params, subscription_id, datasource):
    """ARM ids of the ``datasource`` servers named by server_id (one or a list) or server_name
    (+ server_resource_group)."""
    ids = params.get("server_id")
    names = params.get("server_name")
    if ids and names:
        raise ReferenceInputError("server_id and server_name are mutually exclusive: name the servers one way.",
                                  option="server_id")
    if ids:
        ids = ids if isinstance(ids, list) else [ids]
        for value in ids:
            parse_typed_id(value, datasource.arm_type, "server_id")
        return [value.rstrip("/") for value in ids]
    if not names:
        raise ReferenceInputError("Name the server with server_name and server_resource_group, or with server_id.",
                                  option="server_name")
    if not params.get("server_resource_group"):
        raise ReferenceInputError("server_name needs server_resource_group (or use server_id).",
                                  option="server_resource_group")
    names = names if isinstance(names, list) else [names]
    return [datasource.server_id(subscription_id, params["server_resource_group"], name) for name in names]
