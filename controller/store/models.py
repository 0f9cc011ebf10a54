"""The ORM tables of the mission store (SQLAlchemy 2.x typed declarative).

These classes never leave :mod:`controller.store`: :class:`~controller.store.store.Store`
converts rows into the plain dataclasses of :mod:`controller.store.records`.

The schema is created and changed only by the Alembic migrations in
``controller/store/migrations/versions``; a test compares the migrated schema with this
metadata so the two cannot drift apart.

Every timestamp column is :class:`UtcDateTime`: timezone-aware UTC in and out on every
backend (SQLite has no time-zone type and would otherwise hand back naive values).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints, so that later migrations can refer to them by a stable name on every
# backend (SQLite would otherwise leave them anonymous).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC in Python on every backend.

    Binding a naive datetime raises :class:`ValueError`: the store cannot guess its zone.
    SQLite keeps the UTC wall time as text (so that text order is time order); PostgreSQL
    keeps ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: the store needs a time zone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # SQLAlchemy reads this class attribute once, at mapping time.
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


class MissionRow(Base):
    """One mission: its request (JSON) and where it is in the lifecycle."""

    __tablename__ = "missions"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String, index=True)
    site: Mapped[str] = mapped_column(String, index=True)
    priority: Mapped[str] = mapped_column(String, index=True)
    state: Mapped[str] = mapped_column(String, index=True)
    request: Mapped[dict[str, Any]]
    submitted_by: Mapped[str] = mapped_column(String)
    approved_by: Mapped[str | None] = mapped_column(String)
    idempotency_key: Mapped[str | None] = mapped_column(String, unique=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    # Bumped by every transition: the optimistic lock (see Store.transition).
    version: Mapped[int] = mapped_column(Integer)
    robot: Mapped[str | None] = mapped_column(String)
    order_id: Mapped[str | None] = mapped_column(String)
    outcome_reason: Mapped[str | None] = mapped_column(Text)


class TransitionRow(Base):
    """One lifecycle transition of a mission: who, when, why.  ``seq`` counts from 1."""

    __tablename__ = "mission_transitions"
    __table_args__ = (UniqueConstraint("mission_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mission_id: Mapped[str] = mapped_column(ForeignKey("missions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    from_state: Mapped[str | None] = mapped_column(String)
    to_state: Mapped[str] = mapped_column(String)
    by: Mapped[str] = mapped_column(String)
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)


class ReleaseRow(Base):
    """A scheduler decision about one occurrence of a mission's schedule."""

    __tablename__ = "mission_releases"
    __table_args__ = (UniqueConstraint("mission_id", "occurrence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mission_id: Mapped[str] = mapped_column(ForeignKey("missions.id", ondelete="CASCADE"))
    occurrence: Mapped[datetime]
    status: Mapped[str] = mapped_column(String)  # "released" | "missed"
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)


class UserRow(Base):
    """An API user.  Only the hash of the bearer token is kept, never the token."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    role: Mapped[str] = mapped_column(String)
    token_hash: Mapped[str] = mapped_column(String, unique=True)
    created_at: Mapped[datetime]


class AlertRow(Base):
    """One alert (``controller.alerts.Alert``); its readings as a JSON list.

    ``severity_rank`` (info 0 … critical 3) is kept next to the name so that "severity at
    least" is a comparison in SQL."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    key: Mapped[str] = mapped_column(String, index=True)
    severity: Mapped[str] = mapped_column(String)
    severity_rank: Mapped[int] = mapped_column(Integer, index=True)
    hazard: Mapped[str] = mapped_column(String, index=True)
    title: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String)
    threshold: Mapped[float | None] = mapped_column(Float)
    x_m: Mapped[float | None] = mapped_column(Float)
    y_m: Mapped[float | None] = mapped_column(Float)
    map_id: Mapped[str | None] = mapped_column(String)
    robot: Mapped[str | None] = mapped_column(String, index=True)
    mission: Mapped[str | None] = mapped_column(String)
    readings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    raised_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
    occurrences: Mapped[int] = mapped_column(Integer)
    peak: Mapped[float | None] = mapped_column(Float)
    acknowledged_by: Mapped[str | None] = mapped_column(String)
    acknowledged_at: Mapped[datetime | None]
    ack_note: Mapped[str] = mapped_column(Text)


class AlertImageRow(Base):
    """The image crop of an alert's evidence: JPEG bytes and the box it was cut from (px).
    A table of its own so that listing alerts does not drag images along."""

    __tablename__ = "alert_images"

    alert_id: Mapped[str] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    bbox_x: Mapped[int] = mapped_column(Integer)
    bbox_y: Mapped[int] = mapped_column(Integer)
    bbox_w: Mapped[int] = mapped_column(Integer)
    bbox_h: Mapped[int] = mapped_column(Integer)


__all__ = [
    "NAMING_CONVENTION",
    "AlertImageRow",
    "AlertRow",
    "Base",
    "MissionRow",
    "ReleaseRow",
    "TransitionRow",
    "UserRow",
    "UtcDateTime",
]
