"""Azurite (npm ``azurite``) serving the seeded storage accounts' blob endpoints.

It runs with HTTPS (the emulator's CA-signed certificate), ``--oauth basic`` (bearer tokens are checked for
lifetime, an ``https://sts.windows.net/`` issuer and a storage audience, not for signature or permissions;
the emulator decides RBAC before it writes) and the seeded accounts in ``AZURITE_ACCOUNTS``. Each account's
blob endpoint is path-style: ``https://127.0.0.1:<port>/<account>/``. The emulator itself writes with the
account keys.
"""

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from emulator.dataplane.postgres import DataPlaneError, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 120
SEEDED_CONTAINER = "restores"


def find_azurite():
    """The azurite-blob launcher: $EMULATOR_AZURITE, the repository's .tmp/node (``make venv``), or PATH."""
    configured = os.environ.get("EMULATOR_AZURITE")
    candidates = [configured] if configured else []
    candidates += [str(REPO_ROOT / ".tmp" / "node" / "node_modules" / ".bin" / "azurite-blob"),
                   shutil.which("azurite-blob") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise DataPlaneError("Azurite is not installed: run `make venv` (scripts/install-node-tools.sh installs the npm "
                         "package azurite into .tmp/node) or set EMULATOR_AZURITE to an azurite-blob launcher")


def account_key(account):
    """A stable base64 account key for an emulated account (only valid against this Azurite)."""
    return base64.b64encode(hashlib.sha512(f"azbackup-emulator|{account}".encode()).digest()).decode()


def _wait_for_port(port, process, deadline):
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


class Azurite:
    """The Azurite blob service process."""

    def __init__(self, state_dir, accounts, ca_bundle):
        self.state_dir = Path(state_dir)
        self.accounts = list(accounts)
        self.ca_bundle = str(ca_bundle)
        self.port = None
        self.process = None

    def endpoint(self, account):
        return f"https://127.0.0.1:{self.port}/{account}/"

    def start(self):
        launcher = find_azurite()
        workspace = self.state_dir / "azurite"
        workspace.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = dict(os.environ, AZURITE_ACCOUNTS=";".join(f"{name}:{account_key(name)}" for name in self.accounts))
        log = open(self.state_dir / "azurite.log", "ab")  # pylint: disable=consider-using-with  # lives with process
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped in stop()
            [launcher, "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--location", str(workspace),
             "--cert", str(self.state_dir / "server.pem"), "--key", str(self.state_dir / "server-key.pem"),
             "--oauth", "basic", "--skipApiVersionCheck", "--disableTelemetry", "--silent", "--loose"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        if not _wait_for_port(self.port, self.process, time.monotonic() + START_TIMEOUT_SECONDS):
            self.stop()
            raise DataPlaneError(f"Azurite did not start; see {self.state_dir / 'azurite.log'}")
        for account in self.accounts:
            self.ensure_container(account, SEEDED_CONTAINER)
        return self

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def service(self, account):
        """An azure-storage-blob client for one account, with its key and the emulator's CA bundle."""
        from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel  # optional

        return BlobServiceClient(self.endpoint(account), credential={"account_name": account,
                                                                     "account_key": account_key(account)},
                                 connection_verify=self.ca_bundle)

    def ensure_container(self, account, container):
        from azure.core.exceptions import ResourceExistsError  # pylint: disable=import-outside-toplevel

        try:
            self.service(account).create_container(container)
        except ResourceExistsError:
            pass

    def clear(self):
        """Back to the seeded storage: only the seeded container, empty, in each account."""
        for account in self.accounts:
            service = self.service(account)
            for container in service.list_containers():
                client = service.get_container_client(container.name)
                if container.name == SEEDED_CONTAINER:
                    for blob in client.list_blobs():
                        client.delete_blob(blob.name)
                else:
                    client.delete_container()
            self.ensure_container(account, SEEDED_CONTAINER)

    def container_exists(self, account, container):
        return self.service(account).get_container_client(container).exists()

    def existing_blobs(self, account, container, names):
        client = self.service(account).get_container_client(container)
        return [name for name in names if client.get_blob_client(name).exists()]

    def upload(self, account, container, name, path):
        client = self.service(account).get_container_client(container)
        with open(path, "rb") as handle:
            client.upload_blob(name, handle, overwrite=False)
        return Path(path).stat().st_size
