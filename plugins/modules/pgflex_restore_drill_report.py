# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pgflex_restore_drill_report
short_description: Write a restore drill's report (JSON, Markdown, history line) and fail when a server failed
version_added: 0.1.0
description:
  - Gathers the per-server results of M(azbackup.dataprotection.pgflex_restore_drill) into the run's report,
    a table for the play output (RV(table)), C(<report_dir>/<run_id>.json) and C(.md), and one JSON line per
    server appended to O(history_file) (for trend plots and the rotation of
    M(azbackup.dataprotection.pgflex_restore_drill_plan)).
  - Fails, after writing, when any server failed a check or a threshold, naming each server and its reasons.
author:
  - azbackup maintainers (@azbackup)
options:
  run:
    description: The run (C(run_id), C(vault), C(started_at)).
    type: dict
    required: true
  servers:
    description: The per-server results (RV(azbackup.dataprotection.pgflex_restore_drill#module:drill)).
    type: list
    elements: dict
    required: true
  report_dir:
    description: Where to write the JSON and Markdown files (none when not set).
    type: path
  history_file:
    description: The JSON-lines history to append to (none when not set).
    type: path
  fail_on_failure:
    description: Fail when a server failed.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Writes nothing; returns the table and the Markdown.
  diff_mode:
    support: none
    description: Appends only.
seealso:
  - module: azbackup.dataprotection.pgflex_restore_drill
"""

EXAMPLES = r"""
- name: The report
  azbackup.dataprotection.pgflex_restore_drill_report:
    run: {run_id: "{{ run_id }}", vault: bv-pg-prod, started_at: "{{ started }}"}
    servers: "{{ drills.results | map(attribute='drill') | list }}"
    report_dir: /var/lib/drills/reports
    history_file: /var/lib/drills/history.jsonl
"""

RETURN = r"""
table:
  description: The report as lines for the play output.
  returned: always
  type: list
  elements: str
summary:
  description: C(servers), C(passed), C(failed), C(failed_servers).
  returned: always
  type: dict
markdown:
  description: The Markdown report.
  returned: always
  type: str
files:
  description: The files written or appended to.
  returned: always
  type: list
  elements: str
failure_message:
  description: Which servers failed and why (empty when none did).
  returned: always
  type: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azbackup.dataprotection.plugins.module_utils.drill import report


def write(params, servers, markdown):
    files = []
    run = params["run"]
    if params["report_dir"]:
        os.makedirs(params["report_dir"], exist_ok=True)
        base = os.path.join(params["report_dir"], "drill-{0}".format(run.get("run_id")))
        with open(base + ".json", "w", encoding="utf-8") as handle:
            json.dump(dict(run=run, summary=report.summary(servers), servers=servers), handle, indent=1,
                      sort_keys=True)
        with open(base + ".md", "w", encoding="utf-8") as handle:
            handle.write(markdown)
        files += [base + ".json", base + ".md"]
    if params["history_file"]:
        directory = os.path.dirname(params["history_file"])
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(params["history_file"], "a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in report.history_lines(run, servers)))
        files.append(params["history_file"])
    return files


def main():
    module = AnsibleModule(argument_spec=dict(
        run=dict(type="dict", required=True),
        servers=dict(type="list", elements="dict", required=True),
        report_dir=dict(type="path"),
        history_file=dict(type="path"),
        fail_on_failure=dict(type="bool", default=True),
    ), supports_check_mode=True)
    params = module.params
    servers = params["servers"]
    for server in servers:
        server.setdefault("failures", [])
        server.setdefault("passed", not server["failures"])
        server.setdefault("server_name", server.get("server_id") or "?")
    markdown = report.markdown(params["run"], servers)
    files = [] if module.check_mode else write(params, servers, markdown)
    totals = report.summary(servers)
    reasons = ["{0}: {1}".format(server["server_name"], "; ".join(server["failures"]))
               for server in servers if not server["passed"]]
    message = "The restore drill failed for {0} of {1} server(s): {2}".format(
        totals["failed"], totals["servers"], " | ".join(reasons)) if reasons else ""
    result = dict(changed=bool(files), table=report.table(servers), summary=totals, markdown=markdown, files=files,
                  failure_message=message)
    if reasons and params["fail_on_failure"]:
        module.fail_json(msg=message, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
