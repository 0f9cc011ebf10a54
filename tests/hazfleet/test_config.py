"""The main configuration file: the bundled one loads, and mistakes are one ConfigError
naming the file, the dotted field path and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.errors import ConfigError
from hazfleet.config import HazfleetConfig, load_config

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "config" / "hazfleet.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hazfleet.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value


def assert_names(err: ConfigError, path: Path, field: str, *problem_words: str) -> None:
    assert err.source == str(path)
    assert err.field == field
    assert str(err).startswith(f"{path}: {field}: " if field else f"{path}: "), str(err)
    for word in problem_words:
        assert word in err.problem, (word, err.problem)


def test_bundled_config_loads_and_holds_the_defaults() -> None:
    # its header says "Every field is optional; these are the defaults"
    assert load_config(BUNDLED) == HazfleetConfig()


def test_no_file_means_defaults() -> None:
    config = load_config(None)
    assert config.broker.url == "embedded"
    assert config.controller.controller_id == "hazfleet"
    assert config.drill.scenario == "default"


def test_values_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "broker:\n"
        "  url: mqtt://broker.plant:1884\n"
        "  username: fleet\n"
        "  password: s3cret\n"
        "controller: {heartbeat_interval_s: 0.5}\n"
        "drill: {speed: max, seed: 7}\n",
    )
    config = load_config(path)
    assert config.broker.url == "mqtt://broker.plant:1884"
    assert config.broker.password is not None
    assert config.broker.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(config)  # a secret never reaches a log line
    assert config.controller.heartbeat_interval_s == 0.5
    assert config.drill.speed == "max" and config.drill.seed == 7
    settings = config.controller.settings("plant7")
    assert settings.interface == "plant7" and settings.heartbeat_interval_s == 0.5


def test_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, "broker:\n  url: embedded\n  hostname: broker.plant\n")
    assert_names(config_error(path), path, "broker.hostname", "unknown field")


def test_unknown_top_level_section(tmp_path: Path) -> None:
    path = write(tmp_path, "brokers: {url: embedded}\n")
    assert_names(config_error(path), path, "brokers", "unknown field")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://broker.plant:1883", ("scheme", "mqtt://")),
        ("mqtt://broker.plant:99999", ("port",)),
        ("mqtt://fleet:pw@broker.plant", ("credentials",)),
        ("mqtt://", ("host",)),
    ],
)
def test_bad_broker_url(tmp_path: Path, url: str, words: tuple[str, ...]) -> None:
    path = write(tmp_path, f"broker:\n  url: '{url}'\n")
    assert_names(config_error(path), path, "broker.url", *words)


def test_password_without_username(tmp_path: Path) -> None:
    path = write(tmp_path, "broker:\n  url: embedded\n  password: s3cret\n")
    err = config_error(path)
    assert_names(err, path, "broker", "password given without username")
    assert "s3cret" not in str(err)


def test_bad_value(tmp_path: Path) -> None:
    path = write(tmp_path, "controller:\n  heartbeat_interval_s: 0\n")
    assert_names(config_error(path), path, "controller.heartbeat_interval_s", "greater than 0")


def test_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "broker:\n  url: embedded\n keepalive_s: 10\n")
    err = config_error(path)
    assert err.field.startswith("line 3, column "), err.field
    assert err.problem.startswith("invalid YAML: ")
    assert str(err).startswith(f"{path}: line 3, column ")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    assert_names(config_error(path), path, "", "not found")


def test_empty_config_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "hazfleet.yaml"
    path.write_text("# nothing set\n")
    assert load_config(path) == HazfleetConfig()


def test_union_field_error_names_the_field_not_the_branch(tmp_path: Path) -> None:
    path = tmp_path / "hazfleet.yaml"
    path.write_text("drill: {speed: fast}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.field == "drill.speed"
    assert "more problem" not in str(err.value)


def test_fleet_robots_carry_their_rating_and_battery(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "fleet:\n"
        "  robots:\n"
        "    - {manufacturer: acme, serial: r1, rating: zone_1, battery: {reserve_pct: 15}}\n"
        "    - {manufacturer: acme, serial: r2}\n"
        "  area_classes: {pump-bay-zone1: zone_2}\n",
    )
    plan = load_config(path).fleet.plan_settings()
    assert set(plan.robots) == {"acme/r1"}  # r2 says nothing beyond its name
    assert plan.robots["acme/r1"].rating == "zone_1"
    assert plan.robots["acme/r1"].battery.reserve_pct == 15
    assert plan.area_classes == {"pump-bay-zone1": "zone_2"}


def test_a_bad_rating_names_the_robot_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path, "fleet:\n  robots:\n    - {manufacturer: a, serial: b, rating: zone_0}\n"
    )
    assert_names(config_error(path), path, "fleet.robots.0.rating", "zone_1")


def test_a_bad_battery_model_names_the_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "fleet:\n  robots:\n    - {manufacturer: a, serial: b, battery: {reserve_pct: 150}}\n",
    )
    assert_names(config_error(path), path, "fleet.robots.0.battery.reserve_pct", "100")


def test_clearance_zones_must_be_zones_of_the_site(tmp_path: Path) -> None:
    from hazfleet.serve import load_fleet

    path = write(tmp_path, "fleet: {clearance_zones: [nowhere]}\n")
    with pytest.raises(ConfigError) as info:
        load_fleet(load_config(path).fleet)
    assert "clearance_zones: no zone 'nowhere'" in str(info.value)
