# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""List mode of the per-server modules (``servers`` + ``max_parallel``), written once for all of them.

A module in list mode reads what every server shares once (the vault, its instances, the policies), then runs its
single-server logic for each server on a bounded thread pool (``parallel.run_bounded``), each against an isolated
view of the façade, and returns one result per server under ``servers``. A server that fails does not stop the
others; the module fails at the end, naming every failed server, with every result (``servers``) and the ids that
failed (``failed_servers``).
"""

import threading

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, parallel, references
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError


def argument_spec():
    return dict(
        servers=dict(type="list", elements="raw"),
        max_parallel=dict(type="int", default=parallel.DEFAULT_MAX_PARALLEL),
    )


# servers replaces the single-server options.
MUTUALLY_EXCLUSIVE = [["servers", "server_id"], ["servers", "server_name"]]


def resolve(azure, datasource):
    """The ``datasource`` server ids of ``servers``, each once: a resource id, a name (with
    ``server_resource_group``), or a dict with ``id`` or ``name`` and ``resource_group`` (the role's form).

    Fails the module, naming the option, on a malformed id or a name without a resource group.
    """
    params = azure.params
    problem = parallel.max_parallel_problem(params.get("max_parallel"))
    if problem:
        azure.fail(problem, option="max_parallel")
    ids, seen = [], set()
    with azure.input_errors():
        for entry in params["servers"]:
            server_id = _server_id(entry, params.get("server_resource_group"), azure, datasource)
            if arm.normalize_id(server_id) not in seen:
                seen.add(arm.normalize_id(server_id))
                ids.append(server_id)
    return ids


def _server_id(entry, default_group, azure, datasource):
    if isinstance(entry, dict):
        server_id, name, group = entry.get("id"), entry.get("name"), entry.get("resource_group")
    else:
        text = str(entry or "").strip()
        server_id, name, group = (text, None, None) if text.startswith("/") else (None, text, default_group)
    if server_id:
        return references.server_references({"server_id": server_id}, None, datasource)[0]
    if not name or not group:
        raise InputError("servers entry {0!r} names no server: give a resource id, or a name with "
                         "server_resource_group (or {{name, resource_group}}).".format(entry), option="servers")
    problem = datasource.name_problem(name) or arm.name_problem("resource group", group, "resource_group")
    if problem:
        raise InputError("servers entry {0!r}: {1}".format(entry, problem), option="servers")
    return datasource.server_id(azure.subscription_id, group, name)


class SharedReads:
    """The per-server InstanceApi, with the reads every server shares answered once for the whole run.

    The vault and the list of its instances are read before the threads start; policies are read the first time a
    server needs one. Everything else (the server, the instance after a write, jobs) goes to the server's own api.
    """

    def __init__(self, vault, instances):
        self._vault = vault
        self._instances = instances
        self._policies = {}
        self._lock = threading.Lock()

    @classmethod
    def read(cls, azure, api, required=True):
        """The shared reads of ``api``'s vault; a missing vault fails the module when ``required``."""
        with azure.azure_errors("reading vault {0} and its backup instances".format(api.vault_name)):
            vault = api.require_vault() if required else api.vault()
            return cls(vault, api.instances() if vault is not None else [])

    def bind(self, api):
        return _Bound(self, api)

    def vault(self):
        return self._vault

    def instances(self):
        return self._instances

    def read_policy(self, api, name, newest=False):
        """The policy called ``name`` (its newest version with ``newest``), read once for every server."""
        key = (newest, str(name or "").lower())
        with self._lock:
            if key not in self._policies:
                self._policies[key] = api.current_policy(name) if newest else api.policy(name)
            return self._policies[key]


class _Bound:
    def __init__(self, shared, api):
        self._shared = shared
        self._api = api

    def __getattr__(self, name):
        return getattr(self._api, name)

    def vault(self):
        return self._shared.vault()

    def instances(self):
        return self._shared.instances()

    def policy(self, name):
        return self._shared.read_policy(self._api, name)

    def current_policy(self, name):
        return self._shared.read_policy(self._api, name, newest=True)


def run(azure, server_ids, work, input_errors=(InputError,)):
    """``work(scope, server_id)`` -> (changed, result dict, diff or None) for every server; then exit the module.

    ``scope`` is the façade isolated for that server (``parallel.isolated``, with ``server_id`` set). An
    ``ItemFailed`` or one of ``input_errors`` (whose ``extra`` dict, if any, joins the result) fails that server only.
    """
    def one(server_id):
        scope = parallel.isolated(azure, server_id=server_id, server_name=None)
        try:
            changed, result, diff = work(scope, server_id)
        except parallel.ItemFailed as exc:
            raise _Failed(scope.warnings, exc.msg, exc.details) from None
        except input_errors as exc:
            details = exc.fail_kwargs() if hasattr(exc, "fail_kwargs") else {}
            raise _Failed(scope.warnings, str(exc), details) from None
        return dict(result, changed=changed, failed=False, warnings=scope.warnings, _diff=diff)

    outcomes = parallel.run_bounded(server_ids, one, azure.params.get("max_parallel"), failures=(_Failed,))
    results, diffs = [], []
    for outcome in outcomes:
        name = outcome.item.rstrip("/").rsplit("/", 1)[-1]
        if outcome.failed:
            item = dict(outcome.error.details, changed=False, failed=True, msg=outcome.error.msg,
                        warnings=outcome.error.warnings)
        else:
            item = dict(outcome.result)
            diff = item.pop("_diff")
            if item["changed"] and diff is not None:
                diffs.append(diff)
        item.update(server_id=outcome.item, server_name=name)
        for text in item["warnings"]:
            azure.warn("{0}: {1}".format(name, text))
        results.append(item)
    changed = any(item["changed"] for item in results)
    failed = [item["server_id"] for item in results if item["failed"]]
    message = parallel.summary(outcomes, lambda server_id: server_id.rstrip("/").rsplit("/", 1)[-1])
    if message:
        azure.fail(message, changed=changed, servers=results, failed_servers=failed)
    azure.exit(changed, diff=diffs, servers=results, failed_servers=failed)


class _Failed(Exception):
    def __init__(self, warnings, msg, details):
        super(_Failed, self).__init__(msg)
        self.warnings = warnings
        self.msg = msg
        self.details = details
