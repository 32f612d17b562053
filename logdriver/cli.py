"""Entry point: ``logdriver serve`` runs the plugin in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from .app import Settings, run
from .selflog import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="logdriver", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the plugin (legacy plugin socket) in the foreground")
    serve.add_argument("--name", help="plugin name; socket /run/docker/plugins/NAME.sock "
                                      "[env LOGDRIVER_NAME, default logdriver]")
    serve.add_argument("--state-dir", help="history and state [env LOGDRIVER_STATE_DIR, "
                                           "default /var/lib/logdriver]")
    serve.add_argument("--socket", help="listen here instead [env LOGDRIVER_SOCKET]")
    serve.add_argument("--disk-budget", help="most bytes of history and delivery spool in the "
                                             "state dir, all containers together "
                                             "[env LOGDRIVER_DISK_BUDGET, default 4g]")
    serve.add_argument("--log-level", help="debug, info, warning, error [env LOGDRIVER_LOG_LEVEL]")
    status = sub.add_parser("status", help="what each container's sinks are doing, as a table")
    status.add_argument("--name", help="plugin name, as given to serve or docker plugin "
                                       "[env LOGDRIVER_NAME, default logdriver]")
    status.add_argument("--socket", help="the plugin's socket, instead of finding it by name")
    status.add_argument("--json", action="store_true", help="print the /status document")
    status.add_argument("--watch", nargs="?", type=float, const=2.0, metavar="SECONDS",
                        help="refresh every SECONDS (default 2)")
    args = parser.parse_args(argv)
    if args.command == "status":
        from . import status_cli

        name = args.name or os.environ.get("LOGDRIVER_NAME") or "logdriver"
        return status_cli.main(name, args.socket or os.environ.get("LOGDRIVER_SOCKET"),
                               args.json, args.watch)
    try:
        settings = Settings.from_env(
            name=args.name, state_dir=args.state_dir, socket=args.socket,
            disk_budget=args.disk_budget, log_level=args.log_level,
        )
    except ValueError as exc:
        parser.error(str(exc))
    setup_logging(settings.log_level)
    try:
        asyncio.run(run(settings))
    except RuntimeError as exc:
        logging.getLogger("logdriver").error("cannot start", extra={"error": str(exc)})
        return 1
    return 0
