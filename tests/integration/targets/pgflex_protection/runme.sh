#!/usr/bin/env bash
# pgflex_protection role against the emulator. A script target, because a dry run of the role is what
# `ansible-playbook --check` does (ansible_check_mode), which a role target cannot do.
#   1. check mode on a fresh emulator: zero writes, and the plan (vault, policy, 4 grants, 3 servers) is reported
#   2. real run: everything created, report files written
#   3. rerun: zero writes, everything unchanged; a check-mode rerun plans nothing
#   4. on-demand backup through the role: each job completed, shown in the report
#   5. one server in another region + one missing + one invalid name: one failure listing all, zero writes
#   6. a principal that may not assign roles, on_missing_permission=template: template written, servers skipped
#   7. one host per server: a host that names no server is named in the failure, nothing is written
#   8. no policy variables: a protected server keeps its policy, a new one gets the default (dry run, then run)
#   9. a server another vault protects, and one soft-deleted in this vault: the dry run lists the problem, the real
#      run fails the same way before any write
#   (3 runs again with numbers and booleans given as strings by -e, as -e gives them)
# The variables (credentials, emulator_url, ...) are in ../../integration_config.yml, which ansible-test copies
# next to the targets (scripts/run-integration.sh writes it); arguments (-v, or -e @file by hand) go to every run.
set -eux
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False
if [[ -f ../../integration_config.yml ]]; then
    set -- -e @../../integration_config.yml "$@"
fi

ansible-playbook prepare.yml "$@"
ansible-playbook protect.yml --check -e phase=dry_run "$@"
ansible-playbook protect.yml -e phase=first "$@"
ansible-playbook protect.yml -e phase=rerun "$@"
ansible-playbook protect.yml --check -e phase=dry_rerun "$@"
# numbers and booleans as -e gives them: strings
ansible-playbook protect.yml -e phase=rerun -e pgflex_protection_wait_timeout=300 -e pgflex_protection_parallel=false \
    -e pgflex_protection_max_parallel=5 -e pgflex_protection_backup_now=false -e pgflex_protection_validation_timeout=60 \
    -e pgflex_protection_vault_cross_region_restore=false "$@"
ansible-playbook protect.yml -e phase=backup "$@"
ansible-playbook failures.yml "$@"
ansible-playbook keep_policy.yml --check "$@"
ansible-playbook keep_policy.yml "$@"
ansible-playbook conflicts.yml --check -e phase=other_vault "$@"
ansible-playbook conflicts.yml -e phase=other_vault "$@"
ansible-playbook conflicts.yml -e phase=delete "$@"
ansible-playbook conflicts.yml --check -e phase=soft_deleted "$@"
ansible-playbook conflicts.yml -e phase=soft_deleted "$@"
# One host per server: the role's run-once validation fails for the play; the hosts without a rescue of their own
# make ansible-playbook exit 2, so the run counts as passed only when both checks of hosts.yml passed.
hosts_out="$(mktemp)"
set +e
ansible-playbook -i inventory.yml hosts.yml "$@" 2>&1 | tee "$hosts_out"
hosts_rc=${PIPESTATUS[0]}
set -e
[[ $hosts_rc -eq 0 || $hosts_rc -eq 2 ]]
[[ $(grep -c '"msg": "All assertions passed"' "$hosts_out") -eq 2 ]]
rm -f "$hosts_out"
