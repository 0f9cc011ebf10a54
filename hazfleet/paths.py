"""Where bundled files are found: the working directory first, then the installation."""

from __future__ import annotations

import os
from pathlib import Path

BUNDLE_ROOT = Path(__file__).resolve().parents[1]
"""the project root for an editable install / a checkout (``config/`` lives there)"""


def config_file(explicit: str | None) -> Path | None:
    """The main config: --config, else $HAZFLEET_CONFIG, else config/hazfleet.yaml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("HAZFLEET_CONFIG")
    if env:
        return Path(env)
    for root in (Path.cwd(), BUNDLE_ROOT):
        candidate = root / "config" / "hazfleet.yaml"
        if candidate.is_file():
            return candidate
    return None


def scenario_file(name_or_path: str) -> Path:
    """A scenario given as a path, or as a bare name of a bundled drill (``default``)."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or os.sep in name_or_path or p.exists():
        return p
    for root in (Path.cwd(), BUNDLE_ROOT):
        candidate = root / "config" / "drills" / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    return BUNDLE_ROOT / "config" / "drills" / f"{name_or_path}.yaml"


def alarm_preset_file(name_or_path: str) -> Path:
    """An alarm preset given as a path, or as a bare name in ``config/alarms/``."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        return p
    for root in (Path.cwd(), BUNDLE_ROOT):
        candidate = root / "config" / "alarms" / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    return BUNDLE_ROOT / "config" / "alarms" / f"{name_or_path}.yaml"
