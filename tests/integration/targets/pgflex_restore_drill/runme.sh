#!/usr/bin/env bash
# The restore drill role against the emulator with its data plane; the target PostgreSQL is the emulator's own
# cluster (the scratch databases sit next to the seeded servers' databases, and must be gone afterwards).
#   1. prepare: two servers protected and backed up now (real pg_dump files); the drill's variables written
#   2. check mode: the plan (both servers, their points and names); zero Azure writes, no database, no blob, no file
#   3. drill: both pass; the restored rows equal the emulator's content of each point; the report's figures are
#      present and consistent; history line per server; no drill blob, database or role left
#   4. damaged point: pg-eus-orders's app file truncated; its drill fails naming the file and the error, the other
#      server passes, and the cleanup still ran
#   5. RPO threshold shorter than the points' age: both fail with a message naming the age and the threshold
# The variables (credentials, emulator_url, ...) are in ../../integration_config.yml (scripts/run-integration.sh).
set -eux
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False
if [[ -f ../../integration_config.yml ]]; then
    set -- -e @../../integration_config.yml "$@"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
set -- -e "work=$work" "$@"

ansible-playbook prepare.yml "$@"
set -- -e "@$work/drill_vars.yml" "$@"

ansible-playbook verify.yml -e phase=mark "$@"
ansible-playbook drill.yml --check -e "pgflex_restore_drill_report_dir=$work/check" "$@" | tee "$work/check.log"
grep -q "pg-eus-orders" "$work/check.log" && grep -q "pg-eus-inventory" "$work/check.log"
ansible-playbook verify.yml -e phase=check "$@"

ansible-playbook drill.yml -e "pgflex_restore_drill_report_dir=$work/pass" "$@"
ansible-playbook verify.yml -e phase=pass "$@"

ansible-playbook verify.yml -e phase=damage "$@"
set +e
ansible-playbook drill.yml -e "pgflex_restore_drill_report_dir=$work/damaged" "$@" 2>&1 | tee "$work/damaged.log"
rc=${PIPESTATUS[0]}
set -e
[[ $rc -eq 2 ]]
grep -q "The restore drill failed for 1 of 2 server(s): pg-eus-orders: " "$work/damaged.log"
ansible-playbook verify.yml -e phase=damaged "$@"

set +e
# after "$@": the last -e wins over the variables file
ansible-playbook drill.yml -e "pgflex_restore_drill_report_dir=$work/rpo" "$@" -e pgflex_restore_drill_max_rpo_hours=0.0001 \
    2>&1 | tee "$work/rpo.log"
rc=${PIPESTATUS[0]}
set -e
[[ $rc -eq 2 ]]
ansible-playbook verify.yml -e phase=rpo "$@"
