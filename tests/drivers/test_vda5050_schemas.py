"""Our VDA 5050 models against the official 2.1.0 JSON schemas (read from ../shared)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.errors import ProtocolError
from drivers.vda5050 import MODEL_FOR_TOPIC, TopicName, decode, parse_timestamp, unknown_fields
from tests import vda5050_samples as samples
from tests.vda5050_schemas import (
    SKIP_REASON,
    raw_schema,
    schema_errors,
    schemas_available,
    validator_for,
)

pytestmark = [
    pytest.mark.schemas,
    pytest.mark.skipif(not schemas_available(), reason=SKIP_REASON),
]

TOPICS = [t.value for t in TopicName]

# Fields the document requires although the 2.1.0 schema makes them optional (the document
# wins, SOURCE.md).  Paths use "*" for array positions.
DOCUMENT_REQUIRES = {
    "factsheet": {"headerId", "timestamp", "physicalParameters.heightMin"},
    "visualization": {"headerId", "timestamp", "version", "manufacturer", "serialNumber"},
}

Path = tuple[str | int, ...]


def _dump(msg: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = msg.model_dump(mode="json", exclude_none=True)
    return dumped


def _norm(path: Path) -> str:
    return ".".join("*" if isinstance(p, int) else p for p in path)


def _key_paths(obj: Any, path: Path = ()) -> Iterator[Path]:
    """Every object key of ``obj``, as a path from the root."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield (*path, key)
            yield from _key_paths(value, (*path, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _key_paths(value, (*path, i))


def _delete(obj: dict[str, Any], path: Path) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    parent: Any = out
    for p in path[:-1]:
        parent = parent[p]
    del parent[path[-1]]
    return out


def _model_accepts(topic: str, obj: dict[str, Any]) -> bool:
    try:
        MODEL_FOR_TOPIC[TopicName(topic)].model_validate(obj)
    except ValidationError:
        return False
    return True


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return _resolve(node, root)


def _schema_properties(
    schema: dict[str, Any], root: dict[str, Any], path: str = ""
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(instance path with '*' for array items, property schema) for every property."""
    schema = _resolve(schema, root)
    for key, sub in schema.get("properties", {}).items():
        sub_path = f"{path}.{key}" if path else key
        yield sub_path, _resolve(sub, root)
        yield from _schema_properties(sub, root, sub_path)
    items = schema.get("items")
    if isinstance(items, dict):
        yield from _schema_properties(items, root, f"{path}.*")


def _replace_all(obj: Any, parts: list[str], value: Any) -> int:
    """Set every location matching ``parts`` ('*' = any array index); count them."""
    head, rest = parts[0], parts[1:]
    targets: list[Any]
    if head == "*":
        targets = list(range(len(obj))) if isinstance(obj, list) else []
    else:
        targets = [head] if isinstance(obj, dict) and head in obj else []
    count = 0
    for t in targets:
        if rest:
            count += _replace_all(obj[t], rest, value)
        else:
            obj[t] = copy.deepcopy(value)
            count += 1
    return count


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("topic", TOPICS)
def test_schema_files_are_valid_draft_2020_12(topic: str) -> None:
    validator_for(topic).check_schema(raw_schema(topic))


@pytest.mark.parametrize("topic", TOPICS)
def test_every_generated_sample_validates(topic: str) -> None:
    msgs = samples.generated(topic, count=50)
    assert len(msgs) == 50
    for i, msg in enumerate(msgs):
        assert schema_errors(topic, _dump(msg)) == [], f"generated sample {i}"


@pytest.mark.parametrize("topic", TOPICS)
def test_minimal_and_maximal_samples_validate(topic: str) -> None:
    assert schema_errors(topic, _dump(samples.minimal(topic))) == []
    assert schema_errors(topic, _dump(samples.maximal(topic))) == []


def test_schema_validator_rejects_a_broken_message() -> None:
    # Guards the tests above against a validator that accepts everything.
    bad = samples.maximal_dict("order")
    bad["nodes"][0]["sequenceId"] = -1
    del bad["edges"]
    errors = schema_errors("order", bad)
    assert any(e.startswith("nodes.0.sequenceId:") for e in errors)
    assert any("'edges' is a required property" in e for e in errors)


def test_timestamp_format_is_checked() -> None:
    bad = {**samples.minimal_dict("connection"), "timestamp": "15.04.2017 11:40"}
    assert any(e.startswith("timestamp:") for e in schema_errors("connection", bad))


def test_paused_is_patched_in_memory_only() -> None:
    state = samples.maximal_dict("state")
    assert state["actionStates"][0]["actionStatus"] == "PAUSED"
    assert schema_errors("state", state) == []
    raw_enum = raw_schema("state")["properties"]["actionStates"]["items"]["properties"][
        "actionStatus"
    ]["enum"]
    assert "PAUSED" not in raw_enum  # the cached file content is untouched


def test_schema_defects_are_exactly_the_documented_ones() -> None:
    full = _dump(samples.maximal("factsheet", schema_compatible=False))
    paths = {e.split(":", 1)[0] for e in schema_errors("factsheet", full)}
    expected = {p.replace("*", "0") for p in samples.SCHEMA_DEFECT_PATHS}
    assert paths == expected


@pytest.mark.parametrize("topic", TOPICS)
def test_models_cover_every_schema_property(topic: str) -> None:
    """The maximal sample holds every schema property and the model knows each one."""
    full = samples.maximal(topic, schema_compatible=False)
    assert unknown_fields(full) == []
    present = {_norm(p) for p in _key_paths(_dump(full))}
    schema = raw_schema(topic)
    declared = {path for path, _ in _schema_properties(schema, schema)}
    assert declared - present == set()


@pytest.mark.parametrize("topic", TOPICS)
def test_top_level_required_fields_are_required_by_the_model(topic: str) -> None:
    source = f"uagv/v2/hazfleet/RB-0001/{topic}"
    for field in raw_schema(topic).get("required", []):
        payload = samples.minimal_dict(topic)
        del payload[field]
        with pytest.raises(ProtocolError) as info:
            decode(
                MODEL_FOR_TOPIC[TopicName(topic)],
                samples.json_bytes(payload),
                source=source,
            )
        assert info.value.field == field
        assert info.value.topic == source


@pytest.mark.parametrize("topic", TOPICS)
def test_required_fields_agree_at_every_level(topic: str) -> None:
    """Delete each key of the maximal sample in turn and compare schema vs model.

    Schema requires it => the model rejects the message too.  The model requires it but
    the schema does not => it is one of the documented document-over-schema fields.
    """
    full = samples.maximal_dict(topic)
    stricter: set[str] = set()
    for path in _key_paths(full):
        reduced = _delete(full, path)
        schema_ok = schema_errors(topic, reduced) == []
        model_ok = _model_accepts(topic, reduced)
        if not schema_ok:
            assert not model_ok, f"{_norm(path)} is required by the schema, not by our model"
        elif not model_ok:
            stricter.add(_norm(path))
    assert stricter == DOCUMENT_REQUIRES.get(topic, set())


@pytest.mark.parametrize("topic", TOPICS)
def test_schema_examples_are_accepted(topic: str) -> None:
    schema = raw_schema(topic)
    checked = 0
    for path, prop in _schema_properties(schema, schema):
        for example in prop.get("examples", []):
            payload = samples.maximal_dict(topic)
            assert _replace_all(payload, path.split("."), example) > 0, path
            assert _model_accepts(topic, payload), f"{path} = {example!r}"
            assert schema_errors(topic, payload) == [], f"{path} = {example!r}"
            if path == "timestamp":
                assert parse_timestamp(example) > 0
            checked += 1
    assert checked > 0
