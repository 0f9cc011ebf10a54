"""``store_url``: every store test runs once on SQLite and once on PostgreSQL.

* ``sqlite``: a fresh database file in the test's tmp directory;
* ``postgresql``: a fresh schema in database ``test`` on 127.0.0.1:5432 (user postgres),
  selected through libpq's ``options=-csearch_path=...`` in the URL so the Store needs no
  special support; dropped after the test, so parallel runs and other users of the
  database are not disturbed.  Skipped when PostgreSQL is not reachable.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from controller.store import Store

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_URL = f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/test"
PG_SKIP = "PostgreSQL not reachable on 127.0.0.1:5432"


def _pg_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
    ]
)
def store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("store") / "hazfleet.db"
        yield f"sqlite:///{path}"
        return
    if not _pg_reachable():
        pytest.skip(PG_SKIP)
    schema = f"hz_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        pytest.skip(f"{PG_SKIP}: {exc}")
    try:
        yield f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on ``store_url``, closed after the test."""
    with Store(store_url) as opened:
        opened.migrate()
        yield opened
