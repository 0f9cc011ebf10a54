"""Synthetic cameras: flames, smoke and heat where the fire model puts them, on the wire."""

from __future__ import annotations

import base64
import json
import math
import threading
import uuid
from pathlib import Path
from typing import Any

import cv2
import jsonschema
import numpy as np
import pytest
from numpy.typing import NDArray

from drivers.bus import Message
from drivers.errors import ProtocolError
from drivers.vda5050.camera import FrameKind, camera_topic, decode_frame
from missions.site import SiteMap
from simulator.camera import (
    Camera,
    CameraSpec,
    CapturedFrame,
    ThermalScale,
    encode_frame,
    fire_temperature,
    floor_points,
    smoke_density,
)
from simulator.drill import DrillRunner
from simulator.environment import CleanAir
from simulator.hazards import FireEntry, WorldConfig
from simulator.physics.fire import CellState
from simulator.scenario import Scenario
from simulator.world import HazardWorld
from tests.conftest import BrokerUnderTest, TransportFactory, fast_settings

SITE = SiteMap.model_validate(
    {
        "map_id": "shed",
        "nodes": [
            {"id": "door", "x": 2.0, "y": 5.0},
            {"id": "near-fire", "x": 8.0, "y": 5.0},
        ],
        "edges": [{"start": "door", "end": "near-fire"}],
    }
)
FIRE_XY_M = (10.0, 5.0)
HEADER: dict[str, Any] = {
    "headerId": 0,
    "timestamp": "2026-01-01T00:00:00.00Z",
    "version": "2.1.0",
    "manufacturer": "m",
    "serialNumber": "s",
}


def fire_world(start_s: float = 0.0, seed: int = 0) -> HazardWorld:
    fire = FireEntry(kind="fire", x_m=FIRE_XY_M[0], y_m=FIRE_XY_M[1], start_s=start_s)
    config = WorldConfig.model_validate({"grid": {"cell_m": 0.5, "margin_m": 4.0}})
    return HazardWorld(SITE, config, [fire], np.random.default_rng([seed, 10_000]))


