# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pgflex_restore_drill
short_description: Load a server's restored files into scratch databases and check them, or remove them
version_added: 0.1.0
description:
  - The part of a restore drill that follows a restore as files (M(azbackup.dataprotection.pgflex_restore)).
  - With O(state=present) it finds the files the restore wrote under O(file_prefix) in O(container), downloads
    them (streamed to disk, never a whole file in memory), replays the roles file cleaned as Azure's restore guide
    describes, creates one scratch database per database file and loads it with C(pg_restore) (O(jobs) parallel
    jobs), counts the rows of every table, runs the user O(checks), and measures RPO (age of the recovery point)
    and RTO (from O(started_at) to a queryable database) against O(max_rpo_seconds) and O(max_rto_seconds).
  - pg_restore and roles errors are classified. Known-harmless ones (an extension the target does not
    allow-list, role attributes only a superuser may set, a role that already exists) are warnings; any other
    error fails the server's drill, naming the file and the error.
  - A failed drill does not fail the task; RV(drill.passed) and RV(drill.failures) say what failed, so the
    drill of the other servers and the cleanup go on. The task fails only for bad input or a missing library.
  - With O(state=absent) it removes the scratch databases, the roles the drill created and the blobs under
    O(file_prefix), except what O(keep) names.
  - A role that exists on the target before the drill is never altered by the roles replay.
author:
  - azbackup maintainers (@azbackup)
requirements:
  - psycopg >= 3.1 (C(psycopg[binary]))
  - azure-storage-blob
  - the PostgreSQL client C(pg_restore) (Debian C(postgresql-client)) on the host that runs the module
options:
  state:
    description: C(present) downloads, loads and checks; C(absent) removes what a drill made.
    type: str
    choices: [present, absent]
    default: present
  server_name:
    description: The server the files come from (names the scratch databases).
    type: str
    required: true
  server_id:
    description: Its resource id, copied to the result.
    type: str
  run_id:
    description: The drill run's id (names the scratch databases and marks the roles it creates).
    type: str
    required: true
  file_prefix:
    description: The file prefix the restore used; the files are C(<file_prefix>_database_<db>.sql) and C(<file_prefix>_roles.sql).
    type: str
    required: true
  storage_account_id:
    description: Resource id of the storage account the restore wrote to; its C(primaryEndpoints.blob) is read from Azure.
    type: str
    required: true
  container:
    description: The container the restore wrote to.
    type: str
    required: true
  database_prefix:
    description: Prefix of the scratch database names (C(<prefix><server>_<db>_<run_id>), at most 63 bytes).
    type: str
    default: drill_
  databases:
    description: With O(state=absent), the databases whose scratch copies to drop (besides those found from the blobs).
    type: list
    elements: str
    default: []
  recovery_point:
    description: The recovery point restored (C(id), C(time), C(tag)); C(time) gives the RPO.
    type: dict
    default: {}
  restore_job:
    description: The restore job (C(id), C(status), C(duration_seconds)), copied to the result.
    type: dict
    default: {}
  started_at:
    description: When the drill of this server started (ISO 8601), before the restore was triggered; RTO is measured from it.
    type: str
  target:
    description: The PostgreSQL server to load into. Never a production server.
    type: dict
    required: true
    suboptions:
      host:
        description: Host name or address.
        type: str
        required: true
      port:
        description: Port.
        type: int
        default: 5432
      user:
        description: User; it needs CREATEDB and, to replay the roles, CREATEROLE.
        type: str
        required: true
      password:
        description: Password (or use C(~/.pgpass) / C(PGPASSWORD)).
        type: str
      sslmode:
        description: libpq C(sslmode).
        type: str
        default: prefer
        choices: [disable, allow, prefer, require, verify-ca, verify-full]
      maintenance_database:
        description: The database to connect to for CREATE and DROP DATABASE.
        type: str
        default: postgres
  jobs:
    description: Parallel jobs of each C(pg_restore) (C(-j)).
    type: int
    default: 2
  load_timeout:
    description: Seconds one C(pg_restore) may take.
    type: int
    default: 3600
  replay_roles:
    description: Replay the cleaned roles file before loading the databases.
    type: bool
    default: true
  checks:
    description: User checks, each a query whose first value must meet an expectation.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name shown in the report.
        type: str
        required: true
      database:
        description: The source database name (as in the files, e.g. C(app)), not the scratch name.
        type: str
        required: true
      sql:
        description: The query; the first column of its first row is compared.
        type: str
        required: true
      operator:
        description:
          - C(eq), C(ne), C(gt), C(ge), C(lt), C(le) compare with O(checks[].value); C(not_null) needs a value;
            C(newer_than_point_minus) needs a time no older than the recovery point's time minus O(checks[].value)
            (an ISO 8601 duration such as C(P1D)).
        type: str
        default: ge
        choices: [eq, ne, gt, ge, lt, le, not_null, newer_than_point_minus]
      value:
        description: What to compare with.
        type: raw
  max_rpo_seconds:
    description: The RPO threshold, the largest accepted age of the recovery point (0 = none).
    type: float
    default: 0
  max_rto_seconds:
    description: The RTO threshold, the longest accepted time to a queryable database (0 = none).
    type: float
    default: 0
  keep:
    description: What to leave after the drill (C(blobs), C(databases) with the roles, C(downloads)).
    type: list
    elements: str
    default: []
    choices: [blobs, databases, downloads]
