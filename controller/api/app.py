"""The REST API (FastAPI), versioned under ``/api/v1``; OpenAPI at ``/openapi.json``.

Missions, the fleet and templates, and alerts (read by everyone, acknowledged by
operators and safety officers, through the controller when one is given: see
:class:`AlertDesk`).

Routes are thin: authenticate (:mod:`controller.api.auth`), parse, call the
:class:`~controller.missions_service.MissionService`, convert (:mod:`controller.api.schemas`).
Errors become responses in one place (:mod:`controller.api.errors`).

Service calls block (database I/O), so they run in the threadpool, never on the event
loop.  The service is thread-safe (its own lock; the store serialises writers), so calls
from several requests and from the controller loop may overlap; ``exclusive`` can wrap
every call, should a deployment want them serialised with something else.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol, TypeVar

import yaml
from fastapi import (
    Body,
    Depends,
    FastAPI,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
    status,
)
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

from controller.alerts import Alert, AlertNotFound, AlertQuery, Hazard, Severity
from controller.api.auth import Action, Principal, require
from controller.api.errors import (
    ActionRefused,
    MissionNotFound,
    install_handlers,
    unprocessable,
)
from controller.api.schemas import (
    AckBody,
    AlertDetail,
    AlertList,
    AssembleOut,
    ClearBody,
    ClearOut,
    MissionDetail,
    MissionList,
    ReasonBody,
    RejectBody,
    RobotOut,
    ScopeBody,
    ScopeOut,
    TemplateOut,
    alert_detail,
    alert_summary,
    mission_detail,
    mission_summary,
    robot_out,
)
from controller.dispatcher import MissionStatus
from controller.missions_service import MissionService, MissionView
from controller.registry import RobotStatus
from controller.store import ReleaseRecord, Store
from drivers.errors import HazfleetError, LifecycleError, MissionError, PermitError
from missions.lifecycle import MissionState
from missions.model import MissionRequest, MissionValidationError, Priority
from missions.templates import TEMPLATES

log = logging.getLogger(__name__)

__all__ = ["API_PREFIX", "AlertDesk", "Exclusive", "StoreAlertDesk", "create_app"]

API_PREFIX = "/api/v1"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
MAX_BODY_BYTES = 1_000_000
"""a mission file is a few kB; anything this large is a mistake or an attack"""

T = TypeVar("T")


def _version() -> str:
    try:
        return importlib.metadata.version("hazfleet")
    except importlib.metadata.PackageNotFoundError:  # a checkout that is not installed
        return "0+unknown"


class Exclusive(Protocol):
    """Runs ``fn`` while nothing else touches the service (``RealtimeLoop.call``)."""

    def __call__(self, fn: Callable[[], T], /) -> T: ...


class AlertDesk(Protocol):
    """Where the API reads and acknowledges alerts: the :class:`Controller` (so that its
    open alerts and latched gas alarms learn of the acknowledgement), or
    :class:`StoreAlertDesk` when no controller runs in this process."""

    def alerts(self, query: AlertQuery | None = None) -> list[Alert]: ...

    def alert(self, alert_id: str) -> Alert | None: ...

    def acknowledge(self, alert_id: str, who: str, note: str = "") -> Alert: ...


class FleetDesk(Protocol):
    """What the fleet endpoints need of the controller (``Controller`` has it)."""

    def clear(self, mission_id: str, zones: Sequence[str] | None = None) -> list[str]: ...

    def stop(self, robots: Sequence[str] | None = None, zone: str | None = None) -> list[str]: ...

    def resume_robots(
        self, robots: Sequence[str] | None = None, zone: str | None = None
    ) -> list[str]: ...

    def assemble(self) -> dict[str, str | None]: ...


class StoreAlertDesk:
    """Alerts straight from the store; acknowledgements stamped with the system time."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def alerts(self, query: AlertQuery | None = None) -> list[Alert]:
        return self._store.list_alerts(query)

    def alert(self, alert_id: str) -> Alert | None:
        return self._store.get_alert(alert_id)

    def acknowledge(self, alert_id: str, who: str, note: str = "") -> Alert:
        return self._store.acknowledge_alert(alert_id, who, datetime.now(UTC), note)


