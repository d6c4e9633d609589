#!/usr/bin/env bash
# The rehearsal `make demo`, on the bundled emulator (started here, stopped at the end):
#   1. azbackup.dataprotection.protect protects four seeded eastus servers (vault, policy, role assignments,
#      protection) and shows the report;
#   2. the same playbook again with --check: a dry run that must plan no change and send no write;
#   3. azbackup.dataprotection.backup_now backs every protected server up now and shows the jobs;
#   4. azbackup.dataprotection.status shows the vault's report with the last backups and recovery points.
# Variables: playbooks/vars/demo.yml. Extra arguments go to every ansible-playbook run (e.g. -v, --diff).
# EMULATOR_KEEP_STATE=1 keeps the emulator's state directory and log; DEMO_REPORT_DIR sets where the reports go
# (default .tmp/demo-report).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv
cd "$REPO_ROOT"

vars_file="playbooks/vars/demo.yml"
report_dir="${DEMO_REPORT_DIR:-$REPO_ROOT/.tmp/demo-report}"
[[ -f "$vars_file" ]] || die "$vars_file does not exist"

"$REPO_ROOT/scripts/sync-collection.sh"

trap emulator_stop EXIT
trap 'exit 130' INT TERM
# The demo ends with a restore as files: the data plane (PostgreSQL + Azurite) gives it real dumps to write.
if [[ " ${EMULATOR_ARGS:-} " != *" --data-plane "* ]]; then
    export EMULATOR_ARGS="${EMULATOR_ARGS:-} --data-plane"
fi
emulator_start

# The modules read AZURE_* (credentials, cloud_environment = the emulator's metadata URL) and trust
# the emulator's CA through REQUESTS_CA_BUNDLE; all of it comes from env.sh.
set -a
# shellcheck disable=SC1091
source "$EMULATOR_STATE_DIR/env.sh"
set +a
log "emulator at $EMULATOR_URL"
rm -rf "$report_dir"
mkdir -p "$report_dir"

export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_ROOT" ANSIBLE_LOCALHOST_WARNING=False \
    ANSIBLE_INVENTORY_UNPARSED_WARNING=False

vault="$(sed -n 's/^pgflex_protection_vault_name: *//p' "$vars_file")"

play() {  # PLAYBOOK [ARGS...]: run a playbook of the collection by its FQCN with the demo's variables
    local playbook="$1"
    shift
    ansible-playbook "azbackup.dataprotection.$playbook" -e "@$vars_file" \
        -e "pgflex_protection_report_dir=$report_dir" "$@"
}

banner() {
    printf '\n==================== %s ====================\n\n' "$*"
}

rc=0
run() {  # the demo's steps; any failure stops it
    banner "1/5 protect: vault, policy, role assignments and protection of four eastus servers"
    play protect "$@"
    banner "the report: $report_dir/$vault.md"
    cat "$report_dir/$vault.md"

    banner "2/5 protect again, in check mode: nothing should change"
    local before after writes
    before="$(emulator_request_count)"
    play protect --check "$@"
    after="$(emulator_request_count)"
    writes="$(emulator_writes_since "$before")"
    "$VENV_PY" - "$report_dir/$vault.plan.json" "$writes" "$((after - before))" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
summary = report["summary"]
print("check mode: {0} ARM requests, {1} writes; plan: vault {2}, policy {3}, {4} server(s) to change, "
      "{5} unchanged".format(sys.argv[3], sys.argv[2], report["vault"]["action"], report["policy"]["action"],
                             summary["changed"], summary["servers"] - summary["changed"]))
if int(sys.argv[2]) != 0 or summary["changed"] != 0 or report["vault"]["action"] != "unchanged" \
        or report["policy"]["action"] != "unchanged":
    sys.exit("the rerun in check mode planned a change or wrote something")
PY

    banner "3/5 backup_now: an on-demand backup of every protected server, followed to its end"
    play backup_now "$@"

    banner "4/5 status: the vault's report with the last backups and recovery points"
    play status "$@"

    banner "5/5 restore: the latest recovery point of pg-eus-orders as files, and pg_restore --list of each database"
    local restore_dir="$REPO_ROOT/.tmp/demo-restore"
    rm -rf "$restore_dir"
    play restore -e '{"pgflex_protection_servers": [{"name": "pg-eus-orders", "resource_group": "rg-pg-eastus"}]}' \
        -e restore_storage_account_name=stpgrestoreeus -e restore_storage_account_resource_group=rg-backup \
        -e restore_container=restores -e "restore_download_to=$restore_dir" "$@"
    local file count=0
    for file in "$restore_dir"/*_database_*.sql; do
        [[ -e "$file" ]] || die "the restore wrote no database file into $restore_dir"
        printf -- '--- pg_restore --list %s\n' "$(basename "$file")"
        pg_restore --list "$file" | sed -n '1,12p'
        count=$((count + 1))
    done
    log "pg_restore read all $count database file(s) of the restore"
}
run "$@" || rc=$?
if ((rc != 0)); then
    emulator_show_log 60
fi
exit "$rc"
