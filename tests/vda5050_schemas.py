"""Test helper: the official VDA 5050 JSON schemas, read in place (never copied).

Location: ``$HAZFLEET_VDA5050_SCHEMAS`` if set, else ``<repo>/../shared/vda5050``.
Known deviation patched IN MEMORY (``SOURCE.md``): the 2.1.0 ``state.schema`` lacks
``PAUSED`` in ``actionStates[].actionStatus``; the document lists it, and the document wins.
"""

from __future__ import annotations

import copy
import json
import os
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

REPO = Path(__file__).resolve().parent.parent
ENV_VAR = "HAZFLEET_VDA5050_SCHEMAS"
TOPIC_NAMES = ("order", "instantActions", "state", "visualization", "connection", "factsheet")


def schemas_dir() -> Path:
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    return (REPO.parent / "shared" / "vda5050").resolve()


def schemas_available() -> bool:
    d = schemas_dir()
    return all((d / f"{name}.schema").is_file() for name in TOPIC_NAMES)


SKIP_REASON = (
    f"official VDA 5050 schemas not found in {schemas_dir()} "
    f"(set {ENV_VAR} to the directory holding order.schema, state.schema, ...)"
)


@cache
def raw_schema(topic_name: str) -> dict[str, Any]:
    """The schema exactly as published (do not mutate: it is cached)."""
    with (schemas_dir() / f"{topic_name}.schema").open(encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


def patched_schema(topic_name: str) -> dict[str, Any]:
    """The schema with the known document-over-schema fixes applied (a deep copy)."""
    schema = copy.deepcopy(raw_schema(topic_name))
    if topic_name == "state":
        status = schema["properties"]["actionStates"]["items"]["properties"]["actionStatus"]
        if "PAUSED" not in status["enum"]:
            status["enum"].append("PAUSED")
    return schema


# jsonschema only checks "date-time" when rfc3339-validator is installed; check it
# ourselves so that timestamps really are RFC 3339 (what the schemas' format means).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
_FORMATS = FormatChecker()


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # format applies to strings only
    if _RFC3339.fullmatch(value) is None:
        return False
    datetime.fromisoformat(value[:19])  # raises ValueError for e.g. month 13
    return True


_FORMATS.checks("date-time", raises=ValueError)(_is_date_time)


@cache
def validator_for(topic_name: str) -> Draft202012Validator:
    """A cached Draft 2020-12 validator for ``<topic_name>.schema`` (patched, see above)."""
    schema = patched_schema(topic_name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_FORMATS)


def schema_errors(topic_name: str, obj: dict[str, Any]) -> list[str]:
    """Readable schema violations of ``obj``: ``"nodes.0.sequenceId: -1 is less than..."``."""
    out = []
    for err in sorted(
        validator_for(topic_name).iter_errors(obj), key=lambda e: [str(p) for p in e.path]
    ):
        where = ".".join(str(p) for p in err.absolute_path) or "<root>"
        out.append(f"{where}: {err.message}")
    return out
