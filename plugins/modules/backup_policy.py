# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: backup_policy
short_description: Create, update and delete long-term retention backup policies in a Backup vault
version_added: 0.1.0
description:
  - Manages a backup policy (C(Microsoft.DataProtection/backupVaults/backupPolicies)) for vaulted, long-term
    retention backups of Azure Database for PostgreSQL Flexible Server.
  - Write the policy readably with O(schedule) and O(retention); the module builds the body Azure expects
    (one weekly backup rule, one retention rule and tag per retention kind, priorities Yearly 10, Monthly 15,
    Weekly 20, Default 99). Experts may send the raw body with O(policy) instead.
  - Every input is checked before anything is sent, and each error names the option at fault.
  - Returns what the policy keeps and for how long (RV(retention_preview)), also in check mode, so that a
    policy can be reviewed before it exists.
  - A policy is never updated in place (Azure refuses every update of an existing policy with
    C(UserErrorBMSUpdatePolicyNotSupported)). A changed policy becomes a new version named O(name) with a
    counter, C(<name>-v2), C(<name>-v3) and so on; the backup instances of the older versions move to it, and
    the older versions are deleted once nothing uses them (see O(keep_old_versions)). The same content again
    finds the version it made and changes nothing. RV(policy_versions) says what was (or would be) done.
  - Deleting a policy (every version of it) that backup instances use fails with Azure's
    C(UserErrorDppPolicyObjectInUse) error explained, and deletes nothing.
author:
  - azbackup maintainers (@azbackup)
options:
  name:
    description:
      - Name of the backup policy. Its versions are named O(name), C(<name>-v2), C(<name>-v3)...; the newest is the
        policy this task manages.
      - 1 to 150 letters, digits, hyphens and underscores, starting with a letter or digit.
    type: str
    required: true
  keep_old_versions:
    description:
      - Keep the older versions of the policy after the backup instances moved to a new one. By default a version
        nothing uses any more is deleted.
    type: bool
    default: false
  datasource_type:
    description:
      - What the policy backs up. V(pgflex) is short for V(Microsoft.DBforPostgreSQL/flexibleServers).
    type: str
    choices: [Microsoft.DBforPostgreSQL/flexibleServers, pgflex]
    default: Microsoft.DBforPostgreSQL/flexibleServers
  state:
    description: Whether the policy should exist.
    type: str
    choices: [present, absent]
    default: present
  schedule:
    description:
      - When backups run. PostgreSQL Flexible Server supports weekly schedules only (one or more days of the
        week, one time of day). Required with O(retention) when O(state=present), unless O(policy) is given.
    type: dict
    suboptions:
      days_of_week:
        description:
          - Days of the week backups run on, V(Sunday) to V(Saturday) (case does not matter), each at most once.
          - Required.
        type: list
        elements: str
      time:
        description: Time of day backups start, C(HH:MM) (24 hours) in O(schedule.timezone). Required.
        type: str
      timezone:
        description:
          - Time zone of O(schedule.time) - V(UTC), a Windows time zone id as Azure stores it (C(W. Europe Standard
            Time)), or an IANA name that maps to one (C(Europe/Berlin)). Backups follow the wall clock across
            daylight saving changes.
        type: str
        default: UTC
  retention:
    description:
      - How long backups are kept. Each backup gets the tag of the highest-priority rule whose criteria match it
        (yearly, then monthly, then weekly) and is kept for that rule's duration; backups no rule claims are kept
        for O(retention.default.duration).
      - Durations are ISO 8601 date durations (C(P30D), C(P12W), C(P12M), C(P10Y)), at most 10 years.
      - A higher-priority rule that keeps backups for less time than a lower-priority rule it takes them from
        (a monthly rule shorter than the weekly one) is allowed, with a warning.
    type: dict
    suboptions:
      default:
        description: The rule for backups no other rule claims. Required.
        type: dict
        suboptions:
          duration:
            description: How long to keep them, for example V(P3M). Required.
            type: str
      weekly:
        description:
          - Keep the first successful backup of each week (weeks start on Sunday), or the backups of
            O(retention.weekly.days_of_week).
        type: dict
        suboptions:
          duration:
            description: How long to keep them, for example V(P12W). Required.
            type: str
          days_of_week:
            description: Keep the backups of these scheduled days instead of the first of the week.
            type: list
            elements: str
      monthly:
        description:
          - Keep the first successful backup of each month, or the backups on O(retention.monthly.weeks_of_month)
            and O(retention.monthly.days_of_week) (the first Sunday), or on O(retention.monthly.days_of_month)
            (only when backups run every day).
        type: dict
        suboptions:
          duration:
            description: How long to keep them, for example V(P12M). Required.
            type: str
          days_of_week:
            description: Days of the week, with O(retention.monthly.weeks_of_month).
            type: list
            elements: str
          weeks_of_month:
            description: V(First), V(Second), V(Third), V(Fourth) or V(Last), with O(retention.monthly.days_of_week).
            type: list
            elements: str
          days_of_month:
            description: Days 1 to 28, or V(Last).
            type: list
            elements: raw
      yearly:
        description:
          - Keep the first successful backup of each year, or the backups in O(retention.yearly.months_of_year) on
            O(retention.yearly.weeks_of_month) and O(retention.yearly.days_of_week), or on
            O(retention.yearly.days_of_month).
        type: dict
        suboptions:
          duration:
            description: How long to keep them, for example V(P10Y). Required.
            type: str
          months_of_year:
            description: Months, V(January) to V(December).
            type: list
            elements: str
          days_of_week:
            description: Days of the week, with O(retention.yearly.weeks_of_month).
            type: list
            elements: str
          weeks_of_month:
            description: V(First), V(Second), V(Third), V(Fourth) or V(Last), with O(retention.yearly.days_of_week).
            type: list
            elements: str
          days_of_month:
            description: Days 1 to 28, or V(Last).
            type: list
            elements: raw
  policy:
    description:
      - The raw policy for experts, as the API takes it (the resource body or its C(properties)); mutually
        exclusive with O(schedule) and O(retention). Checked for structure before it is sent.
      - RV(backup_policy.policy) of this module or of M(azbackup.dataprotection.backup_policy_info) is in this form.
    type: dict
  preview_horizon:
    description: How far RV(retention_preview) lists scheduled backups, from the next one (ISO 8601 duration).
    type: str
    default: P1Y
  preview_start:
    description:
      - Start the retention preview at this date or date-time (ISO 8601; UTC when it has no offset), for a
        reproducible preview. Now when not set.
    type: str
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.vault
  - azbackup.dataprotection.attributes
