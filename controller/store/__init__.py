"""The mission store: missions, their history, schedule releases and API users in SQL
(SQLite by default, PostgreSQL by URL), with Alembic migrations shipped in the package.

:class:`Store` is the one entry point; it takes and returns the plain dataclasses below.
"""

from controller.store.records import (
    RELEASE_STATUSES,
    MissionRecord,
    NewMission,
    ReleaseRecord,
    ReleaseStatus,
    TransitionRecord,
    UserRecord,
)
from controller.store.store import DEFAULT_URL, TRANSITION_FIELDS, Store

__all__ = [
    "DEFAULT_URL",
    "RELEASE_STATUSES",
    "TRANSITION_FIELDS",
    "MissionRecord",
    "NewMission",
    "ReleaseRecord",
    "ReleaseStatus",
    "Store",
    "TransitionRecord",
    "UserRecord",
]
