"""Live drill progress on the terminal: a rich table on a TTY, plain event lines otherwise."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from missions.mission import MissionOutcome
from simulator.drill import DrillProgress

_OUTCOME_STYLE = {
    MissionOutcome.COMPLETED: "green",
    MissionOutcome.FAILED: "red",
    MissionOutcome.ABORTED: "red",
    MissionOutcome.ACTIVE: "cyan",
    MissionOutcome.DISPATCHED: "yellow",
    MissionOutcome.PENDING: "dim",
}


def _tables(p: DrillProgress) -> Group:
    mt = Table(title=f"missions — t = {p.sim_s:7.1f} s (simulated)", expand=False)
    for col in ("mission", "robot", "outcome", "nodes", "actions", "reason"):
        mt.add_column(col)
    for m in p.missions:
        style = _OUTCOME_STYLE.get(m.outcome, "")
        mt.add_row(
            m.id,
            m.robot or "-",
            f"[{style}]{m.outcome.value}[/]",
            f"{m.nodes_done}/{m.nodes_total}",
            f"{m.actions_finished}/{m.actions_total}",
            m.reason or "",
        )
    rt = Table(title="robots", expand=False)
    for col in ("robot", "link", "node", "x, y (m)", "battery", "status"):
        rt.add_column(col)
    for r in p.robots:
        status = "paused" if r.paused else ("driving" if r.driving else "idle")
        if r.errors:
            status += " · " + ", ".join(r.errors)
        pos = f"{r.x_m:6.1f}, {r.y_m:6.1f}" if r.x_m is not None and r.y_m is not None else "-"
        batt = f"{r.battery_pct:5.1f} %" if r.battery_pct is not None else "-"
        rt.add_row(r.serial, r.availability, r.last_node_id or "-", pos, batt, status)
    return Group(mt, rt)


class ProgressView:
    """Callable progress sink for :class:`~simulator.drill.DrillRunner`."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._live: Live | None = None

    def __enter__(self) -> ProgressView:
        if self.console.is_terminal:
            self._live = Live(console=self.console, refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(et, ev, tb)

    def __call__(self, p: DrillProgress) -> None:
        if self._live is not None:
            self._live.update(_tables(p))
            return
        for e in p.events:
            self.console.print(
                f"[{p.sim_s:8.1f} s] {e.kind} {e.subject}: {e.detail}", highlight=False
            )