attributes:
  check_mode:
    support: full
    description:
      - Reports the version that would be created, the instances that would move to it and the versions that would
        be deleted (RV(policy_versions)), with the retention preview, and writes nothing.
  diff_mode:
    support: full
    description: Shows the policy before and after in the readable form (or the normalised body for custom policies).
seealso:
  - module: azbackup.dataprotection.backup_policy_info
  - module: azbackup.dataprotection.backup_vault
notes:
  - The module compares the desired policy with the one Azure holds, ignoring what Azure adds (tag ids), enum
    case, list order, the spelling of durations (V(P1Y) equals V(P12M)) and the start date of the schedule's
    repeating intervals, so a rerun reports no change.
  - Modules and the role that name a policy by O(name) (C(policy_name) of M(azbackup.dataprotection.pgflex_backup_instance),
    M(azbackup.dataprotection.backup_policy_info) and M(azbackup.dataprotection.pgflex_protection_plan)) use its
    newest version.
"""

EXAMPLES = r"""
- name: Weekly on Sunday 02:00 UTC; keep weekly 12 weeks, monthly 12 months, yearly 10 years
  azbackup.dataprotection.backup_policy:
    resource_group: rg-backup
    vault_name: bv-pg-prod-eastus
    name: pg-weekly-ltr
    schedule:
      days_of_week: [Sunday]
      time: "02:00"
      timezone: UTC
    retention:
      default:
        duration: P3M
      weekly:
        duration: P12W
      monthly:
        duration: P12M
      yearly:
        duration: P10Y
  register: ltr

- name: Show how many recovery points the policy keeps once it runs at full length
  ansible.builtin.debug:
    msg: "{{ ltr.retention_preview.steady_state }}"

