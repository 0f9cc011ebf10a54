"""Per-channel alarm logic as a real detector does it (hazards.md §1.2), and the bundled
presets (config/alarms/*.yaml), each citing its source."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.config_file import load_model
from drivers.errors import ConfigError
from missions.alarms import (
    AlarmChange,
    AlarmKind,
    AlarmPreset,
    ChannelMonitor,
    lel_factor,
)

PRESETS = Path(__file__).resolve().parents[2] / "config" / "alarms"
DEFAULT = load_model(PRESETS / "industrial-scientific.yaml", AlarmPreset)


def monitor(channel: str, preset: AlarmPreset = DEFAULT, **kw: float) -> ChannelMonitor:
    return ChannelMonitor(channel, preset.channels[channel], preset, **kw)


def raised(changes: list[AlarmChange]) -> set[AlarmKind]:
    return {c.kind for c in changes if c.active}


def cleared(changes: list[AlarmChange]) -> set[AlarmKind]:
    return {c.kind for c in changes if not c.active}


def test_every_bundled_preset_loads_and_cites_its_source() -> None:
    files = sorted(PRESETS.glob("*.yaml"))
    assert {p.stem for p in files} >= {"industrial-scientific", "rki-gx86", "msha"}
    for path in files:
        preset = load_model(path, AlarmPreset)
        assert preset.name == path.stem
        assert "." in preset.source and len(preset.source) > 30  # a document, not a word
        assert "O2" in preset.channels and preset.channels["O2"].two_sided


def test_the_default_is_the_industrial_scientific_table() -> None:
    table = {
        "CO": (35, 70, 35, 200),
        "H2S": (10, 20, 10, 15),
        "SO2": (2.0, 4.0, 2.0, 5.0),
        "NO2": (3.0, 6.0, 3.0, 5.0),
        "Cl2": (0.5, 1.0, 0.5, 1.0),
        "NH3": (25, 50, 25, 35),
    }
    for gas, (low, high, twa, stel) in table.items():
        sp = DEFAULT.channels[gas]
        assert (sp.low, sp.high, sp.twa, sp.stel) == (low, high, twa, stel), gas
    assert (DEFAULT.channels["O2"].low, DEFAULT.channels["O2"].high) == (19.5, 23.5)
    assert (DEFAULT.channels["LEL"].low, DEFAULT.channels["LEL"].high) == (10, 20)


def test_a_bad_preset_is_named_with_its_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\nsource: somewhere, example.org/page\nchannels:\n"
        "  H2S: {unit: ppm, low: 20, high: 10}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_model(path, AlarmPreset)
    assert info.value.field.startswith("channels.H2S") and "below high" in info.value.problem


@pytest.mark.parametrize(
    ("channel", "field", "words"),
    [
        ("H2Z: {unit: ppm, low: 1, high: 2}", "channels.H2Z", "unknown channel"),
        ("H2S: {unit: mg/m3, low: 1, high: 2}", "channels.H2S.unit", "read in 'ppm'"),
    ],
)
def test_a_preset_channel_must_be_one_the_stream_carries(
    tmp_path: Path, channel: str, field: str, words: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\nsource: somewhere, example.org/page\nchannels:\n  {channel}\n")
    with pytest.raises(ConfigError) as info:
        load_model(path, AlarmPreset)
    assert info.value.field == field and words in info.value.problem


def test_toxic_low_then_high_then_non_latching_low_clears() -> None:
    m = monitor("H2S")
    assert m.feed(0.0, 2.0) == []
    assert raised(m.feed(1.0, 10.0)) == {AlarmKind.LOW}
    change = m.feed(2.0, 25.0)
    assert raised(change) == {AlarmKind.HIGH}
    high = next(c for c in change if c.kind is AlarmKind.HIGH)
    assert (high.value, high.threshold, high.unit) == (25.0, 20, "ppm")
    assert cleared(m.feed(3.0, 1.0)) == {AlarmKind.LOW}  # HIGH latches
    assert m.active == {AlarmKind.HIGH}
    assert m.acknowledge(AlarmKind.HIGH) and not m.acknowledge(AlarmKind.LOW)
    assert cleared(m.feed(4.0, 1.0)) == {AlarmKind.HIGH}
    assert m.active == set()


def test_oxygen_alarms_on_both_sides() -> None:
    m = monitor("O2")
    assert m.feed(0.0, 20.9) == []
    assert raised(m.feed(1.0, 19.5)) == {AlarmKind.LOW}  # deficient at the set point
    assert cleared(m.feed(2.0, 20.9)) == {AlarmKind.LOW}
    assert raised(m.feed(3.0, 23.6)) == {AlarmKind.HIGH}  # enriched
    assert AlarmKind.NEGATIVE_DRIFT not in m.active


def test_stel_and_twa_alarms_from_the_averages() -> None:
    m = monitor("H2S")
    t = 0.0
    changes: list[AlarmChange] = []
    for k in range(16 * 60):  # 16 minutes at 16 ppm: STEL (15) but not HIGH (20)
        changes += m.feed(t, 16.0 + (0.1 if k % 2 else -0.1))
        t += 1.0
    kinds = raised(changes)
    assert AlarmKind.LOW in kinds and AlarmKind.STEL in kinds
    assert AlarmKind.HIGH not in kinds and AlarmKind.TWA not in kinds  # 16 min of 8 h


def test_ceiling_over_range_and_negative_drift() -> None:
    ceiling = DEFAULT.channels["Cl2"].model_copy(update={"ceiling": 1.0})
    m = ChannelMonitor("Cl2", ceiling, DEFAULT)
    assert AlarmKind.CEILING in raised(m.feed(0.0, 1.2))
    m = monitor("H2S")
    assert raised(m.feed(0.0, 500.0)) >= {AlarmKind.OVER_RANGE, AlarmKind.HIGH, AlarmKind.LOW}
    m = monitor("CO")
    assert raised(m.feed(0.0, 0.0, "over_range")) >= {AlarmKind.OVER_RANGE, AlarmKind.HIGH}
    m = monitor("H2S")
    assert raised(m.feed(0.0, -6.0)) == {AlarmKind.NEGATIVE_DRIFT}  # below -1/2 TWA (10)
    assert cleared(m.feed(1.0, -4.0)) == {AlarmKind.NEGATIVE_DRIFT}


@pytest.mark.parametrize(
    ("value", "status"), [(None, "ok"), (float("nan"), "ok"), (3.0, "fault"), (3.0, "dropout")]
)
def test_a_faulty_reading_raises_sensor_fault_and_clears_no_gas_alarm(
    value: float | None, status: str
) -> None:
    m = monitor("NH3")
    assert raised(m.feed(0.0, 30.0)) == {AlarmKind.LOW}
    change = m.feed(1.0, value, status)  # type: ignore[arg-type]
    assert raised(change) == {AlarmKind.SENSOR_FAULT} and cleared(change) == set()
    assert m.active == {AlarmKind.LOW, AlarmKind.SENSOR_FAULT}
    assert cleared(m.feed(2.0, 3.0)) == {AlarmKind.SENSOR_FAULT, AlarmKind.LOW}


def test_a_stuck_cell_is_a_fault_but_clean_air_is_not() -> None:
    m = monitor("CO")
    for k in range(0, 4000, 10):
        m.feed(float(k), 0.0)  # clean air reads 0 for an hour: fine
    assert m.active == set()
    m = monitor("CO")
    changes: list[AlarmChange] = []
    for k in range(0, 1900, 10):
        changes += m.feed(float(k), 12.0)  # the same 12 ppm to the last digit for 30 min
    fault = [c for c in changes if c.kind is AlarmKind.SENSOR_FAULT and c.active]
    assert [c.t_s for c in fault] == [1800.0]  # after 30 minutes without a change
    assert AlarmKind.SENSOR_FAULT in raised(changes)


def test_lel_is_invalid_without_oxygen_and_corrected_for_the_gas() -> None:
    m = monitor("LEL")
    change = m.feed(0.0, 4.0, o2_percent=8.0)
    assert raised(change) == {AlarmKind.LEL_INVALID}
    assert next(c for c in change if c.active).threshold == 10.0
    assert cleared(m.feed(1.0, 4.0, o2_percent=20.9)) == {AlarmKind.LEL_INVALID}
    pentane = monitor("LEL", lel_factor=lel_factor("pentane"))
    change = pentane.feed(0.0, 10.0)  # reads 10 %LEL, means 20.2 %LEL of pentane
    assert raised(change) == {AlarmKind.LOW, AlarmKind.HIGH}
    assert next(c for c in change if c.kind is AlarmKind.HIGH).value == pytest.approx(20.2)
    with pytest.raises(KeyError, match="xenon"):
        lel_factor("xenon")


def test_warm_up_suppresses_everything() -> None:
    m = monitor("H2S")
    assert m.feed(0.0, 50.0, "warmup") == []
    assert m.active == set()
    assert raised(m.feed(1.0, 50.0)) >= {AlarmKind.HIGH}
