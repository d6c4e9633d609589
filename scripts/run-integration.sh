#!/usr/bin/env bash
# ansible-test integration against the bundled emulator.
#
#   scripts/run-integration.sh [TARGET...] [-- extra ansible-test arguments]
#
# 1. copies the tree to the physical collection directory (.tmp/collections/ansible_collections/...);
# 2. starts the emulator on a free port with a fresh state directory and waits (30 s at most) for env.sh;
# 3. writes tests/integration/integration_config.yml in the copy; ansible-test passes that file to every
#    role target as vars_files. Variables:
#      azure_cloud_environment azure_client_id azure_secret azure_tenant azure_subscription_id
#      emulator_url emulator_ca_bundle          (principal that may assign roles, from env.sh)
#      norbac_azure_cloud_environment norbac_azure_client_id norbac_azure_secret norbac_azure_tenant
#      norbac_azure_subscription_id norbac_emulator_url norbac_emulator_ca_bundle
#                                               (principal without roleAssignments/write, env-no-rbac.sh)
# 4. runs ansible-test integration --local in the copy, and always stops the emulator.
#
# Environment: ansible-test does NOT pass the caller's environment to ansible-playbook. It runs it with
# a fixed allow-list (PATH, HOME, LC_ALL, LD_LIBRARY_PATH, SSH_AUTH_SOCK, ... see common_environment()
# in ansible_test/_internal/util.py) plus its own ANSIBLE_* settings, so AZURE_* and REQUESTS_CA_BUNDLE
# exported here do not reach the modules. Targets therefore take everything from the variables above:
#   module_defaults: {group/azbackup.dataprotection.azure: {cloud_environment: "{{ azure_cloud_environment }}", ...}}
#   environment: {REQUESTS_CA_BUNDLE: "{{ emulator_ca_bundle }}"}
# (The variables are exported anyway, for script targets and for anything run outside ansible-test.)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv
cd "$REPO_ROOT"

targets=()
extra=()
while (($#)); do
    case "$1" in
        --) shift; extra+=("$@"); break ;;
        -*) extra+=("$1") ;;
        *) targets+=("$1") ;;
    esac
    shift
done

"$REPO_ROOT/scripts/ansible-test-prepare.sh"
"$REPO_ROOT/scripts/sync-collection.sh"

targets_dir="$COLLECTION_DIR/tests/integration/targets"
for target in "${targets[@]}"; do
    [[ -d "$targets_dir/$target" ]] || die "no integration target '$target' under tests/integration/targets/"
done
if [[ ! -d "$targets_dir" ]] || [[ -z "$(find "$targets_dir" -mindepth 1 -maxdepth 1 -type d | head -n 1)" ]]; then
    echo "integration: no targets under tests/integration/targets/ yet: nothing to run"
    record_result integration 0 0
    exit 0
fi

config="$COLLECTION_DIR/tests/integration/integration_config.yml"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    rm -f "$config"
    emulator_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# One emulator serves the whole run: when a target of the run needs real files (alias data_plane), the data plane
# (PostgreSQL + Azurite) is on for all of it.
data_plane_targets=()
for dir in "$targets_dir"/*/; do
    name="$(basename "$dir")"
    if ((${#targets[@]})) && [[ " ${targets[*]} " != *" $name "* ]]; then
        continue
    fi
    if grep -qx 'data_plane' "$dir/aliases" 2>/dev/null; then
        data_plane_targets+=("$name")
    fi
done
if ((${#data_plane_targets[@]})) && [[ " ${EMULATOR_ARGS:-} " != *" --data-plane "* ]]; then
    log "the data plane is on for this run (needed by: ${data_plane_targets[*]})"
    export EMULATOR_ARGS="${EMULATOR_ARGS:-} --data-plane"
fi
emulator_start

# Variables for the targets, from env.sh and env-no-rbac.sh (each sourced in a subshell).
env_json() {  # FILE
    (
        unset AZURE_CLOUD_ENVIRONMENT AZURE_CLIENT_ID AZURE_SECRET AZURE_TENANT AZURE_SUBSCRIPTION_ID EMULATOR_URL
        # shellcheck disable=SC1090
        source "$1"
        "$VENV_PY" -c '
import json, os
keys = ("AZURE_CLOUD_ENVIRONMENT", "AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT",
        "AZURE_SUBSCRIPTION_ID", "REQUESTS_CA_BUNDLE", "EMULATOR_URL")
print(json.dumps({k: os.environ.get(k, "") for k in keys}))'
    )
}

main_env="$(env_json "$EMULATOR_STATE_DIR/env.sh")"
norbac_env='{}'
if [[ -s "$EMULATOR_STATE_DIR/env-no-rbac.sh" ]]; then
    norbac_env="$(env_json "$EMULATOR_STATE_DIR/env-no-rbac.sh")"
else
    log "WARNING: the emulator wrote no env-no-rbac.sh: the norbac_* variables are not set"
fi

mkdir -p "$(dirname "$config")"
"$VENV_PY" - "$main_env" "$norbac_env" "$config" <<'PY'
import json
import sys

main_env, norbac_env, path = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
names = {
    "AZURE_CLOUD_ENVIRONMENT": "azure_cloud_environment",
    "AZURE_CLIENT_ID": "azure_client_id",
    "AZURE_SECRET": "azure_secret",
    "AZURE_TENANT": "azure_tenant",
    "AZURE_SUBSCRIPTION_ID": "azure_subscription_id",
    "EMULATOR_URL": "emulator_url",
    "REQUESTS_CA_BUNDLE": "emulator_ca_bundle",
}
lines = ["---", "# Written by scripts/run-integration.sh for one emulator run; do not commit."]
for prefix, env in (("", main_env), ("norbac_", norbac_env)):
    for key, var in names.items():
        if key in env:
            # JSON strings are valid YAML scalars.
            lines.append("%s%s: %s" % (prefix, var, json.dumps(env[key])))
with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")
PY
chmod 600 "$config"

set -a
# shellcheck disable=SC1091
source "$EMULATOR_STATE_DIR/env.sh"
set +a

python_version="$(venv_python_version)"
output="$RESULTS_DIR/integration.log"
mkdir -p "$RESULTS_DIR"
rc=0
(
    cd "$COLLECTION_DIR"
    rm -rf tests/output/data
    ansible-test integration --local --python "$python_version" --color no --continue-on-error \
        "${extra[@]}" "${targets[@]}"
) 2>&1 | tee "$output" || rc=$?

# Passed targets are listed in ansible-test's results file; failed ones in its closing error message.
passed="$("$VENV_PY" - "$COLLECTION_DIR/tests/output/data" <<'PY'
import glob
import json
import os
import sys

names = set()
for path in glob.glob(os.path.join(sys.argv[1], "integration-*.json")):
    with open(path, encoding="utf-8") as f:
        names.update(json.load(f).get("targets", {}))
print(len(names))
PY
)"
failed="$(sed -n 's/.*The \([0-9][0-9]*\) integration test(s) listed below.*/\1/p' "$output" | tail -n 1)"
failed="${failed:-0}"
if ((rc != 0 && failed == 0)); then
    failed=1
fi
if ((rc != 0)); then
    emulator_show_log 60
fi
record_result integration "$passed" "$failed"
exit "$rc"
