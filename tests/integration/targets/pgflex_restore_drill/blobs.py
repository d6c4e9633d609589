"""Print the names of the blobs of a container as JSON, read with OAuth as the modules read them.

    python blobs.py EMULATOR_URL TENANT CLIENT_ID SECRET BLOB_ENDPOINT CONTAINER
"""

import json
import sys

import requests
from azure.identity import ClientSecretCredential
from azure.storage.blob import ContainerClient

emulator_url, tenant, client_id, secret, endpoint, container = sys.argv[1:7]
metadata = requests.get(emulator_url + "/metadata/endpoints?api-version=2022-09-01", timeout=30).json()
credential = ClientSecretCredential(tenant, client_id, secret, authority=metadata["authentication"]["loginEndpoint"],
                                    disable_instance_discovery=True)
client = ContainerClient(endpoint.rstrip("/"), container, credential=credential)
print(json.dumps(sorted(blob.name for blob in client.list_blobs())))
