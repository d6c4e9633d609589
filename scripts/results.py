"""Collect the pass/fail counts of the test steps and print the summary line of ``make test``.

Each step stores its counts in ``tests/output/results/<step>.json``::

    python scripts/results.py reset
    python scripts/results.py record sanity --passed 30 --failed 0 --skipped 2
    python scripts/results.py junit units --rc 0 tests/output/junit/units.xml
    python scripts/results.py summary        # ... then "test: N passed, N failed"
"""

import argparse
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "tests", "output", "results")
ORDER = ("ruff", "sanity", "units", "integration", "awx", "lint", "docs-lint", "galaxy")


def write(step, passed, failed, skipped=0, note=""):
    """Store the counts of one step."""
    os.makedirs(RESULTS, exist_ok=True)
    data = {"step": step, "passed": passed, "failed": failed, "skipped": skipped, "note": note}
    with open(os.path.join(RESULTS, step + ".json"), "w", encoding="utf-8") as f:
        json.dump(data, f)
    return data


def count_junit(paths):
    """Return (passed, failed, skipped) over the test cases of the given junit XML files or folders."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            files.extend(sorted(glob.glob(os.path.join(path, "*.xml"))))
        elif os.path.exists(path):
            files.append(path)
    passed = failed = skipped = 0
    for name in files:
        for case in ET.parse(name).getroot().iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


def cmd_junit(args):
    """Record a step from junit XML; a non-zero exit code with no failed test counts as one failure."""
    passed, failed, skipped = count_junit(args.paths)
    note = ""
    if args.rc != 0 and failed == 0:
        failed, note = 1, "exit code %d" % args.rc
    write(args.step, passed, failed, skipped, note)


def cmd_record(args):
    write(args.step, args.passed, args.failed, args.skipped, args.note)


def cmd_reset(_args):
    for name in glob.glob(os.path.join(RESULTS, "*.json")):
        os.remove(name)


def cmd_summary(args):
    """Print one line per step, then the overall line; exit 1 if anything failed or a step is missing."""
    results = {}
    for name in glob.glob(os.path.join(RESULTS, "*.json")):
        with open(name, encoding="utf-8") as f:
            data = json.load(f)
        results[data["step"]] = data
    for step in args.expect:
        if step not in results:
            results[step] = {"step": step, "passed": 0, "failed": 1, "skipped": 0, "note": "no result recorded"}
    steps = sorted(results, key=lambda s: (ORDER.index(s) if s in ORDER else len(ORDER), s))
    passed = failed = skipped = 0
    print("")
    for step in steps:
        data = results[step]
        passed += data["passed"]
        failed += data["failed"]
        skipped += data["skipped"]
        note = " (%s)" % data["note"] if data.get("note") else ""
        print(
            "  %-12s %4d passed, %4d failed, %4d skipped%s"
            % (step, data["passed"], data["failed"], data["skipped"], note)
        )
    # The closing line CI reads: exactly "test: N passed, N failed" (skips are listed per step above).
    print("test: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("reset")
    p.set_defaults(func=cmd_reset)

    p = sub.add_parser("record")
    p.add_argument("step")
    p.add_argument("--passed", type=int, default=0)
    p.add_argument("--failed", type=int, default=0)
    p.add_argument("--skipped", type=int, default=0)
    p.add_argument("--note", default="")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("junit")
    p.add_argument("step")
    p.add_argument("--rc", type=int, default=0)
    p.add_argument("paths", nargs="+")
    p.set_defaults(func=cmd_junit)

    p = sub.add_parser("summary")
    p.add_argument("--expect", nargs="*", default=[], help="steps that must have recorded a result")
    p.set_defaults(func=cmd_summary)

    args = parser.parse_args()
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
