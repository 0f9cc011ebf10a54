"""Running a drill in a test: own topics, the embedded Mosquitto only, quick reconnects."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from simulator.drill import DrillRunner
from simulator.scenario import Scenario
from tests.conftest import BrokerUnderTest, fast_settings


def embedded_drill(
    scenario: Scenario, under: BrokerUnderTest, what: str, seed: int = 0, **kwargs: Any
) -> DrillRunner:
    """A runner for ``scenario`` over the broker ``under`` test, on its own interface name
    (the brokers are shared across the session), or a skip: drills are broker-independent,
    so ``what`` drills run once, on the embedded Mosquitto.  ``kwargs`` go to
    :class:`DrillRunner`."""
    if under.kind != "mosquitto" or under.embedded is None:
        pytest.skip(f"{what} drills are broker-independent; run once on embedded Mosquitto")
    return DrillRunner(
        scenario.model_copy(update={"interface": f"t{uuid.uuid4().hex[:10]}"}),
        under.host,
        under.port,
        broker_label=under.url,
        seed=seed,
        speed=None,
        mqtt=fast_settings(under.url),
        **kwargs,
    )
