"""Start the bundled emulator with a fleet of extra PostgreSQL Flexible Servers, for benchmarks.

    python benchmarks/fleet_emulator.py --servers 50 -- serve --port 0 --state-dir DIR [emulator options]

The emulator seeds a handful of servers; a benchmark of 50 needs more. This launcher adds ``--servers`` servers
named ``pg-bench-001`` ... in the resource group ``rg-pg-bench`` (eastus, main subscription) to the emulator's seed
tables before it starts, then runs ``python -m emulator`` with the remaining arguments. The emulator itself is not
changed; ``POST /_emulator/reset`` re-seeds the same fleet.
"""

import argparse
import sys
from pathlib import Path

FLEET_GROUP = "rg-pg-bench"
FLEET_LOCATION = "eastus"


def fleet_names(count):
    return ["pg-bench-{0:03d}".format(index) for index in range(1, count + 1)]


def add_fleet(seed, count):
    """Append the fleet to the emulator's seed tables (idempotent)."""
    if not any(group["name"] == FLEET_GROUP for group in seed.RESOURCE_GROUPS):
        seed.RESOURCE_GROUPS.append({"subscriptionId": seed.SUBSCRIPTION_ID, "name": FLEET_GROUP,
                                     "location": FLEET_LOCATION})
    known = {server["name"] for server in seed.POSTGRES_SERVERS}
    for name in fleet_names(count):
        if name not in known:
            seed.POSTGRES_SERVERS.append({
                "subscriptionId": seed.SUBSCRIPTION_ID, "resourceGroup": FLEET_GROUP, "name": name,
                "location": FLEET_LOCATION, "storageSizeGB": 128, "version": "16",
                "sku": ("Standard_D2ds_v5", "GeneralPurpose")})


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    rest = []
    if "--" in argv:
        rest = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=50, help="how many pg-bench-NNN servers to add")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from emulator import seed  # pylint: disable=import-outside-toplevel
    from emulator.__main__ import main as emulator_main  # pylint: disable=import-outside-toplevel
    add_fleet(seed, args.servers)
    return emulator_main(rest)


if __name__ == "__main__":
    sys.exit(main())
