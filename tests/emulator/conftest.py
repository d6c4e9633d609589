"""Fixtures for the emulator tests: one emulator process for the session, reset before every test.

The emulator runs exactly as users run it (``python -m emulator serve --port 0 --state-dir DIR`` from
the repository root); the tests talk to it over HTTPS with the CA bundle it writes, through raw
``requests`` calls and through the real Azure SDK (azure-identity, azure-mgmt-dataprotection).
"""

import contextlib
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0
LRO_SECONDS = "0.2"
DP_API = "2026-06-01"


def parse_env_file(path):
    """``export NAME='value'`` lines into a dict (the emulator writes nothing else besides comments)."""
    values = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("export "):
            name, _equals, raw = line[len("export "):].partition("=")
            values[name] = shlex.split(raw)[0] if raw else ""
    return values


def start_emulator(state_dir, *extra, timeout=START_TIMEOUT):
    """Start an emulator subprocess; return (process, env.sh values) once env.sh exists (bounded wait)."""
    state_dir = Path(state_dir)
    log = open(state_dir.parent / f"{state_dir.name}.log", "wb")  # closed by stop_emulator
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", "0", "--state-dir", str(state_dir), *extra],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    process.log_file = log
    deadline = time.monotonic() + timeout
    env_file = state_dir / "env.sh"
    while not env_file.exists():
        if process.poll() is not None:
            log.close()
            log_text = (state_dir.parent / f"{state_dir.name}.log").read_text(encoding="utf-8", errors="replace")
            raise RuntimeError(f"emulator exited with {process.returncode}: {log_text}")
        if time.monotonic() > deadline:
            stop_emulator(process)
            raise RuntimeError(f"emulator did not write {env_file} within {timeout} s")
        time.sleep(0.05)
    return process, parse_env_file(env_file)


def stop_emulator(process, timeout=10):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    process.log_file.close()
    return process.returncode


@dataclass
class Emulator:
    """A running emulator and helpers to call it."""

    url: str
    state_dir: Path
    envs: dict
    seed: dict = field(default_factory=dict)
    _tokens: dict = field(default_factory=dict)

    @property
    def ca_bundle(self):
        return str(self.state_dir / "ca-bundle.pem")

    @property
    def env(self):
        return self.envs["env.sh"]

    @property
    def subscription(self):
        return self.env["AZURE_SUBSCRIPTION_ID"]

    @property
    def audience(self):
        return self.seed["audience"]

    def control(self, method, name, **kwargs):
        response = requests.request(method, f"{self.url}/_emulator/{name}", verify=self.ca_bundle, timeout=10,
                                    **kwargs)
        response.raise_for_status()
        return response.json()

    def credential(self, env_file="env.sh"):
        from azure.identity import ClientSecretCredential  # imported where used: slow to import

        env = self.envs[env_file]
        return ClientSecretCredential(env["AZURE_TENANT"], env["AZURE_CLIENT_ID"], env["AZURE_SECRET"],
                                      authority=self.url, disable_instance_discovery=True)

    def token(self, env_file="env.sh"):
        if env_file not in self._tokens:
            self._tokens[env_file] = self.credential(env_file).get_token(self.audience + ".default").token
        return self._tokens[env_file]

    def arm(self, method, path, env_file="env.sh", api_version=DP_API, token=None, **kwargs):
        """A raw ARM call; ``api_version=None`` sends none. No retries, so tests see every answer."""
        params = dict(kwargs.pop("params", {}))
        if api_version is not None:
            params.setdefault("api-version", api_version)
        headers = dict(kwargs.pop("headers", {}))
        if token is not False:
            headers.setdefault("Authorization", f"Bearer {token or self.token(env_file)}")
        return requests.request(method, self.url + path, params=params, headers=headers, verify=self.ca_bundle,
                                timeout=15, **kwargs)

    def dataprotection(self, env_file="env.sh", **kwargs):
        from azure.mgmt.dataprotection import DataProtectionMgmtClient

        return DataProtectionMgmtClient(self.credential(env_file), self.subscription, base_url=self.url + "/",
                                        credential_scopes=[self.audience + "/.default"], **kwargs)

    @staticmethod
    def vault_body(location="eastus", redundancy="LocallyRedundant", **properties):
        """A minimal valid vault PUT body."""
        return {"location": location,
                "properties": {"storageSettings": [{"datastoreType": "VaultStore", "type": redundancy}], **properties}}

    @staticmethod
    def error_code(response):
        """The ARM error code of a response (or a description of what came back instead)."""
        try:
            return response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return f"<no ARM error body: {response.status_code} {response.text[:200]}>"

    def vault_path(self, name, group="rg-backup", subscription=None):
        return (f"/subscriptions/{subscription or self.subscription}/resourceGroups/{group}"
                f"/providers/Microsoft.DataProtection/backupVaults/{name}")


