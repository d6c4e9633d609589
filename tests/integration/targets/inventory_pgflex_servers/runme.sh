#!/usr/bin/env bash
# The pgflex_servers inventory plugin against the emulator. A script target: the inventory is what is tested.
#   1. fresh emulator: every seeded server is a host, all in "unprotected", grouped by region, and the inventory
#      read lists only (no GET of a single server)
#   2. protect one group through the inventory: protect.yml --limit 'unprotected:&region_eastus:!pg-eus-partner'
#   3. the next inventory run shows those servers in "protected", with their vault and policy; the rest unchanged
# ansible-test passes no environment through, so the credentials the plugin reads from AZURE_* are exported here
# from ../../integration_config.yml (scripts/run-integration.sh writes it).
set -eux
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False
export ANSIBLE_INVENTORY_ENABLED=azbackup.dataprotection.pgflex_servers,ansible.builtin.ini
config=../../integration_config.yml
eval "$(python -c '
import shlex, sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
names = {"AZURE_CLOUD_ENVIRONMENT": "azure_cloud_environment", "AZURE_CLIENT_ID": "azure_client_id",
         "AZURE_SECRET": "azure_secret", "AZURE_TENANT": "azure_tenant",
         "AZURE_SUBSCRIPTION_ID": "azure_subscription_id", "REQUESTS_CA_BUNDLE": "emulator_ca_bundle"}
for env, key in names.items():
    print("export {0}={1}".format(env, shlex.quote(str(config[key]))))
' "$config")"
set -- -e @"$config" "$@"

ansible-playbook -i localhost, reset.yml "$@"
ansible-playbook -i emulator.pgflex_servers.yml check.yml -e phase=before "$@"
ansible-playbook azbackup.dataprotection.protect -i emulator.pgflex_servers.yml -e @protect_vars.yml \
    -e pgflex_protection_hosts=all --limit 'unprotected:&region_eastus:!pg-eus-partner' "$@"
ansible-playbook -i emulator.pgflex_servers.yml check.yml -e phase=after "$@"
