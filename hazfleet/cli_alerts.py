"""``hazfleet alert list|show|ack``: alerts through the REST API (docs/alerts.md).

Exit codes as for ``hazfleet mission``: 0 success; 1 the API refused (its message is
shown: unknown alert, already acknowledged, role not allowed); 2 a bad command line or
request; 3 the API could not be reached.  ``--json`` prints the API's JSON as is.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from hazfleet.cli_missions import (
    EXIT_OK,
    ApiFailure,
    _Api,
    _print_json,
    _when,
    api_options,
    stdout_console,
)
from hazfleet.config import HazfleetConfig

__all__ = ["register", "run_alert"]

SEVERITIES = ("info", "warn", "error", "critical")
_STYLE = {"critical": "bold red", "error": "red", "warn": "yellow", "info": ""}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``alert`` command to the ``hazfleet`` parser."""
    api = api_options()

    a = sub.add_parser("alert", help="list, show and acknowledge alerts")
    cmds = a.add_subparsers(dest="alert_command", required=True)
    ls = cmds.add_parser("list", parents=[api], help="alerts, newest first")
    ls.add_argument("--open", action="store_true", help="only open ones (active or latched)")
    ls.add_argument("--unacked", action="store_true", help="only unacknowledged ones")
    ls.add_argument("--severity", choices=SEVERITIES, help="at least this severe")
    ls.add_argument("--robot", help="robot key manufacturer/serial")
    ls.add_argument("--hazard", help="e.g. gas_toxic, flammable, oxygen, fire")
    ls.add_argument("--since", help="raised at or after (ISO 8601 with a time zone)")
    ls.add_argument("--limit", type=int, default=50)
    sh = cmds.add_parser("show", parents=[api], help="one alert with its evidence")
    sh.add_argument("id")
    ack = cmds.add_parser("ack", parents=[api], help="acknowledge an alert")
    ack.add_argument("id")
    ack.add_argument("--note", default="", help="what was done about it (kept with the ack)")


def _severity(text: str) -> str:
    style = _STYLE.get(text, "bold red")
    return f"[{style}]{text}[/]" if style else text


def _state(a: dict[str, Any]) -> str:
    if a["active"]:
        return "active"
    return "latched" if a["open"] else "cleared"


def _table(items: list[dict[str, Any]]) -> Table:
    t = Table(title=f"{len(items)} alert{'s' if len(items) != 1 else ''}", title_justify="left")
    for col in ("id", "severity", "hazard", "state", "robot"):
        t.add_column(col, no_wrap=True)
    for col in ("alert", "raised", "seen", "acknowledged"):
        t.add_column(col, overflow="fold")
    for a in items:
        t.add_row(
            a["id"],
            _severity(a["severity"]),
            a["hazard"],
            _state(a),
            a.get("robot") or "-",
            a["title"],
            _when(a["raised_at"]),
            str(a["occurrences"]),
            a.get("acknowledged_by") or "-",
        )
    return t


def _show(out: Console, a: dict[str, Any]) -> None:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column(overflow="fold")
    where = a.get("location")
    value = "-" if a.get("value") is None else f"{a['value']:g} {a['unit']}".strip()
    limit = "-" if a.get("threshold") is None else f"{a['threshold']:g} {a['unit']}".strip()
    acked = (
        f"{a['acknowledged_by']} at {_when(a['acknowledged_at'])}"
        f"{': ' + a['ack_note'] if a.get('ack_note') else ''}"
        if a.get("acknowledged_by")
        else "no"
    )
    for label, text in (
        ("alert", a["id"]),
        ("what", a["title"]),
        ("severity", _severity(a["severity"])),
        ("hazard", a["hazard"]),
        ("state", _state(a)),
        ("value", value),
        ("threshold", limit),
        ("robot", a.get("robot") or "-"),
        ("mission", a.get("mission") or "-"),
        (
            "where",
            "-"
            if where is None
            else f"x {where['x_m']:g} m, y {where['y_m']:g} m on {where.get('map_id') or '?'}",
        ),
        ("raised", _when(a["raised_at"])),
        ("last seen", f"{_when(a['last_seen_at'])} ({a['occurrences']} reports)"),
        ("cleared", _when(a.get("cleared_at"))),
        ("acknowledged", acked),
        ("image", "yes (use --json for the JPEG)" if a.get("has_image") else "no"),
        ("condition", a["key"]),
    ):
        facts.add_row(label, text)
    out.print(facts)
    readings = a.get("readings") or []
    if readings:
        r = Table(title="readings", title_justify="left")
        for col in ("at", "channel", "value", "status"):
            r.add_column(col)
        for x in readings:
            shown = "-" if x["value"] is None else f"{x['value']:g} {x['unit']}"
            r.add_row(_when(x["at"]), x["channel"], shown, x["status"])
        out.print(r)


def run_alert(args: argparse.Namespace, cfg: HazfleetConfig, err: Console) -> int:
    """``hazfleet alert ...``; returns the exit code (ConfigError is left to the caller)."""
    out = stdout_console()
    api = _Api(args.api, args.token)
    try:
        if args.alert_command == "list":
            params: dict[str, Any] = {"limit": args.limit}
            if args.open:
                params["open"] = "true"
            if args.unacked:
                params["unacknowledged"] = "true"
            for name in ("severity", "robot", "hazard", "since"):
                if getattr(args, name) is not None:
                    params[name] = getattr(args, name)
            data = api.request("GET", "/alerts", params=params)
            if args.json:
                _print_json(out, data)
            else:
                out.print(_table(data["items"]))
        elif args.alert_command == "show":
            data = api.request("GET", f"/alerts/{args.id}")
            if args.json:
                _print_json(out, data)
            else:
                _show(out, data)
        else:
            data = api.request("POST", f"/alerts/{args.id}/acknowledge", json={"note": args.note})
            if args.json:
                _print_json(out, data)
            else:
                out.print(
                    f"alert [bold]{data['id']}[/] acknowledged by {data['acknowledged_by']}",
                    highlight=False,
                )
        return EXIT_OK
    except ApiFailure as e:
        err.print(f"[red]error:[/] {e.message}", highlight=False)
        return e.code
    finally:
        api.close()
