"""Cloud endpoints: named clouds, and clouds described by their ARM metadata."""

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import azure_cloud

METADATA_2022 = {
    "name": "Emulator",
    "resourceManager": "https://127.0.0.1:8443",
    "authentication": {"loginEndpoint": "https://127.0.0.1:8443/", "audiences": ["https://management.example/"],
                       "tenant": "common"},
}


def test_named_clouds():
    cloud = azure_cloud.resolve_cloud("AzureUSGovernment")
    assert cloud["resource_manager"] == "https://management.usgovcloudapi.net/"
    assert cloud["login_endpoint"] == "https://login.microsoftonline.us/"
    assert azure_cloud.credential_scope(cloud) == "https://management.usgovcloudapi.net/.default"
    assert azure_cloud.resolve_cloud(None)["name"] == "AzureCloud"
    assert azure_cloud.resolve_cloud("azurechinacloud")["resource_manager"] == "https://management.chinacloudapi.cn/"


def test_unknown_name_lists_what_is_accepted():
    with pytest.raises(azure_cloud.CloudConfigError, match="AzureCloud, AzureChinaCloud, AzureUSGovernment"):
        azure_cloud.resolve_cloud("AzureGermanCloud")


def test_url_reads_metadata_endpoint():
    asked = []

    def fetch(url):
        asked.append(url)
        return METADATA_2022

    cloud = azure_cloud.resolve_cloud("https://127.0.0.1:8443/", fetch)
    assert asked == ["https://127.0.0.1:8443/metadata/endpoints?api-version=2022-09-01"]
    assert cloud["resource_manager"] == "https://127.0.0.1:8443/"
    assert cloud["from_metadata"] is True
    assert azure_cloud.credential_scope(cloud) == "https://management.example/.default"


def test_metadata_list_form_is_accepted():
    cloud = azure_cloud.cloud_from_metadata([METADATA_2022], "u")
    assert cloud["login_endpoint"] == "https://127.0.0.1:8443/"


def test_metadata_url_given_in_full_is_kept():
    url = "https://stack.local/metadata/endpoints?api-version=2019-05-01"
    assert azure_cloud.metadata_url(url) == url


def test_incomplete_metadata_fails_clearly():
    with pytest.raises(azure_cloud.CloudConfigError, match="lacks resourceManager"):
        azure_cloud.cloud_from_metadata({"name": "x"}, "https://x/metadata/endpoints")


def test_unreachable_metadata_endpoint_fails_fast_with_the_url():
    with pytest.raises(azure_cloud.CloudConfigError, match="Could not read cloud metadata from https://127.0.0.1:9"):
        azure_cloud.fetch_metadata_with_requests("https://127.0.0.1:9/metadata/endpoints?api-version=2022-09-01",
                                                 timeout=5)
