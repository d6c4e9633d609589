# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One server's drill after its restore job: download, load, check; and the cleanup that always follows.

Every problem ends up in the server's result (``failures``: readable reasons, each naming the file or the check),
never as an exception: one server's broken recovery point must not stop the drill of the others.
"""

import datetime
import os
import shutil
import tempfile
import time

from ansible_collections.azbackup.dataprotection.plugins.module_utils.drill import names, outcome, storage
from ansible_collections.azbackup.dataprotection.plugins.module_utils.drill.target import TargetError, pg_restore

STORAGE_ERRORS = storage.AzureError


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class Drill:
    """The drill of one server: the collaborators are injected so that tests can hand in their own."""

    def __init__(self, params, client, target, now=_now, clock=time.monotonic, restore=pg_restore):
        self.params, self.client, self.target = params, client, target
        self.now, self.clock, self.restore = now, clock, restore
        self.prefix = params["file_prefix"]
        self.result = dict(server_name=params["server_name"], server_id=params.get("server_id"),
                           recovery_point=params.get("recovery_point") or {}, file_prefix=self.prefix,
                           restore_job=params.get("restore_job") or {}, databases=[], checks=[], warnings=[],
                           errors=[], failures=[], roles={}, download={}, pg_restore_seconds=None,
                           rto_seconds=None, rpo_seconds=None)

    def scratch(self, database):
        return names.scratch_database(self.params["database_prefix"], self.params["run_id"],
                                      self.params["server_name"], database)

    def fail(self, reason):
        self.result["failures"].append(reason)

    def run(self, workdir=None):
        """Download, load and check; the server's result (``passed`` false with ``failures`` on any problem)."""
        point_time = (self.params.get("recovery_point") or {}).get("time")
        if point_time:
            self.result["rpo_seconds"] = round((self.now() - outcome.parse_time(point_time)).total_seconds(), 1)
        own_dir = workdir is None
        workdir = workdir or tempfile.mkdtemp(prefix="azbackup-drill-")
        try:
            files = self._download(workdir)
            if files is not None:
                self._load(files)
        finally:
            if own_dir and "downloads" not in (self.params.get("keep") or []):
                shutil.rmtree(workdir, ignore_errors=True)
            else:
                self.result["download"]["directory"] = workdir
        self._thresholds()
        self.result["passed"] = not self.result["failures"]
        return self.result

    def _download(self, workdir):
        try:
            blobs = storage.list_prefixed(self.client, self.prefix)
            databases = {names.database_of_file(blob["name"], self.prefix): blob["name"] for blob in blobs}
            databases.pop(None, None)
            if not databases:
                self.fail("no database file '{0}_database_<db>.sql' in the container: the restore wrote {1}".format(
                    self.prefix, ", ".join(sorted(blob["name"] for blob in blobs)) or "nothing"))
                return None
            wanted = sorted(databases.values())
            roles = names.roles_file(self.prefix)
            if any(blob["name"] == roles for blob in blobs):
                wanted.append(roles)
            download = storage.download(self.client, wanted, workdir, clock=self.clock)
        except STORAGE_ERRORS as exc:
            self.fail("download of the restored files (prefix {0}) failed: {1}".format(
                self.prefix, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
            return None
        self.result["download"] = dict(bytes=download["bytes"], seconds=round(download["seconds"], 3),
                                       files=[dict(name=f["name"], size=f["size"]) for f in download["files"]])
        paths = {f["name"]: f["path"] for f in download["files"]}
        return dict(databases={database: paths[name] for database, name in databases.items()},
                    roles=paths.get(roles))

    def _load(self, files):
        params = self.params
        started = self.clock()
        try:
            if files["roles"] and params.get("replay_roles", True):
                self._replay_roles(files["roles"])
            restore_seconds = 0.0
            loaded = []
            for database, path in sorted(files["databases"].items()):
                scratch = self.scratch(database)
                if self.target.databases([scratch]):
                    self.fail("the scratch database {0} exists already on the target (left by a drill that kept "
                              "it?): drop it or choose another database prefix".format(scratch))
                    continue
                self.target.create_database(scratch)
                self.result["databases"].append(dict(name=database, scratch_database=scratch,
                                                     file=os.path.basename(path), tables={}, rows=0))
                code, stderr, seconds = self.restore(self.target, scratch, path, params.get("jobs") or 1,
                                                     params.get("load_timeout") or 3600)
                restore_seconds += seconds
                verdict = outcome.pg_restore_outcome(database, os.path.basename(path), code, stderr)
                self._record(verdict)
                if verdict["passed"]:
                    loaded.append(database)
            self.result["pg_restore_seconds"] = round(restore_seconds, 3)
            self._measure_rto()
            for entry in self.result["databases"]:
                if entry["name"] in loaded:
                    entry["tables"] = self.target.table_counts(entry["scratch_database"])
                    entry["rows"] = sum(entry["tables"].values())
            self._user_checks()
        except TargetError as exc:
            self.fail("target PostgreSQL: {0}".format(exc))
        self.result["load_seconds"] = round(self.clock() - started, 3)

    def _replay_roles(self, path):
        with open(path, encoding="utf-8", errors="replace") as handle:
            statements = outcome.clean_roles(handle.read())
        replay = self.target.replay_roles(statements, self.params["run_id"])
        self.result["roles"] = dict(created=replay["created"], left_as_they_were=replay["skipped"])
        self._record(dict(warnings=replay["warnings"], errors=replay["errors"]))

    def _record(self, verdict):
        self.result["warnings"] += [entry["message"] for entry in verdict["warnings"]]
        self.result["errors"] += verdict["errors"]
        for entry in verdict["errors"]:
            self.fail(entry["message"])

    def _measure_rto(self):
        """Time from the drill's start (before the restore was triggered) to a queryable database."""
        started_at = self.params.get("started_at")
        if started_at and not self.result["failures"]:
            self.result["rto_seconds"] = round((self.now() - outcome.parse_time(started_at)).total_seconds(), 1)

    def _user_checks(self):
        point_time = (self.params.get("recovery_point") or {}).get("time")
        scratch = {entry["name"]: entry["scratch_database"] for entry in self.result["databases"]}
        for check in self.params.get("checks") or []:
            database = check.get("database")
            if database not in scratch:
                result = dict(name=check["name"], database=database, passed=False, value=None, expected=None,
                              message="check '{0}': the recovery point has no database '{1}' (it has {2})".format(
                                  check["name"], database, ", ".join(sorted(scratch)) or "none"))
            else:
                try:
                    value = self.target.scalar(scratch[database], check["sql"])
                    result = outcome.evaluate_check(check, value, point_time)
                except TargetError as exc:
                    result = dict(name=check["name"], database=database, passed=False, value=None, expected=None,
                                  message="check '{0}': the query failed: {1}".format(check["name"], exc))
                except ValueError as exc:
                    result = dict(name=check["name"], database=database, passed=False, value=None, expected=None,
                                  message="check '{0}': {1}".format(check["name"], exc))
            self.result["checks"].append(result)
            if not result["passed"]:
                self.fail(result["message"])

    def _thresholds(self):
        point = dict(self.result["recovery_point"])
        results = outcome.threshold_results(self.result["rpo_seconds"], self.result["rto_seconds"],
                                            self.params.get("max_rpo_seconds"), self.params.get("max_rto_seconds"),
                                            point)
        if self.params.get("max_rto_seconds") and self.result["rto_seconds"] is None:
            results = [r for r in results if r["name"] != "rto"]  # no queryable database: the failure says why
        for result in results:
            self.result["checks"].append(result)
            if not result["passed"]:
                self.fail(result["message"])


def clean_up(params, client, target, databases):
    """Remove what the drill of one server made, except what ``keep`` names: {blobs, databases, roles}."""
    keep = params.get("keep") or []
    removed = dict(blobs=[], databases=[], roles=[], problems=[])
    scratch = sorted({names.scratch_database(params["database_prefix"], params["run_id"], params["server_name"], db)
                      for db in databases})
    if "databases" not in keep:
        try:
            removed["databases"] = target.drop_databases(scratch) if scratch else []
            removed["roles"] = target.drop_marked_roles(params["run_id"])
        except TargetError as exc:
            removed["problems"].append("target PostgreSQL: {0}".format(exc))
    if "blobs" not in keep and client is not None:
        try:
            removed["blobs"] = storage.delete_prefixed(client, params["file_prefix"])
        except STORAGE_ERRORS as exc:
            removed["problems"].append("deleting the blobs of prefix {0}: {1}".format(params["file_prefix"], exc))
    return removed


def databases_in_container(client, prefix):
    """The databases whose files a restore wrote under ``prefix`` (to know the scratch names at cleanup)."""
    found = [names.database_of_file(blob["name"], prefix) for blob in storage.list_prefixed(client, prefix)]
    return sorted(database for database in found if database)
