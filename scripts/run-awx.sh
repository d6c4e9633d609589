#!/usr/bin/env bash
# The playbooks and the inventory plugin run the way AWX runs them (tests/awx): ansible-runner's Python API against
# the emulator, the Azure credential injected as environment variables (service principal, and user + password),
# survey answers as extra variables, a check job. Each pytest-xdist worker starts its own emulator.
#   scripts/run-awx.sh [pytest arguments]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv
cd "$REPO_ROOT"

junit="$RESULTS_DIR/junit/awx.xml"
mkdir -p "$(dirname "$junit")"
rm -f "$junit"
rc=0
"$VENV_PY" -m pytest -q -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" --junitxml="$junit" "$@" tests/awx || rc=$?
"$VENV_PY" "$REPO_ROOT/scripts/results.py" junit awx --rc "$rc" "$junit"
exit "$rc"
