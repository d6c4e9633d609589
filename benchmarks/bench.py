"""Benchmark of the pgflex_protection role against the bundled emulator (``make bench``; not part of ``make test``).

For 1, 10 and 50 servers it protects a fleet from scratch (first run) and runs the same play again (rerun),
against an emulator with a realistic latency per ARM request and realistic durations of the service's
long-running work, and prints for each run: wall time, ARM requests (reads = GET, writes = PUT/PATCH/DELETE/POST)
from the emulator's request log, and the lower bound of the same job.

The lower bound is what a minimal client must do, with the role's parallelism (per-vault steps one request after
the other; per-server work for all servers at once), given the latency L of every request and the service's
durations (LRO = --lro-seconds, PROTECT = protection_seconds, PROP = propagation_seconds). For N servers in G
resource groups, with the vault, the policy, the role assignments and the instances absent:

    reads                                      writes
    G   list the servers of each group         1      PUT the vault
    1   GET the vault (absent)                 1      PUT the policy
    1   status of the vault's LRO              G + N  PUT Reader per group, backup role per server (one by one)
    N   status of each validateForBackup LRO   N      POST validateForBackup
    N   status of each instance PUT's LRO      N      PUT the backup instance
    N   GET each instance (ProtectionConfigured)

    time = (G + 1) L                                  reads
         + L + LRO + L                                vault PUT, wait, status
         + L                                          policy PUT
         + (G + N) L                                  role assignment PUTs
         + max(PROP, L + LRO) + L                     validateForBackup (the service counts an assignment only
                                                      once PROP old; the POST can be sent LRO before that)
         + L + LRO + L                                instance PUT, wait, status
         + PROTECT + L                                configuring, then the GET that sees ProtectionConfigured

Defaults (realistic, from what Azure takes): 80 ms per ARM request; 15 s for each long-running operation (vault
creation, validateForBackup, the instance PUT); 90 s of ConfiguringProtection before ProtectionConfigured; 60 s before
a new role assignment is seen by the service (the Azure tools sleep 60 s after granting). A full run takes about 15
minutes; ``make bench ARGS="--sizes 1,10 --lro-seconds 2 --protection-seconds 5 --propagation-seconds 3"`` is a quick
check.

A rerun (everything in place) must read the servers (G), the vault, the policy, the identity's role assignments
and the vault's instances: G + 4 reads one after the other, no write.

Module processes: every run is made with ``-vvv``, and each execution of a module's AnsiballZ payload in the log is
one module process; the table shows how many each run started (``modules``) and ``results.json`` lists them per module.
The role runs one module process per step whatever the number of servers (list mode), so the count does not grow
with the fleet.

Targets (printed, not asserted): the rerun makes zero writes; the first run is within 2x of its lower bound; the
50-server rerun finishes in under 60 s on a 2-core machine. The last line sums up the largest case:
``bench: 50 servers: first run <s> s (<r>x lower bound), rerun <s> s, <n> writes``.
"""

import argparse
import collections
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from fleet_emulator import FLEET_GROUP, fleet_names  # noqa: E402  pylint: disable=wrong-import-position

WRITE_METHODS = {"PUT", "PATCH", "DELETE", "POST"}
# The line -vvv logs when a module process starts: a command that runs the module's AnsiballZ payload (directly,
# or through async_wrapper for an async task), not the chmod before it.
MODULE_EXEC = re.compile(r"EXEC /bin/sh -c '(?!chmod )[^\n]*?AnsiballZ_(\w+)\.py")
PLAYBOOK = ROOT / "benchmarks" / "protect_fleet.yml"


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Benchmark the pgflex_protection role against the emulator.")
    parser.add_argument("--sizes", default="1,10,50", help="fleet sizes, comma-separated (default 1,10,50)")
    parser.add_argument("--latency-ms", type=int, default=80, help="latency of every ARM request (default 80)")
    parser.add_argument("--lro-seconds", type=float, default=15.0,
                        help="duration of each long-running operation: vault PUT, validateForBackup, instance PUT "
                             "(default 15)")
    parser.add_argument("--protection-seconds", type=float, default=90.0,
                        help="ConfiguringProtection -> ProtectionConfigured after the instance PUT (default 90)")
    parser.add_argument("--propagation-seconds", type=float, default=60.0,
                        help="age a new role assignment needs before the service counts it (default 60)")
    parser.add_argument("--job-seconds", type=float, default=120.0, help="duration of a backup job (default 120)")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "output"),
                        help="where logs, reports and results.json go (default benchmarks/output)")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------------- the model


