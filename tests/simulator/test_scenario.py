"""Scenario files: the bundled drills load, and every mistake is one clear ConfigError
naming the file, the dotted field path and the problem."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from drivers.errors import ConfigError
from missions.mission import MissionOutcome
from simulator.scenario import Scenario, load_scenario

REPO = Path(__file__).resolve().parents[2]
DRILLS = sorted((REPO / "config" / "drills").glob("*.yaml"))

VALID: dict[str, Any] = {
    "name": "tiny",
    "site": {
        "map_id": "m",
        "nodes": [
            {"id": "dock", "x": 0.0, "y": 0.0},
            {"id": "a", "x": 5.0, "y": 0.0},
            {"id": "b", "x": 5.0, "y": 5.0},
        ],
        "edges": [{"start": "dock", "end": "a"}, {"start": "a", "end": "b"}],
    },
    "robots": [
        {"serial": "r1", "start_node": "dock"},
        {"serial": "r2", "start_node": "a"},
    ],
    "missions": [
        {"id": "m1", "robot": "r1", "steps": [{"node": "b"}]},
        {"id": "m2", "at_s": 3, "steps": [{"node": "a", "actions": [{"type": "captureImage"}]}]},
    ],
}


def write(tmp_path: Path, data: Any, name: str = "drill.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def valid() -> dict[str, Any]:
    return copy.deepcopy(VALID)


def config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    return info.value


def assert_names(err: ConfigError, path: Path, field: str, *problem_words: str) -> None:
    """The one-line message names the file, the field path and the problem."""
    text = str(err)
    assert err.source == str(path)
    assert err.field == field
    assert text.startswith(f"{path}: {field}: " if field else f"{path}: "), text
    for word in problem_words:
        assert word in err.problem, (word, err.problem)


# ------------------------------------------------------------------ good files


def test_the_drills_directory_is_not_empty() -> None:
    assert DRILLS, "config/drills/*.yaml: no bundled scenario found"


@pytest.mark.parametrize("path", DRILLS, ids=[p.stem for p in DRILLS])
def test_every_bundled_drill_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name
    assert scenario.robots
    serials = {r.serial for r in scenario.robots}
    for m in scenario.missions:
        assert m.robot is None or m.robot in serials
        assert all(scenario.site.has_node(s.node) for s in m.steps)


def test_a_minimal_scenario_loads_with_defaults(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, valid()))
    assert isinstance(scenario, Scenario)
    assert scenario.interface == "uagv"
    assert scenario.tick_s == 0.1
    assert [r.serial for r in scenario.robots] == ["r1", "r2"]
    assert scenario.robots[0].manufacturer == "hazfleet-sim"
    m2 = scenario.missions[1]
    assert m2.at_s == 3 and m2.expect is MissionOutcome.COMPLETED and m2.robot is None
    spec = scenario.mission_spec(m2)  # the controller's view drops the drill-only fields
    assert "at_s" not in spec.model_dump() and spec.steps[0].actions[0].type == "captureImage"


# ------------------------------------------------------------------ bad content


def test_unknown_field_is_named_with_its_path(tmp_path: Path) -> None:
    data = valid()
    data["robots"][1]["colour"] = "red"
    path = write(tmp_path, data)
    assert_names(config_error(path), path, "robots.1.colour", "unknown field")


def test_unknown_top_level_field(tmp_path: Path) -> None:
    data = valid()
    data["robot"] = []
    path = write(tmp_path, data)
    assert_names(config_error(path), path, "robot", "unknown field")


def test_duplicate_robot_serial(tmp_path: Path) -> None:
    data = valid()
    data["robots"][1]["serial"] = "r1"
    path = write(tmp_path, data)
    assert_names(config_error(path), path, "robots.1.serial", "duplicate", "'r1'")


def test_robot_start_node_not_on_the_site(tmp_path: Path) -> None:
    data = valid()
    data["robots"][1]["start_node"] = "nowhere"
    path = write(tmp_path, data)
    assert_names(config_error(path), path, "robots.1.start_node", "'nowhere'", "site")


def test_mission_step_node_unknown(tmp_path: Path) -> None:
    data = valid()
    data["missions"][1]["steps"].append({"node": "attic"})
    path = write(tmp_path, data)
    assert_names(config_error(path), path, "missions.1.steps.1.node", "'attic'", "site")


def test_mission_robot_unknown(tmp_path: Path) -> None:
    data = valid()
    data["missions"][0]["robot"] = "r9"
    path = write(tmp_path, data)
    assert_names(config_error(path), path, "missions.0.robot", "'r9'")


def test_duplicate_mission_id(tmp_path: Path) -> None:
    data = valid()
    data["missions"][1]["id"] = "m1"
    path = write(tmp_path, data)
    assert_names(config_error(path), path, "missions.1.id", "duplicate", "'m1'")


def test_edge_to_unknown_node(tmp_path: Path) -> None:
    data = valid()
    data["site"]["edges"][1]["end"] = "cellar"
    path = write(tmp_path, data)
    assert_names(config_error(path), path, "site.edges.1.end", "unknown node", "'cellar'")


def test_field_with_a_bad_value(tmp_path: Path) -> None:
    data = valid()
    data["robots"][0]["max_speed_m_s"] = -1
    path = write(tmp_path, data)
    assert_names(config_error(path), path, "robots.0.max_speed_m_s", "greater than 0")


def test_more_problems_are_counted_in_the_message(tmp_path: Path) -> None:
    data = valid()
    data["robots"][0]["colour"] = "red"
    data["robots"][1]["shape"] = "round"
    path = write(tmp_path, data)
    err = config_error(path)
    assert err.field == "robots.0.colour"
    assert "(and 1 more problem)" in str(err)


# ------------------------------------------------------------------ bad files


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    # line 3: a flow sequence that is never closed
    path.write_text("name: broken\nsite: {}\nrobots: [r1, r2\ntick_s: 0.1\n", encoding="utf-8")
    err = config_error(path)
    assert err.source == str(path)
    assert err.field.startswith("line 4, column "), err.field
    assert err.problem.startswith("invalid YAML: ")
    assert str(err).startswith(f"{path}: line 4, column ")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# only a comment\n", encoding="utf-8")
    assert_names(config_error(path), path, "", "empty")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- name: a\n- name: b\n", encoding="utf-8")
    assert_names(config_error(path), path, "", "mapping")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert_names(config_error(path), path, "", "not found")


def test_a_rating_for_an_unknown_channel_is_named(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "config" / "drills" / "chemical-spill.yaml").read_text())
    data["robots"][1]["rating"] = {"max_readings": {"NH4": 100}}
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.field == "robots.1.rating.max_readings.NH4"
    assert "unknown channel" in info.value.problem
