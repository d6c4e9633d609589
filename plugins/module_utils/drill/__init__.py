# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The restore drill: restored files loaded into scratch databases, checked, reported and removed.

``outcome``: pg_restore and role replay errors classified, user checks and RPO/RTO thresholds (pure);
``names``: scratch database names; ``report``: the per-server report, Markdown, history and rotation (pure);
``target``: the target PostgreSQL (psycopg, pg_restore); ``storage``: the restored blobs (azure-storage-blob).
"""
