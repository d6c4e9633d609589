"""Bounded waits: they stop at their bound, say where they stopped, and follow the service's pace."""

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import azure_waits
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.fakes import Poller


def test_poller_result_is_returned_when_done():
    poller = Poller({"name": "bv1"})
    assert azure_waits.wait_for_poller(poller, 30, "creating bv1") == {"name": "bv1"}
    assert poller.waited == 30


def test_poller_timeout_says_what_and_last_state():
    with pytest.raises(azure_waits.WaitTimeout) as error:
        azure_waits.wait_for_poller(Poller(finished=False, status="Provisioning"), 5, "creating bv1")
    assert "Timed out after 5 s waiting for creating bv1 (last state: Provisioning)" in str(error.value)


def test_poll_until_returns_when_done(clock):
    states = iter(["ConfiguringProtection", "ConfiguringProtection", "ProtectionConfigured"])
    result = azure_waits.poll_until(lambda: next(states), lambda s: s == "ProtectionConfigured", 60, "protection",
                                    sleep=clock.sleep, clock=clock.time)
    assert result == "ProtectionConfigured"
    assert clock.sleeps == [1.0, 1.5]


def test_poll_until_never_sleeps_past_the_deadline(clock):
    with pytest.raises(azure_waits.WaitTimeout, match="last state: InProgress"):
        azure_waits.poll_until(lambda: "InProgress", lambda s: False, 10, "job", describe=str,
                               sleep=clock.sleep, clock=clock.time)
    assert clock.now == pytest.approx(10)
    assert max(clock.sleeps) <= 10


def test_poll_until_follows_retry_after(clock):
    answers = iter([("InProgress", 7), ("InProgress", 3), ("Succeeded", None)])
    azure_waits.poll_until(lambda: next(answers), lambda s: s == "Succeeded", 60, "op",
                           sleep=clock.sleep, clock=clock.time)
    assert clock.sleeps == [7, 3]


def test_backoff_is_capped():
    intervals = azure_waits.backoff_intervals(first=1, factor=2, maximum=5)
    assert [next(intervals) for dummy in range(5)] == [1, 2, 4, 5, 5]
