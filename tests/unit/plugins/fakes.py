# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fakes the unit tests share: a simulated clock, SDK pollers, HTTP responses, SDK models and ARM errors."""

import json
from types import SimpleNamespace

from azure.core.exceptions import HttpResponseError


class Clock:
    """A simulated clock: ``sleep`` advances it and records the pause; call it (or ``time()``) to read it."""

    def __init__(self, now=0.0):
        self.now = now
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def time(self):
        return self.now

    def __call__(self):
        return self.now


class Poller:
    """An SDK LROPoller: done (or not) from the start, with a result or an error, and the timeout it was given."""

    def __init__(self, result=None, error=None, finished=True, status=None):
        self._result = result
        self._error = error
        self._finished = finished
        self._status = status
        self.waited = None

    def wait(self, timeout=None):
        self.waited = timeout

    def done(self):
        return self._finished

    def status(self):
        if self._status:
            return self._status
        return "Failed" if self._error else "Succeeded"

    def result(self):
        if self._error:
            raise self._error
        return self._result


class Response:
    """An HTTP response as the SDK pipeline and azure-core errors read it."""

    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self.reason = "reason"
        self._body = {} if body is None else body
        self.headers = headers or {}
        self.request = None

    def json(self):
        return self._body

    def text(self, encoding=None):
        return json.dumps(self._body)

    def raise_for_status(self):
        if self.status_code >= 400:
            raise arm_error(self.status_code, "Boom")


class Model(dict):
    """An SDK model: ``as_dict()`` gives the wire dict."""

    def as_dict(self):
        return dict(self)


def arm_error(status, code, message="refused", cls=HttpResponseError):
    """An azure-core error as the SDK raises it for an ARM error response."""
    exc = cls(message=message)
    exc.status_code = status
    exc.error = SimpleNamespace(code=code, message=message)
    return exc