def flame_pixels(rgb: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Flame colour: bright red dominant, R > G > B (a Chen-style RGB rule)."""
    r, g, b = (rgb[..., k].astype(np.int32) for k in range(3))
    return (r > 190) & (r > g + 25) & (g > b) & (r - b > 90)


def test_frames_have_the_documented_shape_and_dtype() -> None:
    cam = Camera(fire_world(), np.random.default_rng(0))
    rgb = cam.rgb(*FIRE_XY_M, 0.0)
    thermal = cam.thermal(*FIRE_XY_M, 0.0)
    assert rgb.shape == (240, 320, 3) and rgb.dtype == np.uint8
    assert thermal.shape == (120, 160) and thermal.dtype == np.uint16
    bare = Camera(CleanAir(), np.random.default_rng(0))
    assert bare.rgb(0.0, 0.0, 0.0).shape == (240, 320, 3)
    assert bare.thermal(0.0, 0.0, 0.0).shape == (120, 160)


def test_a_burning_cell_in_view_shows_flames_and_none_without_fire() -> None:
    before = fire_world(start_s=100.0)  # not ignited yet
    assert before.fire is not None and before.fire.count(CellState.BURNING) == 0
    none = Camera(before, np.random.default_rng(0)).rgb(*FIRE_XY_M, 0.3)
    assert not flame_pixels(none).any()

    burning = fire_world()
    assert burning.fire is not None and burning.fire.count(CellState.BURNING) == 1
    frame = Camera(burning, np.random.default_rng(0)).rgb(*FIRE_XY_M, 0.3)
    flames = flame_pixels(frame)
    # one 0.5 m cell at 5 cm per pixel: about 100 pixels, at the centre of the view
    assert 60 <= int(flames.sum()) <= 140
    rows, cols = np.nonzero(flames)
    assert abs(rows.mean() - 120) < 12 and abs(cols.mean() - 160) < 12
    # smoke greys the floor near the fire, less far from it
    grey_near = frame[100:140, 190:220].astype(float).std(axis=-1).mean()
    grey_far = Camera(burning, np.random.default_rng(0)).rgb(40.0, 5.0, 0.0)
    assert not flame_pixels(grey_far).any()
    assert grey_near < 4.0


def test_flames_sit_where_the_fire_is_in_map_coordinates() -> None:
    world = fire_world()
    # the robot 3 m west of the fire, facing east: the fire is 3 m ahead (up in the image)
    frame = Camera(world, np.random.default_rng(1)).rgb(7.0, 5.0, 0.0)
    rows, cols = np.nonzero(flame_pixels(frame))
    assert rows.size > 0
    px, py = floor_points(7.0, 5.0, 0.0, 320, 240, 16.0, 12.0)
    assert np.mean(px[rows, cols]) == pytest.approx(10.25, abs=0.2)  # the cell's centre
    assert np.mean(py[rows, cols]) == pytest.approx(5.25, abs=0.2)
    assert rows.mean() < 120  # ahead of the robot


def test_vectorised_fields_match_the_fire_model() -> None:
    world = fire_world()
    world.step(20.0)  # let it spread
    fire = world.fire
    assert fire is not None and fire.count(CellState.BURNING) > 1
    xs = np.array([[10.0, 11.3, 6.0], [10.2, 14.0, 30.0]])
    ys = np.array([[5.0, 5.7, 2.0], [5.1, 9.0, 30.0]])
    temps = fire_temperature(fire, world.grid.cell_m, xs, ys)
    smoke = smoke_density(fire, xs, ys)
    for i in range(xs.shape[0]):
        for j in range(xs.shape[1]):
            assert temps[i, j] == pytest.approx(fire.temperature_at(xs[i, j], ys[i, j]))
            assert smoke[i, j] == pytest.approx(fire.smoke_density_at(xs[i, j], ys[i, j]))


def test_thermal_raw_to_celsius_round_trip_and_fire_hotspot() -> None:
    scale = ThermalScale()
    celsius = np.array([-40.0, 0.0, 19.95, 20.0, 800.0, 1200.0])
    raw = scale.to_raw(celsius)
    assert raw.dtype == np.uint16
    assert scale.to_celsius(raw) == pytest.approx(celsius, abs=0.0501)  # half a count
    assert float(scale.to_celsius(2931)) == pytest.approx(19.95)
    lepton = ThermalScale(kelvin_per_count=0.01)  # Lepton T-linear anchor, hazards.md §2.3
    assert float(lepton.to_celsius(30315)) == pytest.approx(30.0)

    world = fire_world()
    frame = Camera(world, np.random.default_rng(2)).thermal(*FIRE_XY_M, 0.0)
    temps = scale.to_celsius(frame)
    assert temps.max() == pytest.approx(800.0, abs=0.5)  # the flame temperature
    # away from the flame, ambient plus the fire's 1/d² heat: a few degrees at metres
    assert 20.0 < float(np.median(temps)) < 25.0
    assert float(temps[0, 0]) == pytest.approx(20.0 + 780.0 * 0.25**2 / 10.0**2, abs=0.3)
    hot_rows, hot_cols = np.nonzero(temps > 700.0)
    assert abs(hot_rows.mean() - 60) < 6 and abs(hot_cols.mean() - 80) < 6


def test_same_seed_same_frames_other_seed_other_flicker() -> None:
    world = fire_world()

    def frames(seed: int) -> tuple[NDArray[Any], NDArray[Any]]:
        cam = Camera(world, np.random.default_rng(seed))
        return cam.rgb(*FIRE_XY_M, 0.0), cam.thermal(*FIRE_XY_M, 0.0)

    a, b, c = frames(5), frames(5), frames(6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    flames = flame_pixels(a[0])
    assert not np.array_equal(a[0][flames], c[0][flames])  # the flames flicker


def test_frames_survive_the_envelope() -> None:
    world = fire_world()
    cam = Camera(world, np.random.default_rng(3))
    rgb = CapturedFrame("s-img-0001", "a1", "captureImage", "shed", cam.capture("rgb", 9, 5, 0, 0))
    meta, image = decode_frame(encode_frame(rgb, HEADER), "test")
    assert meta["kind"] == "rgb" and meta["encoding"] == "jpeg"
    assert (meta["width"], meta["height"]) == (320, 240)
    assert meta["imageId"] == "s-img-0001" and meta["headerId"] == 0
    assert image.shape == (240, 320, 3) and image.dtype == np.uint8
    assert flame_pixels(image).sum() > 40  # JPEG keeps the flames (RGB order restored)
    assert np.abs(image.astype(int) - rgb.frame.image.astype(int)).mean() < 6
    raw = json.loads(encode_frame(rgb, HEADER))["data"]
    assert (
        cv2.imdecode(np.frombuffer(base64.b64decode(raw), np.uint8), cv2.IMREAD_COLOR) is not None
    )

    thermal = CapturedFrame(
        "s-thr-0001", "a2", "thermalScan", "shed", cam.capture("thermal", 9, 5, 0, 0)
    )
    meta, image = decode_frame(encode_frame(thermal, HEADER), "test")
    assert meta["encoding"] == "png16" and meta["thermal"] == {
        "kelvinPerCount": 0.1,
        "offsetC": -273.15,
    }
    assert np.array_equal(image, thermal.frame.image)  # 16-bit PNG is lossless


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"not json", ""),
        (b"[]", ""),
        (json.dumps({"kind": "uv"}).encode(), "kind"),
        (json.dumps({"kind": "rgb"}).encode(), "data"),
        (json.dumps({"kind": "rgb", "data": "***"}).encode(), "data"),
        (json.dumps({"kind": "rgb", "data": base64.b64encode(b"junk").decode()}).encode(), "data"),
    ],
)
def test_a_bad_envelope_is_a_protocol_error_naming_the_field(payload: bytes, field: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_frame(payload, "uagv/v2/m/s/camera")
    assert info.value.topic == "uagv/v2/m/s/camera" and info.value.field == field


def test_camera_spec_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="footprint_width_m"):
        CameraSpec(footprint_width_m=0.0)
    with pytest.raises(ValueError, match="kelvin_per_count"):
        ThermalScale(kelvin_per_count=-1.0)


# ------------------------------------------------------------------ real path


@pytest.mark.broker
def test_a_drill_publishes_decodable_frames_on_the_camera_topic(
    broker: BrokerUnderTest, transport_factory: TransportFactory
) -> None:
    if broker.kind != "mosquitto" or broker.embedded is None:
        pytest.skip("camera frames are broker-independent; run once on embedded Mosquitto")
    interface = f"t{uuid.uuid4().hex[:10]}"
    scenario = Scenario.model_validate(
        {
            "name": "camera-fire",
            "interface": interface,
            "site": SITE.model_dump(),
            "world": {"grid": {"cell_m": 0.5, "margin_m": 4.0}},
            "hazards": [{"kind": "fire", "x_m": FIRE_XY_M[0], "y_m": FIRE_XY_M[1]}],
            "robots": [{"serial": "cam-01", "start_node": "door"}],
            "missions": [
                {
                    "id": "look",
                    "robot": "cam-01",
                    "steps": [
                        {
                            "node": "near-fire",
                            "actions": [
                                {"type": "captureImage"},
                                {"type": "thermalScan", "params": {"duration_s": 1}},
                            ],
                        }
                    ],
                }
            ],
            "success": {"timeout_s": 60},
        }
    )
    got: list[Message] = []
    arrived = threading.Event()

    def sink(message: Message) -> None:
        got.append(message)
        if len(got) >= 2:
            arrived.set()

    recorder = transport_factory("camera-recorder")
    recorder.subscribe(f"{interface}/v2/+/+/camera", sink, qos=0)
    assert recorder.wait_subscribed(5.0)
    result = DrillRunner(
        scenario,
        broker.host,
        broker.port,
        broker_label=broker.url,
        seed=1,
        mqtt=fast_settings(broker.url),
    ).run()
    assert result.passed, result.failures
    # the recorder is outside the drill's delivery barrier: give it a moment
    assert arrived.wait(5.0), [m.topic for m in got]
    topic = camera_topic(interface, "hazfleet-sim", "cam-01")
    frames = {}
    for m in got:
        assert m.topic == topic and m.qos == 0 and not m.retain
        meta, image = decode_frame(m.payload, m.topic)
        frames[meta["kind"]] = (meta, image)
    rgb_meta, rgb = frames["rgb"]
    assert rgb.shape == (240, 320, 3)
    assert rgb_meta["actionType"] == "captureImage" and rgb_meta["serialNumber"] == "cam-01"
    assert rgb_meta["pose"]["x"] == pytest.approx(8.0)
    assert flame_pixels(rgb).sum() > 20  # the fire, 2 m ahead of the robot
    thermal_meta, thermal = frames["thermal"]
    hottest = float(ThermalScale(**_scale(thermal_meta)).to_celsius(thermal.max()))
    assert hottest > 300.0
    results = {json.loads(r).get("imageId") for r in result.missions[0].action_results.values()}
    assert {rgb_meta["imageId"], thermal_meta["imageId"]} <= results


def _scale(meta: dict[str, Any]) -> dict[str, float]:
    return {
        "kelvin_per_count": float(meta["thermal"]["kelvinPerCount"]),
        "offset_c": float(meta["thermal"]["offsetC"]),
    }


def test_floor_points_put_the_heading_up() -> None:
    # facing north (theta = pi/2): the top row is north of the robot, the right column east
    px, py = floor_points(0.0, 0.0, math.pi / 2, 4, 4, 4.0, 4.0)
    assert py[0, 0] > 0 > py[-1, 0]
    assert px[0, -1] > 0 > px[0, 0]


def documented_schema() -> dict[str, Any]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text("utf-8")
    section = text.split("## Camera frames (hazfleet extension)", 1)[1]
    block = section.split("JSON Schema of the envelope", 1)[1].split("```json", 1)[1]
    schema: dict[str, Any] = json.loads(block.split("```", 1)[0])
    return schema


def test_the_envelope_matches_the_schema_in_docs_protocol_md() -> None:
    schema = documented_schema()
    cam = Camera(fire_world(), np.random.default_rng(4))
    kinds: tuple[tuple[FrameKind, str], ...] = (("rgb", "captureImage"), ("thermal", "thermalScan"))
    for kind, action in kinds:
        captured = CapturedFrame("i", "a", action, "shed", cam.capture(kind, 9, 5, 0, 0))
        body = json.loads(encode_frame(captured, HEADER))
        jsonschema.validate(body, schema)
    body["kind"] = "rgb"  # a thermal PNG claiming to be RGB
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, schema)
