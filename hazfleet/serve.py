"""``hazfleet serve``: the mission store, the controller, the scheduler and the REST API in
one process.

Composition (all wiring lives here):

* the store (``--db`` / ``serve.db``), migrated to the newest schema on start;
* the MQTT broker: ``broker.url`` (``embedded`` starts a private one);
* the :class:`~controller.service.Controller` on an :class:`MqttTransport` whose last
  will is the controller heartbeat CONNECTIONBROKEN, for the site and fleet of the
  ``fleet:`` section (see :func:`load_fleet`);
* the :class:`~controller.missions_service.MissionService` (lifecycle, permits, scheduler)
  bridged to the controller, resuming every dispatched or active mission from the store;
* alerts (docs/alerts.md) kept in the same store: the controller writes them, reads back
  the open ones on start, and the API acknowledges them through it;
* one :class:`~drivers.runloop.RealtimeLoop` thread that steps the controller and the
  :class:`~controller.missions_bridge.ControllerBridge` (outcomes to the service, and the
  scheduler every ``serve.tick_s``);
* uvicorn serving the API in the main thread.

SIGINT and SIGTERM stop it cleanly: the API stops accepting requests, the loop stops,
the controller publishes heartbeat OFFLINE (robots pause themselves), the MQTT link and
the store are closed.  Everything a safety officer submitted is already in the store.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import FrameType
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from controller.fleet_plan import FleetPlanner
from drivers.config_file import load_yaml, validation_to_config_error
from drivers.errors import ConfigError
from hazfleet import paths
from hazfleet.config import FleetConfig, HazfleetConfig
from missions.capabilities import RobotConfig
from missions.fleet import RobotRef
from missions.fleet_settings import FleetPlanSettings
from missions.site import SiteMap

log = logging.getLogger(__name__)

__all__ = ["Fleet", "load_fleet", "register", "serve"]

DEFAULT_INTERFACE = "uagv"
LOOP_PERIOD_S = 0.1
"""the controller steps at least this often (seconds); messages wake it earlier"""
_STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Fleet:
    site: SiteMap
    robots: tuple[RobotRef, ...]
    interface: str
    plan: FleetPlanSettings
    """ratings, battery models, area classes, clearance zones for the allocator"""


def load_fleet(cfg: FleetConfig) -> Fleet:
    """The site and robots of the ``fleet:`` section.

    ``cfg.site`` names a bundled drill (``default``), a scenario YAML (a file with a
    ``site:`` key: its site, and its robots when ``cfg.robots`` is empty) or a YAML file
    that is a site map itself.  Raises ConfigError naming the file and field.
    """
    path = paths.scenario_file(cfg.site)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "expected a scenario or a site map (a mapping)")
    interface = cfg.interface
    configs: dict[str, RobotConfig] = {}
    if "site" in data:
        from simulator.scenario import load_scenario  # the scenario format lives there

        scenario = load_scenario(path)
        site = scenario.site
        robots = tuple(
            RobotRef(manufacturer=r.manufacturer, serial=r.serial) for r in cfg.robots
        ) or tuple(RobotRef(manufacturer=r.manufacturer, serial=r.serial) for r in scenario.robots)
        interface = interface or scenario.interface
        configs = scenario.robot_configs()
        plan = cfg.plan_settings(configs)
        plan = replace(
            plan,
            area_classes={**scenario.area_classes, **plan.area_classes},
            clearance_zones=plan.clearance_zones | frozenset(scenario.clearance_zones),
        )
    else:
        try:
            site = SiteMap.model_validate(data)
        except ValidationError as e:
            raise validation_to_config_error(str(path), e) from e
        robots = tuple(RobotRef(manufacturer=r.manufacturer, serial=r.serial) for r in cfg.robots)
        plan = cfg.plan_settings()
    try:
        FleetPlanner(site, plan)  # area classes and clearance zones must name zones of the site
    except ValueError as e:
        raise ConfigError("fleet", "", str(e)) from e
    return Fleet(site=site, robots=robots, interface=interface or DEFAULT_INTERFACE, plan=plan)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("serve", help="run the controller, the mission scheduler and the REST API")
    s.add_argument("--db", help="database URL (default: serve.db, sqlite:///hazfleet.db)")
    s.add_argument("--host", help="address to listen on (default: serve.host, 127.0.0.1)")
    s.add_argument("--port", type=int, help="TCP port (default: serve.port, 8080)")
    s.add_argument("--broker", help="'embedded' or mqtt://host:port (default from config)")


class _Stop(Exception):
    """SIGINT/SIGTERM: raised by our handler during start-up, or once uvicorn has shut
    down gracefully and re-raised the signal it caught."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def serve(args: argparse.Namespace, cfg: HazfleetConfig, console: Console) -> int:
    """Run until SIGINT/SIGTERM.  Returns 0 after a clean shutdown.

    Raises ConfigError (bad config, site or port), TransportError (broker), StoreError.
    """
    # imported here so that `hazfleet --help` and the mission CLI stay fast
    import uvicorn
    from pydantic import ValidationError as PydanticValidationError

    from controller.api.app import create_app
    from controller.heartbeat import controller_will
    from controller.missions_bridge import ControllerBridge
    from controller.missions_service import MissionService
    from controller.service import Controller
    from controller.store import Store
    from drivers.broker import EmbeddedBroker
    from drivers.clock import SystemClock
    from drivers.mqtt import MqttSettings, MqttTransport, parse_broker_url
    from drivers.runloop import RealtimeLoop, WakingBus

    db = args.db or cfg.serve.db
    host = args.host or cfg.serve.host
    port = cfg.serve.port if args.port is None else args.port
    if not 0 < port < 65536:
        raise ConfigError("--port", "", f"must be 1..65535, got {port}")
    url = args.broker or cfg.broker.url
    try:
        mqtt = MqttSettings.model_validate({**cfg.broker.model_dump(), "url": url})
    except PydanticValidationError as e:
        raise validation_to_config_error("--broker", e) from e
    fleet = load_fleet(cfg.fleet)
    settings = cfg.controller.settings(fleet.interface, fleet.plan)

    # bound first: a port in use fails before anything starts, with a clear message
    listener = _bind(host, port)
    # From here on a signal unwinds through the finally below (uvicorn re-raises the
    # signal it caught after its own graceful shutdown; this handler turns it into _Stop).
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    store: Store | None = None
    broker: EmbeddedBroker | None = None
    transport: MqttTransport | None = None
    controller: Controller | None = None
    loop: RealtimeLoop | None = None
    try:
        store = Store(db)
        store.migrate()
        if url == "embedded":
            broker = EmbeddedBroker()
            broker.start()
            broker_host, broker_port = broker.host, broker.port
        else:
            broker_host, broker_port, _tls = parse_broker_url(url)
        clock = SystemClock()
        transport = MqttTransport(
            broker_host,
            broker_port,
            client_id=f"{settings.controller_id}-serve-{uuid.uuid4().hex[:8]}",
            settings=mqtt,
            will=controller_will(
                settings.interface,
                settings.controller_id,
                clock,
                interval_s=settings.heartbeat_interval_s,
            ),
        )
        bus = WakingBus(transport)
        transport.connect()
        service = MissionService(store, clock, {fleet.site.map_id: fleet.site})
        bridge = ControllerBridge(service, clock, tick_interval_s=cfg.serve.tick_s)
        controller = Controller(
            bus,
            clock,
            fleet.site,
            list(fleet.robots),
            settings,
            on_event=bridge.on_event,
            alerts=store,
        )
        bridge.attach(controller)
        ctl, brg = controller, bridge

        def step() -> None:
            # the bridge hands the controller's outcomes to the service outside the
            # controller's lock, then runs the scheduler when it is due
            ctl.step()
            brg.step()

        loop = RealtimeLoop(step, bus.wake, period_s=LOOP_PERIOD_S, name="hazfleet-serve")
        loop.call(controller.start)
        resumed = loop.call(bridge.start)
        if resumed:
            log.info("resumed %d running mission(s) from the store", len(resumed))
        loop.start()

        app = create_app(
            service,
            store,
            robots=controller.robots,
            alerts=controller,
            picture=controller.hazard_picture,
            runs=controller.missions,
            fleet=controller,
        )
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_config=None,  # keep hazfleet's logging set-up
                access_log=False,
                lifespan="off",
            )
        )
        broker_label = f"embedded ({broker.kind}) {broker.url}" if broker is not None else url
        console.print(
            f"hazfleet API on http://{host}:{port}/api/v1 · store {store.url} · "
            f"broker {broker_label} · site {fleet.site.map_id} · "
            f"{len(fleet.robots)} robot(s)",
            highlight=False,
        )
        server.run(sockets=[listener])
    except _Stop as e:
        log.info("stopping on %s", e)
    finally:
        # no second signal may interrupt the shutdown half-way
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        _shutdown(loop, controller, transport, broker, store)
        listener.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("hazfleet serve stopped", highlight=False)
    return 0


