"""``hazfleet mission ...`` (talks to the REST API) and ``hazfleet user add`` (the store).

Exit codes, as for the rest of the ``hazfleet`` script: 0 success; 1 the API refused the
request (its message is shown); 2 an invalid mission file or request (with the field
path) or a bad command line; 3 the API could not be reached.

Output goes to stdout: readable tables (rich), or with ``--json`` the API's JSON as is,
for scripts.  Errors go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from controller.api.tokens import Role, hash_token, new_token
from drivers.config_file import load_yaml, validation_to_config_error
from drivers.errors import ConfigError, MissionError
from hazfleet.config import HazfleetConfig
from missions.model import MissionRequest, MissionValidationError, Priority
from missions.site import SiteMap

EXIT_OK, EXIT_API, EXIT_INVALID, EXIT_UNREACHABLE = 0, 1, 2, 3
DEFAULT_API = "http://127.0.0.1:8080"
API_TIMEOUT_S = 15.0
PIPE_WIDTH = 160
"""columns of table output when stdout is not a terminal"""
_USER_NAME = r"^[A-Za-z0-9_.@\-]+$"

__all__ = [
    "DEFAULT_API",
    "register",
    "run_mission",
    "run_user",
    "validate_file",
]

# ------------------------------------------------------------------------------ parser


def api_options() -> argparse.ArgumentParser:
    """The options every command that talks to the API shares (a parent parser)."""
    api = argparse.ArgumentParser(add_help=False)
    api.add_argument(
        "--api",
        default=os.environ.get("HAZFLEET_API") or DEFAULT_API,
        help=f"API base URL (default: $HAZFLEET_API or {DEFAULT_API})",
    )
    api.add_argument(
        "--token",
        default=os.environ.get("HAZFLEET_TOKEN"),
        help="bearer token from `hazfleet user add` (default: $HAZFLEET_TOKEN)",
    )
    api.add_argument("--json", action="store_true", help="print the API's JSON (for scripts)")
    return api


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``mission`` and ``user`` commands to the ``hazfleet`` parser."""
    api = api_options()

    m = sub.add_parser("mission", help="write, submit, approve and follow missions")
    ms = m.add_subparsers(dest="mission_command", required=True)

    v = ms.add_parser("validate", help="check a mission file offline (exit 2 if invalid)")
    v.add_argument("file")
    v.add_argument("--json", action="store_true", help="print the result as JSON")

    s = ms.add_parser("submit", parents=[api], help="submit a mission file")
    s.add_argument("file")
    s.add_argument(
        "--idempotency-key",
        help="resubmitting with the same key never creates a second mission "
        "(default: a new key for each run)",
    )

    ls = ms.add_parser("list", parents=[api], help="list missions, newest first")
    ls.add_argument("--state", help="e.g. submitted, approved, active")
    ls.add_argument("--priority", choices=[p.value for p in Priority])
    ls.add_argument("--template")
    ls.add_argument("--site")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--offset", type=int, default=0)

    sh = ms.add_parser("show", parents=[api], help="one mission with its history")
    sh.add_argument("id")

    for verb, text in (
        ("approve", "approve a submitted mission (permit to work)"),
        ("cancel", "cancel a mission"),
        ("pause", "pause a running mission"),
        ("resume", "resume a paused mission"),
    ):
        a = ms.add_parser(verb, parents=[api], help=text)
        a.add_argument("id")
        a.add_argument("--reason", default="", help="recorded in the mission's history")
    r = ms.add_parser("reject", parents=[api], help="reject a submitted mission")
    r.add_argument("id")
    r.add_argument("--reason", required=True, help="why (required, recorded in the history)")

    ms.add_parser("templates", parents=[api], help="the mission templates the server knows")

    u = sub.add_parser("user", help="manage API users")
    us = u.add_subparsers(dest="user_command", required=True)
    add = us.add_parser("add", help="add a user; prints its new token once (last word)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--db", help="database URL (default: serve.db from the config)")


# ------------------------------------------------------------------------------ users


def stdout_console() -> Console:
    """Tables and results on stdout; piped output gets a wide page rather than 80 columns
    (mission ids and states must not be folded)."""
    import sys

    wide = None if sys.stdout.isatty() else PIPE_WIDTH
    return Console(soft_wrap=True, width=wide)


def run_user(args: argparse.Namespace, cfg: HazfleetConfig) -> int:
    """``hazfleet user add``: the token is printed once, as the last word; only its hash
    is stored."""
    out = stdout_console()
    from controller.store import Store  # imported here: SQLAlchemy is slow to import

    if not re.match(_USER_NAME, args.name):
        raise ConfigError("NAME", "", f"{args.name!r}: use letters, digits and _ . @ - only")
    token = new_token()
    store = Store(args.db or cfg.serve.db)
    try:
        store.migrate()
        store.add_user(args.name, args.role, hash_token(token))
    finally:
        store.close()
    out.print(
        f"user {args.name} ({args.role}) added; keep this token, it is not shown again:",
        highlight=False,
    )
    out.print(token, highlight=False, markup=False, soft_wrap=True)
    return EXIT_OK


