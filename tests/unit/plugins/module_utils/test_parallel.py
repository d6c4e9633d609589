"""The bounded-concurrency runner of list mode: order, the bound, failures that end only their own item, and the
isolated façade a worker gets."""

import threading

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import parallel

# Only reached when the runner is broken (fewer threads than the bound, or a deadlock): never on a slow machine.
BROKEN = 30


def test_results_come_back_in_the_order_of_the_items():
    outcomes = parallel.run_bounded(list(range(7)), lambda item: {"square": item * item}, max_parallel=3)
    assert [outcome.item for outcome in outcomes] == list(range(7))
    assert [outcome.result["square"] for outcome in outcomes] == [0, 1, 4, 9, 16, 25, 36]
    assert not any(outcome.failed for outcome in outcomes)


def test_exactly_max_parallel_items_run_at_once():
    bound = 3
    meet = threading.Barrier(bound, timeout=BROKEN)  # breaks unless `bound` workers are in flight together
    lock = threading.Lock()
    active = {"now": 0, "most": 0}

    def work(item):
        with lock:
            active["now"] += 1
            active["most"] = max(active["most"], active["now"])
        meet.wait()
        with lock:
            active["now"] -= 1
        return item

    outcomes = parallel.run_bounded(range(9), work, max_parallel=bound)
    assert [outcome.result for outcome in outcomes] == list(range(9))
    assert active["most"] == bound


def test_one_at_a_time_runs_in_the_callers_thread():
    threads = parallel.run_bounded(range(3), lambda item: threading.current_thread(), max_parallel=1)
    assert {outcome.result for outcome in threads} == {threading.current_thread()}


def test_a_failure_ends_only_its_own_item():
    def work(item):
        if item == "b":
            raise parallel.ItemFailed("b is broken", error_code="Broken")
        return {"ok": item}

    outcomes = parallel.run_bounded(["a", "b", "c"], work, max_parallel=2)
    assert [outcome.failed for outcome in outcomes] == [False, True, False]
    assert outcomes[1].error.msg == "b is broken"
    assert outcomes[1].error.details == {"error_code": "Broken"}
    assert outcomes[2].result == {"ok": "c"}
    assert parallel.summary(outcomes, str.upper) == "1 of 3 server(s) failed: B: b is broken"


def test_an_unexpected_error_is_not_swallowed():
    def work(item):
        raise KeyError(item)

    with pytest.raises(KeyError):
        parallel.run_bounded(["a", "b"], work, max_parallel=2)


def test_nothing_to_do():
    assert parallel.run_bounded([], lambda item: item) == []
    assert parallel.summary([], str) is None


@pytest.mark.parametrize("value, ok", [(None, True), (1, True), (50, True), (0, False), (51, False)])
def test_max_parallel_range(value, ok):
    assert (parallel.max_parallel_problem(value) is None) is ok


class Facade:
    def __init__(self):
        self.params = {"server_id": None, "wait_timeout": 60}
        self.warned = []

    def warn(self, msg):
        self.warned.append(msg)

    def fail(self, msg, **kwargs):
        raise SystemExit(msg)

    def fail_through(self, msg):
        self.fail(msg, error_code="X")


def test_isolated_facade_fails_and_warns_for_its_item_only():
    facade = Facade()
    scope = parallel.isolated(facade, server_id="/s/1")
    assert scope.params == {"server_id": "/s/1", "wait_timeout": 60}
    assert facade.params["server_id"] is None
    scope.warn("careful")
    assert scope.warnings == ["careful"] and facade.warned == []
    with pytest.raises(parallel.ItemFailed) as raised:
        scope.fail_through("gone")  # the façade's own methods reach the item's fail()
    assert raised.value.msg == "gone" and raised.value.details == {"error_code": "X"}
    with pytest.raises(SystemExit):
        facade.fail_through("the module's own fail still ends the module")
