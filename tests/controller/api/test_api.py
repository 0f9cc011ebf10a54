"""The REST API over real HTTP against the real store (SQLite and PostgreSQL): who may do
what (401 vs 403), creating from JSON and YAML, filters, history, approvals and the
two-person rule, bad requests (422 with the field path, nothing stored) and idempotency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.controller.api.conftest import REPO, USERS, Api

GAS_FILE = REPO / "config" / "missions" / "gas-leak-survey.yaml"


def gas_survey(**changes: Any) -> dict[str, Any]:
    """A mission in the hazardous pump-bay zone: it needs a permit."""
    body: dict[str, Any] = {
        "name": "Gas survey, pump bay",
        "template": "gas_leak_survey",
        "site": "unit-7",
        "targets": [{"kind": "zone", "id": "pump-bay-zone1"}],
        "params": {"gases": ["O2", "LEL", "H2S", "CO"], "dwell_s": 30},
        "turn_back": {"lel_pct": 20, "gas_ppm": {"H2S": 20}},
    }
    body.update(changes)
    return body


def patrol(**changes: Any) -> dict[str, Any]:
    """A round outside any hazardous zone: no permit, approved without a person."""
    body: dict[str, Any] = {
        "name": "Tank round",
        "template": "patrol",
        "site": "unit-7",
        "targets": [{"kind": "node", "id": "tank-farm"}, {"kind": "asset", "id": "tank-t3"}],
    }
    body.update(changes)
    return body


def create(api: Api, body: dict[str, Any], user: str = "sofia", **kw: Any) -> dict[str, Any]:
    r = api.post(user, "/missions", json=body, **kw)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def stored_ids(api: Api) -> list[str]:
    return [m.id for m in api.store.list_missions(limit=1000)]


# ----------------------------------------------------------------------------- meta


def test_openapi_lists_the_v1_paths(api: Api) -> None:
    r = api.http.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    paths = doc["paths"]
    for path in (
        "/api/v1/missions",
        "/api/v1/missions/{mission_id}",
        "/api/v1/missions/{mission_id}/approve",
        "/api/v1/missions/{mission_id}/reject",
        "/api/v1/missions/{mission_id}/cancel",
        "/api/v1/missions/{mission_id}/pause",
        "/api/v1/missions/{mission_id}/resume",
        "/api/v1/robots",
        "/api/v1/templates",
    ):
        assert path in paths, path
    create_body = paths["/api/v1/missions"]["post"]["requestBody"]["content"]
    assert set(create_body) == {"application/json", "application/yaml"}
    assert "MissionRequest" in doc["components"]["schemas"]
    assert any(s.get("scheme") == "bearer" for s in doc["components"]["securitySchemes"].values())


def test_healthz_needs_no_token(api: Api) -> None:
    assert api.http.get("/healthz").json() == {"status": "ok"}


# ----------------------------------------------------------------------------- 401 vs 403

ENDPOINTS: list[tuple[str, str, set[str]]] = [
    # (method, path, roles allowed); {id} is an existing submitted mission
    ("GET", "/missions", set(USERS.values())),
    ("GET", "/missions/{id}", set(USERS.values())),
    ("GET", "/robots", set(USERS.values())),
    ("GET", "/templates", set(USERS.values())),
    ("POST", "/missions", {"safety_officer"}),
    ("POST", "/missions/{id}/approve", {"safety_officer"}),
    ("POST", "/missions/{id}/reject", {"safety_officer"}),
    ("POST", "/missions/{id}/cancel", {"safety_officer", "operator"}),
    ("POST", "/missions/{id}/pause", {"operator"}),
    ("POST", "/missions/{id}/resume", {"operator"}),
]


def _call(api: Api, user: str | None, method: str, path: str, mission_id: str) -> httpx.Response:
    url = path.replace("{id}", mission_id)
    body: dict[str, Any] = (
        gas_survey() if path == "/missions" else {"reason": "test of the role table"}
    )
    if method == "GET":
        return api.get(user, url)
    return api.post(user, url, json=body)


@pytest.mark.parametrize(
    ("method", "path", "roles"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
def test_no_or_unknown_token_is_401(api: Api, method: str, path: str, roles: set[str]) -> None:
    mission_id = create(api, gas_survey())["id"]
    before = stored_ids(api)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
        url = path.replace("{id}", mission_id)
        if method == "GET":
            r = api.get(None, url, headers=headers)
        else:
            r = api.post(None, url, headers=headers, json=gas_survey())
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert stored_ids(api) == before
    assert api.store.get_mission(mission_id).state == "submitted"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("method", "path", "roles"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
def test_each_role_only_its_own_actions(api: Api, method: str, path: str, roles: set[str]) -> None:
    mission_id = create(api, gas_survey())["id"]
    # refused callers first: an allowed call may move the mission on (the next allowed
    # caller then gets 409, which is still not an authorisation failure)
    for user, role in sorted(USERS.items(), key=lambda ur: ur[1] in roles):
        before = api.store.get_mission(mission_id)
        r = _call(api, user, method, path, mission_id)
        if role in roles:
            # allowed: whatever the answer, it is not an authorisation failure
            assert r.status_code not in (401, 403), (user, r.text)
        else:
            assert r.status_code == 403, (user, r.text)
            assert role in r.json()["detail"]
            after = api.store.get_mission(mission_id)
            assert after == before  # a refused caller changed nothing


# ----------------------------------------------------------------------------- create


def test_create_from_json_needs_a_permit_in_a_hazardous_zone(api: Api) -> None:
    r = api.post("sofia", "/missions", json=gas_survey())
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["id"].startswith("m-")
    assert r.headers["location"] == f"/api/v1/missions/{m['id']}"
    assert m["state"] == "submitted"
    assert m["submitted_by"] == "sofia"
    assert m["permit"]["required"] is True
    assert m["permit"]["zones"] == ["pump-bay-zone1"]
    assert m["request"]["params"]["dwell_s"] == 30
    assert m["history"][-1]["to_state"] == "submitted"
    assert m["history"][-1]["by"] == "sofia"
    assert stored_ids(api) == [m["id"]]


def test_create_from_a_yaml_mission_file(api: Api) -> None:
    r = api.post(
        "sofia",
        "/missions",
        content=GAS_FILE.read_bytes(),
        headers={"Content-Type": "application/yaml"},
    )
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["id"] == "gas-leak-survey-pump-bay"
    assert m["template"] == "gas_leak_survey"
    assert m["state"] == "submitted"
    shown = api.get("vic", f"/missions/{m['id']}").json()
    assert shown["request"]["turn_back"]["o2_low_pct"] == 19.5


def test_mission_without_permit_is_approved_by_the_system(api: Api) -> None:
    m = create(api, patrol())
    assert m["permit"]["required"] is False
    assert m["state"] in ("approved", "scheduled")
    assert m["approved_by"] == "system"
    approval = next(h for h in m["history"] if h["to_state"] == "approved")
    assert approval["by"] == "system" and "no permit required" in approval["reason"]


def test_the_scheduler_releases_what_the_api_approved(api: Api) -> None:
    m = create(api, patrol())
    released = api.service.tick()
    assert m["id"] in released
    assert [spec.id for spec in api.dispatched] == [m["id"]]
    shown = api.get("vic", f"/missions/{m['id']}").json()
    assert shown["state"] == "dispatched"
    assert [h["by"] for h in shown["history"] if h["to_state"] == "dispatched"] == ["scheduler"]


# ----------------------------------------------------------------------------- bad input

BAD_REQUESTS: list[tuple[str, dict[str, Any], str, str]] = [
    # (test id, body, field path, words in the message)
    ("no targets", gas_survey(targets=[]), "targets", "at least 1"),
    ("unknown field", gas_survey(colour="red"), "colour", "unknown field"),
    ("bad target kind", gas_survey(targets=[{"kind": "room", "id": "x"}]), "targets.0.kind", ""),
    ("bad param", gas_survey(params={"dwell_s": -5}), "params.dwell_s", "greater than 0"),
    ("unknown template", gas_survey(template="juggling"), "template", "unknown template"),
    ("naive time", gas_survey(deadline="2026-12-01T06:00:00"), "deadline", "timezone"),
    ("bad priority", gas_survey(priority="whenever"), "priority", ""),
    (
        "unknown node",
        patrol(targets=[{"kind": "node", "id": "moon-base"}]),
        "targets.0.id",
        "moon-base",
    ),
    ("unknown site", gas_survey(site="atlantis"), "site", "atlantis"),
]


@pytest.mark.parametrize(
    ("body", "field", "words"), [b[1:] for b in BAD_REQUESTS], ids=[b[0] for b in BAD_REQUESTS]
)
def test_bad_request_is_422_with_field_path_and_nothing_is_stored(
    api: Api, body: dict[str, Any], field: str, words: str
) -> None:
    r = api.post("sofia", "/missions", json=body, headers={"Idempotency-Key": "k-bad"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail
    fields = [d["field"] for d in detail]
    assert field in fields, detail
    item = detail[fields.index(field)]
    assert item["loc"][0] == "body"
    assert words.lower() in item["msg"].lower(), item
    assert stored_ids(api) == []
    # the refused key was not consumed: a good request with it creates the mission
    ok = api.post("sofia", "/missions", json=patrol(), headers={"Idempotency-Key": "k-bad"})
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize(
    ("content", "ctype", "words"),
    [
        (b"{not json", "application/json", "invalid JSON"),
        (b"name: [unclosed", "application/yaml", "invalid YAML"),
        (b"- a list\n- not a mission\n", "application/yaml", "mapping"),
        (b"<mission/>", "application/xml", "unsupported content type"),
    ],
)
def test_unreadable_body_is_422(api: Api, content: bytes, ctype: str, words: str) -> None:
    r = api.post("sofia", "/missions", content=content, headers={"Content-Type": ctype})
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"][0]["msg"]
    assert stored_ids(api) == []


def test_bad_query_parameter_is_422_with_its_name(api: Api) -> None:
    r = api.get("vic", "/missions", params={"state": "sleeping"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "state"
    r = api.get("vic", "/missions", params={"limit": 0})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "limit"


# ----------------------------------------------------------------------------- idempotency


def test_duplicate_idempotency_key_creates_one_mission(api: Api) -> None:
    key = {"Idempotency-Key": "submit-2026-11-26-a"}
    first = api.post("sofia", "/missions", json=gas_survey(), headers=key)
    again = api.post("sofia", "/missions", json=gas_survey(), headers=key)
    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert stored_ids(api) == [first.json()["id"]]
    # the same key for a different mission is a client mistake, not a silent success
    other = api.post("sofia", "/missions", json=patrol(), headers=key)
    assert other.status_code == 409, other.text
    assert stored_ids(api) == [first.json()["id"]]


def test_concurrent_duplicates_create_one_mission(api: Api) -> None:
    key = {"Idempotency-Key": "double-click"}
    codes: list[int] = []
    ids: set[str] = set()
    lock = threading.Lock()

    def submit() -> None:
        r = api.post("sofia", "/missions", json=gas_survey(), headers=key)
        with lock:
            codes.append(r.status_code)
            ids.add(r.json().get("id", r.text))

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(codes) == [200] * 5 + [201], codes
    assert len(ids) == 1
    assert stored_ids(api) == list(ids)


def test_the_same_id_twice_is_refused(api: Api) -> None:
    create(api, patrol(id="round-1"))
    r = api.post("sofia", "/missions", json=patrol(id="round-1", name="another round"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "id"
    assert "already exists" in r.json()["detail"][0]["msg"]
    assert api.get("vic", "/missions/round-1").json()["name"] == "Tank round"


# ----------------------------------------------------------------------------- list, show


def test_list_filters(api: Api) -> None:
    gas = create(api, gas_survey())
    urgent = create(api, gas_survey(priority="urgent", name="Urgent gas survey"))
    round_ = create(api, patrol())

    def ids(**params: Any) -> set[str]:
        r = api.get("vic", "/missions", params=params)
        assert r.status_code == 200, r.text
        return {m["id"] for m in r.json()["items"]}

    assert ids() == {gas["id"], urgent["id"], round_["id"]}
    assert ids(state="submitted") == {gas["id"], urgent["id"]}
    assert ids(priority="urgent") == {urgent["id"]}
    assert ids(template="patrol") == {round_["id"]}
    assert ids(site="unit-7") == {gas["id"], urgent["id"], round_["id"]}
    assert ids(site="elsewhere") == set()
    assert ids(state="submitted", priority="routine") == {gas["id"]}
    page1, page2 = ids(limit=2), ids(limit=2, offset=2)
    assert len(page1) == 2 and len(page2) == 1 and not page1 & page2


def test_show_has_the_history_and_404_for_an_unknown_id(api: Api) -> None:
    m = create(api, gas_survey())
    api.post("sofia", f"/missions/{m['id']}/reject", json={"reason": "wrong shift"})
    shown = api.get("erin", f"/missions/{m['id']}")
    assert shown.status_code == 200
    history = shown.json()["history"]
    assert [h["to_state"] for h in history][-2:] == ["submitted", "rejected"]
    assert history[-1]["by"] == "sofia" and history[-1]["reason"] == "wrong shift"
    assert all(h["at"].endswith(("Z", "+00:00")) for h in history)
    missing = api.get("erin", "/missions/m-nothere")
    assert missing.status_code == 404
    assert "m-nothere" in missing.json()["detail"]
    assert api.post("sofia", "/missions/m-nothere/approve").status_code == 404


# ----------------------------------------------------------------------------- actions


def test_approve_records_who_and_why(api: Api) -> None:
    m = create(api, gas_survey(), user="sam")
    r = api.post("sofia", f"/missions/{m['id']}/approve", json={"reason": "permit 7731"})
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["state"] in ("approved", "scheduled")
    assert approved["approved_by"] == "sofia"
    step = next(h for h in approved["history"] if h["to_state"] == "approved")
    assert (step["by"], step["reason"]) == ("sofia", "permit 7731")
    # approving twice is an illegal transition
    again = api.post("sofia", f"/missions/{m['id']}/approve")
    assert again.status_code == 409, again.text


def test_two_person_rule_is_409_for_the_submitter(api: Api) -> None:
    m = create(api, gas_survey(emergency_override=True, priority="emergency"), user="sofia")
    assert m["permit"]["two_person"] is True
    own = api.post("sofia", f"/missions/{m['id']}/approve")
    assert own.status_code == 409, own.text
    assert api.get("vic", f"/missions/{m['id']}").json()["state"] == "submitted"
    other = api.post("sam", f"/missions/{m['id']}/approve")
    assert other.status_code == 200, other.text
    assert other.json()["approved_by"] == "sam"


def test_reject_needs_a_reason_and_ends_the_mission(api: Api) -> None:
    m = create(api, gas_survey())
    no_reason = api.post("sofia", f"/missions/{m['id']}/reject", json={})
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["field"] == "reason"
    r = api.post("sofia", f"/missions/{m['id']}/reject", json={"reason": "zone not isolated"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "rejected"
    assert api.post("sofia", f"/missions/{m['id']}/approve").status_code == 409


def test_operator_cancels_and_cannot_cancel_twice(api: Api) -> None:
    m = create(api, gas_survey())
    r = api.post("olga", f"/missions/{m['id']}/cancel", json={"reason": "weather"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "cancelled"
    assert r.json()["history"][-1]["by"] == "olga"
    again = api.post("olga", f"/missions/{m['id']}/cancel")
    assert again.status_code == 409
    assert "cancelled" in again.json()["detail"]


def test_pause_of_a_mission_that_is_not_running_is_409(api: Api) -> None:
    m = create(api, gas_survey())
    r = api.post("olga", f"/missions/{m['id']}/pause")
    assert r.status_code == 409, r.text
    assert api.get("olga", f"/missions/{m['id']}").json()["state"] == "submitted"


# ----------------------------------------------------------------------------- fleet, templates


def test_robots_and_templates(api: Api) -> None:
    robots = api.get("vic", "/robots")
    assert robots.status_code == 200
    assert robots.json()[0]["serial"] == "sim-01"
    assert robots.json()[0]["battery_pct"] == 87.5
    assert robots.json()[0]["charging"] is True
    templates = api.get("erin", "/templates").json()
    names = {t["name"] for t in templates}
    assert {"gas_leak_survey", "confined_space_entry", "patrol", "radiation_survey"} <= names
    gas = next(t for t in templates if t["name"] == "gas_leak_survey")
    assert "dwell_s" in gas["params_schema"]["properties"]


def test_yaml_with_a_charset_gives_the_same_mission(api: Api) -> None:
    import yaml

    body = patrol(id="same-either-way")
    via_yaml = api.post(
        "sofia",
        "/missions",
        content=yaml.safe_dump(body).encode(),
        headers={"Content-Type": "application/yaml; charset=utf-8"},
    )
    assert via_yaml.status_code == 201, via_yaml.text
    assert via_yaml.json()["request"] == {**via_yaml.json()["request"], **body}


def test_an_oversized_body_is_refused_unread(api: Api) -> None:
    r = api.post(
        "sofia",
        "/missions",
        content=b"x" * 1_000_001,
        headers={"Content-Type": "application/yaml"},
    )
    assert r.status_code == 413
    assert stored_ids(api) == []


def test_a_missed_window_is_reported_in_the_mission_detail(api: Api) -> None:
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    m = create(api, patrol(schedule={"kind": "at", "at": two_hours_ago, "window_s": 60}))
    assert m["id"] not in api.service.tick()
    shown = api.get("vic", f"/missions/{m['id']}").json()
    assert shown["state"] == "failed"
    assert [r["status"] for r in shown["releases"]] == ["missed"]
    assert "window" in shown["releases"][0]["reason"]
    assert api.dispatched == []
