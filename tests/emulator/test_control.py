"""The /_emulator control surface: request log, reset, clock, faults, seed; and the process lifecycle."""

import dataclasses
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from werkzeug.test import Client

from emulator import identity, registry, seed
from emulator.clock import add_duration
from emulator.server import EmulatorApp
from emulator.settings import Settings
from emulator.state import Store


def test_request_log_records_arm_calls_only(emulator):
    emulator.arm("PUT", emulator.vault_path("bv-log"), json=emulator.vault_body())
    emulator.arm("GET", emulator.vault_path("bv-nope"))
    log = emulator.control("GET", "requests")
    assert [entry["method"] for entry in log] == ["PUT", "GET"]
    put, get = log
    assert put["path"] == emulator.vault_path("bv-log")
    assert put["query"] == {"api-version": "2026-06-01"}
    assert put["status"] == 201 and get["status"] == 404
    assert put["principal"] == emulator.seed["principals"][0]["objectId"]
    assert put["request_body"]["location"] == "eastus"
    assert put["response_body"]["name"] == "bv-log"
    assert "Azure-AsyncOperation" in put["response_headers"]
    assert get["response_body"]["error"]["code"] == "ResourceNotFound"
    assert put["seq"] < get["seq"] and put["time"]
    assert emulator.control("GET", "requests", params={"since": put["seq"]}) == [get]


def test_reset_restores_the_seed(emulator):
    emulator.arm("PUT", emulator.vault_path("bv-reset"), json=emulator.vault_body())
    emulator.control("POST", "faults", json={"status": 500, "path_regex": "never-matches"})
    emulator.control("POST", "reset")
    assert emulator.control("GET", "requests") == []
    assert emulator.control("GET", "faults") == []
    assert emulator.arm("GET", emulator.vault_path("bv-reset")).status_code == 404


def test_clock_advances_by_iso_durations(emulator):
    before = emulator.control("GET", "clock")["now"]
    moved = emulator.control("POST", "clock", json={"advance": "P7D"})
    assert moved["previous"] >= before and moved["advanced"] == "P7D"
    assert moved["now"][:10] > before[:10]
    assert emulator.control("GET", "clock")["now"] >= moved["now"]
    bad = requests.post(f"{emulator.url}/_emulator/clock", json={"advance": "seven days"}, verify=emulator.ca_bundle,
                        timeout=10)
    assert bad.status_code == 400
    emulator.control("POST", "reset")
    assert emulator.control("GET", "clock")["now"][:10] == before[:10]


def test_clock_hooks_run_on_advance(tmp_path):
    store = Store(Settings(state_dir=tmp_path))
    registry.load_resource_modules()
    store.reset()
    calls = []
    registry.REGISTRY.clock_hooks.append(lambda _store, before, after: calls.append(after - before))
    try:
        store.advance_clock("P1M")
        store.advance_clock("PT36H")
    finally:
        registry.REGISTRY.clock_hooks.pop()
    assert calls[0] >= timedelta(days=28) and calls[1] == timedelta(hours=36)


@pytest.mark.parametrize("text, expected", [
    ("P7D", timedelta(days=7)), ("P1W", timedelta(weeks=1)), ("PT90M", timedelta(minutes=90)),
    ("P1DT1H", timedelta(days=1, hours=1)),
])
def test_durations(text, expected):
    start = datetime(2025, 1, 31, tzinfo=timezone.utc)
    assert add_duration(start, text) - start == expected


def test_calendar_durations_clamp_the_day():
    assert add_duration(datetime(2025, 1, 31, tzinfo=timezone.utc), "P1M").date().isoformat() == "2025-02-28"
    assert add_duration(datetime(2024, 2, 29, tzinfo=timezone.utc), "P1Y").date().isoformat() == "2025-02-28"
    with pytest.raises(ValueError):
        add_duration(datetime(2025, 1, 1, tzinfo=timezone.utc), "P")


def test_seed_document(emulator):
    document = emulator.seed
    assert document["tenant"]["id"] == emulator.env["AZURE_TENANT"]
    assert document["subscriptions"][0]["subscriptionId"] == emulator.subscription
    assert {item["envFile"] for item in document["principals"]} == {"env.sh", "env-no-rbac.sh", "env-reader.sh"}
    servers = document["postgresServers"]
    assert sum(1 for item in servers if item["location"] == "eastus") >= 3
    assert sum(1 for item in servers if item["location"] == "westeurope") >= 2
    assert any(item["overOneTerabyte"] for item in servers)
    assert document["storageAccounts"] and document["userAssignedIdentities"]
    assert document["audience"] == seed.AUDIENCE


