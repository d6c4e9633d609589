# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bounded waits: long-running operations and resource states.

Azure answers long-running requests with 201/202 and a status URL; the SDK's poller follows it and
sleeps as the service's Retry-After says. We only bound the total time and report where it stopped.
States that Azure reports on the resource itself (protection status, job status) are polled with a
short, growing interval, also bounded.
"""

import time

# Interval the SDK pollers fall back to when a status response carries no Retry-After (the SDK's own is 30 s).
FALLBACK_POLLING_INTERVAL = 2


class WaitTimeout(Exception):
    """A bounded wait ran out; the message says what was awaited, for how long and its last state."""

    def __init__(self, what, timeout, last_state=None):
        self.what = what
        self.timeout = timeout
        self.last_state = last_state
        text = "Timed out after {0} s waiting for {1}".format(timeout, what)
        if last_state:
            text += " (last state: {0})".format(last_state)
        text += ". The operation goes on in Azure; rerun the task (it is idempotent) or raise wait_timeout."
        super(WaitTimeout, self).__init__(text)


def wait_for_poller(poller, timeout, what):
    """Wait for an SDK LROPoller at most ``timeout`` seconds and return its result.

    A failed operation raises the SDK's HttpResponseError carrying the operation's own error.
    """
    poller.wait(timeout)
    if not poller.done():
        raise WaitTimeout(what, timeout, poller.status())
    return poller.result()


def backoff_intervals(first=1.0, factor=1.5, maximum=10.0):
    """1, 1.5, 2.25, ... seconds, capped: quick to notice a fast change, gentle on a slow one."""
    interval = first
    while True:
        yield interval
        interval = min(interval * factor, maximum)


def poll_until(read, is_done, timeout, what, describe=None, sleep=time.sleep, clock=time.monotonic,
               intervals=None):
    """Call ``read()`` until ``is_done(value)`` or ``timeout`` seconds pass; return the last value.

    ``read`` may return ``(value, retry_after)`` to let the service set the pace; otherwise the growing
    intervals apply. Never sleeps past the deadline.
    """
    deadline = clock() + timeout
    intervals = intervals or backoff_intervals()
    while True:
        value, retry_after = _split(read())
        if is_done(value):
            return value
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(what, timeout, describe(value) if describe else None)
        pause = retry_after if retry_after else next(intervals)
        sleep(min(pause, remaining))


def _split(result):
    if isinstance(result, tuple) and len(result) == 2:
        return result
    return result, None
