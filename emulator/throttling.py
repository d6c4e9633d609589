"""Azure Resource Manager's request limits (``serve --arm-limits``): token buckets and the RBAC assignment limit.

ARM throttles each subscription per calling principal with a token bucket per kind of request: reads (GET, HEAD),
writes (PUT, PATCH, POST) and deletes. A request takes one token; a bucket refills at a steady rate up to its size.
A global bucket per subscription, 15 times larger and faster, is shared by every principal. An empty bucket answers
429 ``SubscriptionRequestsThrottled`` with ``Retry-After``; every answer reports what is left in
``x-ms-ratelimit-remaining-subscription-reads`` / ``-writes`` / ``-deletes``. The buckets run on real time (they
are about request rates); the clock is injectable so tests do not depend on machine speed.
"""

import math
import threading
import time

READS, WRITES, DELETES = "reads", "writes", "deletes"
# Azure's documented sizes and refill rates per subscription and principal (tokens, tokens per second).
DEFAULT_LIMITS = {READS: (250, 25.0), WRITES: (200, 10.0), DELETES: (200, 10.0)}
GLOBAL_FACTOR = 15
ROLE_ASSIGNMENT_LIMIT = 4000
# What Retry-After says when a bucket never refills (a refill of 0, for tests).
NO_REFILL_RETRY_AFTER = 60


def kind_of(method):
    method = method.upper()
    if method in ("GET", "HEAD"):
        return READS
    return DELETES if method == "DELETE" else WRITES


def remaining_header(kind):
    return f"x-ms-ratelimit-remaining-subscription-{kind}"


def parse_limit(text):
    """``"250/25"`` (bucket size / refill per second) → (250, 25.0)."""
    size, _slash, refill = text.partition("/")
    size, refill = int(size), float(refill or 0)
    if size < 1 or refill < 0:
        raise ValueError("a limit is BUCKET/REFILL with BUCKET >= 1 and REFILL >= 0, e.g. 250/25")
    return size, refill


class TokenBucket:
    """``capacity`` tokens, ``refill`` more per second up to the capacity."""

    def __init__(self, capacity, refill, now):
        self.capacity = capacity
        self.refill = refill
        self.tokens = float(capacity)
        self.updated = now

    def level(self, now):
        if self.refill:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill)
        self.updated = now
        return self.tokens

    def seconds_to_one(self, now):
        missing = 1 - self.level(now)
        if missing <= 0:
            return 0.0
        return missing / self.refill if self.refill else float(NO_REFILL_RETRY_AFTER)


class ArmLimits:
    """The buckets of every (subscription, principal, kind) and every (subscription, kind)."""

    def __init__(self, limits=None, global_factor=GLOBAL_FACTOR, clock=time.monotonic):
        self.limits = dict(DEFAULT_LIMITS, **(limits or {}))
        self.global_factor = global_factor
        self.clock = clock
        self._buckets = {}
        self._lock = threading.Lock()

    def _bucket(self, key, kind, factor, now):
        if key not in self._buckets:
            size, refill = self.limits[kind]
            self._buckets[key] = TokenBucket(size * factor, refill * factor, now)
        return self._buckets[key]

    def _pair(self, subscription, principal, method, now):
        """The kind of the request, the caller's bucket and the subscription's bucket (call with the lock held)."""
        kind = kind_of(method)
        subscription = (subscription or "tenant").lower()
        own = self._bucket((subscription, (principal or "").lower(), kind), kind, 1, now)
        shared = self._bucket((subscription, kind), kind, self.global_factor, now)
        return kind, own, shared

    def admit(self, subscription, principal, method):
        """Take a token for one request: ``(kind, remaining, retry_after)``; retry_after is None when admitted."""
        with self._lock:
            now = self.clock()
            kind, own, shared = self._pair(subscription, principal, method, now)
            wait = max(own.seconds_to_one(now), shared.seconds_to_one(now))
            if wait > 0:
                return kind, int(min(own.tokens, shared.tokens)), max(1, math.ceil(wait))
            own.tokens -= 1
            shared.tokens -= 1
            return kind, int(min(own.tokens, shared.tokens)), None

    def remaining(self, subscription, principal, method):
        """What is left, without taking anything."""
        with self._lock:
            now = self.clock()
            kind, own, shared = self._pair(subscription, principal, method, now)
            return kind, int(min(own.level(now), shared.level(now)))


def throttled_message(kind, path, retry_after):
    """ARM's message for a 429, as the real service words it."""
    singular = kind[:-1]
    return (f"Number of '{singular}' requests for subscription exceeded the limit for path '{path}'. Please try again "
            f"after '{retry_after}' seconds after additional tokens are available. Refer to "
            "https://aka.ms/throttling for additional information.")
