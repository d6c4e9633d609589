# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""List mode: one module run handles many servers, a bounded number at a time, and one failure ends only its own item.

``run_bounded(items, work, max_parallel, failures)`` runs ``work(item)`` on at most ``max_parallel`` threads and
returns one ``Outcome`` per item, in the order of ``items``. An exception of a type in ``failures`` is that item's
failure; any other exception is a bug and propagates (after every started item has finished).

``isolated(azure)`` gives a worker its own view of the module façade: the same session and clients (built once, before
the threads start), but ``fail()`` raises ``ItemFailed`` instead of ending the module, and ``warn()`` collects the
warnings of that item. Everything the façade does on an Azure error (``azure_errors``, ``wait``, ``arm_get``) goes
through ``fail()``, so the item gets the same message a single-server run would have printed.
"""

import copy
from concurrent.futures import ThreadPoolExecutor

DEFAULT_MAX_PARALLEL = 10
MAX_PARALLEL_LIMIT = 50


class ItemFailed(Exception):
    """The failure of one item: the message and the extra result keys a single run would have failed with."""

    def __init__(self, msg, **details):
        super(ItemFailed, self).__init__(msg)
        self.msg = msg
        self.details = details


class Outcome:
    """What ``work(item)`` gave: ``result`` (a dict) or ``error`` (the exception of a type in ``failures``)."""

    def __init__(self, item, result=None, error=None):
        self.item = item
        self.result = result
        self.error = error

    @property
    def failed(self):
        return self.error is not None


def run_bounded(items, work, max_parallel=DEFAULT_MAX_PARALLEL, failures=(ItemFailed,)):
    """``work(item)`` for every item, at most ``max_parallel`` at once; one ``Outcome`` per item, in order."""
    items = list(items)
    if not items:
        return []

    def guarded(item):
        try:
            return Outcome(item, result=work(item))
        except failures as exc:
            return Outcome(item, error=exc)

    workers = max(1, min(int(max_parallel or 1), len(items)))
    if workers == 1:
        return [guarded(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(guarded, item) for item in items]
        return [future.result() for future in futures]


def isolated(azure, **params):
    """A copy of the façade for one item: shared session, own params (``params`` override), own warnings, and a
    ``fail()`` that raises ``ItemFailed``."""
    scope = copy.copy(azure)
    scope.params = dict(azure.params, **params)
    scope.warnings = []

    def fail(msg, **details):
        raise ItemFailed(msg, **details)

    scope.fail = fail
    scope.warn = scope.warnings.append
    return scope


def max_parallel_problem(value):
    """Why ``max_parallel`` is out of range, or None."""
    if value is None or 1 <= value <= MAX_PARALLEL_LIMIT:
        return None
    return "max_parallel must be between 1 and {0}, got {1}.".format(MAX_PARALLEL_LIMIT, value)


def summary(outcomes, label):
    """``N of M servers failed: a: message; b: message`` for the failures of ``outcomes`` (None when none failed).

    ``label(item)`` names an item.
    """
    failed = [outcome for outcome in outcomes if outcome.failed]
    if not failed:
        return None
    return "{0} of {1} server(s) failed: {2}".format(
        len(failed), len(outcomes), "; ".join("{0}: {1}".format(label(o.item), _message(o.error)) for o in failed))


def _message(error):
    return getattr(error, "msg", None) or str(error)
