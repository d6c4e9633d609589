#!/usr/bin/env bash
# ansible-lint (production profile, see .ansible-lint) over the collection's YAML: roles/, playbooks/,
# meta/, galaxy.yml, changelogs, integration targets. FQCNs resolve through the physical collection
# copy (ANSIBLE_COLLECTIONS_PATH=.tmp/collections). Extra arguments go to ansible-lint.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv
cd "$REPO_ROOT"

"$REPO_ROOT/scripts/sync-collection.sh"

rc=0
ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_ROOT" ansible-lint --offline --nocolor --profile production "$@" || rc=$?
if ((rc == 0)); then
    record_result lint 1 0
else
    record_result lint 0 1
fi
exit "$rc"
