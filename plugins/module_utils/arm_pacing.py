# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pacing of ARM requests from the service's own signals, shared by every thread of one module run.

Azure Resource Manager throttles each subscription per principal with token buckets (reads, writes, deletes)
and reports what is left after every request in ``x-ms-ratelimit-remaining-subscription-reads`` / ``-writes`` /
``-deletes``; an empty bucket answers 429 with ``Retry-After``. ``RequestPacing`` is an azure-core pipeline
policy placed after the retry policy (so it sees every attempt); each client has its own policy (a pipeline links
its policies), and every policy of a session shares one ``SessionPace``:
- while the budget of a kind is comfortable, requests go at once;
- when it runs low, requests of that kind take turns at the bucket's documented refill rate, so the threads of
  a list-mode run share the refill instead of racing into 429s;
- after a 429, every thread waits for its ``Retry-After`` (the retry policy retries the throttled request);
- status polls of a long-running operation that carry no ``Retry-After`` back off per operation (1.5x per poll,
  up to 30 s, the SDK's own interval), instead of every ``polling_interval`` seconds for ever.
"""

import re
import threading
import time

try:
    from azure.core.pipeline.policies import HTTPPolicy
except ImportError:  # the import sanity test runs without azure-core; the façade fails before using this
    HTTPPolicy = object

READS, WRITES, DELETES = "reads", "writes", "deletes"
# Azure's documented refill per second of one principal's bucket: the pace once the budget runs low.
DOCUMENTED_REFILL = {READS: 25.0, WRITES: 10.0, DELETES: 10.0}
# Below this many remaining requests, take turns (room for the requests other threads already have in flight).
LOW_BUDGET = 20
MAX_RETRY_AFTER = 60
POLL_BACKOFF = 1.5
MAX_POLL_INTERVAL = 30.0
_SUBSCRIPTION = re.compile(r"/subscriptions/([^/?]+)", re.IGNORECASE)
_STATUS_POLL = re.compile(r"/(operationStatus|operationResults|operationsStatus|operations)/", re.IGNORECASE)


def kind_of(method):
    method = method.upper()
    if method in ("GET", "HEAD"):
        return READS
    return DELETES if method == "DELETE" else WRITES


def _retry_after(headers):
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return min(float(value), MAX_RETRY_AFTER) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the retry policy reads it; the pacing does without


class RequestPacing(HTTPPolicy):
    """The pipeline policy of one client; the pace is the session's (``SessionPace``)."""

    def __init__(self, pace):
        super(RequestPacing, self).__init__()
        self.pace = pace

    def send(self, request):
        http_request = request.http_request
        key = self.pace.key(http_request)
        self.pace.wait(self.pace.turn(key, http_request.url))
        response = self.next.send(request)
        self.pace.learn(key, http_request, response.http_response)
        return response


class SessionPace:
    """Shared pace per (subscription, kind) and per long-running operation; see the module docstring."""

    def __init__(self, clock=time.monotonic, sleep=time.sleep, refill=None):
        self._clock = clock
        self._sleep = sleep
        self._refill = dict(DOCUMENTED_REFILL, **(refill or {}))
        self._lock = threading.Lock()
        self._remaining = {}   # (subscription, kind) -> requests left, as last reported (minus those sent since)
        self._next_turn = {}   # (subscription, kind) -> monotonic time before which no request of that kind goes
        self._polls = {}       # status URL -> (polls so far, monotonic time of the next poll)
        self.throttled = 0     # 429s received by this session
        self.waited = 0.0      # seconds spent waiting for a turn

    @staticmethod
    def key(http_request):
        match = _SUBSCRIPTION.search(http_request.url)
        return (match.group(1).lower() if match else "", kind_of(http_request.method))

    def turn(self, key, url):
        """When this request may go (and reserve the next turn when the budget is low)."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_turn.get(key, now))
            remaining = self._remaining.get(key)
            if remaining is not None:
                if remaining <= LOW_BUDGET:
                    self._next_turn[key] = start + 1.0 / self._refill[key[1]]
                self._remaining[key] = remaining - 1
            poll = self._polls.get(url)
            if poll is not None:
                start = max(start, poll[1])
            return start - now

    def wait(self, seconds):
        if seconds > 0:
            with self._lock:
                self.waited += seconds
            self._sleep(seconds)

    def learn(self, key, http_request, http_response):
        headers = http_response.headers
        retry_after = _retry_after(headers)
        with self._lock:
            now = self._clock()
            reported = headers.get("x-ms-ratelimit-remaining-subscription-" + key[1])
            if reported is not None:
                try:
                    self._remaining[key] = int(reported)
                except ValueError:
                    pass
            if http_response.status_code == 429:
                self.throttled += 1
                self._remaining[key] = 0
                self._next_turn[key] = max(self._next_turn.get(key, now), now + (retry_after or 1))
            if http_request.method.upper() == "GET" and _STATUS_POLL.search(http_request.url):
                self._pace_poll(http_request.url, retry_after, now)

    def _pace_poll(self, url, retry_after, now):
        """No Retry-After on a status poll: the next poll of the same operation waits longer each time."""
        if retry_after is not None:
            self._polls.pop(url, None)
            return
        count = self._polls.get(url, (0, now))[0] + 1
        interval = min(POLL_BACKOFF ** count, MAX_POLL_INTERVAL)
        self._polls[url] = (count, now + interval)
