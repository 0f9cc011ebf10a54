"""Alerts over real HTTP against the real store (SQLite and PostgreSQL): everyone
authenticated reads them, operators and safety officers acknowledge (once), filters and
bad query parameters (422 naming the parameter), evidence with the image crop."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from controller.alerts import (
    Alert,
    AlertAlreadyAcknowledged,
    AlertNotFound,
    ImageCrop,
    Location,
    Reading,
    Severity,
)
from controller.api.app import StoreAlertDesk
from controller.service import Controller
from tests.controller.api.conftest import USERS, Api

JPEG = b"\xff\xd8\xff\xe0crop-of-a-flame\xff\xd9"


def controller(api: Api) -> Controller:
    assert api.controller is not None
    return api.controller


def raise_alert(api: Api, severity: str = "error", **kw: Any) -> Alert:
    kw.setdefault("hazard", "gas_toxic")
    return controller(api).raise_alert(
        f"test/{uuid.uuid4().hex[:10]}", severity=severity, title=f"{severity} alert", **kw
    )


def test_openapi_lists_the_alert_paths(api: Api) -> None:
    paths = api.http.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/alerts",
        "/api/v1/alerts/{alert_id}",
        "/api/v1/alerts/{alert_id}/acknowledge",
    ):
        assert path in paths


@pytest.mark.parametrize("user", sorted(USERS))
def test_every_role_reads_operators_and_safety_officers_acknowledge(api: Api, user: str) -> None:
    a = raise_alert(api)
    assert api.get(None, "/alerts").status_code == 401
    assert api.get(user, "/alerts").status_code == 200
    assert api.get(user, f"/alerts/{a.id}").status_code == 200
    r = api.post(user, f"/alerts/{a.id}/acknowledge", json={"note": "seen"})
    if USERS[user] in ("operator", "safety_officer"):
        assert r.status_code == 200, r.text
        assert r.json()["acknowledged_by"] == user
    else:
        assert r.status_code == 403
        assert r.json()["detail"] == f"role {USERS[user]} may not acknowledge alerts"
        stored = api.store.get_alert(a.id)
        assert stored is not None and not stored.acknowledged
    assert api.post(None, f"/alerts/{a.id}/acknowledge").status_code == 401


def test_detail_has_the_evidence(api: Api) -> None:
    reading = Reading(raise_alert(api).raised_at, "H2S", 25.0, "ppm")
    a = raise_alert(
        api,
        "critical",
        hazard="fire",
        value=0.9,
        unit="confidence",
        robot="acme/R1",
        location=Location(1.5, 2.5, "unit-7"),
        readings=[reading],
        image=ImageCrop(JPEG, (10, 20, 30, 40)),
    )
    r = api.get("vic", f"/alerts/{a.id}")
    assert r.status_code == 200
    body = r.json()
    assert body["severity"] == "critical" and body["hazard"] == "fire"
    assert body["location"] == {"x_m": 1.5, "y_m": 2.5, "map_id": "unit-7"}
    assert body["readings"] == [
        {
            "at": reading.at.isoformat().replace("+00:00", "Z"),
            "channel": "H2S",
            "value": 25.0,
            "unit": "ppm",
            "status": "ok",
        }
    ]
    assert body["image"]["bbox"] == [10, 20, 30, 40]
    assert base64.b64decode(body["image"]["jpeg_base64"]) == JPEG
    assert body["has_image"] and body["active"] and body["open"]
    listed = api.get("vic", "/alerts").json()["items"]
    assert {i["id"] for i in listed} >= {a.id}
    assert all("image" not in i for i in listed)  # the list carries no image bytes
    r = api.get("vic", "/alerts/al-nope")
    assert r.status_code == 404 and "al-nope" in r.json()["detail"]


def test_acknowledge_once_404_and_note(api: Api) -> None:
    a = raise_alert(api)
    r = api.post("olga", f"/alerts/{a.id}/acknowledge", json={"note": "area closed"})
    assert r.status_code == 200
    assert (r.json()["ack_note"], r.json()["acknowledged_by"]) == ("area closed", "olga")
    again = api.post("sofia", f"/alerts/{a.id}/acknowledge")
    assert again.status_code == 409 and "olga" in again.json()["detail"]
    assert api.post("olga", "/alerts/al-nope/acknowledge").status_code == 404
    b = raise_alert(api)
    assert api.post("sofia", f"/alerts/{b.id}/acknowledge").status_code == 200  # no body


def test_filters(api: Api) -> None:
    warn = raise_alert(api, "warn", robot="acme/R1")
    err = raise_alert(api, "error", robot="acme/R2")
    crit = raise_alert(api, "critical", hazard="oxygen", robot="acme/R1")
    controller(api).clear_alert(warn.key)  # warn: closed once cleared
    controller(api).clear_alert(err.key)  # error: latched until acknowledged
    api.post("olga", f"/alerts/{crit.id}/acknowledge")

    def ids(**params: Any) -> set[str]:
        r = api.get("erin", "/alerts", params=params)
        assert r.status_code == 200, r.text
        return {i["id"] for i in r.json()["items"]}

    assert ids() == {warn.id, err.id, crit.id}
    assert ids(open="true") == {err.id, crit.id}
    assert ids(unacknowledged="true") == {warn.id, err.id}
    assert ids(severity="error") == {err.id, crit.id}
    assert ids(robot="acme/R1") == {warn.id, crit.id}
    assert ids(hazard="oxygen") == {crit.id}
    assert ids(since=warn.raised_at.isoformat()) == {warn.id, err.id, crit.id}
    assert ids(since="2999-01-01T00:00:00Z") == set()
    assert len(ids(limit=1)) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"severity": "panic"}, "severity"),
        ({"hazard": "ufo"}, "hazard"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-12-03T08:00:00"}, "since"),  # no time zone
        ({"limit": 0}, "limit"),
        ({"open": "maybe"}, "open"),
    ],
)
def test_bad_query_is_422_naming_the_parameter(
    api: Api, params: dict[str, Any], field: str
) -> None:
    r = api.get("vic", "/alerts", params=params)
    assert r.status_code == 422
    assert [item["field"] for item in r.json()["detail"]] == [field]


def test_a_bad_ack_body_is_422_naming_the_field(api: Api) -> None:
    a = raise_alert(api)
    r = api.post("olga", f"/alerts/{a.id}/acknowledge", json={"note": "x" * 3000})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "note"
    r = api.post("olga", f"/alerts/{a.id}/acknowledge", json={"nope": 1})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "nope"
    stored = api.store.get_alert(a.id)
    assert stored is not None and not stored.acknowledged


def test_unknown_severity_from_a_detector_is_critical(api: Api) -> None:
    a = raise_alert(api, "apocalyptic")
    assert a.severity is Severity.CRITICAL
    assert api.get("vic", f"/alerts/{a.id}").json()["severity"] == "critical"


def test_without_a_controller_the_store_is_the_desk(api: Api) -> None:
    a = raise_alert(api, "warn")
    desk = StoreAlertDesk(api.store)
    assert desk.alert(a.id) == api.store.get_alert(a.id)
    assert a.id in {x.id for x in desk.alerts()}
    acked = desk.acknowledge(a.id, "olga", "seen")
    assert acked.acknowledged_by == "olga" and acked.acknowledged_at is not None
    with pytest.raises(AlertAlreadyAcknowledged):
        desk.acknowledge(a.id, "sam")
    with pytest.raises(AlertNotFound):
        desk.acknowledge("al-nope", "sam")


def test_the_hazard_picture_is_served_to_every_role(api: Api) -> None:
    assert api.get(None, "/hazard-picture").status_code == 401
    for user in USERS:
        r = api.get(user, "/hazard-picture")
        assert r.status_code == 200, r.text
        body = r.json()
        assert {"grid", "gas", "gas_sources", "radiation_source", "first_seen"} <= set(body)
        assert body["grid"]["cell_m"] == 0.5 and body["grid"]["nx"] > 0
    assert "/api/v1/hazard-picture" in api.http.get("/openapi.json").json()["paths"]


def test_without_a_controller_there_is_no_picture(api: Api) -> None:
    import httpx

    from controller.api.app import create_app
    from tests.controller.api.conftest import ServerThread

    app = create_app(api.service, api.store, robots=lambda: [])
    token = api.tokens[next(iter(USERS))]
    with ServerThread(app) as base, httpx.Client(base_url=base, timeout=10.0) as client:
        r = client.get("/api/v1/hazard-picture", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404 and "no hazard picture" in r.json()["detail"]
