#!/usr/bin/env bash
# Install the Debian packages the build needs, and only those that are missing:
#   - a Python 3.11+ interpreter that can create virtualenvs (python3, python3-venv)
#   - git (the sanity/lint/integration copies list files with `git ls-files`)
#   - shellcheck (ansible-test's shellcheck sanity test)
#   - make (only matters when .ci/run calls this before make exists)
#   - postgresql (the emulator's data plane runs a real PostgreSQL: initdb, pg_ctl, pg_dump, pg_restore)
#   - nodejs and npm (scripts/install-node-tools.sh installs Azurite, the data plane's storage, with npm)
# Runs `apt-get update` once before installing and skips apt entirely when nothing is missing.
# Not root: uses `sudo -n` when available, otherwise prints what to install and fails.
set -euo pipefail

missing=()

have() {
    command -v "$1" >/dev/null 2>&1
}

# The interpreter scripts/make-venv.sh will pick (same rule).
find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [[ -n "$candidate" ]] || continue
        if have "$candidate" && "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# `python -m venv` works only with ensurepip (Debian ships it in python3-venv): try it for real.
venv_works() {
    local tmp rc=0
    tmp="$(mktemp -d)"
    "$1" -m venv "$tmp/venv" >/dev/null 2>&1 && "$tmp/venv/bin/python" -m pip --version >/dev/null 2>&1 || rc=1
    rm -rf "$tmp"
    return "$rc"
}

if python="$(find_python)"; then
    if ! venv_works "$python"; then
        case "$python" in
            /usr/bin/*)
                version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
                missing+=("python${version}-venv")
                ;;
            *)
                echo "ERROR: $python cannot create virtualenvs (python -m venv failed) and is not Debian's python;" \
                    "fix that interpreter or set PYTHON=/path/to/python3.11" >&2
                exit 1
                ;;
        esac
    fi
else
    # Debian 12's python3 is 3.11.
    missing+=(python3 python3-venv)
fi

have git || missing+=(git)
have shellcheck || missing+=(shellcheck)
have make || missing+=(make)
# Debian installs the server binaries under /usr/lib/postgresql/<version>/bin, not on PATH.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || have initdb || missing+=(postgresql)
have node || missing+=(nodejs)
have npm || missing+=(npm)

if ((${#missing[@]} == 0)); then
    exit 0
fi

echo ">>> installing missing system packages: ${missing[*]}" >&2
if [[ "$(id -u)" -eq 0 ]]; then
    sudo=()
elif have sudo && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "ERROR: not root and no password-less sudo: install these Debian packages, then rerun:" >&2
    echo "    apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
