"""The real data path (``python -m emulator serve --data-plane``): PostgreSQL, real dumps, Azurite.

Off by default. When on, the emulator starts, under its state directory:

- one PostgreSQL cluster (``postgres.py``) holding each seeded flexible server's sample databases;
- Azurite (``azurite.py``) serving the seeded storage accounts, whose ``primaryEndpoints.blob`` then point at
  it; the emulator's token endpoint issues storage-audience tokens Azurite accepts;

and then every recovery point (ad hoc or scheduled backup) gets real dumps as its content (``dumps.py``), and a
restore as files uploads them into the target container under Azure's names. ``ACTIVE`` is the running data
plane, or None.
"""

from pathlib import Path

from emulator.dataplane.postgres import DataPlaneError

ACTIVE = None


class DataPlane:
    """PostgreSQL + dumps + Azurite for one emulator run."""

    def __init__(self, state_dir, storage_accounts, ca_bundle):
        from emulator.dataplane.azurite import Azurite  # pylint: disable=import-outside-toplevel
        from emulator.dataplane.dumps import DumpStore  # pylint: disable=import-outside-toplevel
        from emulator.dataplane.postgres import PostgresCluster  # pylint: disable=import-outside-toplevel

        self.state_dir = Path(state_dir)
        self.cluster = PostgresCluster(self.state_dir)
        self.dumps = DumpStore(self.cluster, self.state_dir / "dataplane" / "dumps")
        self.azurite = Azurite(self.state_dir, storage_accounts, ca_bundle)

    def start(self):
        try:
            self.cluster.start()
            self.azurite.start()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self):
        self.azurite.stop()
        self.cluster.stop()

    def reset(self):
        """The seeded state again (``POST /_emulator/reset``): no recovery point content, empty storage.

        The PostgreSQL databases keep their data: tests that change it restore it themselves."""
        self.dumps.clear()
        self.azurite.clear()

    def describe(self):
        """Where things run (``GET /_emulator/data-plane``)."""
        return {"postgres": {"host": "127.0.0.1", "port": self.cluster.port, "user": "postgres",
                             "dataDirectory": str(self.cluster.data_dir), "bindir": str(self.cluster.bindir),
                             "runAs": self.cluster.user.pw_name if self.cluster.user else None},
                "azurite": {"port": self.azurite.port,
                            "blobEndpoints": {name: self.azurite.endpoint(name) for name in self.azurite.accounts}}}

    def write_restore(self, point_id, account, container, prefix):
        """Upload a recovery point's files as ``<prefix>_<name>``; [{name, size, database}] written.

        Raises DataPlaneError(code, message) when the point has no content, the container is missing or a file
        already exists (recoveryOption FailIfExists).
        """
        if self.dumps.content(point_id) is None:
            raise RestoreError("UserErrorRecoveryPointNotFound",
                               f"Recovery point '{point_id}' has no data in this emulator run.")
        if not self.azurite.container_exists(account, container):
            raise RestoreError("UserErrorStorageContainerNotFound",
                               f"The container '{container}' does not exist in storage account '{account}'.")
        planned = [(f"{prefix}_{name}", name, database) for name, database in self.dumps.files(point_id)]
        existing = self.azurite.existing_blobs(account, container, [target for target, _name, _db in planned])
        if existing:
            raise RestoreError("UserErrorRestoreFileAlreadyExists",
                               f"Restore with recovery option FailIfExists found existing files in container "
                               f"'{container}': {', '.join(existing)}.")
        written = []
        for target, name, database in planned:
            size = self.azurite.upload(account, container, target, self.dumps.path(point_id, name))
            written.append({"name": target, "size": size, "database": database})
        return written


class RestoreError(DataPlaneError):
    """A restore the data plane refused: ``code`` and ``message`` become the job's UserFacingError."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def start(state_dir, storage_accounts, ca_bundle):
    """Start the data plane and make it ``ACTIVE``."""
    global ACTIVE  # pylint: disable=global-statement  # one data plane per process
    ACTIVE = DataPlane(state_dir, storage_accounts, ca_bundle).start()
    return ACTIVE


def stop():
    global ACTIVE  # pylint: disable=global-statement
    if ACTIVE is not None:
        ACTIVE.stop()
        ACTIVE = None


__all__ = ["ACTIVE", "DataPlane", "DataPlaneError", "RestoreError", "start", "stop"]
