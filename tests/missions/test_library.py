"""The mission library in config/missions: one valid example per template, on unit-7."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controller.orders import build_order
from missions.model import MissionRequest
from missions.permits import permit_requirement
from missions.templates import TEMPLATES, plan, required_capabilities
from tests.missions import MISSION_LIBRARY, default_site
from tests.vda5050_schemas import SKIP_REASON, schema_errors, schemas_available

FILES = sorted(MISSION_LIBRARY.glob("*.yaml"))


def load(path: Path) -> MissionRequest:
    with path.open(encoding="utf-8") as f:
        return MissionRequest.model_validate(yaml.safe_load(f))


def test_one_example_per_template() -> None:
    templates = [load(p).template for p in FILES]
    assert sorted(templates) == sorted(TEMPLATES)


def test_ids_are_unique() -> None:
    ids = [load(p).id for p in FILES]
    assert None not in ids and len(set(ids)) == len(ids)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_example_validates_and_plans_on_the_default_site(path: Path) -> None:
    req = load(path)
    site = default_site()
    assert req.site == site.map_id == "unit-7"
    spec = plan(req, site)
    used = {a.type for s in spec.steps for a in s.actions}
    assert used and used <= required_capabilities(req)
    permit_requirement(req, site)  # every example can be judged for a permit


@pytest.mark.schemas
@pytest.mark.skipif(not schemas_available(), reason=SKIP_REASON)
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_example_becomes_a_schema_valid_order(path: Path) -> None:
    spec = plan(load(path), default_site())
    order = build_order(
        spec,
        default_site(),
        "dock",
        f"{spec.id}-1",
        version="2.1.0",
        manufacturer="hazfleet-sim",
        serial="sim-01",
        header_id=1,
        timestamp="2026-03-02T06:00:00.00Z",
        allowed_deviation_xy_m=0.5,
    )
    assert schema_errors("order", order.model_dump(mode="json", exclude_none=True)) == []


def test_hazardous_examples_need_a_permit() -> None:
    by_template = {load(p).template: load(p) for p in FILES}
    site = default_site()
    assert permit_requirement(by_template["gas_leak_survey"], site).zones == ("pump-bay-zone1",)
    assert permit_requirement(by_template["confined_space_entry"], site).required
    assert not permit_requirement(by_template["patrol"], site).required
