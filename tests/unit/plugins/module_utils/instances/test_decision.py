# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""protection_action: the one decision pgflex_backup_instance acts on and the planning module reports."""

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils.instances.decision import (
    ACTIONS,
    decide,
    protection_action,
)

VAULT_ID = ("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-backup/providers/"
            "Microsoft.DataProtection/backupVaults/bv1")
SERVER_ID = ("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-pg/providers/"
             "Microsoft.DBforPostgreSQL/flexibleServers/pg1")
POLICY_ID = VAULT_ID + "/backupPolicies/weekly"
OTHER_POLICY_ID = VAULT_ID + "/backupPolicies/weekly-10y"
UAI_ID = ("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-backup/providers/"
          "Microsoft.ManagedIdentity/userAssignedIdentities/id1")


def instance(state="ProtectionConfigured", policy_id=POLICY_ID, identity=None):
    details = {"useSystemAssignedIdentity": False, "userAssignedIdentityArmUrl": identity} if identity else None
    return {"name": "pg1-pg1-x", "properties": {
        "currentProtectionState": state, "protectionStatus": {"status": state},
        "dataSourceInfo": {"resourceID": SERVER_ID}, "policyInfo": {"policyId": policy_id},
        "identityDetails": details}}


@pytest.mark.parametrize("current, policy_id, state, identity, expected", [
    (None, POLICY_ID, "present", None, "protect"),
    (instance(), POLICY_ID, "present", None, "none"),
    (instance(), POLICY_ID.upper(), "present", None, "none"),
    (instance(), OTHER_POLICY_ID, "present", None, "change_policy"),
    (instance("ProtectionError"), POLICY_ID, "present", None, "repair"),
    (instance("NotProtected"), POLICY_ID, "present", None, "repair"),
    (instance("ProtectionStopped"), POLICY_ID, "present", None, "resume"),
    (instance("BackupSchedulesSuspended"), OTHER_POLICY_ID, "present", None, "resume"),
    (instance("ConfiguringProtection"), POLICY_ID, "present", None, "none"),
    (instance(), None, "stopped", None, "stop"),
    (instance(), None, "suspended", None, "suspend"),
    (instance("ProtectionStopped"), None, "stopped", None, "none"),
    (instance(), POLICY_ID, "present", UAI_ID, "change_identity"),
    (instance(identity=UAI_ID), POLICY_ID, "present", UAI_ID.upper(), "none"),
    (instance(identity=UAI_ID), POLICY_ID, "present", "system_assigned", "change_identity"),
])
def test_protection_action(current, policy_id, state, identity, expected):
    action, reason = protection_action(current, SERVER_ID, policy_id, state, identity)
    assert action == expected and action in ACTIONS
    assert reason


def test_resume_with_another_policy_says_both_and_changes_the_policy():
    decision = decide(instance("ProtectionStopped"), SERVER_ID, OTHER_POLICY_ID)
    assert decision.action == "resume" and decision.policy_change and decision.changed
    assert "weekly-10y" in decision.reason


def test_a_policy_asked_with_state_stopped_is_ignored_not_applied():
    decision = decide(instance(), SERVER_ID, OTHER_POLICY_ID, "stopped")
    assert decision.policy_ignored and not decision.policy_change and decision.action == "stop"


def test_no_change_means_unchanged():
    decision = decide(instance(), SERVER_ID, POLICY_ID)
    assert not decision.changed and decision.action == "none"
