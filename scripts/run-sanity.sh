#!/usr/bin/env bash
# ansible-test sanity on a physical copy of the collection (ansible-test needs
# .../ansible_collections/azbackup/dataprotection/). Extra arguments go to ansible-test, e.g.
#   scripts/run-sanity.sh --test pylint
# ansible-test installs each sanity test's pinned tools (pylint, yamllint, ...) in its own virtualenvs
# under ~/.ansible/test/venv on first use.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv
cd "$REPO_ROOT"

command -v shellcheck >/dev/null 2>&1 || "$REPO_ROOT/scripts/bootstrap-system.sh"
"$REPO_ROOT/scripts/ansible-test-prepare.sh"
"$REPO_ROOT/scripts/sync-collection.sh"

python_version="$(venv_python_version)"
rc=0
(
    cd "$COLLECTION_DIR"
    ansible-test sanity --local --python "$python_version" --color no --junit -v "$@"
) || rc=$?

# One junit file per sanity test; copy them next to the other results of the working tree.
mkdir -p "$RESULTS_DIR/junit/sanity"
rm -f "$RESULTS_DIR/junit/sanity/"*.xml
cp "$COLLECTION_DIR/tests/output/junit/"*.xml "$RESULTS_DIR/junit/sanity/" 2>/dev/null || true
"$VENV_PY" "$REPO_ROOT/scripts/results.py" junit sanity --rc "$rc" "$RESULTS_DIR/junit/sanity"
exit "$rc"
