#!/usr/bin/env bash
# The documentation and the changelog, as the Ansible community tools read them:
#   antsibull-docs lint-collection-docs --plugin-docs   every module, plugin and role argument spec (markup, links,
#                                                        references to options and return values)
#   antsibull-changelog lint                             changelogs/changelog.yaml and every fragment
# Both run in the physical copy of the collection (they need ansible_collections/<namespace>/<name>/).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv
cd "$REPO_ROOT"
"$REPO_ROOT/scripts/sync-collection.sh"
cd "$COLLECTION_DIR"

passed=0
failed=0
check() {  # NAME COMMAND...: a check passes when the command exits 0 and prints nothing
    local name="$1" output rc=0
    shift
    output="$("$@" 2>&1)" || rc=$?
    if ((rc == 0)) && [[ -z "$output" ]]; then
        echo "docs-lint: $name ok"
        passed=$((passed + 1))
    else
        printf 'docs-lint: %s failed (exit %d):\n%s\n' "$name" "$rc" "$output" >&2
        failed=$((failed + 1))
    fi
}
check "antsibull-docs lint-collection-docs --plugin-docs" \
    "$VENV/bin/antsibull-docs" lint-collection-docs --plugin-docs .
check "antsibull-changelog lint" "$VENV/bin/antsibull-changelog" lint
record_result docs-lint "$passed" "$failed"
((failed == 0))