- name: Keep the first Sunday of each month, in Berlin time
  azbackup.dataprotection.backup_policy:
    vault_id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-pg-prod-westeurope
    name: pg-weekly-berlin
    schedule:
      days_of_week: [Sunday, Wednesday]
      time: "01:30"
      timezone: Europe/Berlin
    retention:
      default:
        duration: P4W
      monthly:
        duration: P6M
        weeks_of_month: [First]
        days_of_week: [Sunday]

- name: Delete a policy nothing uses any more
  azbackup.dataprotection.backup_policy:
    resource_group: rg-backup
    vault_name: bv-pg-prod-eastus
    name: pg-weekly-old
    state: absent
"""

RETURN = r"""
backup_policy:
  description: The policy after the task (predicted in check mode); empty when it does not exist.
  returned: always
  type: dict
  contains:
    id:
      description: Resource id.
      type: str
      sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.DataProtection/backupVaults/bv1/backupPolicies/pol1
    name:
      description: Policy name.
      type: str
    vault_name:
      description: Name of the vault that holds the policy.
      type: str
    resource_group:
      description: Resource group of the vault.
      type: str
    datasource_types:
      description: What the policy backs up.
      type: list
      elements: str
      sample: [Microsoft.DBforPostgreSQL/flexibleServers]
    schedule:
      description: The schedule in the readable form of O(schedule); null when RV(backup_policy.custom).
      type: dict
      sample: {days_of_week: [Sunday], time: "02:00", timezone: UTC}
    retention:
      description: The retention rules in the readable form of O(retention); null when RV(backup_policy.custom).
      type: dict
      sample: {default: {duration: P3M}, weekly: {duration: P12W}, monthly: {duration: P12M}, yearly: {duration: P10Y}}
    custom:
      description: True when the readable form cannot express the policy (it can still be managed with O(policy)).
      type: bool
    custom_reason:
      description: Why the policy is custom; null otherwise.
      type: str
    policy:
      description: The policy properties as Azure stores them (camelCase), usable as O(policy).
      type: dict
policy_versions:
  description: What the task did (or would do, in check mode) with the versions of the policy.
  returned: when O(state=present)
  type: dict
  contains:
    current:
      description: The name of the version that holds the desired content after the task.
      type: str
      sample: pg-weekly-v2
    previous:
      description: The newest version before the task; null when the policy did not exist.
      type: str
    created:
      description: The version created; null when the newest version already had the desired content.
      type: str
    moved_instances:
      description: Names of the backup instances moved from older versions to RV(policy_versions.current).
      type: list
      elements: str
    deleted:
      description: Older versions deleted because nothing uses them any more.
      type: list
      elements: str
    kept:
      description: Older versions kept, each with the reason (O(keep_old_versions), or soft-deleted instances).
      type: list
      elements: dict
    summary:
      description: The same in one line.
      type: str
      sample: create pg-weekly-v2, move 3 servers, delete pg-weekly
