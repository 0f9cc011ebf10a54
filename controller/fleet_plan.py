"""Between the dispatcher and the allocator: the fleet as :func:`missions.allocation.allocate`
sees it.  Pure: no bus, no clock, no registry; the dispatcher hands in plain views of
its robots and pending missions and carries out the decisions that come back.

* :class:`FleetPlanSettings`: what the fleet configuration adds to the factsheets (per
  robot :class:`~missions.capabilities.RobotConfig`: rating, battery model, extra actions,
  speed limit), the site's hazardous-area classes and the zones an order may not enter
  without an operator's clearance.
* :class:`FleetPlanner`: the site graph (one per site, built once), the robots'
  capabilities, snapshots, one allocation batch, and the route a robot of a given rating
  may drive (:meth:`FleetPlanner.path`).

docs/allocation.md ("Wiring") describes how the dispatcher uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from missions.allocation import AllocationParams, AllocationResult, allocate
from missions.capabilities import (
    HazardRating,
    MissionRequirements,
    RobotCapabilities,
    RobotConfig,
    RobotSnapshot,
    RobotStatus,
)
from missions.fleet_settings import FleetPlanSettings
from missions.mission import MissionSpec
from missions.site import SiteMap, ZoneKind
from missions.site_graph import SiteGraph

DEFAULT_SPEED_M_S = 1.0
"""planning speed of a robot whose factsheet has not arrived (m/s)"""

PathFn = Callable[[str, str], list[str] | None]


@dataclass(frozen=True)
class RobotView:
    """A robot as the dispatcher sees it when a batch starts."""

    key: str
    node: str | None
    """where an order for it would start; None when unknown (it is then unavailable)"""
    battery_pct: float
    actions: tuple[str, ...] | None
    """factsheet action types; None before the factsheet arrived"""
    speed_max_m_s: float | None
    ready: bool
    """may take a new order now"""
    running: tuple[str, MissionSpec] | None = None
    """(mission id, spec) of the mission of ours it runs, if it may be displaced"""
    charging: bool | None = None
    """its reported ``batteryState.charging``; None for a robot not known to report it
    (then standing on a charger node counts as charging)"""
    to_charger: bool = False
    """it drives to a charger on the dispatcher's orders (not ready meanwhile)"""


