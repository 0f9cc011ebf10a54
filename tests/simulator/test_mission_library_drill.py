"""Every mission in the bundled library (config/missions/) completes in a simulated drill:
planned from its template onto the default site, dispatched by the real controller to
simulated robots over the embedded broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from drivers.broker import EmbeddedBroker
from missions.mission import MissionOutcome
from missions.model import MissionRequest
from missions.templates import plan
from simulator.drill import DrillRunner
from simulator.scenario import Scenario, load_scenario

REPO = Path(__file__).resolve().parents[2]
LIBRARY = sorted((REPO / "config" / "missions").glob("*.yaml"))

pytestmark = pytest.mark.broker


def test_the_library_has_one_mission_per_template() -> None:
    from missions.templates import TEMPLATES

    templates = {
        MissionRequest.model_validate(yaml.safe_load(p.read_text())).template for p in LIBRARY
    }
    assert templates == set(TEMPLATES)


def test_every_library_mission_completes_in_a_drill() -> None:
    base = load_scenario(REPO / "config" / "drills" / "default.yaml")
    missions = []
    for i, path in enumerate(LIBRARY):
        request = MissionRequest.model_validate(yaml.safe_load(path.read_text()))
        spec = plan(request, base.site, mission_id=f"lib-{i}-{path.stem}")
        missions.append({**spec.model_dump(), "robot": f"r{i}"})
    data = base.model_dump()
    data.update(
        interface=f"t{uuid.uuid4().hex[:10]}",
        robots=[{"serial": f"r{i}", "start_node": "dock"} for i in range(len(missions))],
        missions=missions,
        success={"timeout_s": 1800},
    )
    scenario = Scenario.model_validate(data)
    with EmbeddedBroker() as broker:
        result = DrillRunner(scenario, broker.host, broker.port, broker_label="t").run()
    outcomes = {m.id: m.outcome for m in result.missions}
    assert outcomes == {m["id"]: MissionOutcome.COMPLETED for m in missions}, result.failures
    assert result.passed
    # the hazard actions reported results the safety officer can read
    assert all(m.action_results for m in result.missions if m.actions_total)
