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
  - Reads the history file only; talks to no service.
author:
  - azbackup maintainers (@azbackup)
options:
  servers:
    description: The candidate servers, each with C(id) and C(name) (other keys are kept).
    type: list
    elements: dict
    required: true
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
    servers: "{{ protected_servers }}"
    sample_size: 2
    history_file: /var/lib/drills/history.jsonl
    run_id: "{{ run_id }}"
    run_prefix: "drill-{{ run_id }}"
  register: drill_plan
"""

RETURN = r"""
servers:
  description: The chosen servers, each the input entry plus C(file_prefix) and C(scratch_databases) (the name pattern).
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


def choose(params, history_text):
    candidates = {server["id"]: server for server in params["servers"]}
    chosen = report.choose_sample(sorted(candidates), report.read_history(history_text), params["sample_size"])
    servers = []
    for server_id in chosen:
        server = dict(candidates[server_id])
        server["file_prefix"] = names.file_prefix(params["run_prefix"], server["name"])
        server["scratch_databases"] = names.scratch_database(params["database_prefix"], params["run_id"],
                                                             server["name"], "<db>")
        servers.append(server)
    skipped = sorted(candidates[server_id]["name"] for server_id in candidates if server_id not in chosen)
    return servers, skipped


def main():
    module = AnsibleModule(argument_spec=dict(
        servers=dict(type="list", elements="dict", required=True),
        sample_size=dict(type="int", default=0),
        history_file=dict(type="path"),
        run_id=dict(type="str", required=True),
        run_prefix=dict(type="str", required=True),
        database_prefix=dict(type="str", default="drill_"),
    ), supports_check_mode=True)
    params = module.params
    for server in params["servers"]:
        if not server.get("id") or not server.get("name"):
            module.fail_json(msg="every entry of servers needs an id and a name; got {0}".format(server))
    if params["sample_size"] < 0:
        module.fail_json(msg="sample_size must be 0 (all) or more, got {0}".format(params["sample_size"]))
    history_text = ""
    if params["history_file"] and os.path.exists(params["history_file"]):
        with open(params["history_file"], encoding="utf-8") as handle:
            history_text = handle.read()
    servers, skipped = choose(params, history_text)
    module.exit_json(changed=False, servers=servers, skipped=skipped)


if __name__ == "__main__":
    main()
