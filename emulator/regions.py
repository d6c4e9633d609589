"""Azure regions the emulator knows: names, display names and paired regions (for cross-region restore)."""

# name: (display name, paired region, geography group)
REGIONS = {
    "eastus": ("East US", "westus", "US"),
    "eastus2": ("East US 2", "centralus", "US"),
    "westus": ("West US", "eastus", "US"),
    "westus2": ("West US 2", "westcentralus", "US"),
    "westus3": ("West US 3", "eastus", "US"),
    "centralus": ("Central US", "eastus2", "US"),
    "northcentralus": ("North Central US", "southcentralus", "US"),
    "southcentralus": ("South Central US", "northcentralus", "US"),
    "westcentralus": ("West Central US", "westus2", "US"),
    "canadacentral": ("Canada Central", "canadaeast", "Canada"),
    "canadaeast": ("Canada East", "canadacentral", "Canada"),
    "brazilsouth": ("Brazil South", "southcentralus", "South America"),
    "northeurope": ("North Europe", "westeurope", "Europe"),
    "westeurope": ("West Europe", "northeurope", "Europe"),
    "uksouth": ("UK South", "ukwest", "UK"),
    "ukwest": ("UK West", "uksouth", "UK"),
    "francecentral": ("France Central", "francesouth", "France"),
    "germanywestcentral": ("Germany West Central", "germanynorth", "Germany"),
    "swedencentral": ("Sweden Central", "swedensouth", "Sweden"),
    "switzerlandnorth": ("Switzerland North", "switzerlandwest", "Switzerland"),
    "norwayeast": ("Norway East", "norwaywest", "Norway"),
    "eastasia": ("East Asia", "southeastasia", "Asia Pacific"),
    "southeastasia": ("Southeast Asia", "eastasia", "Asia Pacific"),
    "japaneast": ("Japan East", "japanwest", "Asia Pacific"),
    "japanwest": ("Japan West", "japaneast", "Asia Pacific"),
    "koreacentral": ("Korea Central", "koreasouth", "Asia Pacific"),
    "australiaeast": ("Australia East", "australiasoutheast", "Australia"),
    "australiasoutheast": ("Australia Southeast", "australiaeast", "Australia"),
    "centralindia": ("Central India", "southindia", "India"),
    "southindia": ("South India", "centralindia", "India"),
    "uaenorth": ("UAE North", "uaecentral", "Middle East"),
    "southafricanorth": ("South Africa North", "southafricawest", "Africa"),
}


def normalize(location):
    """ARM compares locations without case and spaces ('East US' == 'eastus')."""
    return (location or "").replace(" ", "").lower()


def is_known(location):
    return normalize(location) in REGIONS


def paired_region(location):
    entry = REGIONS.get(normalize(location))
    return entry[1] if entry else None


def location_resource(subscription_id, name):
    """One entry of ``GET /subscriptions/{id}/locations`` (2022-12-01 shape)."""
    display, paired, group = REGIONS[name]
    return {
        "id": f"/subscriptions/{subscription_id}/locations/{name}",
        "name": name,
        "displayName": display,
        "regionalDisplayName": f"({group}) {display}",
        "type": "Region",
        "metadata": {
            "regionType": "Physical",
            "regionCategory": "Recommended",
            "geographyGroup": group,
            "pairedRegion": [{"name": paired, "id": f"/subscriptions/{subscription_id}/locations/{paired}"}],
        },
    }
