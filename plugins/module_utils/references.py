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


# The options every module names the same way, and the kind of name each holds (arm.NAME_RULES).
NAMED_OPTIONS = {
    "resource_group": "resource group",
    "server_resource_group": "resource group",
    "vault_name": "Backup vault",
    "policy_name": "backup policy",
    "backup_instance_name": "backup instance",
}


def name_problems(params, name_kind=None):
    """Every option that holds a name breaking Azure's rule for it, one sentence each. ``name_kind`` is the kind of
    the module's own ``name`` option (a key of arm.NAME_RULES), if it has one."""
    options = dict(NAMED_OPTIONS, name=name_kind) if name_kind else NAMED_OPTIONS
    problems = []
    for option, kind in options.items():
        value = params.get(option)
        if value is not None and not isinstance(value, list):
            problems.append(arm.name_problem(kind, value, option))
    return [problem for problem in problems if problem]


def check_names(params, name_kind=None):
    """Refuse, before any request, every option whose name breaks Azure's naming rule, all in one message."""
    problems = name_problems(params, name_kind)
    if problems:
        raise ReferenceInputError(" ".join(problems) + " Nothing was sent.", option=problems[0].split(":", 1)[0])


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
        subscription, group, name = arm.parse_typed_id(value, expected_type, option)
        arm.check_name("resource group", group, option + " (its resource group)")
    except InputError as exc:
        raise ReferenceInputError(str(exc), option=option) from None
    return subscription, group, name


def vault_reference(params, subscription_id):
    """(subscription, resource group, vault name, vault id) from vault_id or vault_name + resource_group."""
    if params.get("vault_id"):
        if params.get("vault_name"):
            raise ReferenceInputError("vault_id and vault_name are mutually exclusive: name the vault one way.",
                                      option="vault_id")
        subscription, group, name = parse_typed_id(params["vault_id"], arm.VAULT_TYPE, "vault_id")
        problem = arm.name_problem("Backup vault", name, "vault_id (its vault name)")
        if problem:
            raise ReferenceInputError(problem, option="vault_id")
    else:
        if not (params.get("vault_name") and params.get("resource_group")):
            raise ReferenceInputError("Name the vault with vault_name and resource_group, or with vault_id.",
                                      option="vault_name")
        subscription, group, name = subscription_id, params["resource_group"], params["vault_name"]
        check_names({"resource_group": group, "vault_name": name})
    vault_id = arm.resource_id(subscription, group, arm.VAULT_TYPE, name)
    return subscription, group, name, vault_id


def server_references(params, subscription_id, datasource, check_server_names=True):
    """ARM ids of the ``datasource`` servers named by server_id (one or a list) or server_name
    (+ server_resource_group). Server names that break the datasource's rule fail here unless
    ``check_server_names`` is False (the caller then reports them itself)."""
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
    check_names({"server_resource_group": params["server_resource_group"]})
    names = names if isinstance(names, list) else [names]
    problems = [datasource.name_problem(name) for name in names] if check_server_names else []
    if any(problems):
        raise ReferenceInputError("server_name: " + " ".join(problem for problem in problems if problem),
                                  option="server_name")
    return [datasource.server_id(subscription_id, params["server_resource_group"], name) for name in names]
