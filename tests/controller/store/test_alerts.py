"""Alerts in the store (SQLite and PostgreSQL): saved whole with their evidence, listed
with filters, acknowledged exactly once even under a race, kept across a restart, and a
database at revision 0001 with missions in it upgrades to alerts without losing any."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from controller.alerts import (
    Alert,
    AlertAlreadyAcknowledged,
    AlertNotFound,
    AlertQuery,
    Hazard,
    ImageCrop,
    Location,
    Reading,
    Severity,
)
from controller.store import Store
from controller.store.store import MIGRATIONS_DIR
from drivers.errors import StoreError

from .helpers import T0, at, create

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"


def alert(alert_id: str, **changes: object) -> Alert:
    base = Alert(
        id=alert_id,
        key=f"gas/acme/R1/H2S/HIGH/{alert_id}",
        severity=Severity.ERROR,
        hazard=Hazard.GAS_TOXIC,
        title="H2S HIGH: 25 ppm (set point 20 ppm)",
        raised_at=T0,
        last_seen_at=T0,
        value=25.0,
        unit="ppm",
        threshold=20.0,
        location=Location(3.5, -1.25, "unit-7"),
        robot="acme/R1",
        mission="m-1",
        readings=(
            Reading(T0 - timedelta(seconds=1), "H2S", 12.0, "ppm"),
            Reading(T0, "H2S", 25.0, "ppm"),
            Reading(T0, "H2S", None, "ppm", "fault"),
        ),
        peak=25.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_an_alert_is_saved_whole_and_updated_in_place(store: Store) -> None:
    a = alert("al-1", image=ImageCrop(JPEG, (10, 20, 64, 48)))
    store.save_alert(a)
    assert store.get_alert("al-1") == a
    later = replace(
        a,
        last_seen_at=at(5),
        occurrences=7,
        peak=31.5,
        cleared_at=at(6),
        image=ImageCrop(JPEG[:100], (1, 2, 3, 4)),
        readings=(*a.readings, Reading(at(6), "H2S", 3.0, "ppm")),
    )
    store.save_alert(later)
    assert store.get_alert("al-1") == later
    store.save_alert(replace(later, image=None))
    got = store.get_alert("al-1")
    assert got is not None and got.image is None
    assert store.get_alert("al-nope") is None
    assert len(store.list_alerts()) == 1


def test_not_a_number_is_stored_as_no_value(store: Store) -> None:
    store.save_alert(
        alert("al-1", value=float("nan"), readings=(Reading(T0, "H2S", float("inf"), "ppm"),))
    )
    got = store.get_alert("al-1")
    assert got is not None and got.value is None and got.readings[0].value is None


def test_list_filters(store: Store) -> None:
    store.save_alert(alert("a-warn", severity=Severity.WARN, raised_at=at(1), cleared_at=at(2)))
    store.save_alert(alert("a-err-latched", raised_at=at(2), cleared_at=at(3)))
    store.save_alert(
        alert(
            "a-err-acked",
            raised_at=at(3),
            cleared_at=at(4),
            acknowledged_by="olga",
            acknowledged_at=at(4),
        )
    )
    store.save_alert(
        alert(
            "a-crit",
            severity=Severity.CRITICAL,
            hazard=Hazard.OXYGEN,
            robot="acme/R2",
            raised_at=at(4),
        )
    )

    def ids(**kw: object) -> list[str]:
        return [a.id for a in store.list_alerts(AlertQuery(**kw))]  # type: ignore[arg-type]

    assert ids() == ["a-crit", "a-err-acked", "a-err-latched", "a-warn"]  # newest first
    # open: the condition is on, or it latched (error and above, not acknowledged)
    assert ids(open=True) == ["a-crit", "a-err-latched"]
    assert ids(unacknowledged=True) == ["a-crit", "a-err-latched", "a-warn"]
    assert ids(min_severity=Severity.ERROR) == ["a-crit", "a-err-acked", "a-err-latched"]
    assert ids(min_severity=Severity.CRITICAL) == ["a-crit"]
    assert ids(robot="acme/R2") == ["a-crit"]
    assert ids(hazard=Hazard.GAS_TOXIC, since=at(2)) == ["a-err-acked", "a-err-latched"]
    assert ids(limit=2, offset=1) == ["a-err-acked", "a-err-latched"]
    with pytest.raises(ValueError, match="naive"):
        store.list_alerts(AlertQuery(since=at(0).replace(tzinfo=None)))


def test_acknowledge_once(store: Store) -> None:
    store.save_alert(alert("al-1"))
    acked = store.acknowledge_alert("al-1", "olga", at(1), "seen, area closed")
    assert (acked.acknowledged_by, acked.acknowledged_at, acked.ack_note) == (
        "olga",
        at(1),
        "seen, area closed",
    )
    assert store.get_alert("al-1") == acked
    with pytest.raises(AlertAlreadyAcknowledged, match="olga"):
        store.acknowledge_alert("al-1", "sam", at(2))
    assert store.get_alert("al-1") == acked  # unchanged
    with pytest.raises(AlertNotFound):
        store.acknowledge_alert("al-nope", "sam", at(2))


def test_concurrent_acknowledgements_one_wins(store: Store) -> None:
    store.save_alert(alert("al-1"))
    results: list[str] = []
    barrier = threading.Barrier(4)

    def ack(who: str) -> None:
        barrier.wait()
        try:
            store.acknowledge_alert("al-1", who, at(1))
            results.append("ok")
        except AlertAlreadyAcknowledged:
            results.append("refused")

    threads = [threading.Thread(target=ack, args=(f"op{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(results) == ["ok", "refused", "refused", "refused"]


def test_a_failed_save_writes_nothing(store: Store) -> None:
    bad = alert("al-1", image=ImageCrop(JPEG, (0, 0, 1, 1)), raised_at=T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="naive"):
        store.save_alert(bad)
    assert store.get_alert("al-1") is None


def test_an_update_whose_image_fails_changes_nothing(store: Store) -> None:
    a = alert("al-1")
    store.save_alert(a)
    broken = ImageCrop(None, (0, 0, 1, 1))  # type: ignore[arg-type]  # NOT NULL refuses it
    with pytest.raises(StoreError, match="save alert al-1"):
        store.save_alert(replace(a, occurrences=9, cleared_at=at(3), image=broken))
    assert store.get_alert("al-1") == a  # the alert row's update was rolled back too


def test_alerts_survive_a_restart(store_url: str) -> None:
    with Store(store_url) as first:
        first.migrate()
        first.save_alert(alert("al-1", image=ImageCrop(JPEG, (1, 2, 3, 4))))
        before = first.get_alert("al-1")
    with Store(store_url) as again:
        again.migrate()
        assert again.get_alert("al-1") == before
        assert [a.id for a in again.list_alerts(AlertQuery(open=True))] == ["al-1"]


def test_upgrade_from_0001_keeps_the_missions(store_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    engine = create_engine(store_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
    finally:
        engine.dispose()
    with Store(store_url) as store:
        assert store.revision() == "0001"
        create(store, "m-1", key="k-1")
        store.transition("m-1", "submitted", "approved", "sam", at(1), approved_by="sam")
        store.add_user("olga", "operator", "b" * 64, created_at=at(0))
        before = store.list_missions()
        store.migrate()
        assert store.revision() == "0002"
        assert store.list_missions() == before
        assert store.user_by_token_hash("b" * 64) is not None
        store.save_alert(alert("al-1", mission="m-1"))
        assert store.get_alert("al-1") is not None
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM alerts")).scalar()
            assert count == 1
    finally:
        engine.dispose()
