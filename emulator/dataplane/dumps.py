"""Backups as real dumps, shaped like the files Azure Backup restores for a PostgreSQL flexible server.

A dump set is one folder under ``<state dir>/dataplane/dumps/`` with, for one server:
``database_<db>.sql`` per database (``pg_dump -Fc``: custom format despite the name, as Azure's files),
``roles.sql`` (``pg_dumpall --roles-only``, the server's roles and the superuser), ``schema.sql``
(``pg_dump --schema-only`` of each database, plain SQL) and ``tablespace.sql`` (``pg_dumpall
--tablespaces-only``), plus ``manifest.json``: per database the tables and their row counts at backup time.

Recovery points of a server share a dump set while the cluster's WAL position has not moved (no data
changed), so a clock advance that runs hundreds of scheduled backups takes one dump, not hundreds.
"""

import json
import shutil
import uuid
from pathlib import Path

from emulator.dataplane import sample

ROLE_FILE = "roles.sql"
SCHEMA_FILE = "schema.sql"
TABLESPACE_FILE = "tablespace.sql"
MANIFEST = "manifest.json"


def database_file(database):
    return f"database_{database}.sql"


def _server_roles_only(text, server):
    """Keep the superuser's and this server's role statements (the cluster holds every server's roles)."""
    marker = f'"{server}{sample.SEPARATOR}'
    kept = []
    for line in text.splitlines():
        statement = line.startswith(("CREATE ROLE", "ALTER ROLE", "GRANT", "COMMENT ON ROLE"))
        if not statement or marker in line or "ROLE postgres" in line:
            kept.append(line)
    return "\n".join(kept) + "\n"


class DumpStore:
    """Takes dump sets and keeps which recovery point uses which."""

    def __init__(self, cluster, root):
        self.cluster = cluster
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.latest = {}  # server -> (wal position, folder)
        self.points = {}  # recovery point id (lower) -> content dict

    def clear(self):
        """Forget every recovery point (the ARM state was reset); the folders stay until the emulator stops."""
        self.points.clear()

    def snapshot(self, server):
        """A dump set of the server's databases now, reusing the last one when no data changed."""
        position = self.cluster.wal_position()
        cached = self.latest.get(server)
        if cached and cached[0] == position and (cached[1] / MANIFEST).is_file():
            return cached[1]
        folder = self.root / f"{server}-{uuid.uuid4().hex[:12]}"
        folder.mkdir(parents=True)
        manifest = {"server": server, "databases": {}}
        schemas = []
        for database in self.cluster.databases_of(server):
            name = sample.cluster_database(server, database)
            target = folder / database_file(database)
            self.cluster.run_tool("pg_dump", "-Fc", "-f", str(target), name)
            schemas.append(f"--\n-- Database \"{database}\"\n--\n\n")
            schemas.append(self.cluster.run_tool("pg_dump", "--schema-only", name).stdout)
            manifest["databases"][database] = {"file": target.name, "size": target.stat().st_size,
                                               "tables": self.cluster.table_counts(name)}
        roles = self.cluster.run_tool("pg_dumpall", "--roles-only").stdout
        (folder / ROLE_FILE).write_text(_server_roles_only(roles, server), encoding="utf-8")
        (folder / SCHEMA_FILE).write_text("".join(schemas), encoding="utf-8")
        tablespaces = self.cluster.run_tool("pg_dumpall", "--tablespaces-only").stdout
        (folder / TABLESPACE_FILE).write_text(tablespaces, encoding="utf-8")
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        self.latest[server] = (position, folder)
        return folder

    def attach(self, point_id, server, taken_at):
        """Give a recovery point its content: the server's current dump set."""
        folder = self.snapshot(server)
        self.points[point_id.lower()] = {"recoveryPoint": point_id, "server": server, "takenAt": taken_at,
                                         "folder": folder, "damaged": []}
        return self.points[point_id.lower()]

    def content(self, point_id):
        return self.points.get((point_id or "").lower())

    def describe(self, point_id):
        """What a recovery point holds: per database its file, size, tables and row counts at backup time."""
        entry = self.content(point_id)
        if entry is None:
            return None
        manifest = json.loads((entry["folder"] / MANIFEST).read_text(encoding="utf-8"))
        databases = {}
        for database, info in manifest["databases"].items():
            path = entry["folder"] / info["file"]
            databases[database] = dict(info, size=path.stat().st_size, damaged=database in entry["damaged"])
        return {"recoveryPoint": entry["recoveryPoint"], "server": entry["server"], "takenAt": entry["takenAt"],
                "databases": databases, "files": self.files(point_id)}

    def files(self, point_id):
        """[(file name in the set, database or None)] of a recovery point's content."""
        entry = self.content(point_id)
        manifest = json.loads((entry["folder"] / MANIFEST).read_text(encoding="utf-8"))
        files = [(info["file"], database) for database, info in sorted(manifest["databases"].items())]
        return files + [(ROLE_FILE, None), (SCHEMA_FILE, None), (TABLESPACE_FILE, None)]

    def path(self, point_id, name):
        return self.content(point_id)["folder"] / name

    def damage(self, point_id, database):
        """Truncate one database file of a recovery point (its own copy: other points keep theirs intact)."""
        entry = self.content(point_id)
        manifest = json.loads((entry["folder"] / MANIFEST).read_text(encoding="utf-8"))
        if database not in manifest["databases"]:
            raise KeyError(database)
        if not entry["damaged"]:
            private = self.root / f"{entry['server']}-{uuid.uuid4().hex[:12]}-damaged"
            shutil.copytree(entry["folder"], private)
            entry["folder"] = private
        target = entry["folder"] / database_file(database)
        size = target.stat().st_size
        with open(target, "r+b") as handle:
            handle.truncate(max(1, size // 2))
        if database not in entry["damaged"]:
            entry["damaged"].append(database)
        return {"recoveryPoint": entry["recoveryPoint"], "database": database, "file": target.name,
                "sizeBefore": size, "sizeAfter": target.stat().st_size}
