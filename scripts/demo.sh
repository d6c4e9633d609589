#!/usr/bin/env bash
# The rehearsal: start the bundled emulator, run playbooks/demo.yml against it, stop the emulator.
# Extra arguments go to ansible-playbook (e.g. -v, --check, --diff). EMULATOR_KEEP_STATE=1 keeps the
# emulator's state directory and log.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv
cd "$REPO_ROOT"

playbook="playbooks/demo.yml"
[[ -f "$playbook" ]] || die "$playbook does not exist yet: there is no demo to run"

"$REPO_ROOT/scripts/sync-collection.sh"

trap emulator_stop EXIT
trap 'exit 130' INT TERM
emulator_start

# The modules read AZURE_* (credentials, cloud_environment = the emulator's metadata URL) and trust
# the emulator's CA through REQUESTS_CA_BUNDLE; all of it comes from env.sh.
set -a
# shellcheck disable=SC1091
source "$EMULATOR_STATE_DIR/env.sh"
set +a
log "emulator at $EMULATOR_URL"

rc=0
ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_ROOT" \
    ANSIBLE_LOCALHOST_WARNING=False \
    ANSIBLE_INVENTORY_UNPARSED_WARNING=False \
    ansible-playbook "$playbook" "$@" || rc=$?
if ((rc != 0)); then
    emulator_show_log 60
fi
exit "$rc"
