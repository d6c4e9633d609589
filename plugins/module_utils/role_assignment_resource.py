# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What ``pgflex_role_assignment`` does against Azure, around the pure rules of ``role_assignments``.

``role_assignments`` knows which grants are needed and how to compare, name and template them; this file reads
Azure and writes to it:

1. ``resolve_principal()``: the principal that needs the roles, i.e. the vault's system-assigned identity, one of
   its user-assigned identities (``principalId`` from the vault's ``identity.userAssignedIdentities`` map, else
   from the identity resource), or an explicit ``principal_id``.
2. ``check_targets_exist()``: every server (and the storage account for ``restore``) must exist before anything is
   written, so that a typo fails with the option's name instead of an orphaned grant.
3. ``list_assignments()``: the principal's assignments, listed once per subscription with
   ``$filter=principalId eq '<id>'``, which ARM answers with the assignments at, *above* (management groups, the
   tenant root) and below that subscription. Management-group scopes found that way are above the subscription
   by construction, so they count as parents of everything in it.
4. ``may_write()``: whether the caller may write (or delete) role assignments at every scope concerned, from
   ARM's permissions list (``GET {scope}/providers/Microsoft.Authorization/permissions``: the caller's
   ``actions``/``notActions`` there, inherited ones included). This is decided *before* the first write, so a
   caller who may grant at one scope but not another writes nothing instead of half the grants, and check mode
   predicts the template truthfully. A scope whose permissions cannot be read (the list is documented for
   resource groups and resources; at a subscription ARM may refuse it) counts as "unknown": the PUT is tried,
   and a 403 ``AuthorizationFailed`` on it leads to the same outcome (the writes stop there).
5. ``ensure_present()`` / ``ensure_absent()``: create the missing grants under their deterministic names
   (409 ``RoleAssignmentExists`` means someone else got there first: ``existing``), or delete exactly the
   assignments this module would create; both return an ``Outcome`` that ``result()`` turns into the module's
   return values (``assignments``, ``missing``, ``role_assignment_template``, ``az_cli_commands``, ...).

