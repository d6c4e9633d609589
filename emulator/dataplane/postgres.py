"""A real PostgreSQL cluster behind the seeded flexible servers (Debian's ``postgresql`` package).

The cluster lives in ``<state dir>/postgres`` and listens on a free loopback port (TCP only, trust
authentication for the ``postgres`` superuser: it is reachable from this machine only and holds sample
data). PostgreSQL refuses to run as root, so when the emulator runs as root the server runs as an
unprivileged user (``nobody`` by default): ``initdb`` and ``pg_ctl`` are started as that user, and when
that user cannot reach the state directory (a 0700 parent, as pytest's temporary folders are) the data
directory is a private temporary folder that ``<state dir>/postgres`` links to.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from emulator.dataplane import sample

SUPERUSER = "postgres"
UNPRIVILEGED_USER = os.environ.get("EMULATOR_PG_USER", "nobody")
START_TIMEOUT_SECONDS = 120
WANTED_EXTENSIONS = ("pgcrypto", "citext")


class DataPlaneError(RuntimeError):
    """The data plane cannot start or do what was asked (missing tools, a failed command)."""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_bindir():
    """The directory of initdb/pg_ctl/pg_dump: $EMULATOR_PG_BINDIR, Debian's newest version, or PATH."""
    configured = os.environ.get("EMULATOR_PG_BINDIR")
    if configured:
        return Path(configured)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda path: int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit()
                        else 0)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise DataPlaneError("PostgreSQL is not installed (no initdb): run `make venv` (scripts/bootstrap-system.sh "
                         "installs Debian's postgresql package) or set EMULATOR_PG_BINDIR")


def _run(command, user=None, check=True, **kwargs):
    """Run a command (as ``user``, a pwd entry, when given); DataPlaneError with its output on failure."""
    if user is not None:
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[],
                      env=dict(os.environ, HOME=tempfile.gettempdir(), USER=user.pw_name))
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if check and result.returncode != 0:
        raise DataPlaneError(f"{' '.join(str(part) for part in command)} failed ({result.returncode}): "
                             f"{(result.stderr or result.stdout).strip()[-2000:]}")
    return result


def _can_reach(user, path):
    """Whether ``user`` may traverse every directory down to ``path``."""
    if user is None:
        return True
    return _run(["test", "-x", str(path)], user=user, check=False).returncode == 0


class PostgresCluster:
    """initdb (once), start, seed the sample databases (once), answer queries, stop."""

    def __init__(self, state_dir):
        self.state_dir = Path(state_dir)
        self.link = self.state_dir / "postgres"
        self.bindir = find_bindir()
        self.user = pwd.getpwnam(UNPRIVILEGED_USER) if os.geteuid() == 0 else None
        self.port = None
        self.private_dir = None

    @property
    def home(self):
        """The real folder (the link resolved: the server's user may not traverse the state directory)."""
        return self.link.resolve()

    @property
    def data_dir(self):
        return self.home / "data"

    def tool(self, name):
        return str(self.bindir / name)

    def _prepare_directory(self):
        if self.link.is_symlink() and not self.link.resolve().is_dir():
            self.link.unlink()
        if self.link.exists():
            return
        if _can_reach(self.user, self.state_dir):
            self.link.mkdir(mode=0o700)
            target = self.link
        else:
            self.private_dir = Path(tempfile.mkdtemp(prefix="azbackup-emulator-pg-"))
            os.chmod(self.private_dir, 0o711)
            self.link.symlink_to(self.private_dir)
            target = self.private_dir
        if self.user is not None:
            os.chown(target, self.user.pw_uid, self.user.pw_gid)

    def start(self):
        self._prepare_directory()
        fresh = not (self.data_dir / "PG_VERSION").exists()
        if fresh:
            _run([self.tool("initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync"], user=self.user)
        elif (self.data_dir / "postmaster.pid").exists():
            # Left over from an emulator that was killed: stop that server before starting ours.
            _run([self.tool("pg_ctl"), "-D", str(self.data_dir), "stop", "-m", "immediate"], user=self.user,
                 check=False)
        self.port = free_port()
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='' "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB "
                   "-c max_connections=30")
        _run([self.tool("pg_ctl"), "-D", str(self.data_dir), "-l", str(self.home / "server.log"), "-o", options,
              "-w", "-t", str(START_TIMEOUT_SECONDS), "start"], user=self.user)
        if fresh:
            self._seed()
        return self

    def stop(self):
        if self.port is not None:
            _run([self.tool("pg_ctl"), "-D", str(self.data_dir), "stop", "-m", "fast", "-w"], user=self.user,
                 check=False)
            self.port = None
        if self.private_dir is not None:
            shutil.rmtree(self.private_dir, ignore_errors=True)
            if self.link.is_symlink():
                self.link.unlink()

    def _available_extensions(self):
        rows = self.query("postgres", "SELECT name FROM pg_available_extensions")
        available = {row[0] for row in rows}
        return [name for name in WANTED_EXTENSIONS if name in available]

    def _seed(self):
        from emulator import seed  # pylint: disable=import-outside-toplevel  # seed data, read once

        extensions = self._available_extensions()
        script = "".join(sample.seed_sql(item["name"], extensions) + "\\connect postgres\n"
                         for item in seed.POSTGRES_SERVERS)
        self.psql("postgres", script)

    # ------------------------------------------------------------------------------------------ clients

    def client_args(self, database=None):
        args = ["-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER]
        return args + (["-d", database] if database else [])

    def psql(self, database, script):
        return _run([self.tool("psql"), *self.client_args(database), "-X", "-q", "-v", "ON_ERROR_STOP=1"],
                    input=script).stdout

    def query(self, database, sql):
        """Rows of a query as lists of strings (tab-separated psql output)."""
        output = _run([self.tool("psql"), *self.client_args(database), "-X", "-A", "-t", "-F", "\t", "-c",
                       sql]).stdout
        return [line.split("\t") for line in output.splitlines() if line]

    def databases_of(self, server):
        """The server's databases (names without the server prefix), sorted."""
        prefix = f"{server}{sample.SEPARATOR}"
        rows = self.query("postgres", "SELECT datname FROM pg_database WHERE NOT datistemplate")
        return sorted(row[0][len(prefix):] for row in rows if row[0].startswith(prefix))

    def table_counts(self, database):
        """{schema.table: exact row count} of one cluster database."""
        sql = ("SELECT table_schema || '.' || table_name, (xpath('/row/c/text()', query_to_xml(format("
               "'SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text "
               "FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
               "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
        return {name: int(count) for name, count in self.query(database, sql)}

    def wal_position(self):
        """The current WAL position: unchanged means no data changed since it was last read."""
        return self.query("postgres", "SELECT pg_current_wal_lsn()")[0][0]

    def run_tool(self, name, *args):
        return _run([self.tool(name), *self.client_args(), *args])
