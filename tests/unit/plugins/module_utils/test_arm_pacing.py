"""The shared request pace: ARM's remaining-budget headers, Retry-After and status polls, on a fake transport."""

import threading

from azure.core.pipeline import Pipeline
from azure.core.rest import HttpRequest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm_pacing, azure_module
from tests.unit.plugins.module_utils.test_azure_module import ScriptedTransport, make_session

VAULT = "https://arm.example/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v"
STATUS = "https://arm.example/subscriptions/sub-1/providers/Microsoft.DataProtection/locations/eastus/operationStatus/op1"


class Clock:
    """Time moves only when the policy sleeps."""

    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def pipeline(script, clock, retries=False):
    transport = ScriptedTransport(script)
    pace = arm_pacing.SessionPace(clock=clock, sleep=clock.sleep)
    policies = [azure_module.BoundedRetryPolicy(retry_backoff_factor=0)] if retries else []
    return Pipeline(transport=transport, policies=policies + [arm_pacing.RequestPacing(pace)]), pace, transport


def send(pipe, method="PUT", url=VAULT):
    return pipe.run(HttpRequest(method, url)).http_response


def writes_left(count):
    return (200, {"x-ms-ratelimit-remaining-subscription-writes": str(count)})


def test_a_comfortable_budget_costs_no_wait():
    clock = Clock()
    pipe, pacing, _transport = pipeline([writes_left(150), writes_left(149), writes_left(148)], clock)
    for _dummy in range(3):
        send(pipe)
    assert clock.sleeps == []
    assert pacing.waited == 0


def test_a_low_budget_makes_requests_take_turns_at_the_refill_rate():
    clock = Clock()
    pipe, pacing, _transport = pipeline([writes_left(5)] * 4, clock)
    for _dummy in range(4):
        send(pipe)
    # the first learns the budget is low; each next write waits its turn, 1/10 s apart (writes refill 10/s)
    assert clock.sleeps == [0.1, 0.1]
    assert pacing.throttled == 0


def test_kinds_and_subscriptions_are_paced_apart():
    clock = Clock()
    other = VAULT.replace("sub-1", "sub-2")
    pipe, _pacing, _transport = pipeline([writes_left(1), writes_left(1), (200, {}), (200, {}), writes_left(1)], clock)
    send(pipe)
    send(pipe)  # takes the next turn
    send(pipe, "GET")  # reads have their own budget
    send(pipe, "PUT", other)  # and so has another subscription
    assert clock.sleeps == []
    send(pipe)  # the second write of sub-1 had reserved the turn after it
    assert clock.sleeps == [0.1]


def test_a_429_holds_every_thread_for_its_retry_after_and_the_request_is_retried():
    clock = Clock()
    throttled = (429, {"Retry-After": "7", "x-ms-ratelimit-remaining-subscription-writes": "0"})
    pipe, pacing, transport = pipeline([throttled, writes_left(100), writes_left(99)], clock, retries=True)
    transport.sleep = lambda seconds: setattr(clock, "now", clock.now + seconds)  # the retry policy's pause
    assert send(pipe).status_code == 200
    assert pacing.throttled == 1
    assert clock.sleeps == []  # the retry policy's Retry-After pause was enough
    # another thread that sends during the pause waits for its end
    pipe, pacing, transport = pipeline([throttled, writes_left(100)], clock)
    assert send(pipe).status_code == 429
    send(pipe)
    assert clock.sleeps == [7.0]


def test_status_polls_without_retry_after_back_off_per_operation():
    clock = Clock()
    pipe, _pacing, _transport = pipeline([(200, {})] * 7 + [(200, {"Retry-After": "1"}), (200, {})], clock)
    for _dummy in range(6):
        send(pipe, "GET", STATUS)
    assert clock.sleeps == [1.5, 2.25, 3.375, 5.062, 7.594]
    send(pipe, "GET", STATUS.replace("op1", "op2"))  # another operation has its own pace
    assert len(clock.sleeps) == 5
    clock.now += 100
    send(pipe, "GET", STATUS)  # the service sets the pace again: no back-off of ours
    send(pipe, "GET", STATUS)
    assert len(clock.sleeps) == 5


def test_threads_share_the_turns():
    clock = Clock()
    lock = threading.Lock()

    class Sleeper(Clock):
        def sleep(self, seconds):
            with lock:
                self.sleeps.append(round(seconds, 3))

    sleeper = Sleeper()
    sleeper.now = clock.now
    transport = ScriptedTransport([writes_left(0)] * 9)
    pace = arm_pacing.SessionPace(clock=sleeper, sleep=sleeper.sleep)
    pipe = Pipeline(transport=transport, policies=[arm_pacing.RequestPacing(pace)])
    send(pipe)
    threads = [threading.Thread(target=send, args=(pipe,)) for _dummy in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # eight writes at a frozen clock: each takes its own turn, 0.1 s after the one before
    assert sorted(sleeper.sleeps) == [round(0.1 * turn, 3) for turn in range(1, 8)]


def test_every_client_of_a_session_shares_one_pace_through_its_own_policy():
    session = make_session()
    first, second = (session.client_kwargs()["per_retry_policies"][0] for _dummy in range(2))
    assert first is not second  # a pipeline links its policies: one policy object per client
    assert first.pace is second.pace is session.pace
