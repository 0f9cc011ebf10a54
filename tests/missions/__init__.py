"""Tests of the mission domain: shared helpers (the bundled default site, request builder)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from missions.model import MissionRequest
from missions.site import SiteMap

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DRILL = REPO / "config" / "drills" / "default.yaml"
MISSION_LIBRARY = REPO / "config" / "missions"


@cache
def default_site() -> SiteMap:
    """Site ``unit-7`` of the bundled default drill."""
    with DEFAULT_DRILL.open(encoding="utf-8") as f:
        return SiteMap.model_validate(yaml.safe_load(f)["site"])


def request(template: str, targets: list[dict[str, str]], **fields: Any) -> MissionRequest:
    data: dict[str, Any] = {
        "id": "m-test",
        "name": f"test {template}",
        "template": template,
        "site": "unit-7",
        "targets": targets,
    }
    data.update(fields)
    return MissionRequest.model_validate(data)


def node(node_id: str) -> dict[str, str]:
    return {"kind": "node", "id": node_id}


def asset(node_id: str) -> dict[str, str]:
    return {"kind": "asset", "id": node_id}


def zone(zone_id: str) -> dict[str, str]:
    return {"kind": "zone", "id": zone_id}
