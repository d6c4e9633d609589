# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pgflex_restore_drill_plan
short_description: Choose the servers of a restore drill run and the names it will use
version_added: 0.1.0
description:
  - Picks the servers a restore drill run drills. Without O(sample_size), all of O(servers). With it, the
    O(sample_size) servers drilled least recently according to O(history_file) (never drilled first), so that
    every server is drilled within ceil(servers / sample_size) runs.
  - Gives each chosen server its restore file prefix (C(<run_prefix>-<server>)) and scratch database name pattern.
  - Reads the history file only; talks to no service. Fails, naming them, when a server asked for has no backup
    instance with backups in the vault.
author:
  - azbackup maintainers (@azbackup)
options:
  instances:
    description:
      - The vault's backup instances, as RV(azbackup.dataprotection.pgflex_backup_instance_info#module:backup_instances)
        returns them (C(name), C(server_id), C(server_name), C(state)).
    type: list
    elements: dict
    required: true
  servers:
    description:
      - The servers to drill, each by C(id), or by C(name) (and C(resource_group)). Each must have an instance among
        O(instances) that holds backups. Empty with O(all_protected=true).
    type: list
    elements: dict
    default: []
  all_protected:
    description: Drill every server of O(instances) that holds backups (protected, suspended or stopped with data kept).
    type: bool
    default: false
  sample_size:
    description: How many servers to drill this run (0 = all).
    type: int
    default: 0
  history_file:
    description: The drill history (JSON lines, as M(azbackup.dataprotection.pgflex_restore_drill_report) appends them); a missing file is an empty history.
    type: path
  run_id:
    description: The run's id.
    type: str
    required: true
  run_prefix:
    description: Prefix of the restore file prefixes of this run.
    type: str
    required: true
  database_prefix:
    description: Prefix of the scratch database names.
    type: str
    default: drill_
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
seealso:
  - module: azbackup.dataprotection.pgflex_restore_drill
"""

EXAMPLES = r"""
- name: Drill two servers a night, the least recently drilled first
  azbackup.dataprotection.pgflex_restore_drill_plan:
    instances: "{{ vault_instances.backup_instances }}"
    all_protected: true
    sample_size: 2
    history_file: /var/lib/drills/history.jsonl
    run_id: "{{ run_id }}"
    run_prefix: "drill-{{ run_id }}"
  register: drill_plan
"""

RETURN = r"""
servers:
  description:
    - The chosen servers (C(id), C(name), C(backup_instance_name)), with C(file_prefix) and C(scratch_databases)
      (the name pattern).
  returned: always
  type: list
  elements: dict
skipped:
  description: The names of the candidates not drilled this run.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azbackup.dataprotection.plugins.module_utils.drill import names, report

# Instance states whose recovery points a drill can restore.
DRILLABLE_STATES = ("present", "suspended", "stopped")


def candidates(instances, requested, all_protected):
    """{server id: {id, name, backup_instance_name}} of the servers to consider, and the requests not found."""
    drillable = [item for item in instances if item.get("state") in DRILLABLE_STATES and item.get("server_id")]
    by_id = {item["server_id"].lower(): item for item in drillable}
    chosen, missing = {}, []
    if all_protected:
        chosen = dict(by_id)
    for server in requested:
        if server.get("id"):
            match = by_id.get(server["id"].lower())
        else:
            group = "/resourcegroups/{0}/".format((server.get("resource_group") or "").lower())
            match = next((item for key, item in by_id.items() if item.get("server_name", "").lower() ==
                          (server.get("name") or "").lower() and (group in key or not server.get("resource_group"))),
                         None)
        if match is None:
            missing.append(server.get("id") or server.get("name"))
        else:
            chosen[match["server_id"].lower()] = match
    return {item["server_id"]: dict(id=item["server_id"], name=item.get("server_name"),
                                    backup_instance_name=item.get("name")) for item in chosen.values()}, missing


def choose(params, history_text):
    servers_by_id, missing = candidates(params["instances"], params["servers"], params["all_protected"])
    chosen = report.choose_sample(sorted(servers_by_id), report.read_history(history_text), params["sample_size"])
    servers = []
    for server_id in chosen:
        server = dict(servers_by_id[server_id])
        server["file_prefix"] = names.file_prefix(params["run_prefix"], server["name"])
        server["scratch_databases"] = names.scratch_database(params["database_prefix"], params["run_id"],
                                                             server["name"], "<db>")
        servers.append(server)
    skipped = sorted(servers_by_id[server_id]["name"] for server_id in servers_by_id if server_id not in chosen)
    return servers, skipped, missing


def main():
    module = AnsibleModule(argument_spec=dict(
        instances=dict(type="list", elements="dict", required=True),
        servers=dict(type="list", elements="dict", default=[]),
        all_protected=dict(type="bool", default=False),
        sample_size=dict(type="int", default=0),
        history_file=dict(type="path"),
        run_id=dict(type="str", required=True),
        run_prefix=dict(type="str", required=True),
        database_prefix=dict(type="str", default="drill_"),
    ), supports_check_mode=True)
    params = module.params
    if params["sample_size"] < 0:
        module.fail_json(msg="sample_size must be 0 (all) or more, got {0}".format(params["sample_size"]))
    if not params["servers"] and not params["all_protected"]:
        module.fail_json(msg="name the servers to drill (servers) or set all_protected")
    history_text = ""
    if params["history_file"] and os.path.exists(params["history_file"]):
        with open(params["history_file"], encoding="utf-8") as handle:
            history_text = handle.read()
    servers, skipped, missing = choose(params, history_text)
    if missing:
        module.fail_json(msg="No backup instance with backups in the vault for: {0}. Protect them first "
                             "(azbackup.dataprotection.protect) or check the names.".format(", ".join(missing)))
    if not servers:
        module.fail_json(msg="The vault has no protected server to drill.")
    module.exit_json(changed=False, servers=servers, skipped=skipped)


if __name__ == "__main__":
    main()
