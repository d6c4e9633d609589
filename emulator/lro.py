"""Long-running operations: start, settle after ``--lro-seconds`` of real time, report status and result.

Operations complete lazily: every request first calls ``settle()``, which finishes each operation whose
time has come by running its completion callback under the store lock. No background thread is needed
and the outcome is deterministic for a given sequence of requests.

Holds (``POST /_emulator/holds``) keep matching operations running past their time until released, so tests
can look at in-progress states however slow the machine is.

Status values follow what the real Microsoft.DataProtection service sends (recordings of real traffic
show ``"Inprogress"`` and ``"endTime": "0001-01-01T00:00:00Z"`` while running); azure-core compares
statuses without case.
"""

import base64
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from emulator.clock import iso

IN_PROGRESS = "Inprogress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
UNSET_END_TIME = "0001-01-01T00:00:00Z"


def new_operation_id():
    """An id shaped like the service's: base64 of two GUIDs joined by ';' (kept free of '/' and '+')."""
    while True:
        raw = f"{uuid.uuid4()};{uuid.uuid4()}".encode()
        text = base64.b64encode(raw).decode()
        if "/" not in text and "+" not in text:
            return text


@dataclass
class Operation:
    """One asynchronous operation and what happens when it completes."""

    op_id: str
    kind: str
    resource_id: str
    location: str
    start_time: Any
    due: float
    on_complete: Optional[Callable] = None
    status: str = IN_PROGRESS
    end_time: Any = None
    error: Optional[dict] = None
    result: dict = field(default_factory=dict)

    @property
    def running(self):
        return self.status == IN_PROGRESS


class OperationManager:
    """The store's operations, keyed by operation id."""

    def __init__(self, store):
        self.store = store
        self.operations = {}
        self.holds = []

    def clear(self):
        self.operations.clear()
        self.holds.clear()

    def hold(self, hold_id, kind_regex="", path_regex=""):
        """Keep operations whose kind and resource id match (``re.search``) running until released."""
        hold = {"id": hold_id, "kind_regex": kind_regex, "path_regex": path_regex}
        self.holds.append(hold)
        return hold

    def release(self, hold_id=None):
        """Release one hold (or all); returns how many were released. Due operations complete at the next settle."""
        before = len(self.holds)
        self.holds[:] = [hold for hold in self.holds if hold_id is not None and hold["id"] != hold_id]
        return before - len(self.holds)

    def is_held(self, op):
        return any(re.search(hold["kind_regex"], op.kind) and re.search(hold["path_regex"], op.resource_id)
                   for hold in self.holds)

    def start(self, kind, resource_id, location, on_complete=None, seconds=None, result=None):
        """Register an operation that completes ``seconds`` (default ``--lro-seconds``) of real time from now.

        ``on_complete(store, op)`` runs once when it completes; it may return an error dict
        (``{"code", "message"}``) to make the operation fail.
        """
        delay = self.store.settings.lro_seconds if seconds is None else seconds
        op = Operation(op_id=new_operation_id(), kind=kind, resource_id=resource_id, location=location,
                       start_time=self.store.clock.now(), due=time.monotonic() + max(0.0, delay),
                       on_complete=on_complete, result=dict(result or {}))
        self.operations[op.op_id] = op
        if delay <= 0 and not self.is_held(op):
            self._complete(op)
        return op

    def get(self, op_id):
        self.settle()
        return self.operations.get(op_id)

    def settle(self):
        """Complete every running operation whose time has come."""
        now = time.monotonic()
        for op in list(self.operations.values()):
            if op.running and op.due <= now and not self.is_held(op):
                self._complete(op)

    def running_for(self, resource_id):
        """Running operations on one resource (e.g. to refuse a second write while one is in flight)."""
        self.settle()
        key = resource_id.lower()
        return [op for op in self.operations.values() if op.running and op.resource_id.lower() == key]

    def _complete(self, op):
        error = op.on_complete(self.store, op) if op.on_complete else None
        op.end_time = self.store.clock.now()
        if error:
            op.status = FAILED
            op.error = error
        else:
            op.status = SUCCEEDED

    @staticmethod
    def retry_after(op):
        """Seconds until the operation is due, as an integer >= 1 (azure-core ignores 0)."""
        return max(1, math.ceil(op.due - time.monotonic()))

    def start_headers(self, op):
        """``Retry-After`` of the answer that starts an operation."""
        return {"Retry-After": str(self.retry_after(op)) if op.running else "1"}

    def poll_headers(self, op):
        """``Retry-After`` of a status or result poll while the operation runs, unless ``--no-retry-after``."""
        if not op.running or self.store.settings.no_retry_after:
            return {}
        return {"Retry-After": str(self.retry_after(op))}


def status_body(op, path):
    """The operationStatus resource (OperationResource in the spec) for the URL path it was asked at."""
    body = {
        "id": path,
        "name": op.op_id,
        "status": op.status,
        "startTime": iso(op.start_time),
        "endTime": iso(op.end_time) if op.end_time else UNSET_END_TIME,
    }
    if op.error:
        body["error"] = op.error
    elif op.status == SUCCEEDED and op.result.get("jobId"):
        # What the service sends once an operation that started a job succeeds (recorded ad hoc backup traffic).
        body["properties"] = {"jobId": op.result["jobId"], "objectType": "OperationJobExtendedInfo"}
    return body
