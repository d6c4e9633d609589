#!/usr/bin/env bash
# pgflex_protection role against the emulator. A script target, because a dry run of the role is what
# `ansible-playbook --check` does (ansible_check_mode), which a role target cannot do.
#   1. check mode on a fresh emulator: zero writes, and the plan (vault, policy, 4 grants, 3 servers) is reported
#   2. real run: everything created, report files written
#   3. rerun: zero writes, everything unchanged; a check-mode rerun plans nothing
#   4. on-demand backup through the role: each job completed, shown in the report
#   5. one server in another region + one missing + one invalid name: one failure listing all, zero writes
#   6. a principal that may not assign roles, on_missing_permission=template: template written, servers skipped
#   7. one host per server (on a fresh emulator, last): a host that names no server fails alone and nothing is
#      written; a server whose protection fails fails its own host only (PLAY RECAP failed=1 there)
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
# One host per server, on a fresh emulator (the servers above are protected by now): a failure lands on the host
# whose server failed. ansible-playbook exits 2 when a host failed; the recap names which.
ansible-playbook prepare.yml "$@"
hosts_out="$(mktemp)"
hosts_run() {  # hosts_run <phase> [ansible-playbook args]: a host fails, so ansible-playbook exits 2
    local phase=$1 rc
    shift
    set +e
    ansible-playbook -i inventory.yml hosts.yml -e "phase=$phase" "$@" 2>&1 | tee "$hosts_out"
    rc=${PIPESTATUS[0]}
    set -e
    [[ $rc -eq 2 ]]
}
failed_of() {  # failed=N of host $1 in the PLAY RECAP
    grep -E "^$1 +: ok=" "$hosts_out" | tail -1 | grep -o 'failed=[0-9]*'
}
hosts_run no_server "$@"
[[ $(failed_of web-frontend) == failed=1 && $(failed_of pg-eus-orders) == failed=0 ]]
[[ $(failed_of pg-eus-inventory) == failed=0 && $(failed_of localhost) == failed=0 ]]
grep -q "Host 'web-frontend' names no server" "$hosts_out"
hosts_run protect -e "pp_hosts_pattern=pg_hosts:!web-frontend" "$@"
[[ $(failed_of pg-eus-inventory) == failed=1 && $(failed_of pg-eus-orders) == failed=0 ]]
[[ $(failed_of localhost) == failed=0 ]]
grep -q "UserErrorInvalidRequestParameter" "$hosts_out"
rm -f "$hosts_out"
