#!/usr/bin/env bash
# Copy the working tree into the physical collection directory
#   .tmp/collections/ansible_collections/azbackup/dataprotection
# that ansible-test (sanity, integration), ansible-lint and the demo use (ansible-test refuses symlinks).
# In a git checkout the copy holds the tracked files plus the untracked ones that .gitignore does not
# exclude (`git ls-files -co --exclude-standard`); elsewhere, the tree minus the usual scratch folders.
# The copy is rebuilt from scratch each time, so files deleted from the tree disappear from it too.
# Anything written into the copy (ansible-test's tests/output, integration_config.yml) is lost too.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

rm -rf "$COLLECTION_DIR"
mkdir -p "$COLLECTION_DIR"

if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && [[ "$(git rev-parse --show-toplevel)" == "$REPO_ROOT" ]]; then
    # Tracked files deleted from the work tree are still listed: keep only what exists.
    git ls-files -z -co --exclude-standard \
        | "$VENV_PY" -c '
import os, sys
names = [n for n in sys.stdin.buffer.read().split(b"\0") if n]
skip = (b".tmp/", b".venv/", b"tests/output/")
sys.stdout.buffer.write(b"".join(n + b"\0" for n in names if os.path.lexists(n) and not n.startswith(skip)))
' \
        | tar --null --no-recursion -T - -cf - \
        | tar -xf - -C "$COLLECTION_DIR"
else
    tar -cf - \
        --exclude=./.git --exclude=./.venv --exclude=./.tmp --exclude=./tests/output \
        --exclude=./.pytest_cache --exclude=./.ruff_cache --exclude=./.ansible --exclude=./collections \
        --exclude=__pycache__ --exclude='*.pyc' --exclude='*.tar.gz' \
        --exclude=./tests/integration/integration_config.yml --exclude=./tests/integration/cloud-config-azure.ini \
        . | tar -xf - -C "$COLLECTION_DIR"
fi

# The copy lies inside this repository's work tree, under the git-ignored .tmp/. ansible-test looks for
# the nearest enclosing git repository and lists files with `git ls-files --cached --others
# --exclude-standard`; from the outer repository that list would be empty ("All targets skipped").
# An empty repository of its own in the copy makes ansible-test list exactly the copied files (minus
# what the copied .gitignore excludes, e.g. tests/output/).
if command -v git >/dev/null 2>&1; then
    git -c init.defaultBranch=main -C "$COLLECTION_DIR" init -q
fi
log "collection copied to $COLLECTION_DIR"
