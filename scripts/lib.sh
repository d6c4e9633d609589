# shellcheck shell=bash
# Shared settings and helpers for the scripts in this folder. Source it; do not run it.
#
# Every script works from the repository root and honours:
#   VENV     the virtualenv (default: .venv at the repository root)
#   PYTHON   the interpreter `make venv` creates the virtualenv with (default: python3.11, else python3)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VENV="${VENV:-.venv}"
case "$VENV" in
    /*) ;;
    *) VENV="$REPO_ROOT/$VENV" ;;
esac
VENV_PY="$VENV/bin/python"

# ansible-test only works inside a physical .../ansible_collections/<namespace>/<name>/ directory,
# so the scripts copy the working tree there. It lives under .tmp/ (git-ignored, never copied itself).
COLLECTIONS_ROOT="$REPO_ROOT/.tmp/collections"
# shellcheck disable=SC2034  # used by the scripts that source this file
COLLECTION_DIR="$COLLECTIONS_ROOT/ansible_collections/azbackup/dataprotection"

# Test results (counts for the `make test` summary, junit XML) of the working tree.
# shellcheck disable=SC2034  # used by the scripts that source this file
RESULTS_DIR="$REPO_ROOT/tests/output"

export VENV
export PATH="$VENV/bin:$PATH"

log() {
    printf '>>> %s\n' "$*" >&2
}

die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}

require_venv() {
    [[ -x "$VENV_PY" ]] || die "no virtualenv at $VENV: run 'make venv' first"
}

# Python version of the virtualenv as MAJOR.MINOR (what ansible-test's --python wants).
venv_python_version() {
    "$VENV_PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

# Record the counts of one step for the summary line of `make test`.
record_result() {  # NAME PASSED FAILED [SKIPPED]
    "$VENV_PY" "$REPO_ROOT/scripts/results.py" record "$1" --passed "$2" --failed "$3" --skipped "${4:-0}"
}

# ---------------------------------------------------------------------------------------------------
# The bundled emulator (see /work/shared/guide/emulator.md, "Control surface").

EMULATOR_PID=""
EMULATOR_TMP=""
EMULATOR_STATE_DIR=""
EMULATOR_LOG=""
EMULATOR_KEEP_STATE="${EMULATOR_KEEP_STATE:-}"

# Start the emulator on a free port with a fresh state directory and wait (bounded) until it has
# written env.sh. Sets EMULATOR_PID, EMULATOR_STATE_DIR and EMULATOR_LOG. Call emulator_stop from an
# EXIT trap. EMULATOR_ARGS adds `emulator serve` options, e.g. EMULATOR_ARGS="--latency-ms 50".
emulator_start() {
    local timeout waited=0 extra=()
    read -r -a extra <<<"${EMULATOR_ARGS:-}"
    # --data-plane starts PostgreSQL (initdb on first start) and Azurite before env.sh is written.
    case " ${EMULATOR_ARGS:-} " in
        *" --data-plane "*) timeout="${EMULATOR_START_TIMEOUT:-300}" ;;
        *) timeout="${EMULATOR_START_TIMEOUT:-30}" ;;
    esac
    [[ -d "$REPO_ROOT/emulator" ]] || die "the emulator package ($REPO_ROOT/emulator) is missing"
    EMULATOR_TMP="$(mktemp -d "${TMPDIR:-/tmp}/azbackup-emulator.XXXXXX")"
    EMULATOR_STATE_DIR="$EMULATOR_TMP/state"
    EMULATOR_LOG="$EMULATOR_TMP/emulator.log"
    mkdir -p "$EMULATOR_STATE_DIR"
    log "starting the emulator (state: $EMULATOR_STATE_DIR, log: $EMULATOR_LOG)"
    (cd "$REPO_ROOT" && exec "$VENV_PY" -m emulator serve --port 0 --state-dir "$EMULATOR_STATE_DIR" "${extra[@]}") \
        >"$EMULATOR_LOG" 2>&1 </dev/null &
    EMULATOR_PID=$!
    while [[ ! -s "$EMULATOR_STATE_DIR/env.sh" ]] || ! grep -q 'EMULATOR_URL' "$EMULATOR_STATE_DIR/env.sh"; do
        if ! kill -0 "$EMULATOR_PID" 2>/dev/null; then
            emulator_show_log 40
            EMULATOR_PID=""
            die "the emulator exited before it was ready"
        fi
        if ((waited >= timeout * 10)); then
            emulator_show_log 40
            die "the emulator did not write $EMULATOR_STATE_DIR/env.sh within ${timeout}s"
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    # env-no-rbac.sh is written together with env.sh; allow it a moment more.
    waited=0
    while [[ ! -s "$EMULATOR_STATE_DIR/env-no-rbac.sh" ]] && ((waited < 50)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    log "emulator ready (pid $EMULATOR_PID)"
}

emulator_show_log() {  # LINES
    if [[ -n "$EMULATOR_LOG" && -s "$EMULATOR_LOG" ]]; then
        printf -- '--- emulator log (last %s lines of %s) ---\n' "$1" "$EMULATOR_LOG" >&2
        tail -n "$1" "$EMULATOR_LOG" >&2
        printf -- '--- end of emulator log ---\n' >&2
    fi
}

# Stop the emulator (SIGTERM, then SIGKILL after 10 s) and remove its temporary directory
# (kept when EMULATOR_KEEP_STATE is set).
emulator_stop() {
    local i
    if [[ -n "$EMULATOR_PID" ]] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
        kill -TERM "$EMULATOR_PID" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$EMULATOR_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$EMULATOR_PID" 2>/dev/null; then
            log "the emulator did not stop on SIGTERM; killing it"
            kill -KILL "$EMULATOR_PID" 2>/dev/null || true
        fi
        wait "$EMULATOR_PID" 2>/dev/null || true
    fi
    EMULATOR_PID=""
    if [[ -n "$EMULATOR_TMP" && -d "$EMULATOR_TMP" ]]; then
        if [[ -n "$EMULATOR_KEEP_STATE" ]]; then
            log "emulator state and log kept in $EMULATOR_TMP"
        else
            rm -rf "$EMULATOR_TMP"
        fi
    fi
    EMULATOR_TMP=""
    EMULATOR_STATE_DIR=""
}

# How many ARM requests the emulator has logged so far (its request log since start or reset).
emulator_request_count() {
    "$VENV_PY" - "$EMULATOR_URL" "${REQUESTS_CA_BUNDLE:-$EMULATOR_STATE_DIR/ca-bundle.pem}" <<'PY'
import json, ssl, sys, urllib.request
context = ssl.create_default_context(cafile=sys.argv[2])
with urllib.request.urlopen(sys.argv[1] + "/_emulator/requests", context=context, timeout=30) as response:
    print(len(json.load(response)))
PY
}

# How many write requests (PUT, PATCH, DELETE, POST) the emulator logged after the first N requests.
emulator_writes_since() {  # N
    "$VENV_PY" - "$EMULATOR_URL" "${REQUESTS_CA_BUNDLE:-$EMULATOR_STATE_DIR/ca-bundle.pem}" "$1" <<'PY'
import json, ssl, sys, urllib.request
context = ssl.create_default_context(cafile=sys.argv[2])
with urllib.request.urlopen(sys.argv[1] + "/_emulator/requests", context=context, timeout=30) as response:
    log = json.load(response)[int(sys.argv[3]):]
print(sum(1 for entry in log if entry["method"] in ("PUT", "PATCH", "DELETE", "POST")))
PY
}
