# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The restored files in the target container: list by prefix, download streamed to disk, delete."""

import os
import time

try:
    from azure.core.exceptions import AzureError, ResourceNotFoundError
    from azure.storage.blob import ContainerClient

    STORAGE_IMPORT_ERROR = None
except ImportError as exc:  # the sanity import test runs without the requirements
    ContainerClient = None
    STORAGE_IMPORT_ERROR = exc

    class AzureError(Exception):  # noqa: D101 - stands in for azure-core's when it is not installed
        pass

    class ResourceNotFoundError(AzureError):  # noqa: D101
        pass

# Bytes per ranged GET: the download holds at most this much (times the concurrency) in memory.
CHUNK_BYTES = 4 * 1024 * 1024


def container_client(blob_endpoint, container, credential):
    """A client of ``container`` on the account whose ``primaryEndpoints.blob`` is ``blob_endpoint``."""
    return ContainerClient(account_url=blob_endpoint.rstrip("/"), container_name=container, credential=credential,
                           max_single_get_size=CHUNK_BYTES, max_chunk_get_size=CHUNK_BYTES)


def list_prefixed(client, prefix):
    """[{name, size}] of the blobs whose name starts with ``<prefix>_`` (the restore's files)."""
    return [dict(name=blob.name, size=blob.size) for blob in client.list_blobs(name_starts_with=prefix + "_")]


def download(client, names, directory, clock=time.monotonic):
    """Stream each blob to ``directory/<name>``: {files: [{name, path, size}], bytes, seconds}."""
    started = clock()
    files, total = [], 0
    for name in names:
        path = os.path.join(directory, name)
        with open(path, "wb") as handle:
            client.get_blob_client(name).download_blob(max_concurrency=2).readinto(handle)
        size = os.path.getsize(path)
        total += size
        files.append(dict(name=name, path=path, size=size))
    return dict(files=files, bytes=total, seconds=clock() - started)


def delete_prefixed(client, prefix):
    """Delete the blobs of ``<prefix>_``; the names deleted (a blob already gone is not an error)."""
    deleted = []
    for blob in list_prefixed(client, prefix):
        try:
            client.delete_blob(blob["name"])
        except ResourceNotFoundError:
            continue
        deleted.append(blob["name"])
    return deleted
