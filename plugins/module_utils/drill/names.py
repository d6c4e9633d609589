# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The names a drill gives what it creates: blob prefixes and scratch databases (PostgreSQL: 63 bytes)."""

import hashlib
import re

MAX_IDENTIFIER = 63


def _safe(text):
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


def _bounded(name, limit):
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return name[: limit - 9] + "_" + digest


def file_prefix(run_prefix, server_name):
    """The restore's file prefix for one server of a run: ``<run prefix>-<server>``."""
    return _bounded("{0}-{1}".format(run_prefix, server_name), 200)


def scratch_database(database_prefix, run_id, server_name, database):
    """``<prefix><server>_<db>_<run>``, made a safe identifier and cut (with a digest) to 63 bytes."""
    return _bounded(_safe("{0}{1}_{2}_{3}".format(database_prefix, server_name, database, run_id)), MAX_IDENTIFIER)


def database_of_file(name, prefix):
    """The database a restored file holds (``<prefix>_database_<db>.sql``), or None for the other files."""
    head = "{0}_database_".format(prefix)
    if name.startswith(head) and name.endswith(".sql"):
        return name[len(head):-len(".sql")]
    return None


def roles_file(prefix):
    return "{0}_roles.sql".format(prefix)
