#!/usr/bin/env bash
# Create (or update) the virtualenv at $VENV (default .venv) with everything in requirements-dev.txt.
# Called by `make venv` when requirements*.txt changed or the virtualenv is missing; the Makefile keeps
# a stamp file so that a second `make venv` does nothing.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

supported='import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))'

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [[ -n "$candidate" ]] || continue
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "$supported" 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# Reuse a working virtualenv; recreate one whose interpreter is gone or unsupported.
if [[ -x "$VENV_PY" ]] && "$VENV_PY" -c "$supported" 2>/dev/null && "$VENV_PY" -m pip --version >/dev/null 2>&1; then
    log "updating the virtualenv $VENV"
else
    python="$(find_python)" || die "no Python 3.11 to 3.13 found (tried \$PYTHON, python3.11, python3): run scripts/bootstrap-system.sh"
    log "creating the virtualenv $VENV with $python ($("$python" --version 2>&1))"
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
fi

# pip reads the machine's index settings (pip.conf, PIP_* variables) as usual.
"$VENV_PY" -m pip install --quiet --upgrade pip
"$VENV_PY" -m pip install --quiet -r requirements-dev.txt
"$VENV_PY" -m pip check || log "pip check reported the problems above (not fatal)"
log "virtualenv ready: $("$VENV/bin/ansible" --version 2>/dev/null | head -n 1 || true)"
