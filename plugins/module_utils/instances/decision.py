# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a server needs so that its backup instance is in the wanted state: one pure decision.

``pgflex_backup_instance`` acts on it and the planning module reports it, so both always agree.
"""

import collections

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm
from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.readable import (
    identity_of,
    lifecycle_state,
)

ACTIONS = ("protect", "repair", "resume", "change_policy", "change_identity", "stop", "suspend", "none")

# States of an existing instance that protection must configure again (the portal's "revalidate").
NEEDS_REPAIR = ("error", "not_protected", "unknown")

Decision = collections.namedtuple(
    "Decision", "action reason changed protect policy_change identity_change policy_ignored current_state")


def decide(current, server_id, desired_policy_id, desired_state="present", identity_id=None):
    """The full decision behind ``protection_action`` (the flags ``ensure_present`` acts on).

    ``current``: the instance body (None when the server has none); ``desired_policy_id``: the policy asked for (None:
    keep); ``identity_id``: the identity asked for, ``"system_assigned"`` or a user-assigned identity id (None: keep).
    A soft-deleted instance, or a state other than present for a server without instance, cannot be decided: the
    caller refuses those (``ensure_present`` raises them as input errors).
    """
    state = desired_state or "present"
    current_state = lifecycle_state(current)
    server = arm.last_segment(server_id)
    if current is None:
        protect = state == "present"
        return Decision("protect" if protect else "none",
                        "server '{0}' has no backup instance".format(server) if protect
                        else "server '{0}' has no backup instance to {1}".format(server, state),
                        protect, protect, False, False, False, None)
    policy_id = ((current.get("properties") or {}).get("policyInfo") or {}).get("policyId")
    policy_change = desired_policy_id is not None and not arm.same_id(policy_id, desired_policy_id)
    policy_ignored = policy_change and state != "present"
    policy_change = policy_change and not policy_ignored
    identity_change = bool(identity_id) and not arm.same_id(identity_of(current), identity_id)
    protect = state == "present" and current_state in NEEDS_REPAIR
    changed = protect or policy_change or identity_change or current_state != state
    if current_state == "configuring" and state == "present" and not (policy_change or identity_change):
        changed = False  # protection is being configured right now: it is on its way
    if protect:
        action, reason = "repair", "its backup instance is {0}: protection is configured again".format(current_state)
    elif state == "present" and current_state in ("stopped", "suspended"):
        action, reason = "resume", "its backup instance is {0}".format(current_state)
    elif policy_change:
        action, reason = "change_policy", "its backup instance uses policy '{0}', not '{1}'".format(
            arm.last_segment(policy_id), arm.last_segment(desired_policy_id))
    elif identity_change:
        action, reason = "change_identity", "its backup instance uses identity {0}, not {1}".format(
            identity_of(current), identity_id)
    elif changed and state in ("stopped", "suspended"):
        action, reason = ("stop" if state == "stopped" else "suspend"), "its backup instance is {0}".format(
            current_state)
    else:
        action, reason = "none", "its backup instance is {0}".format(current_state)
    if action == "resume" and policy_change:
        reason += " and uses policy '{0}', not '{1}'".format(arm.last_segment(policy_id),
                                                             arm.last_segment(desired_policy_id))
    return Decision(action, reason, changed, protect, policy_change, identity_change, policy_ignored, current_state)


def protection_action(current, server_id, desired_policy_id, desired_state="present", identity_id=None):
    """(action, reason): what the server's protection needs; action is one of ``ACTIONS``.

    ``protect`` (no instance yet), ``repair`` (instance in error or not protected), ``resume`` (stopped or
    suspended), ``change_policy`` (policies compared by ARM id, case-insensitively), ``change_identity``, ``stop``,
    ``suspend`` or ``none``.
    """
    decision = decide(current, server_id, desired_policy_id, desired_state, identity_id)
    return decision.action, decision.reason
