"""Root pytest configuration: import the collection from the working tree.

Tests import the collection as ``ansible_collections.azbackup.dataprotection``. With plain ``pytest``
(``make units``) the repository root is not inside an ``ansible_collections/<namespace>/<name>`` tree,
so this file creates ``.tmp/pytest/ansible_collections/azbackup/dataprotection`` as a symlink to the
repository root and puts ``.tmp/pytest`` first on ``sys.path``. When the tree already is a physical
collection directory (ansible-test, an installed copy), the directory above ``ansible_collections`` is
used instead. ansible-core's collection loader, if a test installs it, also scans ``sys.path``.
"""

import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
NAMESPACE = "azbackup"
NAME = "dataprotection"


def _collections_root():
    """Return the directory that holds ``ansible_collections/``, creating the symlink when needed."""
    parts = ROOT.split(os.sep)
    if parts[-3:] == ["ansible_collections", NAMESPACE, NAME]:
        return os.sep.join(parts[:-3]) or os.sep

    base = os.path.join(ROOT, ".tmp", "pytest")
    link = os.path.join(base, "ansible_collections", NAMESPACE, NAME)
    if os.path.realpath(link) != ROOT:
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.lexists(link):
            os.remove(link)
        try:
            os.symlink(ROOT, link)
        except FileExistsError:  # another pytest process (e.g. xdist worker) created it first
            pass
    return base


COLLECTIONS_ROOT = _collections_root()
if COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, COLLECTIONS_ROOT)
