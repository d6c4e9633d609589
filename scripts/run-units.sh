#!/usr/bin/env bash
# Plain pytest over tests/unit and tests/emulator (no ansible-test needed). The root conftest.py makes
# ansible_collections.azbackup.dataprotection importable from the working tree. Extra arguments go to
# pytest, e.g. scripts/run-units.sh -k vault
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv
cd "$REPO_ROOT"

paths=()
for dir in tests/unit tests/emulator; do
    [[ -d "$dir" ]] && paths+=("$dir")
done

junit="$RESULTS_DIR/junit/units.xml"
mkdir -p "$(dirname "$junit")"
rm -f "$junit"

# pytest exits 5 when it collects nothing. That is only fine when there is truly no test file yet.
have_tests() {
    ((${#paths[@]} > 0)) && [[ -n "$(find "${paths[@]}" -name 'test_*.py' -o -name '*_test.py' | head -n 1)" ]]
}

rc=0
if ((${#paths[@]} == 0)) || ! have_tests; then
    echo "units: no test files under tests/unit or tests/emulator yet"
    record_result units 0 0
    exit 0
fi

# The emulator tests spend most of their time waiting on long-running operations (Retry-After >= 1 s), so
# more workers than cores pays off; PYTEST_WORKERS=0 runs them in one process.
workers="${PYTEST_WORKERS:-4}"
# loadgroup: tests marked xdist_group (the data-plane module) share one worker and so one emulator.
"$VENV_PY" -m pytest -q -p no:cacheprovider -n "$workers" --dist loadgroup --junitxml="$junit" "$@" "${paths[@]}" || rc=$?
if ((rc == 5)); then
    echo "ERROR: pytest collected no tests although test files exist" >&2
fi
"$VENV_PY" "$REPO_ROOT/scripts/results.py" junit units --rc "$rc" "$junit"
exit "$rc"