def _bind(host: str, port: int) -> socket.socket:
    """The API's listening socket (uvicorn listens on it).  ConfigError if it cannot bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # a restarted server may rebind while old connections linger in TIME_WAIT
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this.  uvicorn sets it only on sockets it binds
        # itself; without it every keep-alive request waited ~40 ms for a delayed ACK
        # (measured: 44 ms vs 1.8 ms per request, bench/missions.py).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConfigError(
            "--host/--port", "", f"cannot listen on {host}:{port}: {e.strerror or e}"
        ) from e
    return sock


def _shutdown(loop: Any, controller: Any, transport: Any, broker: Any, store: Any) -> None:
    """Stop in reverse order of start; each part is stopped even if another fails."""
    steps: list[tuple[str, Callable[[], Any]]] = []
    if loop is not None:
        steps.append(("loop", lambda: loop.stop(_STOP_TIMEOUT_S)))
    if controller is not None:
        # heartbeat OFFLINE: robots pause themselves rather than wait for the will
        steps.append(("controller", controller.shutdown))
    if transport is not None:
        steps.append(("mqtt flush", lambda: transport.flush(_STOP_TIMEOUT_S)))
        steps.append(("mqtt", transport.close))
    if broker is not None:
        steps.append(("broker", broker.stop))
    if store is not None:
        steps.append(("store", store.close))
    for name, fn in steps:
        try:
            fn()
        except Exception:
            log.exception("shutdown of %s failed", name)