# ------------------------------------------------------------------------------ validate


def _load_site(cfg: HazfleetConfig) -> SiteMap | None:
    """The configured site, for offline checks of targets; None if it cannot be read."""
    from hazfleet.serve import load_fleet

    try:
        return load_fleet(cfg.fleet).site
    except ConfigError:
        return None


def validate_file(path: Path, site: SiteMap | None) -> tuple[MissionRequest, int | None]:
    """The mission file as a request, checked like the server does.

    Returns (request, steps) where steps is the number of planned steps when ``site`` is
    the request's site (None when the site is not known offline).
    Raises ConfigError naming the file, the field path and the problem.
    """
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "expected a mission (a mapping of fields)")
    try:
        request = MissionRequest.model_validate(data)
    except ValidationError as e:
        raise validation_to_config_error(str(path), e) from e
    if site is None or site.map_id != request.site:
        return request, None
    from missions.templates import plan

    try:
        # a file without an id gets one from the server; any valid id plans the same
        spec = plan(request, site, request.id or "offline-check")
    except MissionValidationError as e:
        raise ConfigError(str(path), e.field, e.problem) from e
    except MissionError as e:
        raise ConfigError(str(path), "", str(e)) from e
    return request, len(spec.steps)


def _validate(args: argparse.Namespace, cfg: HazfleetConfig, out: Console) -> int:
    path = Path(args.file)
    request, steps = validate_file(path, _load_site(cfg))
    if args.json:
        _print_json(
            out,
            {
                "file": str(path),
                "valid": True,
                "template": request.template,
                "site": request.site,
                "steps": steps,
            },
        )
    else:
        planned = (
            f", {steps} steps on site {request.site}"
            if steps is not None
            else f" (site {request.site} not known offline: targets not checked)"
        )
        out.print(f"{path}: valid {request.template} mission{planned}", highlight=False)
    return EXIT_OK


# ------------------------------------------------------------------------------ API calls


