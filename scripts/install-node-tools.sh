#!/usr/bin/env bash
# Install the npm tools the emulator's data plane needs into .tmp/node (git-ignored):
#   - azurite (a local Azure Storage blob service; `python -m emulator serve --data-plane` starts it)
# Called by `make venv`; quick when the wanted version is already there. Needs node and npm
# (scripts/bootstrap-system.sh installs Debian's nodejs and npm when they are missing).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

AZURITE_VERSION="${AZURITE_VERSION:-3.35.0}"
NODE_PREFIX="$REPO_ROOT/.tmp/node"
installed="$NODE_PREFIX/node_modules/azurite/package.json"

command -v npm >/dev/null 2>&1 || die "npm is missing: run scripts/bootstrap-system.sh (installs nodejs and npm)"

if [[ -f "$installed" ]] && grep -q "\"version\": \"$AZURITE_VERSION\"" "$installed" \
    && [[ -x "$NODE_PREFIX/node_modules/.bin/azurite-blob" ]]; then
    exit 0
fi

log "installing azurite $AZURITE_VERSION into $NODE_PREFIX"
mkdir -p "$NODE_PREFIX"
# npm reads the machine's registry settings (.npmrc, npm_config_* variables) as usual.
npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --no-save --loglevel=error "azurite@$AZURITE_VERSION"
"$NODE_PREFIX/node_modules/.bin/azurite-blob" --version >/dev/null
log "azurite ready: $NODE_PREFIX/node_modules/.bin/azurite-blob"