extends_documentation_fragment:
  - azbackup.dataprotection.azure
  - azbackup.dataprotection.attributes
attributes:
  check_mode:
    support: full
    description: Connects to nothing and writes nothing; RV(plan) says what would be done.
  diff_mode:
    support: none
    description: A drill has no before and after.
seealso:
  - module: azbackup.dataprotection.pgflex_restore
  - module: azbackup.dataprotection.pgflex_restore_drill_report
"""

EXAMPLES = r"""
- name: Load and check what the restore wrote
  azbackup.dataprotection.pgflex_restore_drill:
    server_name: pg-orders
    run_id: 20260101t020000
    file_prefix: drill-20260101t020000-pg-orders
    storage_account_id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backup/providers/Microsoft.Storage/storageAccounts/stdrill
    container: drills
    recovery_point: "{{ point }}"
    started_at: "2026-01-01T02:00:00+00:00"
    target:
      host: pg-drill.postgres.database.azure.com
      user: drilladmin
      password: "{{ drill_password }}"
      sslmode: require
    checks:
      - name: orders exist
        database: app
        sql: select count(*) from orders
        operator: ge
        value: 1
    max_rpo_seconds: 90000
  register: drill

- name: Remove the scratch databases and the blobs
  azbackup.dataprotection.pgflex_restore_drill:
    state: absent
    server_name: pg-orders
    run_id: 20260101t020000
    file_prefix: drill-20260101t020000-pg-orders
    storage_account_id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backup/providers/Microsoft.Storage/storageAccounts/stdrill
    container: drills
    target:
      host: pg-drill.postgres.database.azure.com
      user: drilladmin
      password: "{{ drill_password }}"
"""

RETURN = r"""
drill:
  description: With O(state=present), the server's result (the report's entry).
  returned: state is present and not check mode
  type: dict
  contains:
    passed:
      description: No failure.
      type: bool
    failures:
      description: Why the drill failed (each names the file, check or threshold, with the values).
      type: list
      elements: str
    warnings:
      description: Known-harmless errors.
      type: list
      elements: str
    databases:
      description: C(name), C(scratch_database), C(file), C(tables) (table to rows), C(rows).
      type: list
      elements: dict
    checks:
      description: User checks and thresholds (C(name), C(passed), C(value), C(expected), C(message)).
      type: list
      elements: dict
    download:
      description: C(bytes), C(seconds), C(files).
      type: dict
    pg_restore_seconds:
      description: Time spent in pg_restore.
      type: float
    rpo_seconds:
      description: Age of the recovery point at drill time.
      type: float
    rto_seconds:
      description: From O(started_at) to a queryable database (null when none was reached).
      type: float
removed:
  description: With O(state=absent), C(blobs), C(databases), C(roles) removed and C(problems) met.
  returned: state is absent and not check mode
  type: dict
plan:
  description: In check mode, what would be done.
  returned: check mode
  type: dict
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm
from ansible_collections.azbackup.dataprotection.plugins.module_utils.azure_module import AzureBackupModule
from ansible_collections.azbackup.dataprotection.plugins.module_utils.drill import names, run, storage, target

