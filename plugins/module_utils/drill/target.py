# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The target PostgreSQL of a drill: scratch databases, pg_restore, the roles replay, row counts, user checks.

SQL goes through psycopg; archives are loaded with the ``pg_restore`` client (parallel jobs with ``-j``).
Roles the replay creates are marked with a comment naming the run, so cleanup drops exactly those.
"""

import os
import subprocess
import time

try:
    import psycopg
    from psycopg import sql

    PSYCOPG_IMPORT_ERROR = None
except ImportError as exc:  # the sanity import test runs without the requirements
    psycopg = sql = None
    PSYCOPG_IMPORT_ERROR = exc

from ansible_collections.azbackup.dataprotection.plugins.module_utils.drill import outcome

ROLE_MARK = "azbackup restore drill {0}"


class TargetError(Exception):
    """The target refused something the drill needs (connect, create a database); the message says what."""


class Target:
    """Connections to one PostgreSQL server as the drill's user."""

    def __init__(self, host, port, user, password, sslmode, maintenance_database="postgres", connect_timeout=30):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.sslmode, self.maintenance_database, self.connect_timeout = sslmode, maintenance_database, connect_timeout

    def connect(self, database=None):
        try:
            return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password or None,
                                   sslmode=self.sslmode, dbname=database or self.maintenance_database,
                                   connect_timeout=self.connect_timeout, autocommit=True)
        except psycopg.Error as exc:
            raise TargetError("cannot connect to PostgreSQL {0}:{1} as {2} (database {3}): {4}".format(
                self.host, self.port, self.user, database or self.maintenance_database, _first_line(exc))) from exc

    def environment(self):
        """The libpq variables for the client binaries (the password never on a command line)."""
        env = dict(os.environ, PGHOST=self.host, PGPORT=str(self.port), PGUSER=self.user, PGSSLMODE=self.sslmode,
                   PGCONNECT_TIMEOUT=str(self.connect_timeout))
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def databases(self, names):
        """Which of ``names`` exist on the server."""
        with self.connect() as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (list(names),)).fetchall()
        return sorted(row[0] for row in rows)

    def create_database(self, name):
        with self.connect() as conn:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {0}").format(sql.Identifier(name)))
            except psycopg.Error as exc:
                raise TargetError("cannot create the scratch database {0}: {1}".format(name, _first_line(exc))) from exc

    def drop_databases(self, names):
        """Drop the databases that exist among ``names`` (their sessions ended first); the names dropped."""
        present = self.databases(names)
        with self.connect() as conn:
            for name in present:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                             "AND pid <> pg_backend_pid()", (name,))
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {0}").format(sql.Identifier(name)))
        return present

    def roles(self):
        with self.connect() as conn:
            return {row[0] for row in conn.execute("SELECT rolname FROM pg_roles").fetchall()}

    def replay_roles(self, statements, run_id):
        """Run the cleaned roles file one statement at a time, as psql would without ON_ERROR_STOP.

        A role that exists on the target before the drill is left as it is (its statements are skipped: a drill
        never changes a password or an attribute of a role it did not create). Roles it creates get the run's mark.
        Returns {created, skipped, warnings, errors}; errors and warnings are classified like pg_restore's.
        """
        existing = self.roles()
        created, skipped, warnings, errors = [], [], [], []
        with self.connect() as conn:
            for statement in statements:
                role = outcome.role_of(statement)
                if role is not None and role in existing:
                    if role not in skipped:
                        skipped.append(role)
                    continue
                try:
                    conn.execute(statement)
                except psycopg.Error as exc:
                    kind, harmless = outcome.classify(str(exc))
                    entry = dict(kind=kind, file="roles", message="roles file: {0} ({1})".format(
                        _first_line(exc), statement[:120]))
                    (warnings if harmless else errors).append(entry)
                    continue
                if role is not None and statement.upper().startswith("CREATE ROLE") and role not in created:
                    created.append(role)
                    conn.execute(sql.SQL("COMMENT ON ROLE {0} IS {1}").format(
                        sql.Identifier(role), sql.Literal(ROLE_MARK.format(run_id))))
        return dict(created=created, skipped=skipped, warnings=warnings, errors=errors)

    def drop_marked_roles(self, run_id):
        """Drop the roles this run created (those with its mark) that nothing depends on any more; the names dropped."""
        with self.connect() as conn:
            rows = conn.execute("SELECT rolname FROM pg_roles r JOIN pg_shdescription d ON d.objoid = r.oid "
                                "AND d.classoid = 'pg_authid'::regclass WHERE d.description = %s",
                                (ROLE_MARK.format(run_id),)).fetchall()
            dropped = []
            for name in sorted(row[0] for row in rows):
                try:
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {0}").format(sql.Identifier(name)))
                except psycopg.errors.DependentObjectsStillExist:
                    continue  # still granted in another server's scratch database: its cleanup drops it
                dropped.append(name)
        return dropped

    def table_counts(self, database):
        """{schema.table: exact row count} of every ordinary and partitioned table outside the catalogs."""
        with self.connect(database) as conn:
            tables = conn.execute(
                "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN "
                "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%' "
                "ORDER BY 1, 2").fetchall()
            counts = {}
            for schema, table in tables:
                query = sql.SQL("SELECT count(*) FROM {0}.{1}").format(sql.Identifier(schema), sql.Identifier(table))
                counts["{0}.{1}".format(schema, table)] = conn.execute(query).fetchone()[0]
        return counts

    def scalar(self, database, query):
        """The first column of the first row of a user check's query (None when it returns no row)."""
        with self.connect(database) as conn:
            try:
                row = conn.execute(query).fetchone()
            except psycopg.Error as exc:
                raise TargetError(_first_line(exc)) from exc
        return row[0] if row else None


def pg_restore(target, database, path, jobs, timeout, binary="pg_restore", clock=time.monotonic):
    """Run pg_restore of one custom-format archive into ``database``; (returncode, stderr, seconds)."""
    command = [binary, "--no-owner", "-d", database, path]
    if jobs and jobs > 1:
        command[1:1] = ["-j", str(jobs)]
    started = clock()
    try:
        completed = subprocess.run(command, env=target.environment(), capture_output=True, text=True,
                                   timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise TargetError("the PostgreSQL client '{0}' is not installed (Debian: postgresql-client)".format(
            binary)) from exc
    except subprocess.TimeoutExpired:
        return 124, "pg_restore: error: did not finish within {0} seconds".format(timeout), clock() - started
    return completed.returncode, completed.stderr, clock() - started


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
