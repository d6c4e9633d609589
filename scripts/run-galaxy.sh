#!/usr/bin/env bash
# What Galaxy and Automation Hub check on upload, offline, on the tarball `make build` makes:
#   1. the file list holds what a user needs and nothing else (galaxy.yml build_ignore): no tests, emulator,
#      scripts, caches, virtualenvs, benchmark output;
#   2. galaxy-importer (tests/galaxy-importer.cfg: ansible-doc, changelog, offline ansible-lint; no ansible-test,
#      which needs a container runtime) passes with no error and no warning.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv
cd "$REPO_ROOT"

work="$REPO_ROOT/.tmp/galaxy"
rm -rf "$work"
mkdir -p "$work/dist"
"$VENV/bin/ansible-galaxy" collection build --force --output-path "$work/dist" . >/dev/null
tarball="$(ls "$work"/dist/azbackup-dataprotection-*.tar.gz)"
passed=0
failed=0

# Top-level entries a user needs; anything else, and any cache or output file, is a packaging mistake.
unexpected="$(tar -tzf "$tarball" | grep -Ev '^(MANIFEST\.json|FILES\.json|README\.md|LICENSE|requirements\.txt|bindep\.txt|(changelogs|docs|meta|playbooks|plugins|roles)(/.*)?)$' || true)"
junk="$(tar -tzf "$tarball" | grep -E '(__pycache__|\.pyc$|\.pytest_cache|\.ruff_cache|\.venv|/output/|\.tmp/|\.log$|integration_config\.yml)' || true)"
if [[ -n "$unexpected$junk" ]]; then
    echo "galaxy: the tarball holds files a user does not need:" >&2
    printf '%s\n' "$unexpected" "$junk" | sed '/^$/d' >&2
    failed=$((failed + 1))
else
    echo "galaxy: file list ok ($(tar -tzf "$tarball" | grep -vc '/$') files)"
    passed=$((passed + 1))
fi

log="$work/galaxy-importer.log"
rc=0
(cd "$work" && GALAXY_IMPORTER_CONFIG="$REPO_ROOT/tests/galaxy-importer.cfg" \
    "$VENV_PY" -m galaxy_importer.main "$tarball") >"$log" 2>&1 || rc=$?
if ((rc != 0)) || grep -Eq '(^|[^A-Za-z])(WARNING|ERROR)' "$log"; then
    echo "galaxy: galaxy-importer reported errors or warnings (exit $rc):" >&2
    grep -E 'WARNING|ERROR' "$log" >&2 || tail -n 20 "$log" >&2
    failed=$((failed + 1))
else
    echo "galaxy: galaxy-importer: $(tail -n 1 "$log")"
    passed=$((passed + 1))
fi
record_result galaxy "$passed" "$failed"
((failed == 0))