def test_env_files(emulator):
    env = emulator.env
    assert env["AZURE_CLOUD_ENVIRONMENT"] == env["EMULATOR_URL"] == emulator.url
    assert env["REQUESTS_CA_BUNDLE"] == str(emulator.state_dir.resolve() / "ca-bundle.pem")
    bundle = (emulator.state_dir / "ca-bundle.pem").read_text()
    assert (emulator.state_dir / "ca.pem").read_text().strip() in bundle
    assert bundle.count("BEGIN CERTIFICATE") > 1
    no_rbac = emulator.envs["env-no-rbac.sh"]
    assert no_rbac["AZURE_CLIENT_ID"] != env["AZURE_CLIENT_ID"]
    assert set(no_rbac) == set(env)


def test_throttling_is_retried_by_the_sdk(emulator):
    emulator.control("POST", "faults", json={"method": "GET", "path_regex": "/backupVaults$", "status": 429,
                                             "retry_after": 1, "count": 2})
    started = time.monotonic()
    assert list(emulator.dataprotection().backup_vaults.get_in_resource_group("rg-backup")) == []
    assert time.monotonic() - started >= 2
    log = [entry for entry in emulator.control("GET", "requests") if entry["path"].endswith("/backupVaults")]
    assert [entry["status"] for entry in log] == [429, 429, 200]
    assert log[0]["response_headers"]["Retry-After"] == "1"
    assert log[0]["response_body"]["error"]["code"] == "SubscriptionRequestsThrottled"
    assert log[0]["fault"] is not None
    assert emulator.control("GET", "faults") == []


@pytest.mark.parametrize("status, code", [(503, "ServiceUnavailable"), (500, "InternalServerError")])
def test_server_errors_are_retried_by_the_sdk(emulator, status, code):
    emulator.control("POST", "faults", json={"method": "GET", "path_regex": "/backupVaults$", "status": status,
                                             "retry_after": 1})
    assert list(emulator.dataprotection().backup_vaults.get_in_resource_group("rg-backup")) == []
    statuses = [entry["status"] for entry in emulator.control("GET", "requests")]
    assert statuses == [status, 200]
    assert emulator.control("GET", "requests")[0]["response_body"]["error"]["code"] == code


def test_dropped_connection(emulator):
    emulator.control("POST", "faults", json={"method": "GET", "path_regex": "rg-backup$", "drop": True, "count": 1})
    path = f"/subscriptions/{emulator.subscription}/resourceGroups/rg-backup"
    with pytest.raises(requests.ConnectionError):
        emulator.arm("GET", path, api_version="2022-09-01")
    assert emulator.arm("GET", path, api_version="2022-09-01").status_code == 200
    first = emulator.control("GET", "requests")[0]
    assert first["dropped"] is True and first["status"] is None


def test_sdk_recovers_from_a_dropped_connection(emulator):
    emulator.control("POST", "faults", json={"method": "GET", "path_regex": "/backupVaults$", "status": "drop"})
    assert list(emulator.dataprotection().backup_vaults.get_in_resource_group("rg-backup")) == []
    assert [entry["dropped"] for entry in emulator.control("GET", "requests")] == [True, False]


def test_sdk_gives_up_when_every_attempt_is_dropped(emulator):
    emulator.control("POST", "faults", json={"method": "GET", "path_regex": "/backupVaults$", "drop": True,
                                             "count": None})
    client = emulator.dataprotection(retry_total=1)
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        list(client.backup_vaults.get_in_resource_group("rg-backup"))
    assert emulator.control("GET", "faults")[0]["remaining"] is None


def test_bad_fault_rules_are_refused(emulator):
    for rule in ({"status": 200}, {"status": 429, "path_regex": "("}, {"status": 500, "count": 0}, {"bogus": 1}):
        response = requests.post(f"{emulator.url}/_emulator/faults", json=rule, verify=emulator.ca_bundle, timeout=10)
        assert response.status_code == 400, rule
    assert emulator.control("DELETE", "faults") == {"removed": 0}


def test_handler_crash_is_an_arm_500_and_logged(tmp_path, capsys):
    app = EmulatorApp(Settings(state_dir=tmp_path, lro_seconds=0))
    index = next(i for i, item in enumerate(registry.REGISTRY.routes) if item.handler.__name__ == "get_vault")
    original = registry.REGISTRY.routes[index]

    def boom(_request):
        raise RuntimeError("deliberate bug")

    registry.REGISTRY.routes[index] = dataclasses.replace(original, handler=boom)
    try:
        owner = identity.find_principal(app.store, seed.PRINCIPALS[0]["objectId"])
        token = app.tokens.mint(owner, seed.AUDIENCE, "test")
        response = Client(app).get(f"/subscriptions/{seed.SUBSCRIPTION_ID}/resourceGroups/rg-backup/providers/"
                                   "Microsoft.DataProtection/backupVaults/x?api-version=2026-06-01",
                                   headers={"Authorization": f"Bearer {token}"}, base_url="https://127.0.0.1")
    finally:
        registry.REGISTRY.routes[index] = original
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "InternalServerError"
    assert "deliberate bug" in capsys.readouterr().err
    assert app.store.request_log[-1]["status"] == 500


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_process_lifecycle_latency_and_clean_stop(tmp_path, launcher, stop_signal):
    state = tmp_path / "state"
    state.mkdir()
    process, env = launcher.start(state, "--latency-ms", "150", "--lro-seconds", "0")
    assert env["EMULATOR_URL"].startswith("https://127.0.0.1:")
    assert launcher.parse_env_file(state / "env-no-rbac.sh")["EMULATOR_URL"] == env["EMULATOR_URL"]
    started = time.monotonic()
    response = requests.get(f"{env['EMULATOR_URL']}/subscriptions", verify=env["REQUESTS_CA_BUNDLE"], timeout=10)
    assert response.status_code == 401 and time.monotonic() - started >= 0.15
    process.send_signal(stop_signal)
    assert process.wait(timeout=10) == 0
    assert not (state / "env.sh").exists()