Reader = Annotated[Principal, Depends(require(Action.READ))]
"""a caller allowed to read (every role)"""
Stopper = Annotated[Principal, Depends(require(Action.STOP))]
"""a caller allowed to stop, resume and assemble robots"""


def _direct(fn: Callable[[], T]) -> T:
    return fn()


def _mission_request_body() -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/MissionRequest"}
    return {
        "requestBody": {
            "required": True,
            "description": "a mission request as JSON, or a mission file as YAML",
            "content": {
                "application/json": {"schema": ref},
                "application/yaml": {"schema": ref},
            },
        }
    }


def _parse_body(raw: bytes, content_type: str) -> tuple[Any, str | None]:
    """(data, problem): the body as JSON or YAML, or the reason it cannot be read."""
    media = content_type.split(";", 1)[0].strip().lower()
    if len(raw) > MAX_BODY_BYTES:
        return None, f"body larger than {MAX_BODY_BYTES} bytes"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "body is not UTF-8"
    if media in YAML_TYPES:
        try:
            return yaml.safe_load(text), None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            return None, f"invalid YAML{where}: {getattr(e, 'problem', None) or e}"
    if media in ("", "application/json") or media.endswith("+json"):
        try:
            return json.loads(text), None
        except json.JSONDecodeError as e:
            return None, f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}"
    return None, f"unsupported content type {media!r}; use application/json or application/yaml"


def _same_request(stored: MissionRequest, sent: MissionRequest) -> bool:
    """Whether a replayed request (same Idempotency-Key) asks for the same mission."""
    exclude = {"id"} if sent.id is None else set()
    return stored.model_dump(exclude=exclude) == sent.model_dump(exclude=exclude)


