"""``store_url``: every store test runs once on SQLite and once on PostgreSQL.

* ``sqlite``: a fresh database file in the test's tmp directory;
* ``postgresql``: a fresh schema in database ``test`` on 127.0.0.1:5432 (user postgres),
  selected through libpq's ``options=-csearch_path=...`` in the URL so the Store needs no
  special support; dropped after the test, so parallel runs and other users of the
  database are not disturbed.  Skipped when PostgreSQL is not reachable.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controller.store import Store
from tests.databases import KINDS, fresh_database


@pytest.fixture(params=KINDS)
def store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with fresh_database(request.param, tmp_path_factory.mktemp("store")) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on ``store_url``, closed after the test."""
    with Store(store_url) as opened:
        opened.migrate()
        yield opened
