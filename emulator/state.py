"""The in-memory store: every table, the request log, fault rules, operations and the simulated clock.

One re-entrant lock guards all of it. The dispatcher holds the lock while a handler runs (handlers are
short and never sleep), so handlers can read and write several tables without further locking.
"""

import threading
from collections import defaultdict

from emulator import registry, throttling
from emulator.clock import SimClock
from emulator.lro import OperationManager


class Store:
    """Named tables of resources keyed by lower-cased ARM id, plus emulator bookkeeping."""

    def __init__(self, settings):
        self.settings = settings
        self.lock = threading.RLock()
        self.clock = SimClock()
        self.operations = OperationManager(self)
        self.tables = defaultdict(dict)
        self.request_log = []
        self.faults = []
        self.counters = defaultdict(int)
        self.arm_limits = None
        self._next_seq = 0

    def table(self, name):
        """A dict for one resource type; created on first use."""
        return self.tables[name]

    def under(self, name, prefix):
        """Records of table ``name`` whose id starts with ``prefix`` (children of a resource), in id order."""
        prefix = prefix.lower()
        return [record for key, record in sorted(self.table(name).items()) if key.startswith(prefix)]

    def drop_under(self, name, prefix):
        """Delete the records of table ``name`` whose id starts with ``prefix``: children go with their parent."""
        prefix = prefix.lower()
        table = self.table(name)
        for key in [key for key in table if key.startswith(prefix)]:
            del table[key]

    def next_seq(self):
        with self.lock:
            self._next_seq += 1
            return self._next_seq

    def bump(self, counter):
        """Increment and return a named counter (e.g. how many times a vault id was created)."""
        self.counters[counter] += 1
        return self.counters[counter]

    def reset(self):
        """Back to the seeded state: tables, log, faults, operations and clock."""
        with self.lock:
            self.tables.clear()
            self.request_log.clear()
            self.faults.clear()
            self.counters.clear()
            self.operations.clear()
            self.clock.reset()
            self.arm_limits = arm_limits(self.settings)
            self._next_seq = 0
            for _order, load in registry.REGISTRY.seeders:
                load(self)

    def advance_clock(self, duration_text):
        """Move simulated time and let resource modules run what became due (scheduled backups, expiry)."""
        with self.lock:
            self.operations.settle()
            before, after = self.clock.advance(duration_text)
            for callback in registry.REGISTRY.clock_hooks:
                callback(self, before, after)
            return before, after


def arm_limits(settings):
    """Fresh token buckets when the emulator runs with ``--arm-limits``, else None."""
    if not getattr(settings, "arm_limits", False):
        return None
    return throttling.ArmLimits({throttling.READS: settings.read_limit, throttling.WRITES: settings.write_limit,
                                 throttling.DELETES: settings.delete_limit})