class ApiFailure(Exception):
    """The API refused the request or could not be reached; ``code`` is the exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Api:
    def __init__(self, base_url: str, token: str | None) -> None:
        headers = {"Accept": "application/json"}
        if token:
            token = token.strip()
            # tokens from `hazfleet user add` are URL-safe base64: anything else is a
            # copy-and-paste accident, to be named as such rather than sent
            if not token.isascii() or any(c.isspace() or not c.isprintable() for c in token):
                raise ConfigError(
                    "--token / HAZFLEET_TOKEN", "", "contains spaces or control characters"
                )
            headers["Authorization"] = f"Bearer {token}"
        self._base = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self._base, headers=headers, timeout=API_TIMEOUT_S)
        self._has_token = bool(token)

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, f"/api/v1{path}", **kwargs)
        except httpx.TransportError as e:
            raise ApiFailure(
                EXIT_UNREACHABLE, f"cannot reach the hazfleet API at {self._base}: {e}"
            ) from e
        if response.is_success:
            return response.json()
        raise ApiFailure(*self._failure(response))

    def _failure(self, response: httpx.Response) -> tuple[int, str]:
        try:
            detail: Any = response.json().get("detail")
        except (ValueError, AttributeError):
            detail = response.text.strip() or response.reason_phrase
        status = response.status_code
        if status == 422 and isinstance(detail, list):
            lines = []
            for item in detail:
                field = item.get("field") if isinstance(item, dict) else None
                msg = item.get("msg") if isinstance(item, dict) else str(item)
                lines.append(f"{field}: {msg}" if field else str(msg))
            return EXIT_INVALID, "invalid request: " + "; ".join(lines)
        text = f"{status} {response.reason_phrase}: {detail}"
        if status == 401 and not self._has_token:
            text += " (give --token or set HAZFLEET_TOKEN)"
        return EXIT_API, text


def _print_json(out: Console, data: Any) -> None:
    # plain text, no markup or wrapping: scripts parse this
    out.file.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    out.file.flush()


def _when(text: str | None) -> str:
    """ISO 8601 as ``2026-11-26 06:00:00Z`` (UTC from the server), short for tables."""
    if not text:
        return "-"
    return text.replace("T", " ").replace("+00:00", "Z").split(".")[0].removesuffix("Z") + "Z"


def _missions_table(items: list[dict[str, Any]]) -> Table:
    t = Table(title=f"{len(items)} mission{'s' if len(items) != 1 else ''}", title_justify="left")
    for col in ("id", "state", "priority", "template", "site"):
        t.add_column(col, no_wrap=True)
    for col in ("name", "submitted by", "updated"):
        t.add_column(col, overflow="fold")
    for m in items:
        t.add_row(
            m["id"],
            m["state"],
            m["priority"],
            m["template"],
            m["site"],
            m["name"],
            m["submitted_by"],
            _when(m.get("updated_at")),
        )
    return t


def _mission_view(out: Console, m: dict[str, Any]) -> None:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column(overflow="fold")
    permit = m.get("permit") or {}
    permit_text = (
        "not required"
        if not permit.get("required")
        else f"required{' (two-person rule)' if permit.get('two_person') else ''}"
        f"{': ' + permit['reason'] if permit.get('reason') else ''}"
    )
    for label, value in (
        ("mission", m["id"]),
        ("name", m["name"]),
        ("state", m["state"]),
        ("template", m["template"]),
        ("site", m["site"]),
        ("priority", m["priority"]),
        ("permit", permit_text),
        ("submitted by", m["submitted_by"]),
        ("approved by", m.get("approved_by") or "-"),
        ("robot", m.get("robot") or "-"),
        ("created", _when(m.get("created_at"))),
    ):
        facts.add_row(label, str(value))
    out.print(facts)
    history = m.get("history")
    if history:
        h = Table(title="history", title_justify="left")
        for col in ("at", "from", "to", "by", "reason"):
            h.add_column(col, overflow="fold")
        for t in history:
            h.add_row(
                _when(t["at"]), t.get("from_state") or "-", t["to_state"], t["by"], t["reason"]
            )
        out.print(h)
    releases = m.get("releases")
    if releases:
        r = Table(title="schedule: releases and missed windows", title_justify="left")
        for col in ("occurrence", "status", "decided", "reason"):
            r.add_column(col, overflow="fold")
        for rel in releases:
            style = "red" if rel["status"] == "missed" else ""
            r.add_row(
                _when(rel["occurrence"]),
                f"[{style}]{rel['status']}[/]" if style else rel["status"],
                _when(rel["at"]),
                rel["reason"],
            )
        out.print(r)


def _submit(args: argparse.Namespace, cfg: HazfleetConfig, api: _Api, out: Console) -> int:
    path = Path(args.file)
    validate_file(path, _load_site(cfg))  # a bad file never reaches the server
    key = args.idempotency_key or f"cli-{uuid.uuid4().hex}"
    body = path.read_bytes()
    m = api.request(
        "POST",
        "/missions",
        content=body,
        headers={"Content-Type": "application/yaml", "Idempotency-Key": key},
    )
    if args.json:
        _print_json(out, m)
    else:
        out.print(f"mission [bold]{m['id']}[/] is {m['state']}", highlight=False)
        _mission_view(out, m)
    return EXIT_OK


def _list(args: argparse.Namespace, api: _Api, out: Console) -> int:
    params = {
        k: v
        for k, v in {
            "state": args.state,
            "priority": args.priority,
            "template": args.template,
            "site": args.site,
            "limit": args.limit,
            "offset": args.offset,
        }.items()
        if v is not None
    }
    data = api.request("GET", "/missions", params=params)
    if args.json:
        _print_json(out, data)
    else:
        out.print(_missions_table(data["items"]))
    return EXIT_OK


def _act(args: argparse.Namespace, api: _Api, out: Console) -> int:
    verb: str = args.mission_command
    m = api.request("POST", f"/missions/{args.id}/{verb}", json={"reason": args.reason})
    if args.json:
        _print_json(out, m)
    else:
        out.print(f"mission [bold]{m['id']}[/] is {m['state']}", highlight=False)
    return EXIT_OK


def _templates(args: argparse.Namespace, api: _Api, out: Console) -> int:
    data = api.request("GET", "/templates")
    if args.json:
        _print_json(out, data)
        return EXIT_OK
    t = Table(title="mission templates", title_justify="left")
    t.add_column("name", no_wrap=True)
    t.add_column("description", overflow="fold")
    t.add_column("parameters", overflow="fold")
    for tpl in data:
        props = tpl.get("params_schema", {}).get("properties", {})
        t.add_row(tpl["name"], tpl["description"], ", ".join(props))
    out.print(t)
    return EXIT_OK


def run_mission(args: argparse.Namespace, cfg: HazfleetConfig, err: Console) -> int:
    """``hazfleet mission ...``; returns the exit code (ConfigError is left to the caller)."""
    out = stdout_console()
    command: str = args.mission_command
    if command == "validate":
        return _validate(args, cfg, out)
    api = _Api(args.api, args.token)
    handlers: dict[str, Callable[[], int]] = {
        "submit": lambda: _submit(args, cfg, api, out),
        "list": lambda: _list(args, api, out),
        "show": lambda: _show(args, api, out),
        "templates": lambda: _templates(args, api, out),
    }
    try:
        handler = handlers.get(command, lambda: _act(args, api, out))
        return handler()
    except ApiFailure as e:
        err.print(f"[red]error:[/] {e.message}", highlight=False)
        return e.code
    finally:
        api.close()


def _show(args: argparse.Namespace, api: _Api, out: Console) -> int:
    m = api.request("GET", f"/missions/{args.id}")
    if args.json:
        _print_json(out, m)
    else:
        _mission_view(out, m)
    return EXIT_OK