Clients are passed in (the SDK's ``AuthorizationManagementClient`` and small callables for generic ARM reads),
so the unit tests drive everything here with fakes.
"""

import os
import re
import shlex
import tempfile

from ansible_collections.azbackup.dataprotection.plugins.module_utils import (
    arm,
    azure_errors,
    dataprotection,
    references,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils import role_assignments as ra

try:
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest
except ImportError:  # the module fails with missing_required_lib before any of this runs

    class HttpResponseError(Exception):  # noqa: D101 - placeholder so the except clauses below stay valid
        pass

    HttpRequest = None


WRITE_ACTION = "Microsoft.Authorization/roleAssignments/write"
DELETE_ACTION = "Microsoft.Authorization/roleAssignments/delete"

PROPAGATION_NOTE = (
    "New role assignments can take several minutes to take effect. The backup instance step retries Azure's "
    "validation while they propagate; nothing here waits for them."
)

# Statuses of permission checks and writes.
ALLOWED, DENIED, UNKNOWN = "allowed", "denied", "unknown"


class Outcome:
    """What ``ensure_present`` / ``ensure_absent`` did or would do (check mode).

    ``planned``: the required items with their status before the task (``existing``/``inherited``/``missing``,
    see ``role_assignments.plan``); ``done``: names of the assignments created (or removed), predicted in check
    mode; ``raced``: names a 409 showed to exist already; ``denied``: whether the caller may not do the rest,
    ``denied_scopes`` where, and ``denied_how``: ``permissions`` (decided before writing) or ``AuthorizationFailed``
    (a write was refused); ``removals``: for ``state: absent``, the exact matches found.
    """

    def __init__(self, state, planned, removals=None):
        self.state = state
        self.planned = planned
        self.removals = removals or []
        self.done = []
        self.raced = []
        self.denied = False
        self.denied_scopes = []
        self.denied_how = None
        self.shared = []

    @property
    def changed(self):
        return bool(self.done)


# ---------------------------------------------------------------------------------------------------------------
# Who needs the roles, and on what
# ---------------------------------------------------------------------------------------------------------------


def principal_from_vault(vault, vault_label, user_assigned_identity_id=None, read=None, option="vault_name"):
    """The principal id of the vault's system-assigned identity, or of the user-assigned identity named.

    ``read(path, api_version)`` (dict or None on 404) looks the identity resource up when the vault's map lacks
    its ``principalId``. Raises ``RoleAssignmentInputError`` naming the option to fix.
    """
    identity = (vault or {}).get("identity") or {}
    identity_type = identity.get("type") or "None"
    system, users = dataprotection.vault_identities(vault)
    if user_assigned_identity_id:
        mapping = identity.get("userAssignedIdentities") or {}
        for key, principal in users.items():
            if arm.same_id(key, user_assigned_identity_id):
                if not principal and read is not None:
                    principal = dataprotection.identity_principal(lambda path: read(path, arm.api_version_of(path)),
                                                                  key)
                if not principal:
                    raise ra.RoleAssignmentInputError(
                        "user_assigned_identity_id",
                        f"Azure reports no principalId for the identity {key} of {vault_label}.",
                    )
                return principal
        known = ", ".join(sorted(mapping)) or "none"
        raise ra.RoleAssignmentInputError(
            "user_assigned_identity_id",
            f"{user_assigned_identity_id} is not an identity of {vault_label} (its user-assigned identities: {known}). "
            "Attach it to the vault first (azbackup.dataprotection.backup_vault, identity).",
        )
    if not system:
        users = ", ".join(sorted(identity.get("userAssignedIdentities") or {}))
        hint = (
            f" Name one of its user-assigned identities with user_assigned_identity_id ({users})."
            if users
            else " Give the vault a system-assigned identity (azbackup.dataprotection.backup_vault, identity)."
        )
        raise ra.RoleAssignmentInputError(
            option,
            f"{vault_label} has no system-assigned identity (identity type {identity_type}).{hint}",
        )
    return system


def resolve_principal(params, subscription_id, read):
    """``(principal_id, vault_id or None)`` from ``principal_id`` or the vault options.

    ``read(path, api_version)`` returns an ARM resource as a dict, or None when it does not exist.
    """
    if params.get("principal_id"):
        if not ra.is_guid(params["principal_id"]):
            raise ra.RoleAssignmentInputError("principal_id", f"{params['principal_id']!r} is not an object id (GUID)")
        return params["principal_id"].strip().lower(), None
    try:
        dummy, dummy, name, vault_id = references.vault_reference(params, subscription_id)
    except references.ReferenceInputError as exc:
        raise ra.RoleAssignmentInputError("vault_name", f"{exc} Or give principal_id.") from exc
    vault = read(vault_id, arm.api_version_of(vault_id))
    option = "vault_id" if params.get("vault_id") else "vault_name"
    if vault is None:
        raise ra.RoleAssignmentInputError(option, f"Backup vault {vault_id} does not exist.")
    principal = principal_from_vault(
        vault, f"Backup vault {name}", params.get("user_assigned_identity_id"), read, option
    )
    return principal.strip().lower(), vault.get("id") or vault_id


def targets_from_params(params, subscription_id, datasource):
    """``(server ids, storage account id or None)``; servers may be omitted for ``operation: restore``."""
    servers = []
    if params.get("server_id") or params.get("server_name") or params.get("operation") != "restore":
        try:
            servers = references.server_references(params, subscription_id, datasource)
        except references.ReferenceInputError as exc:
            raise ra.RoleAssignmentInputError("server_id", str(exc)) from exc
    storage = params.get("storage_account_id")
    if storage and params.get("operation") != "restore":
        raise ra.RoleAssignmentInputError("storage_account_id", "applies only with operation: restore.")
    return servers, storage


def check_targets_exist(servers, storage_account_id, read):
    """Fail (naming the option) when a server or the storage account does not exist."""
    for server in servers:
        if read(server, arm.api_version_of(server)) is None:
            raise ra.RoleAssignmentInputError("server_id", f"the server {server} does not exist.")
    if storage_account_id and read(storage_account_id, arm.api_version_of(storage_account_id)) is None:
        raise ra.RoleAssignmentInputError(
            "storage_account_id", f"the storage account {storage_account_id} does not exist."
        )


# ---------------------------------------------------------------------------------------------------------------
# What exists
# ---------------------------------------------------------------------------------------------------------------


def to_arm(model):
    """An SDK model (or dict) as the ARM JSON dict ``role_assignments`` expects (camelCase, under properties)."""
    if model is None or isinstance(model, dict):
        return model
    if hasattr(model, "serialize"):
        return model.serialize(keep_readonly=True)
    return model.as_dict()


def list_assignments(client, principal_id, scopes):
    """The principal's role assignments that matter for ``scopes``, and the management groups above each
    subscription (``{subscription id: [management group scopes]}``) for ``role_assignments.plan``."""
    subscriptions = []
    for scope in scopes:
        sub = ra.parse_resource_id(scope)["subscription_id"]
        if sub and sub.lower() not in [s.lower() for s in subscriptions]:
            subscriptions.append(sub)
    found = []
    seen = set()
    management_groups = {}
    for sub in subscriptions:
        listed = client.role_assignments.list_for_scope(
            scope=f"/subscriptions/{sub}", filter=f"principalId eq '{principal_id}'"
        )
        for item in listed:
            body = to_arm(item)
            fields = ra.assignment_fields(body)
            if not fields:
                continue
            scope = fields[0]
            if ra.scope_key(scope).startswith(ra.scope_key("/providers/Microsoft.Management/managementGroups/")):
                groups = management_groups.setdefault(sub, [])
                if ra.scope_key(scope) not in [ra.scope_key(g) for g in groups]:
                    groups.append(scope)
            key = (fields[3] or "").lower() or (ra.scope_key(scope), fields[1], fields[4])
            if key not in seen:
                seen.add(key)
                found.append(body)
    return found, management_groups


# ---------------------------------------------------------------------------------------------------------------
# May the caller write role assignments?
# ---------------------------------------------------------------------------------------------------------------


def _action_pattern(text):
    return re.compile("^" + ".*".join(re.escape(part) for part in str(text).split("*")) + "$", re.IGNORECASE)


def action_allowed(blocks, action):
    """Whether ARM permission blocks (``actions``/``notActions`` per role assignment) allow ``action``.

    A block allows the action when one of its ``actions`` matches (``*`` wildcards, no case) and none of its
    ``notActions`` does; blocks add up. Blocks with an ABAC ``condition`` are taken at face value: whether the
    condition holds shows only when the write is tried.
    """
    for block in blocks or ():
        actions = block.get("actions") or []
        not_actions = block.get("notActions") or []
        if any(_action_pattern(p).match(action) for p in actions) and not any(
            _action_pattern(p).match(action) for p in not_actions
        ):
            return True
    return False


def permission_reader(send):
    """``read(scope) -> permission blocks or None`` over a generic ARM GET.

    ``send(HttpRequest) -> response`` is the SDK pipeline (auth, retries). Pages are followed. None means the
    permissions cannot be read at that scope (400/403/404/405), which ``may_write`` treats as unknown.
    """

    def read(scope):
        url = canonical(scope) + "/providers/Microsoft.Authorization/permissions"
        params = {"api-version": arm.api_version(arm.PERMISSIONS)}
        blocks = []
        while url:
            response = send(HttpRequest("GET", url, params=params) if params else HttpRequest("GET", url))
            if response.status_code in (400, 403, 404, 405):
                return None
            response.raise_for_status()
            body = response.json() or {}
            blocks.extend(body.get("value") or [])
            url, params = body.get("nextLink"), None
        return blocks

    return read


def canonical(scope):
    return ra.canonical_scope(scope).rstrip("/")


def may_write(read_permissions, scopes, action=WRITE_ACTION):
    """``{scope: allowed|denied|unknown}`` for each distinct scope (one permissions read per scope)."""
    verdicts = {}
    for scope in scopes:
        key = ra.scope_key(scope)
        if key in {ra.scope_key(s) for s in verdicts}:
            continue
        blocks = read_permissions(scope)
        if blocks is None:
            verdicts[scope] = UNKNOWN
        else:
            verdicts[scope] = ALLOWED if action_allowed(blocks, action) else DENIED
    return verdicts


def _denied_scopes(verdicts):
    return [scope for scope, verdict in verdicts.items() if verdict == DENIED]


def _is_code(exc, status, code):
    got_status, got_code, dummy, dummy = azure_errors.error_parts(exc)
    return got_status == status and (got_code or "").lower() == code.lower()


# ---------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------


def assignments_in_use(client, subscriptions):
    """{subscription: role assignments that count against Azure's limit} (management group ones do not)."""
    counts = {}
    for sub in subscriptions:
        count = 0
        for item in client.role_assignments.list_for_scope(scope="/subscriptions/" + sub):
            fields = ra.assignment_fields(to_arm(item))
            if fields and ra.scope_key(fields[0]).startswith(ra.scope_key("/subscriptions/" + sub)):
                count += 1
        counts[sub.lower()] = count
    return counts


def ensure_present(client, read_permissions, required, existing, management_groups, check_mode, alternative=None):
    """Create what is missing, or find out that the caller may not (writing nothing); returns an ``Outcome``.

    Before the first write, what the run adds is counted against Azure's limit per subscription: past it, a
    ``RoleAssignmentInputError`` on ``scope`` (saying what ``alternative``, the wider scope, would need).

    Raises the SDK's ``HttpResponseError`` for errors other than 403 ``AuthorizationFailed`` (refused write: the
    writes stop there) and 409 ``RoleAssignmentExists`` (someone else created it: ``existing``).
    """
    outcome = Outcome("present", ra.plan(required, existing, management_groups))
    todo = ra.missing(outcome.planned)
    if not todo:
        return outcome
    if _refused(outcome, read_permissions, [item["scope"] for item in todo], WRITE_ACTION):
        return outcome
    subscriptions = sorted({ra.subscription_of(item["scope"]) for item in todo} - {None})
    refusal = ra.over_limit(todo, assignments_in_use(client, subscriptions), alternative)
    if refusal:
        raise ra.RoleAssignmentInputError("scope", refusal)
    for item in todo:
        if check_mode:
            outcome.done.append(item["name"])
            continue
        try:
            client.role_assignments.create(canonical(item["scope"]), item["name"], ra.assignment_body(item))
        except HttpResponseError as exc:
            if _is_code(exc, 409, ra.ERROR_ASSIGNMENT_EXISTS):
                outcome.raced.append(item["name"])
                continue
            if _is_code(exc, 403, ra.ERROR_AUTHORIZATION_FAILED):
                outcome.denied, outcome.denied_scopes, outcome.denied_how = True, [item["scope"]], "AuthorizationFailed"
                return outcome
            raise
        outcome.done.append(item["name"])
    return outcome


def _refused(outcome, read_permissions, scopes, action):
    """Whether the caller's permissions rule out ``action`` at one of the scopes (recorded in ``outcome``)."""
    denied = _denied_scopes(may_write(read_permissions, scopes, action))
    if denied:
        outcome.denied, outcome.denied_scopes, outcome.denied_how = True, denied, "permissions"
    return bool(denied)


def other_protected_servers(instances, servers):
    """ARM ids of the servers the vault's backup ``instances`` (SDK models or dicts) protect, other than ``servers``."""
    mine = {ra.scope_key(s) for s in servers}
    others = []
    for instance in instances:
        body = to_arm(instance) or {}
        server = ((body.get("properties") or {}).get("dataSourceInfo") or {}).get("resourceID")
        if server and ra.scope_key(server) not in mine and ra.scope_key(server) not in map(ra.scope_key, others):
            others.append(server)
    return others


def split_shared(removals, still_needed):
    """``(removals, shared)``: the removals another protected server still needs (same role and scope) are shared.

    ``still_needed``: the required items of the vault's other protected servers. A shared item gets ``needed_by``,
    the servers it still serves.
    """
    needed = {}
    for item in still_needed or ():
        key = (ra.role_definition_guid(item["role_definition_id"]), ra.scope_key(item["scope"]))
        needed.setdefault(key, []).extend(item.get("targets") or [])
    keep, shared = [], []
    for removal in removals:
        key = (ra.role_definition_guid(removal["role_definition_id"]), ra.scope_key(removal["scope"]))
        if key in needed:
            shared.append(dict(removal, needed_by=sorted(set(needed[key]))))
        else:
            keep.append(removal)
    return keep, shared


def ensure_absent(client, read_permissions, required, existing, management_groups, check_mode, still_needed=()):
    """Delete exactly the assignments this module would create (same role, scope and principal); ``Outcome``.

    Assignments at parent scopes are left alone, and so are those another protected server of the vault still needs
    (``still_needed``: its required items), e.g. Reader on a resource group shared by several servers. A caller who
    may not delete at one of the scopes deletes nothing.
    """
    removals, shared = split_shared(ra.plan_removal(required, existing), still_needed)
    outcome = Outcome("absent", ra.plan(required, existing, management_groups), removals)
    outcome.shared = shared
    if not removals:
        return outcome
    if _refused(outcome, read_permissions, [r["scope"] for r in removals], DELETE_ACTION):
        return outcome
    for removal in removals:
        if not check_mode:
            try:
                client.role_assignments.delete(canonical(removal["scope"]), removal["assignment_name"])
            except HttpResponseError as exc:
                if _is_code(exc, 403, ra.ERROR_AUTHORIZATION_FAILED):
                    outcome.denied, outcome.denied_how = True, "AuthorizationFailed"
                    outcome.denied_scopes = [removal["scope"]]
                    return outcome
                raise
        outcome.done.append(removal["assignment_id"])
    return outcome


# ---------------------------------------------------------------------------------------------------------------
# The module's return values
# ---------------------------------------------------------------------------------------------------------------


def caller_label(caller):
    """How the failure message names the caller (from the token's claims)."""
    caller = caller or {}
    oid, app = caller.get("object_id"), caller.get("app_id")
    if oid and app:
        return f"The caller (object id {oid}, application id {app})"
    if oid:
        return f"The caller (object id {oid})"
    return None


def _entry(item, status, **extra):
    [entry] = ra.report([dict(item, status="missing")], "created" if status == "created" else "missing")
    entry["status"] = status
    entry.setdefault("inherited_from", None)
    entry.setdefault("assignment_id", None)
    entry.update(extra)
    return entry


def _present_assignments(outcome):
    assignments = []
    for item in outcome.planned:
        if item["status"] != "missing":
            [entry] = ra.report([item])
            entry.setdefault("inherited_from", None)
            entry.setdefault("assignment_id", None)
            assignments.append(entry)
        elif item["name"] in outcome.done:
            assignments.append(_entry(item, "created"))
        elif item["name"] in outcome.raced:
            assignments.append(_entry(item, "existing"))
        else:
            assignments.append(_entry(item, "missing"))
    return assignments


def _absent_assignments(outcome):
    shared = {}
    for removal in outcome.shared:
        shared.setdefault(removal["name"], removal)
    removed_ids = {r["assignment_id"].lower() for r in outcome.removals if r["assignment_id"] in outcome.done}
    kept_ids = {r["assignment_id"].lower() for r in outcome.removals if r["assignment_id"] not in outcome.done}
    by_name = {}
    for removal in outcome.removals:
        by_name.setdefault(removal["name"], []).append(removal)
    assignments = []
    for item in outcome.planned:
        mine = by_name.get(item["name"], [])
        if item["name"] in shared:
            kept = shared[item["name"]]
            assignments.append(
                _entry(item, "shared", assignment_id=kept["assignment_id"], needed_by=kept["needed_by"])
            )
        elif any(r["assignment_id"].lower() in removed_ids for r in mine):
            assignments.append(_entry(item, "removed", assignment_id=mine[0]["assignment_id"]))
        elif any(r["assignment_id"].lower() in kept_ids for r in mine):
            assignments.append(_entry(item, "existing", assignment_id=mine[0]["assignment_id"]))
        elif item["status"] == "inherited":
            assignments.append(
                _entry(
                    item,
                    "inherited",
                    inherited_from=item.get("inherited_from"),
                    assignment_id=item.get("assignment_id"),
                )
            )
        else:
            assignments.append(_entry(item, "absent"))
    return assignments


def az_delete_commands(removals):
    """``az role assignment delete`` lines for assignments someone else has to remove."""
    return [f"az role assignment delete --ids {shlex.quote(r['assignment_id'])}" for r in removals]


def result(outcome, principal_id, caller=None, template_file=None):
    """``(result dict, failure message or None)``: what the module returns, and why it could not do everything.

    Keys: ``principal_id``, ``assignments``, ``missing`` (grants still missing after the task: what the template
    creates), ``role_assignment_template`` and ``deployment_command`` (None when nothing is missing),
    ``az_cli_commands``, ``permission_denied``, ``msg`` and ``diff``. ``changed`` is ``outcome.changed``.
    """
    who = caller_label(caller)
    out = {
        "principal_id": principal_id,
        "permission_denied": outcome.denied,
        "missing": [],
        "role_assignment_template": None,
        "deployment_command": None,
        "az_cli_commands": [],
    }
    message = None
    if outcome.state == "present":
        assignments = _present_assignments(outcome)
        out["assignments"] = assignments
        missing_items = [
            i for i in outcome.planned if i["status"] == "missing" and i["name"] not in outcome.done + outcome.raced
        ]
        if missing_items:
            out["missing"] = [e for e in assignments if e["status"] == "missing"]
            out["role_assignment_template"] = ra.arm_template(missing_items, principal_id)
            out["deployment_command"] = ra.az_deployment_command(
                # The absolute path, so that the command works from any directory.
                missing_items,
                os.path.abspath(os.path.expanduser(template_file)) if template_file else "role-assignments.json",
            )
            out["az_cli_commands"] = ra.az_cli_commands(missing_items)
            message = ra.missing_permission_message(
                who, missing_items, how=_how(outcome, WRITE_ACTION), created=len(outcome.done)
            )
        done = [i for i in outcome.planned if i["name"] in outcome.done]
        out["diff"] = ra.diff_present([i for i in outcome.planned if i["status"] != "missing"] + done)
        counts = {s: sum(1 for a in assignments if a["status"] == s) for s in ("created", "existing", "inherited")}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing required"
        out["msg"] = message or f"Role assignments for {principal_id}: {summary}."
        if outcome.done:
            out["msg"] += " " + PROPAGATION_NOTE
    else:
        out["assignments"] = _absent_assignments(outcome)
        removed = [r for r in outcome.removals if r["assignment_id"] in outcome.done]
        kept = [r for r in outcome.removals if r["assignment_id"] not in outcome.done]
        out["diff"] = ra.diff_absent(removed)
        if kept:
            out["az_cli_commands"] = az_delete_commands(kept)
            message = _absent_message(who, kept, removed, _how(outcome, DELETE_ACTION))
        out["msg"] = message or f"Role assignments for {principal_id}: {len(removed)} removed."
        if outcome.shared:
            out["msg"] += " Kept {0}, still needed by other protected servers of the vault: {1}.".format(
                len(outcome.shared),
                "; ".join(
                    "{0} on {1} (for {2})".format(r["role_name"], r["scope"], ", ".join(r["needed_by"]))
                    for r in outcome.shared
                ),
            )
    return out, message


def _how(outcome, action):
    scopes = ", ".join(ra.canonical_scope(s) for s in outcome.denied_scopes)
    if outcome.denied_how == "permissions":
        return f"its permissions do not include {action} on {scopes}"
    return f"{action} on {scopes} was refused with {ra.ERROR_AUTHORIZATION_FAILED}"


def _absent_message(who, kept, removed, how):
    lines = [
        f"{who or 'The caller'} may not delete role assignments ({how}), so "
        + (f"only {len(removed)} of {len(removed) + len(kept)} were removed." if removed else "nothing was removed."),
        "Still present:",
    ]
    lines.extend(
        f"  - {r['role_name']} ({r['role_definition_id']}) on {r['scope']}: {r['assignment_id']}" for r in kept
    )
    admins = ", ".join(ra.ROLE_ADMIN_ROLES[:-1]) + " or " + ra.ROLE_ADMIN_ROLES[-1]
    lines.append(f"Someone with {admins} on those scopes must remove them:")
    lines.extend("  " + c for c in az_delete_commands(kept))
    return "\n".join(lines)


def template_path_problem(path):
    """Why ``path`` cannot take the template (a sentence), or None.

    Checked before any role assignment is written, so that a bad path never leaves a run half done. A directory that
    does not exist yet is fine when it can be created (``write_template`` creates it).
    """
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(path):
        return "template_path {0} is a directory; give a file name, e.g. {1}.".format(
            path, os.path.join(path, "role-assignments.json"))
    parent = os.path.dirname(path)
    while not os.path.isdir(parent):
        if os.path.exists(parent):
            return "template_path {0}: {1} is not a directory.".format(path, parent)
        parent = os.path.dirname(parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        return "template_path {0}: the directory {1} is not writable.".format(path, parent)
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return "template_path {0} exists and is not writable.".format(path)
    return None


def write_template(path, text, check_mode):
    """Write ``text`` to ``path`` (atomically) when it differs; returns whether it did (or would, in check mode).

    Check mode writes nothing: it only predicts.
    """
    path = os.path.abspath(os.path.expanduser(path))
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return False
    except FileNotFoundError:
        pass
    if check_mode:
        return True
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".role-assignments-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True