retention_preview:
  description:
    - What the policy keeps and for how long, from the first scheduled backup at or after O(preview_start) over
      O(preview_horizon), assuming protection starts then and every backup succeeds.
    - Null when the policy is absent or cannot be simulated (a warning says why).
  returned: always
  type: dict
  contains:
    time_zone:
      description: Time zone of the times below.
      type: str
    next_backup:
      description: The first scheduled backup of the preview.
      type: str
      sample: "2025-01-05T02:00:00+00:00"
    end:
      description: End of the preview (exclusive).
      type: str
    tags:
      description: Retention tags by priority (lowest number wins), each with its duration.
      type: list
      elements: dict
      sample: [{tag: Yearly, priority: 10, duration: P10Y}, {tag: Default, priority: 99, duration: P3M}]
    backups:
      description: Each scheduled backup in the preview, the tag it gets and when its recovery point expires.
      type: list
      elements: dict
      sample: [{time: "2025-01-05T02:00:00+00:00", tag: Yearly, expires: "2035-01-05T02:00:00+00:00"}]
    backups_per_tag:
      description: How many of RV(retention_preview.backups) get each tag.
      type: dict
    steady_state:
      description:
        - Recovery points per tag once every rule has run its full length (at RV(retention_preview.steady_state_at)).
      type: dict
      sample: {Yearly: 10, Monthly: 11, Weekly: 9, Default: 0}
    steady_state_total:
      description: Sum of RV(retention_preview.steady_state).
      type: int
    steady_state_at:
      description: When the steady state is reached.
      type: str
    steady_state_range:
      description: Per tag, the fewest and most recovery points over the year after RV(retention_preview.steady_state_at).
      type: dict
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import (
    azure_errors,
    policies,
    references,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import (
    AzureBackupModule,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.datasources.pgflex import PGFLEX

try:
    from azure.core.exceptions import HttpResponseError
except ImportError:  # the façade reports the missing SDK before anything here runs

    class HttpResponseError(Exception):
        pass


def _rule(*criteria):
    spec = dict(duration=dict(type="str"))
    for name in criteria:
        spec[name] = dict(type="list", elements="raw" if name == "days_of_month" else "str")
    return dict(type="dict", options=spec)


def argument_spec():
    spec = references.vault_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        keep_old_versions=dict(type="bool", default=False),
        datasource_type=dict(type="str", choices=policies.datasource_choices(PGFLEX), default=PGFLEX.arm_type),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        schedule=dict(type="dict", options=dict(
            days_of_week=dict(type="list", elements="str"),
            time=dict(type="str"),
            timezone=dict(type="str", default="UTC"),
        )),
        retention=dict(type="dict", options=dict(
            default=_rule(),
            weekly=_rule("days_of_week"),
            monthly=_rule("days_of_week", "weeks_of_month", "days_of_month"),
            yearly=_rule("months_of_year", "days_of_week", "weeks_of_month", "days_of_month"),
        )),
        policy=dict(type="dict"),
        preview_horizon=dict(type="str", default=policies.DEFAULT_PREVIEW_HORIZON),
        preview_start=dict(type="str"),
    )
    return spec


def main():
    azure = AzureBackupModule(
        argument_spec(),
        mutually_exclusive=[("policy", "schedule"), ("policy", "retention"), ("vault_id", "vault_name"),
                            ("vault_id", "resource_group")],
        required_together=[("schedule", "retention")],
        required_if=[("state", "present", ("schedule", "policy"), True)],
        name_kind="backup policy",
    )
    params = azure.params
    name, present = params["name"], params["state"] == "present"
    start = horizon = None
    with azure.input_errors():  # bad input fails here, before any request
        references.vault_reference(params, "-")
        if present:
            desired, start, horizon = policies.validate(params)
            for warning in desired.warnings:
                azure.warn(warning)

    dummy, group, vault, vault_id = azure.vault_reference()
    api = azure.dataprotection_api()
    resolved = dict(params, resource_group=group, vault_name=vault, vault_id=vault_id)

    def explain(exc, action):
        """Fail with an explanation when Azure refuses to update or delete the policy; else let the façade fail."""
        status, code, message, request_id = azure_errors.error_parts(exc)
        if not policies.is_refusal(action, code):
            return
        try:
            users = policies.policy_users(api, policies.policy_id(vault_id, name))
        except HttpResponseError:
            users = []
        azure.fail(policies.refusal_message(action, code, message, name, users), status_code=status,
                   error_code=code, error_message=message, request_id=request_id, backup_instances=users)

    with azure.azure_errors("reading backup policy {0}".format(name)):
        versions = api.policy_versions(name)
        current = versions[-1] if versions else None
        if current is None and present:
            api.require_vault()
    if not present:
        with azure.azure_errors("deleting backup policy {0}".format(name)):
            try:
                outcome = policies.ensure_absent(api, current, resolved, azure.check_mode)
            except HttpResponseError as exc:
                explain(exc, "delete")
                raise
        azure.exit(outcome.changed, diff=outcome.diff, backup_policy=outcome.resource, retention_preview=None)
    with azure.azure_errors("creating backup policy {0} and moving its backup instances".format(name)):
        outcome = policies.ensure_present(api, current, resolved, azure.check_mode, versions)
    changed, result, diff = outcome.changed, outcome.resource, outcome.diff
    retention_preview, warning = policies.preview(result["policy"], start, horizon)
    if warning:
        azure.warn(warning)
    azure.exit(changed, diff=diff, backup_policy=result, retention_preview=retention_preview, **outcome.extra)


if __name__ == "__main__":
    main()
