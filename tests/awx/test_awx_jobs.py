"""The playbooks run the way AWX runs them: ansible-runner's Python API, the credential as environment variables.

AWX's "Microsoft Azure Resource Manager" credential injects AZURE_SUBSCRIPTION_ID and either AZURE_CLIENT_ID,
AZURE_SECRET, AZURE_TENANT (service principal) or AZURE_AD_USER, AZURE_PASSWORD (user and password), plus
AZURE_CLOUD_ENVIRONMENT when set. Survey answers arrive as extra variables (strings), the job template's variables
with them; job type "Check" adds --check. The assertions read the job events, as AWX's job output shows them.
"""

import json
import os
import re
import shutil
import sys
from pathlib import Path

import ansible_runner
import pytest

PROJECT = Path(__file__).resolve().parent / "project"
EASTUS_SERVERS = ["pg-eus-orders", "pg-eus-inventory"]
# Template variables of the protect job template (docs/awx.md, section 5): the survey's textarea to the role's list.
TEMPLATE_VARIABLES = {
    "pgflex_protection_server_ids": "{{ survey_servers.splitlines() | map('trim') | select | list }}",
    "pgflex_protection_policy": {"schedule": {"days_of_week": ["Sunday"], "time": "02:00", "timezone": "UTC"},
                                 "retention": {"default": {"duration": "P3M"}}},
    "pgflex_protection_report_dir": "",
}
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")


def credential(env, form):
    """The environment AWX's Azure credential injects, in the service principal or the user and password form."""
    injected = {"AZURE_SUBSCRIPTION_ID": env["AZURE_SUBSCRIPTION_ID"],
                "AZURE_CLOUD_ENVIRONMENT": env["AZURE_CLOUD_ENVIRONMENT"]}
    if form == "service_principal":
        injected.update(AZURE_CLIENT_ID=env["AZURE_CLIENT_ID"], AZURE_SECRET=env["AZURE_SECRET"],
                        AZURE_TENANT=env["AZURE_TENANT"])
    else:
        injected.update(AZURE_AD_USER=env["AZURE_AD_USER"], AZURE_PASSWORD=env["AZURE_PASSWORD"])
    return injected


def secrets_of(emulator_env):
    return [emulator_env["env.sh"]["AZURE_SECRET"], emulator_env["env-user.sh"]["AZURE_PASSWORD"]]


def run_job(tmp_path, collections_path, env, playbook, extravars, check=False):
    """One job: a private data dir with the project, run through ansible_runner.run; returns the runner."""
    private = tmp_path / "job"
    shutil.copytree(PROJECT, private / "project")
    envvars = dict(env, ANSIBLE_COLLECTIONS_PATH=collections_path, REQUESTS_CA_BUNDLE=env["REQUESTS_CA_BUNDLE"],
                   ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                   PATH=str(Path(sys.executable).parent) + ":/usr/bin:/bin")
    return ansible_runner.run(private_data_dir=str(private), playbook=playbook, inventory="localhost,",
                              envvars=envvars, extravars=extravars, cmdline="--check" if check else None,
                              quiet=True)


def job_env(emulator_env, form):
    source = emulator_env["env.sh" if form == "service_principal" else "env-user.sh"]
    return dict(credential(source, form), REQUESTS_CA_BUNDLE=source["REQUESTS_CA_BUNDLE"])


def assert_no_secret(runner, secrets):
    """No event (stdout, task arguments, results) holds a secret or a bearer token."""
    text = json.dumps(list(runner.events))
    for secret in secrets:
        assert secret not in text
    assert not JWT.search(text), JWT.search(text).group(0)[:40]
    assert secrets[0] not in runner.stdout.read()


def survey(vault, servers, emulator_env):
    prefix = "/subscriptions/{0}/resourceGroups/rg-pg-eastus/providers/Microsoft.DBforPostgreSQL/flexibleServers/"
    sub = emulator_env["env.sh"]["AZURE_SUBSCRIPTION_ID"]
    answers = {"pgflex_protection_vault_name": vault, "pgflex_protection_vault_resource_group": "rg-backup",
               "pgflex_protection_vault_location": "eastus", "pgflex_protection_policy_name": "pg-weekly",
               "survey_servers": "\n".join(prefix.format(sub) + name for name in servers) + "\n",
               "pgflex_protection_backup_now": "false", "pgflex_protection_on_missing_permission": "fail"}
    return dict(TEMPLATE_VARIABLES, **answers)


