"""Fixtures of the AWX-style tests: the emulator, and the collection where ansible-playbook finds it."""

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

from tests.emulator.conftest import parse_env_file, start_emulator, stop_emulator

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS_ROOT = REPO_ROOT / ".tmp" / "collections"


@pytest.fixture(scope="session")
def collections_path():
    """The tree copied to .tmp/collections/ansible_collections/azbackup/dataprotection (scripts/sync-collection.sh)."""
    COLLECTIONS_ROOT.parent.mkdir(parents=True, exist_ok=True)
    with open(COLLECTIONS_ROOT.parent / "collections.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers: one copy at a time
        subprocess.run([str(REPO_ROOT / "scripts" / "sync-collection.sh")], check=True, cwd=REPO_ROOT,
                       stdout=subprocess.DEVNULL)
    return str(COLLECTIONS_ROOT)


@pytest.fixture(scope="session")
def emulator_env(tmp_path_factory):
    """The env files of the running emulator: {"env.sh": {...}, "env-user.sh": {...}}."""
    state_dir = tmp_path_factory.mktemp("awx-emulator") / "state"
    state_dir.mkdir()
    process, dummy = start_emulator(state_dir, "--lro-seconds", "0.2")
    try:
        yield {name: parse_env_file(state_dir / name) for name in ("env.sh", "env-user.sh")}
    finally:
        stop_emulator(process)


@pytest.fixture(autouse=True)
def no_azure_environment(monkeypatch):
    """Only what a test passes as the job's environment reaches ansible-playbook (no AZURE_* of the caller's shell)."""
    for name in list(os.environ):
        if name.startswith("AZURE_") or name == "ANSIBLE_AZURE_AUTH_SOURCE":
            monkeypatch.delenv(name)
