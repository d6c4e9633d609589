# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The drill report: per-server results gathered, the play's table, Markdown, the history line, rotation."""

import json

from ansible_collections.azbackup.dataprotection.plugins.module_utils.drill.outcome import human_seconds


def choose_sample(server_ids, history, sample_size):
    """The servers to drill this run: all, or ``sample_size`` of them, those drilled least recently first.

    ``history`` is the history file's entries; a server never drilled comes before any drilled one, so every
    server is drilled within ceil(len(server_ids) / sample_size) runs.
    """
    if not sample_size or sample_size >= len(server_ids):
        return list(server_ids)
    last = {}
    for entry in history:
        key = (entry.get("server_id") or "").lower()
        when = entry.get("drilled_at") or ""
        if key and when > last.get(key, ""):
            last[key] = when
    order = sorted(server_ids, key=lambda server_id: (last.get(server_id.lower(), ""), server_id.lower()))
    return order[:sample_size]


def read_history(text):
    """The entries of a JSON-lines history file (lines that do not parse are skipped)."""
    entries = []
    for line in (text or "").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def summary(servers):
    failed = [server["server_name"] for server in servers if not server.get("passed")]
    return dict(servers=len(servers), passed=len(servers) - len(failed), failed=len(failed), failed_servers=failed)


def history_lines(run, servers):
    """One JSON line per drilled server, with the figures a trend plot needs."""
    lines = []
    for server in servers:
        point = server.get("recovery_point") or {}
        lines.append(json.dumps(dict(
            run_id=run.get("run_id"), drilled_at=run.get("started_at"), vault=run.get("vault"),
            server_id=server.get("server_id"), server_name=server.get("server_name"), passed=server.get("passed"),
            recovery_point_id=point.get("id"), recovery_point_time=point.get("time"),
            retention_tag=point.get("tag"), rpo_seconds=server.get("rpo_seconds"),
            rto_seconds=server.get("rto_seconds"),
            restore_job_seconds=(server.get("restore_job") or {}).get("duration_seconds"),
            download_bytes=(server.get("download") or {}).get("bytes"),
            download_seconds=(server.get("download") or {}).get("seconds"),
            pg_restore_seconds=server.get("pg_restore_seconds"),
            rows=sum(database.get("rows", 0) for database in server.get("databases", [])),
            failures=list(server.get("failures", []))), sort_keys=True))
    return lines


def _rows(server):
    return ", ".join("{0}: {1}".format(database["name"], ", ".join(
        "{0}={1}".format(table.split(".", 1)[-1], rows) for table, rows in sorted(database.get("tables", {}).items())))
        for database in server.get("databases", [])) or "-"


def table(servers):
    """The play output: one line per server and its figures, then the failures."""
    header = "{0:<28} {1:<6} {2:<28} {3:<9} {4:>10} {5:>10} {6:>10} {7:>10}".format(
        "server", "result", "recovery point (tag)", "RPO", "restore", "download", "pg_restore", "RTO")
    lines = [header, "-" * len(header)]
    for server in servers:
        point = server.get("recovery_point") or {}
        lines.append("{0:<28} {1:<6} {2:<28} {3:<9} {4:>10} {5:>10} {6:>10} {7:>10}".format(
            server["server_name"][:28], "passed" if server.get("passed") else "FAILED",
            "{0} {1}".format((point.get("time") or "-")[:16].replace("T", " "), point.get("tag") or "-")[:28],
            human_seconds(server.get("rpo_seconds")), human_seconds((server.get("restore_job") or {}).get(
                "duration_seconds")), human_seconds((server.get("download") or {}).get("seconds")),
            human_seconds(server.get("pg_restore_seconds")), human_seconds(server.get("rto_seconds"))))
        lines.append("    rows: {0}".format(_rows(server)))
        checks = server.get("checks", [])
        lines.append("    checks: {0}/{1} passed".format(sum(1 for check in checks if check["passed"]), len(checks)))
        for reason in server.get("failures", []):
            lines.append("    FAILED: {0}".format(reason))
        for warning in server.get("warnings", []):
            lines.append("    warning: {0}".format(warning))
    return lines


def markdown(run, servers):
    """The report as Markdown: the run, a summary table, then each server in detail."""
    totals = summary(servers)
    out = ["# Restore drill {0}".format(run.get("run_id")), "",
           "Vault `{0}`, started {1}: {2} server(s), {3} passed, {4} failed.".format(
               run.get("vault"), run.get("started_at"), totals["servers"], totals["passed"], totals["failed"]), "",
           "| server | result | recovery point | tag | RPO | restore job | download | pg_restore | RTO |",
           "|---|---|---|---|---|---|---|---|---|"]
    for server in servers:
        point = server.get("recovery_point") or {}
        download = server.get("download") or {}
        out.append("| {0} | {1} | {2} | {3} | {4} | {5} | {6} ({7} bytes) | {8} | {9} |".format(
            server["server_name"], "passed" if server.get("passed") else "**FAILED**", point.get("time") or "-",
            point.get("tag") or "-", human_seconds(server.get("rpo_seconds")),
            human_seconds((server.get("restore_job") or {}).get("duration_seconds")),
            human_seconds(download.get("seconds")), download.get("bytes", 0),
            human_seconds(server.get("pg_restore_seconds")), human_seconds(server.get("rto_seconds"))))
    for server in servers:
        out += ["", "## {0}".format(server["server_name"]), "",
                "- recovery point: `{0}`".format((server.get("recovery_point") or {}).get("id"))]
        for database in server.get("databases", []):
            out.append("- database `{0}` (loaded as `{1}`): {2} rows".format(
                database["name"], database.get("scratch_database"), database.get("rows", 0)))
            for name, rows in sorted(database.get("tables", {}).items()):
                out.append("  - `{0}`: {1}".format(name, rows))
        for check in server.get("checks", []):
            out.append("- check {0}: {1}".format("passed" if check["passed"] else "**failed**", check["message"]))
        for reason in server.get("failures", []):
            out.append("- **failure**: {0}".format(reason))
        for warning in server.get("warnings", []):
            out.append("- warning: {0}".format(warning))
    return "\n".join(out) + "\n"
