# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The contract between modules and their helpers: one input error, one ensure result, one reading of timeouts.

* Helpers raise ``InputError`` (or a subclass) for input or state that rules a change out before anything is
  written; the façade turns it into ``fail_json`` with ``msg``, the ``option`` to fix and any ``extra`` keys.
* ``ensure_*`` helpers return an ``EnsureResult``.
* ``wait_timeout: 0`` means "do not wait" in every module (``waits``).
"""

import collections

DEFAULT_WAIT_TIMEOUT = 600


class InputError(ValueError):
    """Input or state that rules out the request; nothing was written.

    ``option`` names the module option to fix (None when the cause is Azure's state); ``extra`` goes into the
    failure result.
    """

    def __init__(self, message, option=None, **extra):
        super(InputError, self).__init__(message)
        self.option = option
        self.extra = extra

    def fail_kwargs(self):
        """Keyword arguments of ``fail_json`` (besides ``msg``)."""
        kwargs = dict(self.extra)
        if self.option:
            kwargs.setdefault("option", self.option)
        return kwargs


class EnsureResult(collections.namedtuple("EnsureResult", "changed resource diff warnings extra")):
    """What every ``ensure_*`` helper returns: ``changed``, the readable ``resource`` afterwards (None when
    absent), the Ansible ``diff``, ``warnings`` for the operator, and ``extra`` result keys of the module."""

    __slots__ = ()

    def __new__(cls, changed, resource=None, diff=None, warnings=None, extra=None):
        return super(EnsureResult, cls).__new__(cls, bool(changed), resource, diff, list(warnings or []),
                                                dict(extra or {}))


def waits(params, default=DEFAULT_WAIT_TIMEOUT):
    """(wait, timeout) from the ``wait`` and ``wait_timeout`` options: ``wait_timeout: 0`` means "do not wait"."""
    timeout = params.get("wait_timeout")
    timeout = default if timeout is None else int(timeout)
    return bool(params.get("wait", True)) and timeout > 0, timeout