class FleetPlanner:
    """Capabilities, snapshots and allocation for one site (see the module doc)."""

    def __init__(self, site: SiteMap, settings: FleetPlanSettings) -> None:
        """Raises ValueError naming the field (``area_classes.x``, ``clearance_zones``)."""
        self.settings = settings
        self.graph = SiteGraph(site, settings.area_classes)
        zone_ids = {z.id for z in site.zones}
        unknown = sorted(settings.clearance_zones - zone_ids)
        if unknown:
            raise ValueError(
                f"clearance_zones: no zone {', '.join(map(repr, unknown))} on site {site.map_id!r}"
            )
        hazardous = frozenset(self.graph.area_class) if settings.gate_hazardous else frozenset()
        self._gated = hazardous | settings.clearance_zones
        assembly = frozenset(z.id for z in site.zones if z.kind is ZoneKind.ASSEMBLY)
        self._assembly_nodes = [
            n for n in self.graph.node_ids if assembly & set(self.graph.node_zones(n))
        ]
        self._params = AllocationParams()

    # ------------------------------------------------------------------ robots

    def config(self, key: str) -> RobotConfig:
        return self.settings.robots.get(key, self.settings.default_robot)

    def configured(self, key: str) -> bool:
        return key in self.settings.robots

    def rating(self, key: str) -> HazardRating:
        return self.config(key).rating

    def capabilities(
        self, key: str, actions: Sequence[str] | None, speed_max_m_s: float | None
    ) -> RobotCapabilities:
        speed = speed_max_m_s if speed_max_m_s and speed_max_m_s > 0 else DEFAULT_SPEED_M_S
        return RobotCapabilities.from_factsheet(
            key, actions or (), min(speed, 20.0), self.config(key)
        )

    def on_charger(self, node: str) -> bool:
        """True when ``node`` is a charger bay: in a charging zone and in no no-go zone
        (:attr:`SiteMap.charger_node_ids`, the bays the allocator and simulator know)."""
        return node in self.graph.site.charger_node_ids

    def snapshot(
        self, view: RobotView, priorities: Mapping[str, MissionRequirements]
    ) -> RobotSnapshot:
        caps = self.capabilities(view.key, view.actions, view.speed_max_m_s)
        battery = max(0.0, min(100.0, view.battery_pct))
        node = view.node if view.node is not None and view.node in self.graph.index else None
        if node is None:
            return RobotSnapshot(
                capabilities=caps,
                node=self.graph.node_ids[0],
                battery_pct=battery,
                status=RobotStatus.UNAVAILABLE,
            )
        if view.ready:
            on = view.charging if view.charging is not None else self.on_charger(node)
            # back in the pool at charge_to_pct, though it may charge on to full
            charging = on and battery < caps.battery.charge_to_pct
            status = RobotStatus.CHARGING if charging else RobotStatus.IDLE
            return RobotSnapshot(capabilities=caps, node=node, battery_pct=battery, status=status)
        if view.running is not None:
            mission_id, _ = view.running
            req = priorities.get(mission_id)
            if req is not None:
                return RobotSnapshot(
                    capabilities=caps,
                    node=node,
                    battery_pct=battery,
                    status=RobotStatus.BUSY,
                    mission=mission_id,
                    mission_priority=req.priority,
                )
        status = RobotStatus.TO_CHARGER if view.to_charger else RobotStatus.UNAVAILABLE
        return RobotSnapshot(capabilities=caps, node=node, battery_pct=battery, status=status)

    # ------------------------------------------------------------------ missions

    def requirements(self, spec: MissionSpec) -> MissionRequirements:
        return MissionRequirements.from_spec(spec, spec.priority)

    def bays_taken(
        self, robots: Sequence[RobotView], charge_trips: Mapping[str, str]
    ) -> dict[str, str]:
        """charger node -> robot key: robots standing on a charger node, and the targets of
        ``charge_trips`` (robot key -> charger node of its unfinished drive there)."""
        taken = {v.node: v.key for v in robots if v.node is not None and self.on_charger(v.node)}
        taken.update({node: key for key, node in charge_trips.items() if self.on_charger(node)})
        return taken

    def allocate(
        self,
        robots: Sequence[RobotView],
        missions: Sequence[MissionSpec],
        charge_trips: Mapping[str, str] | None = None,
    ) -> AllocationResult:
        """One batch: every pending mission against every robot; a robot low on charge
        gets a charger bay no other robot stands on or drives to (``charge_trips``)."""
        reqs = {m.id: self.requirements(m) for m in missions}
        running = {
            v.running[0]: self.requirements(v.running[1]) for v in robots if v.running is not None
        }
        snapshots = [self.snapshot(v, running) for v in robots]
        return allocate(
            self.graph,
            snapshots,
            list(reqs.values()),
            params=self._params,
            bays_taken=self.bays_taken(robots, charge_trips or {}),
        )

    # ------------------------------------------------------------------ routes

    def path_fn(self, key: str) -> PathFn:
        """Shortest paths a robot may drive at its rating (docs/allocation.md)."""
        rating = self.rating(key)

        def path(start: str, goal: str) -> list[str] | None:
            return self.graph.path(start, goal, rating)

        return path

    def gate(
        self, route: Sequence[str], cleared: Collection[str], start: int = 0
    ) -> tuple[int, str] | None:
        """Where an order along ``route`` must stop and wait: (index of the first node
        after ``start`` reached through, or lying in, a zone that needs clearance not yet
        in ``cleared``, that zone); None when the rest of the route is free.  Zones that
        already hold ``route[start]`` do not stop it (the robot is inside)."""
        if not self._gated:
            return None
        inside = set(self.graph.node_zones(route[start]))
        for i in range(start + 1, len(route)):
            touched = self.graph.edge_zones(route[i - 1], route[i])
            touched += self.graph.node_zones(route[i])
            for zone in touched:
                if zone in self._gated and zone not in cleared and zone not in inside:
                    return i, zone
        return None

    def nearest_assembly(self, key: str, node: str) -> str | None:
        """The node of a safe assembly zone nearest to ``node`` that robot ``key`` may
        reach at its rating; None when there is none."""
        if not self._assembly_nodes:
            return None
        level = self.rating(key).level
        targets = self.graph.indexes(self._assembly_nodes)
        dist = self.graph.distances([self.graph.node_index(node)], targets, level)[0]
        best = int(dist.argmin())
        return self._assembly_nodes[best] if bool(dist[best] < float("inf")) else None

    def needs_clearance(self, zone_id: str) -> bool:
        return zone_id in self._gated
