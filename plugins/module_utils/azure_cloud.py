# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which Azure cloud to talk to: Resource Manager endpoint, login endpoint and token audience.

Named public clouds are known here. Any other cloud (Azure Stack Hub, a private or sovereign cloud,
the bundled emulator) is given as a URL and described by its ARM metadata endpoint
(``GET <url>/metadata/endpoints?api-version=2022-09-01``), exactly as the Azure CLI does with
``az cloud register --endpoint-resource-manager``.
"""

import os

from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError

METADATA_API_VERSION = "2022-09-01"

KNOWN_CLOUDS = {
    "azurecloud": {
        "name": "AzureCloud",
        "resource_manager": "https://management.azure.com/",
        "login_endpoint": "https://login.microsoftonline.com/",
        "audience": "https://management.azure.com/",
    },
    "azurechinacloud": {
        "name": "AzureChinaCloud",
        "resource_manager": "https://management.chinacloudapi.cn/",
        "login_endpoint": "https://login.chinacloudapi.cn/",
        "audience": "https://management.chinacloudapi.cn/",
    },
    "azureusgovernment": {
        "name": "AzureUSGovernment",
        "resource_manager": "https://management.usgovcloudapi.net/",
        "login_endpoint": "https://login.microsoftonline.us/",
        "audience": "https://management.usgovcloudapi.net/",
    },
}
# azure.azcollection and msrestazure spell the public clouds these ways too.
ALIASES = {"azure_public_cloud": "azurecloud", "public": "azurecloud", "azure_china_cloud": "azurechinacloud",
           "azure_us_government": "azureusgovernment", "usgov": "azureusgovernment"}


class CloudConfigError(InputError):
    """The cloud_environment is unknown or its metadata cannot be read; the message says what to set."""


def is_metadata_url(value):
    return value.lower().startswith(("https://", "http://"))


def metadata_url(value):
    """The metadata endpoint for a cloud given as a base URL (or already as the metadata URL)."""
    if "/metadata/endpoints" in value:
        return value if "api-version=" in value else value + ("&" if "?" in value else "?") + (
            "api-version=" + METADATA_API_VERSION)
    return value.rstrip("/") + "/metadata/endpoints?api-version=" + METADATA_API_VERSION


def resolve_cloud(value, fetch_json=None):
    """Endpoints for ``value`` (a cloud name or URL). ``fetch_json(url)`` reads metadata for URLs."""
    value = (value or "AzureCloud").strip()
    if not is_metadata_url(value):
        key = value.lower()
        key = ALIASES.get(key, key)
        if key not in KNOWN_CLOUDS:
            raise CloudConfigError(
                "Unknown cloud_environment '{0}'. Use AzureCloud, AzureChinaCloud, AzureUSGovernment, or the "
                "URL of a cloud's Resource Manager (its metadata is read from <url>/metadata/endpoints).".format(value)
            )
        return dict(KNOWN_CLOUDS[key], from_metadata=False)
    if fetch_json is None:
        raise CloudConfigError("cloud_environment '{0}' is a URL but no metadata reader was given.".format(value))
    url = metadata_url(value)
    document = fetch_json(url)
    return cloud_from_metadata(document, url)


def cloud_from_metadata(document, url):
    """Endpoints from an ARM metadata document (the 2022-09-01 object, or the 2019-05-01 list form)."""
    if isinstance(document, list):
        if not document:
            raise CloudConfigError("The cloud metadata at {0} lists no cloud.".format(url))
        document = document[0]
    if not isinstance(document, dict):
        raise CloudConfigError("The cloud metadata at {0} is not a JSON object.".format(url))
    auth = document.get("authentication") or {}
    resource_manager = document.get("resourceManager")
    login = auth.get("loginEndpoint")
    audiences = auth.get("audiences") or []
    if not (resource_manager and login and audiences):
        raise CloudConfigError(
            "The cloud metadata at {0} lacks resourceManager, authentication.loginEndpoint or "
            "authentication.audiences: is cloud_environment the Resource Manager URL of the cloud?".format(url)
        )
    return {
        "name": document.get("name") or url,
        "resource_manager": _slash(resource_manager),
        "login_endpoint": _slash(login),
        "audience": _slash(audiences[0]),
        "from_metadata": True,
    }


def credential_scope(cloud):
    """The OAuth scope for Resource Manager tokens: the audience plus '/.default'."""
    return cloud["audience"].rstrip("/") + "/.default"


def _slash(url):
    return url if url.endswith("/") else url + "/"


def fetch_metadata_with_requests(url, verify=True, timeout=20):
    """Read a metadata document over HTTPS with requests (which honours REQUESTS_CA_BUNDLE)."""
    import requests  # azure-core depends on requests; guarded by the caller

    try:
        response = requests.get(url, timeout=timeout, verify=verify)
    except requests.exceptions.SSLError as exc:
        raise CloudConfigError(
            "TLS verification failed reading cloud metadata from {0} with CA bundle {1}: {2}. Point "
            "REQUESTS_CA_BUNDLE at a bundle that holds the endpoint's CA.".format(url, _ca_bundle_label(verify), exc)
        ) from exc
    except requests.exceptions.RequestException as exc:
        raise CloudConfigError(
            "Could not read cloud metadata from {0}: {1}. Check cloud_environment (AZURE_CLOUD_ENVIRONMENT) and "
            "that the endpoint is reachable.".format(url, exc)
        ) from exc
    if response.status_code != 200:
        raise CloudConfigError(
            "Reading cloud metadata from {0} returned HTTP {1}: is cloud_environment the Resource Manager URL of "
            "the cloud?".format(url, response.status_code)
        )
    try:
        return response.json()
    except ValueError:
        raise CloudConfigError("The cloud metadata at {0} is not JSON.".format(url)) from None


def _ca_bundle_label(verify):
    if verify is False:
        return "(validation disabled)"
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or "(the default bundle)"
