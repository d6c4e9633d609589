"""ARM's request limits (``serve --arm-limits``): token buckets, 429s, remaining-budget headers, the assignment limit.

Buckets are tiny and never refill (or run on a fake clock), so no test depends on machine speed.
"""

import uuid

import pytest

from emulator import throttling

SUB = "/subscriptions/{0}"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_bucket_refills_at_its_rate_up_to_its_size():
    clock = FakeClock()
    limits = throttling.ArmLimits({throttling.READS: (2, 1.0)}, clock=clock)
    assert limits.admit("s", "p", "GET") == ("reads", 1, None)
    assert limits.admit("s", "p", "GET") == ("reads", 0, None)
    kind, remaining, retry_after = limits.admit("s", "p", "GET")
    assert (kind, remaining, retry_after) == ("reads", 0, 1)
    clock.now += 0.5
    assert limits.admit("s", "p", "HEAD")[2] == 1  # half a token is not a token
    clock.now += 0.5
    assert limits.admit("s", "p", "GET") == ("reads", 0, None)
    clock.now += 100
    assert limits.remaining("s", "p", "GET") == ("reads", 2)  # capped at the bucket size


def test_kinds_and_principals_have_their_own_buckets_and_the_subscription_a_shared_one():
    clock = FakeClock()
    limits = throttling.ArmLimits({throttling.WRITES: (1, 0.0), throttling.DELETES: (1, 0.0)}, global_factor=2,
                                  clock=clock)
    assert limits.admit("s", "alice", "PUT")[2] is None
    assert limits.admit("s", "alice", "POST")[2] == throttling.NO_REFILL_RETRY_AFTER
    assert limits.admit("s", "alice", "DELETE")[2] is None  # deletes count apart from writes
    assert limits.admit("s", "bob", "PATCH")[2] is None  # bob has his own bucket ...
    assert limits.admit("s", "carol", "PUT")[2] is not None  # ... but the subscription's (2 writes) is empty now
    assert limits.admit("other", "carol", "PUT")[2] is None  # another subscription, other buckets


def test_parse_limit():
    assert throttling.parse_limit("250/25") == (250, 25.0)
    assert throttling.parse_limit("3/0") == (3, 0.0)
    with pytest.raises(ValueError):
        throttling.parse_limit("0/1")


@pytest.fixture
def limited(tmp_path):
    """The app in this process with tiny buckets that never refill: 3 reads, 2 writes, 1 delete; 3 assignments."""
    from werkzeug.test import Client

    from emulator import identity, seed
    from emulator.server import EmulatorApp
    from emulator.settings import Settings

    app = EmulatorApp(Settings(state_dir=tmp_path, lro_seconds=60, arm_limits=True, read_limit=(3, 0.0),
                               write_limit=(2, 0.0), delete_limit=(1, 0.0), role_assignment_limit=0))
    owner = identity.find_principal(app.store, seed.PRINCIPALS[0]["objectId"])
    token = app.tokens.mint(owner, seed.AUDIENCE, "tests")
    client = Client(app)

    def call(method, path, api_version="2022-04-01", **kwargs):
        return client.open(path, method=method, headers={"Authorization": f"Bearer {token}"},
                           base_url="https://127.0.0.1:8443", query_string={"api-version": api_version}, **kwargs)

    return app, call, seed


def test_reads_are_throttled_with_retry_after_and_every_answer_reports_the_budget(limited):
    _app, call, seed = limited
    path = SUB.format(seed.SUBSCRIPTION_ID) + "/resourcegroups/rg-backup"
    answers = [call("GET", path, api_version="2021-04-01") for _dummy in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer.headers["x-ms-ratelimit-remaining-subscription-reads"] for answer in answers] == ["2", "1", "0", "0"]
    throttled = answers[-1]
    assert throttled.headers["Retry-After"] == str(throttling.NO_REFILL_RETRY_AFTER)
    assert throttled.json["error"]["code"] == "SubscriptionRequestsThrottled"
    assert "'read' requests" in throttled.json["error"]["message"]


def test_deletes_have_their_own_header(limited):
    _app, call, seed = limited
    path = SUB.format(seed.SUBSCRIPTION_ID) + f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    first, second = call("DELETE", path), call("DELETE", path)
    assert first.headers["x-ms-ratelimit-remaining-subscription-deletes"] == "0"
    assert second.status_code == 429


def test_the_role_assignment_limit_answers_azures_error(limited):
    _app, call, seed = limited
    principal = seed.PRINCIPALS[0]["objectId"]
    path = (SUB.format(seed.SUBSCRIPTION_ID)
            + f"/resourceGroups/rg-backup/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}")
    body = {"properties": {"principalId": principal,
                           "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/"
                                               "acdd72a7-3385-48ef-bd42-f606fba81ae7"}}
    answer = call("PUT", path, json=body)
    assert answer.status_code == 400
    assert answer.json["error"] == {"code": "RoleAssignmentLimitExceeded",
                                    "message": "No more role assignments can be created."}
    assert answer.headers["x-ms-ratelimit-remaining-subscription-writes"] == "1"


def test_without_limits_nothing_is_throttled(inproc):
    answers = [inproc.call("GET", inproc.vault_path("absent")) for _dummy in range(5)]
    assert {answer.status_code for answer in answers} == {404}
    assert answers[0].headers["x-ms-ratelimit-remaining-subscription-reads"] == "11999"


def test_the_limits_can_be_switched_at_run_time(inproc):
    from werkzeug.test import Client

    control = Client(inproc.app)

    def switch(on):
        answer = control.post("/_emulator/settings", json={"arm_limits": on}, base_url="https://127.0.0.1:8443",
                              environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert answer.status_code == 200 and answer.json["arm_limits"] is on

    switch(True)
    answer = inproc.call("GET", inproc.vault_path("absent"))
    assert answer.headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"
    switch(False)
    answer = inproc.call("GET", inproc.vault_path("absent"))
    assert answer.headers["x-ms-ratelimit-remaining-subscription-reads"] == "11999"
