"""The real data path (``serve --data-plane``): PostgreSQL dumps as recovery points, restores into Azurite.

One emulator with the data plane for this module (it starts PostgreSQL and Azurite: seconds, not
milliseconds); the module's tests run on one xdist worker (``xdist_group``; run-units.sh uses
``--dist loadgroup``) and reset the emulator before each test.
"""

import os
import socket
import subprocess

import pytest

from emulator.dataplane import sample
from emulator.dataplane.postgres import find_bindir
from tests.emulator.conftest import running_emulator
from tests.emulator.dp_helpers import GROUP, protected_instance, wait_for
from tests.emulator.restore_helpers import backup_now, blob_endpoint, grant_blob_role, restore_request, wait_job

pytestmark = pytest.mark.xdist_group("dataplane")

START_TIMEOUT = 300  # initdb + sample data + Azurite; bounded, not a speed assumption


@pytest.fixture(scope="module")
def dp_emulator(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("dataplane") / "state"
    state_dir.mkdir()
    with running_emulator(state_dir, "--lro-seconds", "0.2", "--data-plane", timeout=START_TIMEOUT) as instance:
        ports = instance.control("GET", "data-plane")
        yield instance
    for name, port in (("PostgreSQL", ports["postgres"]["port"]), ("Azurite", ports["azurite"]["port"])):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            pytest.fail(f"{name} still listens on {port} after the emulator stopped")


@pytest.fixture
def dp(dp_emulator):
    dp_emulator.control("POST", "reset")
    return dp_emulator


def _blobs(emulator, container="restores", account="stpgrestoreeus"):
    """The container's blobs, read with OAuth (a storage-audience token from the emulator) as a module would."""
    from azure.storage.blob import ContainerClient

    client = ContainerClient(blob_endpoint(emulator, account).rstrip("/"), container,
                             credential=emulator.credential(), connection_verify=emulator.ca_bundle)
    return client, {blob.name: blob.size for blob in client.list_blobs()}


def _restore(emulator, client, point, **kwargs):
    request = restore_request(emulator, point, **kwargs)
    result = client.backup_instances.begin_trigger_restore(GROUP, "bv-bi", "bi-orders", request).result()
    return wait_job(client, result.job_id)


def _pg_restore_list(path):
    tool = str(find_bindir() / "pg_restore")
    return subprocess.run([tool, "--list", str(path)], capture_output=True, text=True, check=False)


def test_postgres_runs_unprivileged_and_blob_endpoints_point_at_azurite(dp):
    info = dp.control("GET", "data-plane")
    if os.geteuid() == 0:
        assert info["postgres"]["runAs"] == "nobody"
        owner = subprocess.run(["ps", "-o", "user=", "-C", "postgres"], capture_output=True, text=True,
                               check=False).stdout.split()
        assert owner and set(owner) == {"nobody"}
    endpoint = blob_endpoint(dp)
    assert endpoint == info["azurite"]["blobEndpoints"]["stpgrestoreeus"]
    assert endpoint.startswith("https://127.0.0.1:") and endpoint.endswith("/stpgrestoreeus/")
    assert {item["name"]: item["blobEndpoint"] for item in dp.seed["storageAccounts"]}["stpgrestoreeus"] == endpoint
    _container, blobs = _blobs(dp)
    assert blobs == {}


def test_backup_dumps_and_restore_writes_azure_files(dp, tmp_path):
    client, vault, _policy = protected_instance(dp)
    point = backup_now(dp, client)
    content = dp.control("GET", f"recovery-points/{point}/content")
    assert content["server"] == "pg-eus-orders"
    assert {name: item["tables"] for name, item in content["databases"].items()} == \
        sample.row_counts("pg-eus-orders")

    grant_blob_role(dp, vault["identity"]["principalId"])
    job = _restore(dp, client, point, prefix="drill1")
    assert job.properties.status == "Completed", job.properties.error_details
    container, blobs = _blobs(dp)
    expected = sample.database_files("drill1")
    assert sorted(blobs) == sorted(expected)
    restored = next(item for item in dp.control("GET", "restores") if item["jobId"].endswith(job.name))
    assert restored["written"] is True
    assert {item["name"]: item["size"] for item in restored["files"]} == blobs

    for database in sample.DATABASES:
        name = f"drill1_database_{database}.sql"
        path = tmp_path / name
        path.write_bytes(container.download_blob(name).readall())
        assert path.read_bytes().startswith(b"PGDMP")
        listing = _pg_restore_list(path)
        assert listing.returncode == 0, listing.stderr
        assert "TABLE DATA" in listing.stdout
    roles = container.download_blob("drill1_roles.sql").readall().decode()
    assert '"pg-eus-orders__app_rw"' in roles and "pg-weu-billing" not in roles

    again = _restore(dp, client, point, prefix="drill1")
    assert again.properties.status == "Failed"
    assert again.properties.error_details[0]["code"] == "UserErrorRestoreFileAlreadyExists"


def test_damaged_recovery_point_restores_a_broken_archive(dp, tmp_path):
    client, vault, _policy = protected_instance(dp)
    point = backup_now(dp, client)
    intact = backup_now(dp, client)  # shares the dump set: damage must not reach it
    damage = dp.control("POST", "damage", json={"recovery_point": point, "database": "app"})
    assert damage["sizeAfter"] < damage["sizeBefore"]
    assert dp.control("GET", f"recovery-points/{point}/content")["databases"]["app"]["damaged"] is True
    assert dp.control("GET", f"recovery-points/{intact}/content")["databases"]["app"]["damaged"] is False

    grant_blob_role(dp, vault["identity"]["principalId"])
    assert _restore(dp, client, point, prefix="broken").properties.status == "Completed"
    assert _restore(dp, client, intact, prefix="intact").properties.status == "Completed"
    container, _blobs_now = _blobs(dp)
    for prefix, expect_ok in (("broken", False), ("intact", True)):
        path = tmp_path / f"{prefix}.dump"
        path.write_bytes(container.download_blob(f"{prefix}_database_app.sql").readall())
        assert (_pg_restore_list(path).returncode == 0) is expect_ok


def test_restore_without_role_or_container_writes_nothing(dp):
    client, vault, _policy = protected_instance(dp)
    point = backup_now(dp, client)
    job = _restore(dp, client, point, prefix="norole")
    assert job.properties.status == "Failed"
    assert job.properties.error_details[0]["code"] == "UserErrorMSIMissingPermissions"

    grant_blob_role(dp, vault["identity"]["principalId"])
    job = _restore(dp, client, point, container="missing-container", prefix="nocontainer")
    assert job.properties.status == "Failed"
    assert job.properties.error_details[0]["code"] == "UserErrorStorageContainerNotFound"
    _container, blobs = _blobs(dp)
    assert blobs == {}


def test_scheduled_backups_get_content(dp):
    client, _vault, _policy = protected_instance(dp)
    dp.control("POST", "clock", json={"advance": "P3W"})
    points = wait_for(lambda: list(client.recovery_points.list(GROUP, "bv-bi", "bi-orders")), lambda items: items)
    assert len(points) >= 2
    contents = [dp.control("GET", f"recovery-points/{item.name}/content") for item in points]
    assert all(set(item["databases"]) == set(sample.DATABASES) for item in contents)


def test_controls_answer_unknown_points(dp):
    import requests

    response = requests.get(f"{dp.url}/_emulator/recovery-points/{'0' * 32}/content", verify=dp.ca_bundle, timeout=10)
    assert response.status_code == 404
    response = requests.post(f"{dp.url}/_emulator/damage", json={"recovery_point": 1}, verify=dp.ca_bundle, timeout=10)
    assert response.status_code == 400