def create_app(
    service: MissionService,
    store: Store,
    *,
    robots: Callable[[], list[RobotStatus]],
    exclusive: Exclusive | None = None,
    alerts: AlertDesk | None = None,
    picture: Callable[[], dict[str, Any] | None] | None = None,
    runs: Callable[[], list[MissionStatus]] | None = None,
    fleet: FleetDesk | None = None,
) -> FastAPI:
    """The API over ``service``; ``store`` resolves bearer tokens; ``robots`` lists the fleet;
    ``alerts`` serves the alerts (default: the store itself); ``picture`` gives the live
    hazard picture's digest (``Controller.hazard_picture``; None: no controller here);
    ``runs`` the controller's missions (``Controller.missions``), shown as a mission's
    ``run`` (its robot, and why it waits when no robot can take it); ``fleet`` takes
    clearances, stops and the assembly order (the Controller; None: 503 for those)."""
    run: Exclusive = exclusive if exclusive is not None else _direct
    desk: AlertDesk = alerts if alerts is not None else StoreAlertDesk(store)

    app = FastAPI(
        title="hazfleet",
        version=_version(),
        description="Hazardous-task missions for safety officers: submit, approve, "
        "schedule and follow robot missions.  Authenticate with `Authorization: Bearer "
        "<token>` (tokens from `hazfleet user add`).",
    )
    install_handlers(app)

    def lookup(token_hash: str) -> Principal | None:
        user = store.user_by_token_hash(token_hash)
        return None if user is None else Principal(user.name, str(user.role))

    app.state.token_lookup = lookup

    async def call(fn: Callable[[], T]) -> T:
        # the service and the store block (database I/O): keep them off the event loop
        return await run_in_threadpool(run, fn)

    def existing(mission_id: str) -> None:
        if store.get_mission(mission_id) is None:
            raise MissionNotFound(mission_id)

    def act(mission_id: str, fn: Callable[[], MissionView]) -> MissionView:
        existing(mission_id)
        try:
            return fn()
        except (LifecycleError, PermitError, MissionNotFound, MissionValidationError):
            raise
        except MissionError as e:
            # the mission exists, so a domain refusal here is about its current state
            raise ActionRefused(str(e)) from e

    @app.get("/healthz", tags=["meta"], summary="liveness (no authentication)")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # --------------------------------------------------------------------- missions

    @app.post(
        f"{API_PREFIX}/missions",
        tags=["missions"],
        summary="create (and submit) a mission",
        status_code=status.HTTP_201_CREATED,
        response_model=MissionDetail,
        responses={200: {"model": MissionDetail, "description": "duplicate Idempotency-Key"}},
        openapi_extra=_mission_request_body(),
    )
    async def create_mission(
        request: Request,
        response: Response,
        who: Annotated[Principal, Depends(require(Action.CREATE))],
        idempotency_key: Annotated[
            str | None, Header(min_length=1, max_length=200, alias="Idempotency-Key")
        ] = None,
    ) -> Any:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return JSONResponse(
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                content={"detail": f"a mission is at most {MAX_BODY_BYTES} bytes"},
            )
        data, problem = _parse_body(await request.body(), request.headers.get("content-type", ""))
        if problem is not None:
            return unprocessable([{"loc": ["body"], "msg": problem, "field": ""}])
        if not isinstance(data, dict):
            msg = "expected a mission (a mapping of fields) at the top level"
            return unprocessable([{"loc": ["body"], "msg": msg, "field": ""}])
        mission = MissionRequest.model_validate(data)  # ValidationError -> 422 with paths

        def create() -> tuple[MissionView, bool]:
            return service.create(mission, who.name, idempotency_key=idempotency_key)

        view, created = await call(create)
        if not created and not _same_request(view.request, mission):
            return JSONResponse(
                status_code=status.HTTP_409_CONFLICT,
                content={
                    "detail": f"Idempotency-Key {idempotency_key!r} was already used for "
                    f"mission {view.id} with a different request"
                },
            )
        response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        response.headers["Location"] = f"{API_PREFIX}/missions/{view.id}"
        if created:
            log.info("mission %s created by %s (%s)", view.id, who.name, view.state)
        return mission_detail(view)

    @app.get(
        f"{API_PREFIX}/missions",
        tags=["missions"],
        summary="list missions, oldest first",
        response_model=MissionList,
    )
    async def list_missions(
        who: Reader,
        state: MissionState | None = None,
        priority: Priority | None = None,
        template: str | None = None,
        site: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> MissionList:
        filters: dict[str, Any] = {"limit": limit, "offset": offset, "history": False}
        for name, value in (
            ("state", state),
            ("priority", priority),
            ("template", template),
            ("site", site),
        ):
            if value is not None:
                filters[name] = value
        views = await call(lambda: service.list(**filters))
        return MissionList(items=[mission_summary(v) for v in views], limit=limit, offset=offset)

    @app.get(
        f"{API_PREFIX}/missions/{{mission_id}}",
        tags=["missions"],
        summary="one mission with its request, permit and history",
        response_model=MissionDetail,
        responses={404: {"description": "no such mission"}},
    )
    async def show_mission(mission_id: str, who: Reader) -> MissionDetail:
        def get() -> tuple[MissionView, list[ReleaseRecord]]:
            existing(mission_id)
            return service.get(mission_id), service.releases(mission_id)

        view, releases = await call(get)
        run = None
        if runs is not None and view.run_id is not None:
            run = next((r for r in await run_in_threadpool(runs) if r.id == view.run_id), None)
        return mission_detail(view, releases, run)

    def _action_route(
        verb: Action, summary: str
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return app.post(
            f"{API_PREFIX}/missions/{{mission_id}}/{verb.value}",
            tags=["missions"],
            summary=summary,
            response_model=MissionDetail,
            responses={
                404: {"description": "no such mission"},
                409: {"description": "the mission's state or the permit rules refuse it"},
            },
        )

    @_action_route(Action.APPROVE, "approve (permit to work; two-person rule where required)")
    async def approve_mission(
        mission_id: str,
        who: Annotated[Principal, Depends(require(Action.APPROVE))],
        body: Annotated[ReasonBody | None, Body()] = None,
    ) -> MissionDetail:
        reason = body.reason if body is not None else ""
        view = await call(
            lambda: act(mission_id, lambda: service.approve(mission_id, who.name, who.role, reason))
        )
        log.info("mission %s approved by %s", mission_id, who.name)
        return mission_detail(view)

    @_action_route(Action.REJECT, "reject (a reason is required)")
    async def reject_mission(
        mission_id: str,
        who: Annotated[Principal, Depends(require(Action.REJECT))],
        body: Annotated[RejectBody, Body()],
    ) -> MissionDetail:
        view = await call(
            lambda: act(mission_id, lambda: service.reject(mission_id, who.name, body.reason))
        )
        log.info("mission %s rejected by %s", mission_id, who.name)
        return mission_detail(view)

    @_action_route(Action.CANCEL, "cancel (a running mission is stopped on the robot)")
    async def cancel_mission(
        mission_id: str,
        who: Annotated[Principal, Depends(require(Action.CANCEL))],
        body: Annotated[ReasonBody | None, Body()] = None,
    ) -> MissionDetail:
        reason = body.reason if body is not None else ""
        view = await call(
            lambda: act(mission_id, lambda: service.cancel(mission_id, who.name, reason))
        )
        log.info("mission %s cancelled by %s", mission_id, who.name)
        return mission_detail(view)

    @_action_route(Action.PAUSE, "pause a running mission")
    async def pause_mission(
        mission_id: str,
        who: Annotated[Principal, Depends(require(Action.PAUSE))],
        body: Annotated[ReasonBody | None, Body()] = None,
    ) -> MissionDetail:
        reason = body.reason if body is not None else ""
        view = await call(
            lambda: act(mission_id, lambda: service.pause(mission_id, who.name, reason))
        )
        return mission_detail(view)

    @_action_route(Action.RESUME, "resume a paused mission")
    async def resume_mission(
        mission_id: str,
        who: Annotated[Principal, Depends(require(Action.RESUME))],
        body: Annotated[ReasonBody | None, Body()] = None,
    ) -> MissionDetail:
        reason = body.reason if body is not None else ""
        view = await call(
            lambda: act(mission_id, lambda: service.resume(mission_id, who.name, reason))
        )
        return mission_detail(view)

    def fleet_desk() -> FleetDesk:
        if fleet is None:
            raise HazfleetError("no controller runs in this process")
        return fleet

    @app.post(
        f"{API_PREFIX}/missions/{{mission_id}}/clear",
        tags=["missions"],
        summary="clear the mission's order into a zone that waits for clearance",
        response_model=ClearOut,
        responses={
            404: {"description": "no such mission"},
            409: {"description": "the mission has no run, or it has ended"},
            422: {"description": "an unknown zone"},
        },
    )
    async def clear_mission(
        mission_id: str,
        who: Annotated[Principal, Depends(require(Action.CLEAR))],
        body: Annotated[ClearBody | None, Body()] = None,
    ) -> ClearOut:
        zones = body.zones if body is not None else None

        def run_clear() -> tuple[list[str], MissionView]:
            existing(mission_id)
            view = service.get(mission_id)
            if view.run_id is None:
                raise ActionRefused(f"mission {mission_id!r} has not been released to a robot")
            try:
                cleared = fleet_desk().clear(view.run_id, zones)
            except MissionError as e:
                if str(e).startswith("zones:"):
                    raise  # a bad request: 422 naming the field
                raise ActionRefused(str(e)) from e
            return cleared, view

        cleared, view = await call(run_clear)
        log.info("mission %s cleared into %s by %s", mission_id, cleared, who.name)
        run = None
        if runs is not None and view.run_id is not None:
            run = next((r for r in await run_in_threadpool(runs) if r.id == view.run_id), None)
        return ClearOut(cleared=cleared, mission=mission_detail(view, (), run))

    @app.post(
        f"{API_PREFIX}/fleet/stop",
        tags=["fleet"],
        summary="startPause to the whole fleet, the robots in a zone, or named robots",
        response_model=ScopeOut,
        responses={422: {"description": "an unknown robot or zone"}},
    )
    async def stop_fleet(
        who: Stopper, body: Annotated[ScopeBody | None, Body()] = None
    ) -> ScopeOut:
        scope = body or ScopeBody()
        robots = await run_in_threadpool(lambda: fleet_desk().stop(scope.robots, scope.zone))
        log.warning("stop %s by %s: %s", scope.model_dump(), who.name, robots)
        return ScopeOut(robots=robots)

    @app.post(
        f"{API_PREFIX}/fleet/resume",
        tags=["fleet"],
        summary="stopPause to the same scopes as stop (the whole fleet also ends an assembly)",
        response_model=ScopeOut,
        responses={422: {"description": "an unknown robot or zone"}},
    )
    async def resume_fleet(
        who: Stopper, body: Annotated[ScopeBody | None, Body()] = None
    ) -> ScopeOut:
        scope = body or ScopeBody()
        robots = await run_in_threadpool(
            lambda: fleet_desk().resume_robots(scope.robots, scope.zone)
        )
        log.warning("resume %s by %s: %s", scope.model_dump(), who.name, robots)
        return ScopeOut(robots=robots)

    @app.post(
        f"{API_PREFIX}/fleet/assemble",
        tags=["fleet"],
        summary="every robot to the safe assembly zone (missions cancelled)",
        response_model=AssembleOut,
    )
    async def assemble_fleet(who: Stopper) -> AssembleOut:
        robots = await run_in_threadpool(lambda: fleet_desk().assemble())
        log.warning("assemble by %s: %s", who.name, robots)
        return AssembleOut(robots=robots)

    # --------------------------------------------------------------------- fleet, templates

    @app.get(f"{API_PREFIX}/robots", tags=["fleet"], summary="the fleet as the controller sees it")
    async def list_robots(who: Reader) -> list[RobotOut]:
        return [robot_out(r) for r in await run_in_threadpool(robots)]

    @app.get(f"{API_PREFIX}/templates", tags=["templates"], summary="mission templates")
    def list_templates(who: Reader) -> list[TemplateOut]:
        return [
            TemplateOut(
                name=name,
                description=t.description,
                params_schema=t.params_model.model_json_schema(),
            )
            for name, t in sorted(TEMPLATES.items())
        ]

    # --------------------------------------------------------------------- hazards

    @app.get(
        f"{API_PREFIX}/hazard-picture",
        tags=["alerts"],
        summary="the live hazard picture: gas maps' peaks, source estimates, layers, first "
        "sightings (docs/fusion.md)",
    )
    async def hazard_picture(who: Reader) -> dict[str, Any]:
        got = None if picture is None else await run_in_threadpool(picture)
        if got is None:
            raise HTTPException(
                status_code=404, detail="no hazard picture: no controller runs with this API"
            )
        return got

    # --------------------------------------------------------------------- alerts

    @app.get(
        f"{API_PREFIX}/alerts",
        tags=["alerts"],
        summary="list alerts, newest first",
        response_model=AlertList,
    )
    async def list_alerts(
        who: Reader,
        open: Annotated[
            bool, Query(description="only alerts still open (active, or latched)")
        ] = False,
        unacknowledged: Annotated[bool, Query(description="only unacknowledged")] = False,
        severity: Annotated[Severity | None, Query(description="at least this severe")] = None,
        robot: Annotated[str | None, Query(description="robot key manufacturer/serial")] = None,
        hazard: Hazard | None = None,
        since: Annotated[AwareDatetime | None, Query(description="raised at or after")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> AlertList:
        query = AlertQuery(
            open=open,
            unacknowledged=unacknowledged,
            min_severity=severity,
            robot=robot,
            hazard=hazard,
            since=since,
            limit=limit,
            offset=offset,
        )
        found = await run_in_threadpool(desk.alerts, query)
        return AlertList(items=[alert_summary(a) for a in found], limit=limit, offset=offset)

    @app.get(
        f"{API_PREFIX}/alerts/{{alert_id}}",
        tags=["alerts"],
        summary="one alert with its evidence (readings, image crop as base64)",
        response_model=AlertDetail,
        responses={404: {"description": "no such alert"}},
    )
    async def show_alert(alert_id: str, who: Reader) -> AlertDetail:
        found = await run_in_threadpool(desk.alert, alert_id)
        if found is None:
            raise AlertNotFound(alert_id)
        return alert_detail(found)

    @app.post(
        f"{API_PREFIX}/alerts/{{alert_id}}/acknowledge",
        tags=["alerts"],
        summary="acknowledge an alert (operators and safety officers)",
        response_model=AlertDetail,
        responses={
            404: {"description": "no such alert"},
            409: {"description": "already acknowledged"},
        },
    )
    async def acknowledge_alert(
        alert_id: str,
        who: Annotated[Principal, Depends(require(Action.ACKNOWLEDGE))],
        body: Annotated[AckBody | None, Body()] = None,
    ) -> AlertDetail:
        note = body.note if body is not None else ""
        acked = await run_in_threadpool(desk.acknowledge, alert_id, who.name, note)
        log.info("alert %s acknowledged by %s", alert_id, who.name)
        return alert_detail(acked)

    return app
