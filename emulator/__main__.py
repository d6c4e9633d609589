"""Command line: ``python -m emulator serve --port PORT --state-dir DIR [options]`` from the repository root."""

import argparse
import sys
from pathlib import Path

from emulator.settings import Settings


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
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = Settings(port=args.port, state_dir=args.state_dir, latency_ms=args.latency_ms,
                        lro_seconds=args.lro_seconds, propagation_seconds=args.propagation_seconds,
                        no_retry_after=args.no_retry_after, data_plane=args.data_plane)
    from emulator.server import serve  # pylint: disable=import-outside-toplevel  # keep --help fast
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
