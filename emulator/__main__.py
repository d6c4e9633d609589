"""Command line: ``python -m emulator serve --port PORT --state-dir DIR [options]`` from the repository root."""

import argparse
import sys
from pathlib import Path

from emulator.settings import Settings
from emulator.throttling import parse_limit


def _non_negative_float(text):
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _limit(text):
    try:
        return parse_limit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m emulator", description="Local emulator of the Azure APIs "
                                     "used by the azbackup.dataprotection collection.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve HTTPS on 127.0.0.1 until SIGTERM/SIGINT")
    serve.add_argument("--port", type=_non_negative_int, required=True, help="TCP port; 0 picks a free one")
    serve.add_argument("--state-dir", type=Path, required=True,
                       help="where to write ca.pem, ca-bundle.pem, env.sh, env-no-rbac.sh, env-reader.sh, env-user.sh")
    serve.add_argument("--latency-ms", type=_non_negative_int, default=0, help="delay added to every ARM request")
    serve.add_argument("--lro-seconds", type=_non_negative_float, default=1.0,
                       help="real seconds a long-running operation takes (default 1.0; 0 completes at once)")
    serve.add_argument("--propagation-seconds", type=_non_negative_float, default=0.0,
                       help="real seconds before a new role assignment is seen by the service's own checks")
    serve.add_argument("--no-retry-after", action="store_true",
                       help="omit Retry-After on operation status and result polls (clients fall back to their own "
                            "polling interval)")
    serve.add_argument("--data-plane", action="store_true",
                       help="start the real data path: PostgreSQL behind the seeded servers, backups as real dumps, "
                            "Azurite serving the seeded storage accounts, restores writing real files")
    serve.add_argument("--arm-limits", action="store_true",
                       help="turn on Azure Resource Manager's request limits: token buckets per subscription and "
                            "principal (and 15x per subscription), 429 with Retry-After, x-ms-ratelimit-remaining-* "
                            "headers, and the limit of role assignments per subscription")
    for kind, default in (("read", "250/25"), ("write", "200/10"), ("delete", "200/10")):
        serve.add_argument(f"--arm-{kind}-limit", type=_limit, default=default, metavar="BUCKET/REFILL",
                           help=f"with --arm-limits: {kind}s bucket size and refill per second (default {default})")
    serve.add_argument("--role-assignment-limit", type=_non_negative_int, default=4000,
                       help="with --arm-limits: role assignments per subscription (default 4000, Azure's)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = Settings(port=args.port, state_dir=args.state_dir, latency_ms=args.latency_ms,
                        lro_seconds=args.lro_seconds, propagation_seconds=args.propagation_seconds,
                        no_retry_after=args.no_retry_after, data_plane=args.data_plane,
                        arm_limits=args.arm_limits, read_limit=args.arm_read_limit, write_limit=args.arm_write_limit,
                        delete_limit=args.arm_delete_limit, role_assignment_limit=args.role_assignment_limit)
    from emulator.server import serve  # pylint: disable=import-outside-toplevel  # keep --help fast
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
