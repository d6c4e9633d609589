# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The blob container a restore writes to, read with azure-storage-blob and the modules' own credential.

Reads only: whether the container exists, and the files a restore wrote (``<prefix>_database_<db>.sql``, ...).
"""

import os
import re

try:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
    from azure.storage.blob import ContainerClient
except ImportError:  # the restore module reports missing_required_lib before it opens a container
    ContainerClient = None

    class HttpResponseError(Exception):  # noqa: D101
        pass

    class ResourceNotFoundError(HttpResponseError):  # noqa: D101
        pass

    class ServiceRequestError(Exception):  # noqa: D101
        pass

BLOB_REQUIREMENT = "azure-storage-blob"
_DATABASE_FILE = re.compile(r"(?:^|_)database_(.+)\.sql$")


def available():
    return ContainerClient is not None


def database_of(name, prefix=""):
    """The database a restored file holds (``<prefix>_database_<db>.sql``), or None for the server-level files."""
    rest = name[len(prefix):] if prefix and name.startswith(prefix) else name
    match = _DATABASE_FILE.search(rest)
    return match.group(1) if match else None


class Container:
    """One blob container, by URL (``primaryEndpoints.blob`` + name). ``problem`` says why it could not be read."""

    def __init__(self, url, credential, verify=True):
        self.url = url
        self.problem = None
        kwargs = {"retry_total": 1, "connection_timeout": 10, "read_timeout": 30}
        if not verify:
            kwargs["connection_verify"] = False
        self._client = ContainerClient.from_container_url(url, credential=credential, **kwargs)

    def exists(self):
        """True, False, or None when the container could not be read (``problem`` says why)."""
        try:
            self._client.get_container_properties()
            return True
        except ResourceNotFoundError:
            return False
        except (HttpResponseError, ServiceRequestError) as exc:
            self.problem = "{0}: {1}".format(type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            return None

    def files(self, prefix):
        """[{name, size, database}] of the blobs whose names start with ``prefix``; None when unreadable."""
        try:
            blobs = list(self._client.list_blobs(name_starts_with=prefix or None))
        except (HttpResponseError, ServiceRequestError) as exc:
            self.problem = "{0}: {1}".format(type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            return None
        return [{"name": blob.name, "size": blob.size, "database": database_of(blob.name, prefix)}
                for blob in sorted(blobs, key=lambda item: item.name)]

    def download(self, name, directory):
        """Write blob ``name`` to ``directory``/``name``; returns the local path."""
        path = os.path.join(directory, os.path.basename(name))
        with open(path, "wb") as handle:
            self._client.download_blob(name).readinto(handle)
        return path
