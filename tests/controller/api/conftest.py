"""A real API server: uvicorn on a free port in a thread, the real store (a SQLite file,
and a PostgreSQL schema when 127.0.0.1:5432 is reachable), the real MissionService;
requests go over HTTP with httpx.  One server per module and backend; every test starts
with empty mission tables.

Users (name -> role): sofia and sam are safety officers (two, for the two-person rule),
olga an operator, erin an engineer, vic a viewer.  Their tokens are in ``api.tokens``.

Alerts: a real :class:`Controller` (on an in-memory bus, with the store as its alert
sink) is the API's alert desk, as in ``hazfleet serve``; tests raise alerts through it
(``api.controller``), with condition keys of their own (the controller lives as long as
the server).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text

from controller.api.app import create_app
from controller.api.tokens import hash_token, new_token
from controller.missions_service import MissionService
from controller.registry import RobotStatus
from controller.service import Controller
from controller.store import Store
from drivers.broker import free_port
from drivers.bus import InMemoryBus
from drivers.clock import SystemClock
from missions.mission import MissionSpec
from simulator.scenario import load_scenario
from tests.databases import fresh_database

REPO = Path(__file__).resolve().parents[3]
DEFAULT_SITE = load_scenario(REPO / "config" / "drills" / "default.yaml").site

USERS = {
    "sofia": "safety_officer",
    "sam": "safety_officer",
    "olga": "operator",
    "erin": "engineer",
    "vic": "viewer",
}

ROBOT = RobotStatus(
    manufacturer="hazfleet-sim",
    serial="sim-01",
    version="2.1.0",
    connection=None,
    availability="online",
    last_node_id="dock",
    x_m=0.0,
    y_m=0.0,
    battery_pct=87.5,
    charging=True,
    driving=False,
    paused=False,
    errors=[],
    order_id=None,
    factsheet_actions=("measureGas", "captureImage"),
    last_state_at_s=1.0,
)


@dataclass
class Api:
    url: str
    store: Store
    service: MissionService
    tokens: dict[str, str]
    http: httpx.Client
    """one client for the test (building an httpx.Client costs an SSL context)"""
    dispatched: list[MissionSpec] = field(default_factory=list)
    controller: Controller | None = None
    """the alert desk: raise alerts through it"""

    def auth(self, user: str | None) -> dict[str, str]:
        return {} if user is None else {"Authorization": f"Bearer {self.tokens[user]}"}

    def post(
        self, user: str | None, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return self.http.post(
            f"/api/v1{path}", headers={**self.auth(user), **(headers or {})}, **kw
        )

    def get(
        self, user: str | None, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return self.http.get(f"/api/v1{path}", headers={**self.auth(user), **(headers or {})}, **kw)


class ServerThread:
    """uvicorn.Server.run() on a daemon thread (signals stay with the main thread)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        self._thread = threading.Thread(target=self.server.run, name="api-test", daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(10)


@dataclass
class Backend:
    """One server and store for a test module; tests get them with empty mission tables."""

    url: str
    db_url: str
    store: Store
    service: MissionService
    tokens: dict[str, str]
    dispatched: list[MissionSpec]
    controller: Controller


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
    ],
)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    with _database(request.param, tmp_path_factory) as url, Store(url) as store:
        store.migrate()
        tokens = {}
        for name, role in USERS.items():
            tokens[name] = new_token()
            store.add_user(name, role, hash_token(tokens[name]))
        dispatched: list[MissionSpec] = []
        service = MissionService(
            store, SystemClock(), {DEFAULT_SITE.map_id: DEFAULT_SITE}, dispatch=dispatched.append
        )
        controller = Controller(InMemoryBus(), SystemClock(), DEFAULT_SITE, [], alerts=store)
        app = create_app(
            service,
            store,
            robots=lambda: [ROBOT],
            alerts=controller,
            picture=controller.hazard_picture,
        )
        with ServerThread(app) as base:
            yield Backend(base, url, store, service, tokens, dispatched, controller)


def _database(kind: str, tmp: pytest.TempPathFactory) -> contextlib.AbstractContextManager[str]:
    return fresh_database(kind, tmp.mktemp("api"), prefix="hz_api")


def _empty_missions(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for table in (
                "mission_releases",
                "mission_transitions",
                "missions",
                "alert_images",
                "alerts",
            ):
                connection.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()


@pytest.fixture
def api(backend: Backend) -> Iterator[Api]:
    _empty_missions(backend.db_url)
    backend.dispatched.clear()
    with httpx.Client(base_url=backend.url, timeout=10.0) as http:
        yield Api(
            backend.url,
            backend.store,
            backend.service,
            backend.tokens,
            http,
            backend.dispatched,
            backend.controller,
        )