def lower_bound_first(servers, groups, latency, lro, protection, propagation):
    """(seconds, reads, writes) of the minimal first run, as documented above."""
    reads = groups + 1 + 1 + 3 * servers
    writes = 1 + 1 + (groups + servers) + 2 * servers
    seconds = ((groups + 1) * latency
               + latency + lro + latency
               + latency
               + (groups + servers) * latency
               + max(propagation, latency + lro) + latency
               + latency + lro + latency
               + protection + latency)
    return seconds, reads, writes


def lower_bound_rerun(groups, latency):
    reads = groups + 4
    return reads * latency, reads, 0


# ---------------------------------------------------------------------------------------------------- the emulator


class Emulator:
    """The fleet emulator in a child process."""

    def __init__(self, state_dir, servers, args):
        self.state_dir = Path(state_dir)
        self.log_path = self.state_dir.parent / "emulator.log"
        self.servers = servers
        self.args = args
        self.process = None
        self.env = {}
        self.context = None

    def start(self, timeout=60):
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        self.state_dir.mkdir(parents=True)
        command = [sys.executable, str(ROOT / "benchmarks" / "fleet_emulator.py"), "--servers", str(self.servers),
                   "--", "serve", "--port", "0", "--state-dir", str(self.state_dir),
                   "--latency-ms", str(self.args.latency_ms), "--lro-seconds", str(self.args.lro_seconds),
                   "--propagation-seconds", str(self.args.propagation_seconds)]
        with open(self.log_path, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        env_file = self.state_dir / "env.sh"
        deadline = time.monotonic() + timeout
        while not (env_file.exists() and "EMULATOR_URL" in env_file.read_text(encoding="utf-8")):
            if self.process.poll() is not None:
                raise RuntimeError("the emulator exited; see " + str(self.log_path))
            if time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start within {0} s".format(timeout))
            time.sleep(0.1)
        for line in env_file.read_text(encoding="utf-8").splitlines():
            if line.startswith("export "):
                key, value = line[len("export "):].split("=", 1)
                self.env[key] = value.strip().strip("'")
        self.context = ssl.create_default_context(cafile=self.env["REQUESTS_CA_BUNDLE"])

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def control(self, name, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.env["EMULATOR_URL"] + "/_emulator/" + name, data=data,
                                         method="GET" if body is None else "POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self.context, timeout=60) as response:  # noqa: S310
            return json.loads(response.read().decode())

    def reset(self):
        self.control("reset", {})
        # reset restores the start-up settings; the protection and job durations are run-time settings.
        self.control("settings", {"protection_seconds": self.args.protection_seconds,
                                  "job_seconds": self.args.job_seconds})

    def requests_since(self, seq):
        request = urllib.request.Request(self.env["EMULATOR_URL"] + "/_emulator/requests?since={0}".format(seq))
        with urllib.request.urlopen(request, context=self.context, timeout=60) as response:  # noqa: S310
            return json.loads(response.read().decode())


# ---------------------------------------------------------------------------------------------------- runs


def module_processes(log_text):
    """{module name: processes started} from a -vvv log."""
    return dict(collections.Counter(match.group(1) for match in MODULE_EXEC.finditer(log_text)))


def run_play(emulator, servers, output, label):
    """Run the play for the first ``servers`` servers of the fleet; returns (seconds, reads, writes, rc, modules)."""
    subscription = emulator.env["AZURE_SUBSCRIPTION_ID"]
    ids = ["/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{2}".format(
        subscription, FLEET_GROUP, name) for name in fleet_names(servers)]
    extra = output / "vars-{0}.json".format(label)
    extra.write_text(json.dumps({"bench_server_ids": ids, "bench_report_dir": str(output / "reports" / label)}),
                     encoding="utf-8")
    env = dict(os.environ)
    env.update(emulator.env)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".tmp" / "collections"))
    env.update(ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False", ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    log = output / "{0}.log".format(label)
    before = emulator.requests_since(0)
    seq = before[-1]["seq"] if before else 0
    playbook = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) or "ansible-playbook"
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as handle:
        rc = subprocess.call([playbook, str(PLAYBOOK), "-vvv", "-e", "@" + str(extra)], cwd=ROOT, env=env,
                             stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    log_entries = emulator.requests_since(seq)
    writes = sum(1 for entry in log_entries if entry["method"] in WRITE_METHODS)
    if rc != 0:
        print("  ! {0} failed (rc {1}); last lines of {2}:".format(label, rc, log), flush=True)
        for line in log.read_text(encoding="utf-8").splitlines()[-15:]:
            print("    " + line)
    return seconds, len(log_entries) - writes, writes, rc, module_processes(log.read_text(encoding="utf-8"))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    latency = args.latency_ms / 1000.0
    emulator = Emulator(output / "emulator-state", max(sizes), args)
    print("bench: {0} CPU(s); latency {1} ms, LRO {2} s, protection {3} s, propagation {4} s; fleet of {5} servers "
          "in {6}".format(os.cpu_count(), args.latency_ms, args.lro_seconds, args.protection_seconds,
                          args.propagation_seconds, max(sizes), FLEET_GROUP), flush=True)
    results = []
    emulator.start()
    try:
        for servers in sizes:
            emulator.reset()
            for run in ("first", "rerun"):
                label = "{0}-servers-{1}".format(servers, run)
                print("  running {0} ...".format(label), flush=True)
                seconds, reads, writes, rc, modules = run_play(emulator, servers, output, label)
                if run == "first":
                    bound, bound_reads, bound_writes = lower_bound_first(
                        servers, 1, latency, args.lro_seconds, args.protection_seconds, args.propagation_seconds)
                else:
                    bound, bound_reads, bound_writes = lower_bound_rerun(1, latency)
                results.append({"servers": servers, "run": run, "seconds": round(seconds, 1), "reads": reads,
                                "writes": writes, "rc": rc, "lower_bound_seconds": round(bound, 1),
                                "lower_bound_reads": bound_reads, "lower_bound_writes": bound_writes,
                                "ratio": round(seconds / bound, 2) if bound else None,
                                "modules": sum(modules.values()), "module_processes": modules})
    finally:
        emulator.stop()
    (output / "results.json").write_text(json.dumps({"settings": vars(args), "results": results}, indent=2),
                                         encoding="utf-8")

    print()
    print("{0:>7}  {1:<5}  {2:>8}  {3:>6}  {4:>6}  {5:>14}  {6:>12}  {7:>12}  {8:>7}  {9:>7}".format(
        "servers", "run", "wall s", "reads", "writes", "lower bound s", "bound reads", "bound writes", "ratio",
        "modules"))
    for row in results:
        print("{servers:>7}  {run:<5}  {seconds:>8.1f}  {reads:>6}  {writes:>6}  {lower_bound_seconds:>14.1f}  "
              "{lower_bound_reads:>12}  {lower_bound_writes:>12}  {ratio:>6.1f}x  {modules:>7}{failed}".format(
                  failed="  FAILED" if row["rc"] else "", **row))
    print()
    reruns = [row for row in results if row["run"] == "rerun"]
    firsts = [row for row in results if row["run"] == "first"]
    print("targets: rerun zero writes: {0}; first run within 2x of its lower bound: {1}; "
          "{2}-server rerun under 60 s: {3}".format(
              "yes" if all(row["writes"] == 0 for row in reruns) else "NO",
              "yes" if all(row["ratio"] <= 2 for row in firsts) else
              "NO ({0})".format(", ".join("{0}: {1}x".format(row["servers"], row["ratio"]) for row in firsts)),
              max(sizes), "yes" if reruns and reruns[-1]["seconds"] < 60 else "NO"))
    largest = max(sizes)
    first = [row for row in firsts if row["servers"] == largest][0]
    rerun = [row for row in reruns if row["servers"] == largest][0]
    summary = "bench: {0} servers: first run {1:.1f} s ({2:.1f}x lower bound), rerun {3:.1f} s, {4} writes; module " \
        "processes: first run {5}, rerun {6}"
    print(summary.format(largest, first["seconds"], first["ratio"], rerun["seconds"], rerun["writes"],
                         first["modules"], rerun["modules"]))
    print("module processes of the {0}-server first run: {1}".format(largest, ", ".join(
        "{0} {1}".format(name, count) for name, count in sorted(first["module_processes"].items()))))
    return 0 if all(row["rc"] == 0 for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())