def plain(value):
    """ansible-inventory JSON without the {"__ansible_unsafe": s} wrapping of ansible-core >= 2.19."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((key, plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def report_lines(runner):
    """The lines of the role's "Report | Show the report" task, as the job output shows them."""
    for event in runner.events:
        data = event.get("event_data") or {}
        if event["event"] == "runner_on_ok" and data.get("task") == "Report | Show the report":
            return data["res"]["msg"]
    return None


# Every job works on the same vault and servers, so the tests hold in any order: a check job before the run job plans
# the vault and the protection, one after it plans nothing; a second run job changes nothing.
VAULT = "bv-awx"


@pytest.mark.parametrize("form", ["service_principal", "user_password"])
def test_check_job_reports_the_plan(tmp_path, collections_path, emulator_env, form):
    runner = run_job(tmp_path, collections_path, job_env(emulator_env, form), "protect.yml",
                     survey(VAULT, EASTUS_SERVERS, emulator_env), check=True)
    assert runner.status == "successful", runner.stdout.read()
    plan = report_lines(runner)
    assert plan and any(VAULT in line for line in plan)
    assert all(any(name in line for line in plan) for name in EASTUS_SERVERS)
    assert_no_secret(runner, secrets_of(emulator_env))


def test_run_job_protects_and_reports(tmp_path, collections_path, emulator_env):
    runner = run_job(tmp_path, collections_path, job_env(emulator_env, "service_principal"), "protect.yml",
                     survey(VAULT, EASTUS_SERVERS, emulator_env))
    assert runner.status == "successful", runner.stdout.read()
    report = report_lines(runner)
    assert report and all(any(name in line and "protected" in line.lower() for line in report)
                          for name in EASTUS_SERVERS), report
    assert_no_secret(runner, secrets_of(emulator_env))


def test_a_failed_sign_in_carries_the_module_message_and_no_password(tmp_path, collections_path, emulator_env):
    env = dict(job_env(emulator_env, "user_password"), AZURE_PASSWORD="wrong-password-for-the-test")
    runner = run_job(tmp_path, collections_path, env, "status.yml", {"pgflex_protection_report_dir": ""})
    assert runner.status == "failed"
    failures = [event["event_data"] for event in runner.events if event["event"] == "runner_on_failed"]
    assert failures, runner.stdout.read()
    message = failures[0]["res"]["msg"]
    assert message.startswith("Failed listing backup vaults: ")
    assert "AADSTS50126: Error validating credentials due to invalid username or password" in message
    assert_no_secret(runner, secrets_of(emulator_env) + ["wrong-password-for-the-test"])


def test_inventory_source_from_a_project_file(tmp_path, collections_path, emulator_env, monkeypatch):
    """AWX runs an inventory update as ansible-inventory --list on the project's file, with the credential."""
    env = job_env(emulator_env, "user_password")
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + ":" + os.environ.get("PATH", ""))
    out, err = ansible_runner.get_inventory(
        action="list", inventories=[str(PROJECT / "prod.pgflex_servers.yml")], response_format="json", quiet=True,
        envvars=dict(env, ANSIBLE_COLLECTIONS_PATH=collections_path,
                     ANSIBLE_INVENTORY_ENABLED="azbackup.dataprotection.pgflex_servers",
                     PATH=str(Path(sys.executable).parent) + ":/usr/bin:/bin"),
        private_data_dir=str(tmp_path))
    assert out, err
    groups = plain(out if isinstance(out, dict) else json.loads(out))
    hosts = groups["_meta"]["hostvars"]
    assert "pg-eus-partner" in hosts and "pg-weu-crm" in hosts  # both subscriptions of the user
    assert set(groups["region_westeurope"]["hosts"]) == {"pg-weu-billing", "pg-weu-crm"}
    assert hosts["pg-weu-crm"]["protection_group"] in groups and "pg-weu-crm" in groups["unprotected"]["hosts"]
    assert emulator_env["env-user.sh"]["AZURE_PASSWORD"] not in json.dumps(groups)
