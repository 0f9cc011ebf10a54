"""``hazfleet fleet stop|resume|assemble|clear``: operator commands through the REST API
(docs/api.md, docs/allocation.md).

* ``stop`` / ``resume``: ``startPause`` / ``stopPause`` to the whole fleet, to the robots
  standing in ``--zone``, or to the robots named with ``--robot`` (repeatable);
* ``assemble``: every robot to the nearest node of a safe assembly zone;
* ``clear MISSION``: let the mission's order enter the zone it waits at (or ``--zone``).

Exit codes as for ``hazfleet mission``: 0 success; 1 the API refused; 2 a bad command line
or request; 3 the API could not be reached.  ``--json`` prints the API's JSON as is.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from hazfleet.cli_missions import (
    EXIT_OK,
    ApiFailure,
    _Api,
    _print_json,
    api_options,
    stdout_console,
)
from hazfleet.config import HazfleetConfig

__all__ = ["register", "run_fleet"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``fleet`` command to the ``hazfleet`` parser."""
    api = api_options()
    f = sub.add_parser("fleet", help="stop, resume and assemble robots; clear missions into zones")
    cmds = f.add_subparsers(dest="fleet_command", required=True)
    for verb, text in (
        ("stop", "startPause: the fleet, the robots in --zone, or each --robot"),
        ("resume", "stopPause to the same scopes (the whole fleet also ends an assembly)"),
    ):
        c = cmds.add_parser(verb, parents=[api], help=text)
        c.add_argument("--zone", help="only the robots standing in this zone")
        c.add_argument(
            "--robot", action="append", metavar="SERIAL", help="only this robot (repeatable)"
        )
    cmds.add_parser(
        "assemble", parents=[api], help="every robot to the safe assembly zone (missions cancelled)"
    )
    c = cmds.add_parser("clear", parents=[api], help="let a mission's order enter a zone")
    c.add_argument("mission", help="mission id")
    c.add_argument(
        "--zone",
        action="append",
        metavar="ZONE",
        help="zone to clear (repeatable; default: the zone the order waits at)",
    )


def _scope(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if args.robot:
        body["robots"] = args.robot
    if args.zone:
        body["zone"] = args.zone
    return body


def run_fleet(args: argparse.Namespace, cfg: HazfleetConfig, err: Console) -> int:
    """``hazfleet fleet ...``; returns the exit code (ConfigError is left to the caller)."""
    out = stdout_console()
    api = _Api(args.api, args.token)
    try:
        cmd = args.fleet_command
        if cmd in ("stop", "resume"):
            data = api.request("POST", f"/fleet/{cmd}", json=_scope(args))
            text = f"{'startPause' if cmd == 'stop' else 'stopPause'} sent to " + (
                ", ".join(data["robots"]) or "no robot"
            )
        elif cmd == "assemble":
            data = api.request("POST", "/fleet/assemble")
            text = "\n".join(
                f"{robot} -> {node or 'no assembly node reachable'}"
                for robot, node in data["robots"].items()
            )
        else:
            body = {"zones": args.zone} if args.zone else {}
            data = api.request("POST", f"/missions/{args.mission}/clear", json=body)
            text = f"mission {args.mission}: cleared " + (
                ", ".join(data["cleared"]) or "nothing new"
            )
        if args.json:
            _print_json(out, data)
        else:
            out.print(text, highlight=False)
        return EXIT_OK
    except ApiFailure as e:
        err.print(f"[red]error:[/] {e.message}", highlight=False)
        return e.code
    finally:
        api.close()