@contextlib.contextmanager
def running_emulator(state_dir, *extra, timeout=START_TIMEOUT):
    """An emulator process for the duration of the block, trusted through REQUESTS_CA_BUNDLE; on exit it must
    stop cleanly on SIGTERM without having printed a traceback."""
    process, env = start_emulator(state_dir, *extra, timeout=timeout)
    envs = {name: parse_env_file(state_dir / name) for name in ("env.sh", "env-no-rbac.sh", "env-reader.sh")}
    saved = os.environ.get("REQUESTS_CA_BUNDLE")
    # azure-identity and azure-core use requests, which reads the bundle from the environment, as users do.
    os.environ["REQUESTS_CA_BUNDLE"] = env["REQUESTS_CA_BUNDLE"]
    instance = Emulator(url=env["EMULATOR_URL"], state_dir=state_dir, envs=envs)
    try:
        instance.seed = instance.control("GET", "seed")
        yield instance
    finally:
        if saved is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = saved
        code = stop_emulator(process)
        log = (state_dir.parent / "state.log").read_text(encoding="utf-8", errors="replace")
        assert code == 0, f"emulator did not stop cleanly ({code}):\n{log}"
        assert "Traceback" not in log, f"emulator printed a traceback:\n{log}"


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("emulator") / "state"
    state_dir.mkdir()
    with running_emulator(state_dir, "--lro-seconds", LRO_SECONDS) as instance:
        yield instance


@pytest.fixture
def launcher():
    """Start/stop extra emulator processes (lifecycle tests); every process started is stopped."""
    started = []

    def start(state_dir, *extra):
        process, env = start_emulator(state_dir, *extra)
        started.append(process)
        return process, env

    yield SimpleNamespace(start=start, stop=stop_emulator, parse_env_file=parse_env_file)
    for process in started:
        stop_emulator(process)


@pytest.fixture
def inproc(tmp_path):
    """The emulator app in this process (no server) with 60 s operations; ``finish()`` completes them.

    For assertions about running operations that must not depend on machine load.
    """
    from werkzeug.test import Client  # imported where used

    from emulator import identity, seed
    from emulator.server import EmulatorApp
    from emulator.settings import Settings

    app = EmulatorApp(Settings(state_dir=tmp_path, lro_seconds=60))
    owner = identity.find_principal(app.store, seed.PRINCIPALS[0]["objectId"])
    token = app.tokens.mint(owner, seed.AUDIENCE, "tests")
    client = Client(app)

    def call(method, path, api_version=DP_API, **kwargs):
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return client.open(path, method=method, headers=headers, base_url="https://127.0.0.1:8443",
                           query_string={"api-version": api_version}, **kwargs)

    def finish():
        with app.store.lock:
            for operation in app.store.operations.operations.values():
                operation.due = 0.0
            app.store.operations.settle()

    return SimpleNamespace(app=app, call=call, finish=finish, subscription=seed.SUBSCRIPTION_ID,
                           vault_body=Emulator.vault_body,
                           vault_path=lambda name, group="rg-backup": (
                               f"/subscriptions/{seed.SUBSCRIPTION_ID}/resourceGroups/{group}"
                               f"/providers/Microsoft.DataProtection/backupVaults/{name}"))


@pytest.fixture(autouse=True)
def fresh_state(request):
    """Every test starts from the seeded state (only when it uses the emulator)."""
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").control("POST", "reset")
    yield