TARGET_SPEC = dict(
    host=dict(type="str", required=True),
    port=dict(type="int", default=5432),
    user=dict(type="str", required=True),
    password=dict(type="str", no_log=True),
    sslmode=dict(type="str", default="prefer",
                 choices=["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]),
    maintenance_database=dict(type="str", default="postgres"),
)

CHECK_SPEC = dict(
    name=dict(type="str", required=True),
    database=dict(type="str", required=True),
    sql=dict(type="str", required=True),
    operator=dict(type="str", default="ge",
                  choices=["eq", "ne", "gt", "ge", "lt", "le", "not_null", "newer_than_point_minus"]),
    value=dict(type="raw"),
)


def argument_spec():
    return dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        server_name=dict(type="str", required=True),
        server_id=dict(type="str"),
        run_id=dict(type="str", required=True),
        file_prefix=dict(type="str", required=True),
        storage_account_id=dict(type="str", required=True),
        container=dict(type="str", required=True),
        database_prefix=dict(type="str", default="drill_"),
        databases=dict(type="list", elements="str", default=[]),
        recovery_point=dict(type="dict", default={}),
        restore_job=dict(type="dict", default={}),
        started_at=dict(type="str"),
        target=dict(type="dict", required=True, options=TARGET_SPEC),
        jobs=dict(type="int", default=2),
        load_timeout=dict(type="int", default=3600),
        replay_roles=dict(type="bool", default=True),
        checks=dict(type="list", elements="dict", default=[], options=CHECK_SPEC),
        max_rpo_seconds=dict(type="float", default=0),
        max_rto_seconds=dict(type="float", default=0),
        keep=dict(type="list", elements="str", default=[], choices=["blobs", "databases", "downloads"]),
    )


def blob_endpoint(azure, account_id):
    """The account's ``primaryEndpoints.blob`` (works for every cloud and a local storage emulator)."""
    with azure.input_errors():
        arm.parse_typed_id(account_id, arm.STORAGE_ACCOUNT_TYPE, "storage_account_id")
    account = azure.arm_get(account_id, arm.api_version(arm.STORAGE_ACCOUNT_TYPE),
                            "reading storage account {0}".format(account_id))
    if account is None:
        azure.fail("Storage account {0} does not exist.".format(account_id), option="storage_account_id")
    endpoint = ((account.get("properties") or {}).get("primaryEndpoints") or {}).get("blob")
    if not endpoint:
        azure.fail("Storage account {0} has no blob endpoint.".format(account_id), option="storage_account_id")
    return endpoint


def plan(params):
    return dict(state=params["state"], server_name=params["server_name"], file_prefix=params["file_prefix"],
                container=params["container"], storage_account_id=params["storage_account_id"],
                scratch_databases=names.scratch_database(params["database_prefix"], params["run_id"],
                                                         params["server_name"], "<db>"),
                target="{0}:{1}".format(params["target"]["host"], params["target"]["port"]),
                checks=[check["name"] for check in params["checks"]], keep=params["keep"])


def main():
    azure = AzureBackupModule(argument_spec())
    params = azure.params
    needed = (("psycopg", target.PSYCOPG_IMPORT_ERROR), ("azure-storage-blob", storage.STORAGE_IMPORT_ERROR))
    for library, error in needed:
        if error is not None:
            azure.module.fail_json(msg=missing_required_lib(library), exception=str(error))
    if azure.check_mode:
        azure.exit(False, plan=plan(params))
    client = storage.container_client(blob_endpoint(azure, params["storage_account_id"]), params["container"],
                                      azure.session.credential)
    options = params["target"]
    postgres = target.Target(options["host"], options["port"], options["user"], options["password"],
                             options["sslmode"], options["maintenance_database"])
    if params["state"] == "present":
        azure.exit(True, drill=run.Drill(params, client, postgres).run())
    databases = set(params["databases"])
    try:
        databases.update(run.databases_in_container(client, params["file_prefix"]))
    except run.STORAGE_ERRORS as exc:
        azure.warn("listing the restored files of {0} failed: {1}".format(params["file_prefix"], exc))
    removed = run.clean_up(params, client, postgres, sorted(databases))
    for problem in removed["problems"]:
        azure.warn(problem)
    azure.exit(bool(removed["blobs"] or removed["databases"] or removed["roles"]), removed=removed)


if __name__ == "__main__":
    main()
