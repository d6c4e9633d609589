"""Which api-versions each resource provider accepts, and ARM's answers for missing or wrong ones."""

import re
from datetime import date

from emulator.arm import ArmError

# Stable versions of Microsoft.DataProtection (azure-rest-api-specs; see /work/shared/specs/SOURCES.md).
DATA_PROTECTION = [
    "2021-01-01", "2021-07-01", "2022-01-01", "2022-03-01", "2022-04-01", "2022-05-01", "2022-12-01", "2023-01-01",
    "2023-05-01", "2023-11-01", "2023-12-01", "2024-03-01", "2024-04-01", "2025-01-01", "2025-02-01", "2025-07-01",
    "2025-09-01", "2026-03-01", "2026-06-01",
]

# roleAssignments, roleDefinitions and permissions versions clients commonly send.
AUTHORIZATION = [
    "2015-06-01", "2015-07-01", "2017-05-01", "2018-01-01-preview", "2018-07-01", "2018-09-01-preview",
    "2020-03-01-preview", "2020-04-01-preview", "2020-08-01-preview", "2020-10-01-preview", "2021-03-01-preview",
    "2021-04-01-preview", "2022-01-01-preview", "2022-04-01", "2022-05-01-preview",
]

# Providers not listed accept any well-formed api-version (the emulator serves one stable shape for them).
PROVIDER_API_VERSIONS = {
    "Microsoft.DataProtection": DATA_PROTECTION,
    "Microsoft.Authorization": AUTHORIZATION,
}

_WELL_FORMED = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(-[A-Za-z]+)?$")


def is_well_formed(version):
    match = _WELL_FORMED.match(version or "")
    if not match:
        return False
    try:
        date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return False
    return True


def check_present_and_well_formed(provider, version):
    """400 MissingApiVersionParameter / InvalidApiVersionParameter, as ARM answers."""
    if version is None or version == "":
        raise ArmError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all requests.")
    if not is_well_formed(version):
        supported = PROVIDER_API_VERSIONS.get(provider)
        hint = (f"The supported versions are '{','.join(reversed(supported))}'." if supported
                else "An api-version is a date such as '2022-09-01', optionally with a suffix such as '-preview'.")
        raise ArmError(400, "InvalidApiVersionParameter", f"The api-version '{version}' is invalid. {hint}")


def check_supported(provider, version, resource_type, location):
    """400 NoRegisteredProviderFound when a provider does not know this api-version (ARM's message shape)."""
    supported = PROVIDER_API_VERSIONS.get(provider)
    if supported is None or version in supported:
        return
    raise ArmError(400, "NoRegisteredProviderFound",
                   f"No registered resource provider found for location '{location}' and API version '{version}' "
                   f"for type '{resource_type}'. The supported api-versions are '{', '.join(supported)}'. "
                   "The supported locations are 'eastus, eastus2, westus, westus2, westus3, centralus, "
                   "northcentralus, southcentralus, westcentralus, canadacentral, canadaeast, brazilsouth, "
                   "northeurope, westeurope, uksouth, ukwest, francecentral, germanywestcentral, swedencentral, "
                   "switzerlandnorth, norwayeast, eastasia, southeastasia, japaneast, japanwest, koreacentral, "
                   "australiaeast, australiasoutheast, centralindia, southindia, uaenorth, southafricanorth'.")