# ------------------------------------------------------------------------------------------------- holds


def test_holds_keep_operations_running_until_released(emulator):
    hold = emulator.control("POST", "holds", json={"kind_regex": "^backupVaults/write$", "path_regex": "bv-held"})
    assert hold["id"] and hold["kind_regex"] == "^backupVaults/write$"
    held_put = emulator.arm("PUT", emulator.vault_path("bv-held"), json=emulator.vault_body())
    free_put = emulator.arm("PUT", emulator.vault_path("bv-free"), json=emulator.vault_body())
    status_path = held_put.headers["Azure-AsyncOperation"].replace(emulator.url, "").split("?")[0]
    free_path = free_put.headers["Azure-AsyncOperation"].replace(emulator.url, "").split("?")[0]
    _wait(lambda: emulator.arm("GET", free_path).json()["status"] == "Succeeded")
    # Long past --lro-seconds, the held operation still runs; the status poll still says when to come back.
    running = emulator.arm("GET", status_path)
    assert running.json()["status"] == "Inprogress" and int(running.headers["Retry-After"]) >= 1
    assert emulator.arm("GET", emulator.vault_path("bv-held")).json()["properties"]["provisioningState"] == \
        "Provisioning"
    listed = emulator.control("GET", "holds")
    assert [item["id"] for item in listed["holds"]] == [hold["id"]]
    assert [item["kind"] for item in listed["held"]] == ["backupVaults/write"]
    assert emulator.control("DELETE", f"holds/{hold['id']}") == {"released": 1}
    assert emulator.arm("GET", status_path).json()["status"] == "Succeeded"
    assert emulator.control("GET", "holds") == {"holds": [], "held": []}


def test_holds_are_validated_and_cleared_by_reset(emulator):
    for body in ({"kind_regex": "("}, {"nope": 1}, {"path_regex": 3}, []):
        response = requests.post(f"{emulator.url}/_emulator/holds", json=body, verify=emulator.ca_bundle, timeout=10)
        assert response.status_code == 400, body
    missing = requests.delete(f"{emulator.url}/_emulator/holds/999", verify=emulator.ca_bundle, timeout=10)
    assert missing.status_code == 404
    emulator.control("POST", "holds", json={})
    emulator.control("POST", "reset")
    assert emulator.control("GET", "holds")["holds"] == []


def _wait(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_no_retry_after_setting_omits_it_on_polls_and_the_sdk_still_finishes(emulator):
    assert emulator.control("POST", "settings", json={"no_retry_after": True})["no_retry_after"] is True
    hold = emulator.control("POST", "holds", json={"kind_regex": "^backupVaults/write$"})
    put = emulator.arm("PUT", emulator.vault_path("bv-quiet"), json=emulator.vault_body())
    assert put.status_code == 201 and put.headers["Retry-After"]  # the starting answer keeps it
    status_path = put.headers["Azure-AsyncOperation"].replace(emulator.url, "").split("?")[0]
    running = emulator.arm("GET", status_path)
    assert running.json()["status"] == "Inprogress" and "Retry-After" not in running.headers
    emulator.control("DELETE", f"holds/{hold['id']}")
    # The SDK falls back to its own polling interval.
    client = emulator.dataprotection(polling_interval=0.1)
    poller = client.backup_vaults.begin_create_or_update("rg-backup", "bv-quiet2", emulator.vault_body())
    assert poller.result().name == "bv-quiet2"
    refused = requests.post(f"{emulator.url}/_emulator/settings", json={"no_retry_after": "yes"},
                            verify=emulator.ca_bundle, timeout=10)
    assert refused.status_code == 400
    emulator.control("POST", "reset")
    assert emulator.control("GET", "settings")["no_retry_after"] is False


def test_no_retry_after_flag(tmp_path, launcher):
    state = tmp_path / "quiet"
    state.mkdir()
    _process, env = launcher.start(state, "--no-retry-after", "--lro-seconds", "0")
    settings = requests.get(f"{env['EMULATOR_URL']}/_emulator/settings", verify=env["REQUESTS_CA_BUNDLE"], timeout=10)
    assert settings.json()["no_retry_after"] is True
