#!/usr/bin/env bash
# `make drill`, on the bundled emulator with its data plane (started here, stopped at the end):
#   1. azbackup.dataprotection.protect protects two seeded eastus servers and backs them up now (real pg_dump files);
#   2. azbackup.dataprotection.restore_drill restores both latest points as files into Azurite, loads them into
#      scratch databases of the emulator's PostgreSQL, checks rows, user queries, RPO and RTO, prints the report and
#      cleans up.
# Variables: playbooks/vars/drill.yml. Extra arguments go to every ansible-playbook run. DRILL_REPORT_DIR sets where
# the reports and the history go (default .tmp/drill-report); EMULATOR_KEEP_STATE=1 keeps the emulator's state.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv
cd "$REPO_ROOT"

vars_file="playbooks/vars/drill.yml"
report_dir="${DRILL_REPORT_DIR:-$REPO_ROOT/.tmp/drill-report}"

"$REPO_ROOT/scripts/sync-collection.sh"

trap emulator_stop EXIT
trap 'exit 130' INT TERM
EMULATOR_ARGS="${EMULATOR_ARGS:-} --data-plane"
emulator_start

set -a
# shellcheck disable=SC1091
source "$EMULATOR_STATE_DIR/env.sh"
set +a
rm -rf "$report_dir"
mkdir -p "$report_dir"
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_ROOT" ANSIBLE_LOCALHOST_WARNING=False \
    ANSIBLE_INVENTORY_UNPARSED_WARNING=False

# Where the emulator's PostgreSQL listens, and the id of the seeded restore account.
read -r pg_port account_id < <("$VENV_PY" - "$EMULATOR_URL" "$REQUESTS_CA_BUNDLE" <<'PY'
import json, ssl, sys, urllib.request
context = ssl.create_default_context(cafile=sys.argv[2])
def get(name):
    with urllib.request.urlopen(sys.argv[1] + "/_emulator/" + name, context=context, timeout=30) as response:
        return json.load(response)
account = next(item for item in get("seed")["storageAccounts"] if item["name"] == "stpgrestoreeus")
print(get("data-plane")["postgres"]["port"], account["id"])
PY
)

banner() {
    printf '\n==================== %s ====================\n\n' "$*"
}

banner "1/2 protect two servers and back them up now"
ansible-playbook azbackup.dataprotection.protect -e "@$vars_file" -e pgflex_protection_backup_now=true \
    -e "pgflex_protection_report_dir=$report_dir" "$@"

banner "2/2 restore drill: restore, load, check, report, clean up"
ansible-playbook azbackup.dataprotection.restore_drill -e "@$vars_file" \
    -e pgflex_restore_drill_target_host=127.0.0.1 -e "pgflex_restore_drill_target_port=$pg_port" \
    -e "pgflex_restore_drill_storage_account_id=$account_id" \
    -e "pgflex_restore_drill_report_dir=$report_dir" -e "pgflex_restore_drill_history_file=$report_dir/history.jsonl" "$@"

banner "the report: $(ls "$report_dir"/drill-*.md)"
cat "$report_dir"/drill-*.md
