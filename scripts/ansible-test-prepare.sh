#!/usr/bin/env bash
# Make ansible-test usable on machines that reach only the package registries.
#
# ansible-test bootstraps pip in every virtualenv it creates (the sanity test environments) by running
# a get-pip script downloaded from a host that these machines cannot reach; the run then fails with
# "does not have pip available". It uses ~/.ansible/test/cache/get_pip_<version>.py when that file
# exists (<version> is the pip version ansible-test pins, 24.2 -> get_pip_24_2.py for ansible-core
# 2.19), so this script writes a small stand-in there: it runs `ensurepip`, then
# `pip install --upgrade <the pinned pip>` through the machine's normal pip configuration.
# A real get-pip script already in the cache is left alone.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv

# The pinned pip version, read from the installed ansible-test (`pip='24.2'` in python_requirements.py).
pip_version="$("$VENV_PY" - <<'PY'
import os
import re

import ansible_test

path = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
with open(path, encoding="utf-8") as f:
    match = re.search(r"\bpip\s*=\s*'([0-9.]+)'", f.read())
print(match.group(1) if match else "24.2")
PY
)"

cache_dir="$HOME/.ansible/test/cache"
target="$cache_dir/get_pip_${pip_version//./_}.py"
marker="azbackup.dataprotection stand-in for get-pip"

if [[ -f "$target" ]] && ! grep -q "$marker" "$target"; then
    log "using the existing $target"
    exit 0
fi

mkdir -p "$cache_dir"
tmp="$(mktemp "$cache_dir/.get_pip.XXXXXX")"
chmod 644 "$tmp"
cat >"$tmp" <<PY
"""${marker} (written by scripts/ansible-test-prepare.sh).

ansible-test runs this file (via runpy, as __main__) with the Python of a new virtualenv and get-pip's
arguments, e.g. "--disable-pip-version-check pip==${pip_version} --no-setuptools --no-wheel".
"""

import os
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel", "--no-pip")


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    # ensurepip runs in a child process: in-process it deletes every PIP_* variable and points
    # PIP_CONFIG_FILE at /dev/null, which would hide the machine's index settings from the next step.
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    env = dict(os.environ)
    if env.get("PIP_CONFIG_FILE") == os.devnull:
        del env["PIP_CONFIG_FILE"]
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade"] + args, env=env)


if __name__ == "__main__":
    main()
PY
if [[ -f "$target" ]] && cmp -s "$tmp" "$target"; then
    rm -f "$tmp"
else
    mv -f "$tmp" "$target"
    log "wrote the get-pip stand-in $target"
fi
