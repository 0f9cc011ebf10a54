"""Migrations from an empty database, restarts, and failures reported clearly."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from controller.store import Store
from controller.store.models import Base
from drivers.errors import StoreError

from .helpers import at, create, new_mission, submitted


def test_migrate_builds_the_schema_from_an_empty_database(store_url: str) -> None:
    with Store(store_url) as store:
        assert store.revision() is None
        store.migrate()
        assert store.revision() == store.head_revision() == "0002"
        store.migrate()  # again: a no-op
        assert store.revision() == "0002"

    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            assert {"missions", "mission_transitions", "mission_releases", "users"} <= tables
            assert {"alerts", "alert_images"} <= tables
            # The hand-written migration and the ORM models describe the same schema.
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_a_new_store_on_the_same_database_sees_everything(store_url: str) -> None:
    with Store(store_url) as first:
        first.migrate()
        create(first, "m-1", key="k-1")
        create(first, "m-2", when=at(1))
        first.transition("m-1", "submitted", "approved", "bob", at(2), approved_by="bob")
        first.record_release("m-1", at(3), "released", at(3))
        first.add_user("alice", "safety_officer", "a" * 64, created_at=at(0))
        before = first.list_missions()

    with Store(store_url) as restarted:
        restarted.migrate()  # what a restarted controller does first
        assert restarted.list_missions() == before
        assert [m.id for m in restarted.missions_in(["approved"])] == ["m-1"]
        assert restarted.releases("m-1")[0].occurrence == at(3)
        assert restarted.user_by_token_hash("a" * 64) is not None
        # the idempotency key survives the restart too
        _, created = restarted.create_mission(new_mission("m-3"), submitted("m-3"), "k-1")
        assert not created


def test_using_an_unmigrated_database_says_so(store_url: str) -> None:
    with Store(store_url) as store, pytest.raises(StoreError, match="migrate"):
        store.get_mission("m-1")


def test_bad_urls_are_store_errors() -> None:
    with pytest.raises(StoreError, match="bad database URL"):
        Store("not a url")
    with pytest.raises(StoreError, match="cannot use database URL"):
        Store("nosuchdb://x/y")


def test_sqlite_database_is_in_wal_mode(tmp_path: Any) -> None:
    # (Foreign keys being on is shown by test_release_of_unknown_mission_is_a_mission_error:
    # without them SQLite would accept the orphan release.)
    url = f"sqlite:///{tmp_path / 'h.db'}"
    with Store(url) as store:
        store.migrate()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()


def test_in_memory_sqlite_is_one_database_shared_by_threads() -> None:
    with Store("sqlite://") as store:
        store.migrate()
        worker = threading.Thread(target=lambda: create(store, "m-1"))
        worker.start()
        worker.join(timeout=10)
        got = store.get_mission("m-1")
        assert got is not None and got.state == "submitted"


def test_a_database_from_a_newer_hazfleet_is_refused(store_url: str) -> None:
    with Store(store_url) as store:
        store.migrate()
    engine = create_engine(store_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    with Store(store_url) as store, pytest.raises(StoreError, match=r"migration failed.*9999"):
        store.migrate()


def test_an_unreachable_database_is_a_store_error(tmp_path: Any) -> None:
    with Store(f"sqlite:///{tmp_path / 'missing-dir' / 'h.db'}") as store:
        with pytest.raises(StoreError, match="migration failed"):
            store.migrate()
        with pytest.raises(StoreError, match="read mission m-1"):
            store.get_mission("m-1")
