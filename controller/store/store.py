"""The mission store: every mission, its history, schedule releases, API users and alerts.

Nothing a safety officer submits may be lost, so every write is one database transaction
that either happens completely or not at all, and concurrent writers are serialised by the
database itself, not by this process:

* a transition is one ``UPDATE missions ... WHERE id = :id AND state = :expected [AND
  version = :v]`` that bumps ``version``; whoever loses a race matches no row and gets a
  :class:`LifecycleError`, so two controllers (or two API requests) can never both move
  the same mission;
* a duplicate idempotency key or release occurrence is refused by a UNIQUE constraint, so
  a race between two submitters still creates one mission.

Backends: SQLite (the default, ``sqlite:///hazfleet.db``) and PostgreSQL
(``postgresql+psycopg://user@host:5432/db``).  On SQLite, foreign keys are switched on,
the journal is WAL (readers never block the writer), and SQLAlchemy emits BEGIN itself
because the ``sqlite3`` module's legacy mode leaves SELECTs outside transactions; write
transactions use ``BEGIN IMMEDIATE`` so that a writer waits for the lock up front rather
than failing on upgrade.  A ``sqlite://`` in-memory database is one shared connection with
calls serialised in-process: for tests only.

Alerts (:mod:`controller.alerts`): the store is an :class:`~controller.alerts.AlertSink`.
An alert and its image crop are written in one transaction; an acknowledgement is one
``UPDATE alerts ... WHERE id = :id AND acknowledged_at IS NULL``, so of two operators
acknowledging at once exactly one succeeds and the other gets
:class:`~controller.alerts.AlertAlreadyAcknowledged`.

Errors: database failures become :class:`StoreError` raised ``from`` the original; a
missing mission is a :class:`MissionError` ("no mission X"); a transition that finds the
mission in another state or version is a :class:`LifecycleError`.  Contract violations by
the caller (a naive datetime, an unknown field) raise :class:`ValueError` /
:class:`TypeError`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, and_, create_engine, event, or_, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from controller.alerts import (
    LATCHING,
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
from controller.store.models import (
    AlertImageRow,
    AlertRow,
    MissionRow,
    ReleaseRow,
    TransitionRow,
    UserRow,
)
from controller.store.records import (
    RELEASE_STATUSES,
    MissionRecord,
    NewMission,
    ReleaseRecord,
    TransitionRecord,
    UserRecord,
)
from drivers.errors import HazfleetError, LifecycleError, MissionError, StoreError

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///hazfleet.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Columns a transition may set besides state, version and updated_at.
TRANSITION_FIELDS = frozenset({"approved_by", "robot", "order_id", "outcome_reason"})

# How long a SQLite writer waits for another writer's lock before giving up, in seconds.
SQLITE_BUSY_TIMEOUT_S = 15.0

# Execution option that marks a write transaction (SQLite: BEGIN IMMEDIATE).
_WRITE_OPTION = "hazfleet_write"

# Missions whose history is fetched per query: keeps bound parameters well below every
# backend's limit (SQLite allows 32766 in one statement).
_HISTORY_CHUNK = 500

# Any constant: the PostgreSQL advisory lock that serialises concurrent migrate() calls.
_MIGRATE_LOCK_ID = 0x48415A46  # "HAZF"


class Store:
    """Missions, transitions, releases and users in one SQL database.

    Thread-safe: each call runs in its own session and transaction.  Call :meth:`migrate`
    once at start-up before anything else; :meth:`close` at shutdown.
    """

    def __init__(self, url: str = DEFAULT_URL) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            # (the URL itself is not repeated: it may hold a password)
            raise StoreError(f"bad database URL: {exc}") from exc
        self._backend = parsed.get_backend_name()
        memory = self._backend == "sqlite" and _is_sqlite_memory(parsed.database, parsed.query)
        kwargs: dict[str, Any] = {"pool_pre_ping": self._backend != "sqlite"}
        if self._backend == "sqlite":
            connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
            if memory:
                # One shared connection, or every pooled connection would see its own empty
                # database; calls are serialised below because the connection is shared.
                connect_args["check_same_thread"] = False
                kwargs["poolclass"] = StaticPool
            kwargs["connect_args"] = connect_args
        try:
            self._engine: Engine = create_engine(parsed, **kwargs)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise StoreError(f"cannot use database URL {_safe(url)}: {exc}") from exc
        if self._backend == "sqlite":
            _configure_sqlite(self._engine, wal=not memory)
        # PostgreSQL runs each statement of a READ COMMITTED transaction on its own snapshot;
        # a mission and its history must come from one (read-only, so never a conflict).
        reader = (
            self._engine.execution_options(isolation_level="REPEATABLE READ")
            if self._backend == "postgresql"
            else self._engine
        )
        self._reads = sessionmaker(reader, expire_on_commit=False)
        self._writes = sessionmaker(
            self._engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False
        )
        self._serial: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if memory else contextlib.nullcontext()
        )
        self.url = self._engine.url.render_as_string(hide_password=True)

    # ----------------------------------------------------------------------- lifecycle

    def migrate(self) -> None:
        """Bring the schema up to the newest migration (a no-op when it already is).

        Runs the Alembic migrations shipped in ``controller/store/migrations`` in one
        transaction, with a Config built in code (no ``alembic.ini``).
        """
        config = self._alembic_config()
        with self._serial:
            try:
                writer = self._engine.execution_options(**{_WRITE_OPTION: True})
                with writer.begin() as connection:
                    if self._backend == "postgresql":
                        # Two controllers starting together must not both create tables.
                        connection.execute(
                            text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATE_LOCK_ID}
                        )
                    before = MigrationContext.configure(connection).get_current_revision()
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                    after = MigrationContext.configure(connection).get_current_revision()
            except SQLAlchemyError as exc:
                raise StoreError(f"{self.url}: migration failed: {_orig(exc)}") from exc
            except CommandError as exc:
                # Typically a database migrated by a newer hazfleet than this one.
                raise StoreError(f"{self.url}: migration failed: {exc}") from exc
        if before != after:
            log.info("store %s migrated from %s to %s", self.url, before or "empty", after)
        else:
            log.debug("store %s already at revision %s", self.url, after)

    def revision(self) -> str | None:
        """The schema revision the database is at (None for a database never migrated)."""
        with self._serial:
            try:
                with self._engine.connect() as connection:
                    return MigrationContext.configure(connection).get_current_revision()
            except SQLAlchemyError as exc:
                raise StoreError(f"{self.url}: cannot read revision: {_orig(exc)}") from exc

    def head_revision(self) -> str | None:
        """The newest revision shipped with this code."""
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def close(self) -> None:
        """Close every pooled connection.  The store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------------ missions

    def create_mission(
        self, record: NewMission, first: TransitionRecord, idempotency_key: str | None = None
    ) -> tuple[MissionRecord, bool]:
        """Store a new mission and its first transition in one transaction.

        The mission starts in ``first.to_state`` with version 1; ``first.at`` is its
        ``created_at``.  If ``idempotency_key`` was used before, nothing is written and the
        mission created then is returned with ``False`` (even under a race between two
        submitters).  A mission id that exists already is a :class:`StoreError`.
        """
        if first.mission_id != record.id:
            raise ValueError(f"first transition is for {first.mission_id!r}, not {record.id!r}")
        _check_json(record.id, record.request)
        _require_aware(first.at, "first.at")
        if idempotency_key is not None:
            existing = self._mission_by_key(idempotency_key)
            if existing is not None:
                log.info("mission %s: idempotency key already used, not created", existing.id)
                return existing, False
        row = MissionRow(
            id=record.id,
            name=record.name,
            template=record.template,
            site=record.site,
            priority=str(record.priority),
            state=str(first.to_state),
            request=record.request,
            submitted_by=record.submitted_by,
            approved_by=None,
            idempotency_key=idempotency_key,
            created_at=first.at,
            updated_at=first.at,
            version=1,
            robot=record.robot,
            order_id=None,
            outcome_reason=None,
        )
        transition = _transition_row(first, seq=1)
        try:
            with self._session(f"create mission {record.id}", write=True, integrity=True) as s:
                s.add(row)
                s.flush()  # the mission first: the transition refers to it
                s.add(transition)
                s.flush()
                created = _mission_record(row, [_transition_record(transition)])
        except IntegrityError as exc:
            return self._after_create_conflict(record.id, idempotency_key, exc), False
        log.info("mission %s created in state %s by %s", record.id, row.state, first.by)
        return created, True

    def get_mission(self, mission_id: str) -> MissionRecord | None:
        """The mission with its whole history, or None if there is no such mission."""
        with self._session(f"read mission {mission_id}") as s:
            row = s.get(MissionRow, mission_id)
            if row is None:
                return None
            return _mission_record(row, self._history(s, [mission_id]).get(mission_id, []))

    def list_missions(
        self,
        state: str | None = None,
        priority: str | None = None,
        template: str | None = None,
        site: str | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        history: bool = True,
    ) -> list[MissionRecord]:
        """Missions matching every given filter, oldest first (by ``created_at``, then id).

        ``history=False`` leaves each record's history empty (cheaper for large lists).
        """
        if limit < 0 or offset < 0:
            raise ValueError(f"limit and offset must be >= 0 (got {limit}, {offset})")
        query = select(MissionRow)
        for column, value in (
            (MissionRow.state, state),
            (MissionRow.priority, priority),
            (MissionRow.template, template),
            (MissionRow.site, site),
        ):
            if value is not None:
                query = query.where(column == str(value))
        query = query.order_by(MissionRow.created_at, MissionRow.id).limit(limit).offset(offset)
        return self._missions(query, "list missions", history)

    def missions_in(self, states: Iterable[str], *, history: bool = True) -> list[MissionRecord]:
        """Every mission in one of ``states``, oldest first (for the scheduler and for
        resuming after a restart)."""
        wanted = sorted({str(s) for s in states})
        if not wanted:
            return []
        query = (
            select(MissionRow)
            .where(MissionRow.state.in_(wanted))
            .order_by(MissionRow.created_at, MissionRow.id)
        )
        return self._missions(query, f"read missions in {', '.join(wanted)}", history)

    def transition(
        self,
        mission_id: str,
        expected_state: str,
        new_state: str,
        by: str,
        at: datetime,
        reason: str = "",
        *,
        expected_version: int | None = None,
        **fields: str | None,
    ) -> MissionRecord:
        """Move a mission from ``expected_state`` to ``new_state`` and record who, when, why.

        Atomic and race-safe: the state (and ``expected_version``, when given: the version
        the caller read) is checked by the UPDATE itself, so of two concurrent callers at
        most one succeeds.  ``fields`` may also set ``approved_by``, ``robot``,
        ``order_id`` and ``outcome_reason``.  Whether the move is legal is the lifecycle's
        business (``missions.lifecycle``), not the store's.

        Raises :class:`MissionError` if there is no such mission and
        :class:`LifecycleError` if it is no longer in ``expected_state`` / at the version.
        """
        unknown = set(fields) - TRANSITION_FIELDS
        if unknown:
            raise TypeError(f"transition() cannot set {', '.join(sorted(unknown))}")
        _require_aware(at, "at")
        expected, target = str(expected_state), str(new_state)
        condition = [MissionRow.id == mission_id, MissionRow.state == expected]
        if expected_version is not None:
            condition.append(MissionRow.version == expected_version)
        statement = (
            update(MissionRow)
            .where(*condition)
            .values(state=target, version=MissionRow.version + 1, updated_at=at, **fields)
            .returning(MissionRow.version)
            .execution_options(synchronize_session=False)
        )
        with self._session(f"transition mission {mission_id}", write=True) as s:
            version = s.execute(statement).scalar_one_or_none()
            if version is None:
                raise self._refusal(s, mission_id, expected, target, expected_version)
            # One transition per version: seq == the version it produced (creation is 1).
            s.add(
                _transition_row(
                    TransitionRecord(mission_id, expected, target, by, at, reason), seq=version
                )
            )
            s.flush()
            row = s.get(MissionRow, mission_id, populate_existing=True)
            assert row is not None  # we just updated it inside this transaction
            record = _mission_record(row, self._history(s, [mission_id]).get(mission_id, []))
        log.info("mission %s: %s -> %s by %s (%s)", mission_id, expected, target, by, reason)
        return record

    # ------------------------------------------------------------------------ releases

    def record_release(
        self, mission_id: str, occurrence: datetime, status: str, at: datetime, reason: str = ""
    ) -> bool:
        """Record the scheduler's decision for one occurrence; False if one was recorded
        already (so an occurrence is released or reported missed exactly once)."""
        if status not in RELEASE_STATUSES:
            raise ValueError(f"release status {status!r} is not one of {sorted(RELEASE_STATUSES)}")
        _require_aware(occurrence, "occurrence")
        _require_aware(at, "at")
        if self._release_exists(mission_id, occurrence):
            return False
        row = ReleaseRow(
            mission_id=mission_id, occurrence=occurrence, status=status, at=at, reason=reason
        )
        try:
            with self._session(f"record release of {mission_id}", write=True, integrity=True) as s:
                s.add(row)
                s.flush()
        except IntegrityError as exc:
            if self._release_exists(mission_id, occurrence):
                return False  # another scheduler recorded it between our check and insert
            if self.get_mission(mission_id) is None:
                raise MissionError(f"no mission {mission_id}") from exc
            raise StoreError(f"record release of {mission_id}: {_orig(exc)}") from exc
        log.info("mission %s: occurrence %s %s", mission_id, occurrence.isoformat(), status)
        return True

    def releases(self, mission_id: str) -> list[ReleaseRecord]:
        """Every recorded release decision of a mission, by occurrence."""
        query = (
            select(ReleaseRow)
            .where(ReleaseRow.mission_id == mission_id)
            .order_by(ReleaseRow.occurrence)
        )
        with self._session(f"read releases of {mission_id}") as s:
            return [
                ReleaseRecord(r.mission_id, r.occurrence, r.status, r.at, r.reason)
                for r in s.scalars(query)
            ]

    # --------------------------------------------------------------------------- users

    def add_user(
        self, name: str, role: str, token_hash: str, *, created_at: datetime | None = None
    ) -> None:
        """Add an API user.  A taken name or token hash is a :class:`StoreError`.

        ``created_at`` defaults to the current UTC time (user creation is an admin action
        outside any simulated clock).
        """
        when = created_at if created_at is not None else datetime.now(UTC)
        _require_aware(when, "created_at")
        row = UserRow(name=name, role=str(role), token_hash=token_hash, created_at=when)
        try:
            with self._session(f"add user {name}", write=True, integrity=True) as s:
                s.add(row)
                s.flush()
        except IntegrityError as exc:
            with self._session(f"read user {name}") as s:
                taken = s.get(UserRow, name) is not None
            problem = "already exists" if taken else "has a token hash already in use"
            raise StoreError(f"user {name} {problem}") from exc
        log.info("user %s added with role %s", name, role)

    def user_by_token_hash(self, token_hash: str) -> UserRecord | None:
        """The user whose token hashes to ``token_hash``, or None."""
        query = select(UserRow).where(UserRow.token_hash == token_hash)
        with self._session("look up user by token") as s:
            row = s.scalars(query).one_or_none()
            if row is None:
                return None
            return UserRecord(row.name, row.role, row.token_hash, row.created_at)

    # -------------------------------------------------------------------------- alerts

    def save_alert(self, alert: Alert) -> None:
        """Insert the alert or replace every field of it, image crop included, in one
        transaction."""
        for name in ("raised_at", "last_seen_at", "cleared_at", "acknowledged_at"):
            value = getattr(alert, name)
            if value is not None:
                _require_aware(value, f"alert.{name}")
        fields = _alert_fields(alert)
        with self._session(f"save alert {alert.id}", write=True) as s:
            row = s.get(AlertRow, alert.id)
            if row is None:
                s.add(AlertRow(id=alert.id, **fields))
                s.flush()  # the alert first: the image refers to it
            else:
                for name, value in fields.items():
                    setattr(row, name, value)
            image = s.get(AlertImageRow, alert.id)
            if alert.image is None:
                if image is not None:
                    s.delete(image)
            else:
                x, y, w, h = alert.image.bbox
                if image is None:
                    s.add(
                        AlertImageRow(
                            alert_id=alert.id,
                            jpeg=alert.image.jpeg,
                            bbox_x=x,
                            bbox_y=y,
                            bbox_w=w,
                            bbox_h=h,
                        )
                    )
                else:
                    image.jpeg = alert.image.jpeg
                    image.bbox_x, image.bbox_y, image.bbox_w, image.bbox_h = x, y, w, h
            s.flush()
        log.debug("alert %s saved (%s, %s)", alert.id, alert.severity, alert.title)

    def get_alert(self, alert_id: str) -> Alert | None:
        """The alert with its evidence, or None."""
        with self._session(f"read alert {alert_id}") as s:
            row = s.get(AlertRow, alert_id)
            if row is None:
                return None
            return _alert(row, s.get(AlertImageRow, alert_id))

    def list_alerts(self, query: AlertQuery | None = None) -> list[Alert]:
        """Alerts matching every filter of ``query``, newest first (``raised_at``, id)."""
        query = query if query is not None else AlertQuery()
        if query.limit < 0 or query.offset < 0:
            raise ValueError(f"limit and offset must be >= 0 (got {query.limit}, {query.offset})")
        statement = select(AlertRow)
        if query.open:
            latching = min(s.rank for s in LATCHING)
            statement = statement.where(
                or_(
                    AlertRow.cleared_at.is_(None),
                    and_(AlertRow.severity_rank >= latching, AlertRow.acknowledged_at.is_(None)),
                )
            )
        if query.unacknowledged:
            statement = statement.where(AlertRow.acknowledged_at.is_(None))
        if query.min_severity is not None:
            statement = statement.where(AlertRow.severity_rank >= query.min_severity.rank)
        if query.robot is not None:
            statement = statement.where(AlertRow.robot == query.robot)
        if query.hazard is not None:
            statement = statement.where(AlertRow.hazard == str(query.hazard))
        if query.since is not None:
            _require_aware(query.since, "since")
            statement = statement.where(AlertRow.raised_at >= query.since)
        statement = (
            statement.order_by(AlertRow.raised_at.desc(), AlertRow.id.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        with self._session("list alerts") as s:
            rows: Sequence[AlertRow] = s.scalars(statement).all()
            images: dict[str, AlertImageRow] = {}
            ids = [r.id for r in rows]
            for start in range(0, len(ids), _HISTORY_CHUNK):
                chunk = ids[start : start + _HISTORY_CHUNK]
                for image in s.scalars(
                    select(AlertImageRow).where(AlertImageRow.alert_id.in_(chunk))
                ):
                    images[image.alert_id] = image
            return [_alert(r, images.get(r.id)) for r in rows]

    def acknowledge_alert(self, alert_id: str, who: str, at: datetime, note: str = "") -> Alert:
        """Record who acknowledged the alert, when and why, unless someone did before.

        Raises :class:`AlertNotFound` or :class:`AlertAlreadyAcknowledged`.
        """
        _require_aware(at, "at")
        statement = (
            update(AlertRow)
            .where(AlertRow.id == alert_id, AlertRow.acknowledged_at.is_(None))
            .values(acknowledged_by=who, acknowledged_at=at, ack_note=note)
            .returning(AlertRow.id)
            .execution_options(synchronize_session=False)
        )
        with self._session(f"acknowledge alert {alert_id}", write=True) as s:
            done = s.execute(statement).scalar_one_or_none()
            row = s.get(AlertRow, alert_id, populate_existing=True)
            if row is None:
                raise AlertNotFound(alert_id)
            alert = _alert(row, s.get(AlertImageRow, alert_id))
            if done is None:
                raise AlertAlreadyAcknowledged(alert)
        log.info("alert %s acknowledged by %s", alert_id, who)
        return alert

    # ------------------------------------------------------------------------- helpers

    @contextlib.contextmanager
    def _session(
        self, what: str, *, write: bool = False, integrity: bool = False
    ) -> Iterator[Session]:
        """One session and transaction; database errors become :class:`StoreError`.

        With ``integrity=True`` an :class:`IntegrityError` is re-raised untranslated for
        the caller to interpret (a duplicate key is an answer there, not a fault).
        """
        factory = self._writes if write else self._reads
        with self._serial:
            try:
                with factory() as session, session.begin():
                    yield session
            except HazfleetError:
                raise
            except IntegrityError as exc:
                if integrity:
                    raise
                raise StoreError(f"{self.url}: {what}: {_orig(exc)}") from exc
            except SQLAlchemyError as exc:
                raise StoreError(f"{self.url}: {what}: {_orig(exc)}{_hint(exc)}") from exc

    def _alembic_config(self) -> Config:
        config = Config()
        # configparser interpolates '%': escape it in the path.
        config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
        return config

    def _mission_by_key(self, key: str) -> MissionRecord | None:
        query = select(MissionRow).where(MissionRow.idempotency_key == key)
        records = self._missions(query, "look up idempotency key", history=True)
        return records[0] if records else None

    def _after_create_conflict(
        self, mission_id: str, key: str | None, exc: IntegrityError
    ) -> MissionRecord:
        if key is not None:
            existing = self._mission_by_key(key)
            if existing is not None:
                log.info("mission %s: idempotency key raced, returning existing", existing.id)
                return existing
        if self.get_mission(mission_id) is not None:
            raise StoreError(f"mission {mission_id} already exists") from exc
        raise StoreError(f"create mission {mission_id}: {_orig(exc)}") from exc

    def _refusal(
        self,
        s: Session,
        mission_id: str,
        expected: str,
        target: str,
        expected_version: int | None,
    ) -> MissionError:
        row = s.get(MissionRow, mission_id, populate_existing=True)
        if row is None:
            return MissionError(f"no mission {mission_id}")
        if row.state != expected:
            problem = f"it is {row.state}, not {expected} (changed meanwhile?)"
        else:
            problem = f"it changed meanwhile (version {row.version}, expected {expected_version})"
        return LifecycleError(mission_id, row.state, target, problem)

    def _release_exists(self, mission_id: str, occurrence: datetime) -> bool:
        query = select(ReleaseRow.id).where(
            ReleaseRow.mission_id == mission_id, ReleaseRow.occurrence == occurrence
        )
        with self._session(f"read release of {mission_id}") as s:
            return s.execute(query).first() is not None

    def _missions(self, query: Any, what: str, history: bool) -> list[MissionRecord]:
        with self._session(what) as s:
            rows: Sequence[MissionRow] = s.scalars(query).all()
            histories = self._history(s, [r.id for r in rows]) if history else {}
            return [_mission_record(r, histories.get(r.id, [])) for r in rows]

    @staticmethod
    def _history(s: Session, mission_ids: Collection[str]) -> dict[str, list[TransitionRecord]]:
        ids = list(mission_ids)
        result: dict[str, list[TransitionRecord]] = {}
        for start in range(0, len(ids), _HISTORY_CHUNK):
            chunk = ids[start : start + _HISTORY_CHUNK]
            query = (
                select(TransitionRow)
                .where(TransitionRow.mission_id.in_(chunk))
                .order_by(TransitionRow.mission_id, TransitionRow.seq)
            )
            for row in s.scalars(query):
                result.setdefault(row.mission_id, []).append(_transition_record(row))
        return result


# ----------------------------------------------------------------------------- helpers


def _is_sqlite_memory(database: str | None, query: Any) -> bool:
    return not database or database == ":memory:" or query.get("mode") == "memory"


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy emit BEGIN (see _on_begin): the sqlite3 module's legacy mode would
        # run SELECTs outside the transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            if wal:
                # WAL: readers do not block the writer.  synchronous stays FULL (the
                # default): a committed mission must survive a power cut.
                cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A writer takes the write lock at BEGIN (waiting up to the busy timeout) instead of
        # failing later when a read snapshot cannot be upgraded.
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime ({value.isoformat()}); give a time zone")


def _check_json(mission_id: str, request: dict[str, Any]) -> None:
    try:
        json.dumps(request, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"mission {mission_id}: request is not plain JSON: {exc}") from exc


def _transition_row(record: TransitionRecord, *, seq: int) -> TransitionRow:
    return TransitionRow(
        mission_id=record.mission_id,
        seq=seq,
        from_state=None if record.from_state is None else str(record.from_state),
        to_state=str(record.to_state),
        by=record.by,
        at=record.at,
        reason=record.reason,
    )


def _transition_record(row: TransitionRow) -> TransitionRecord:
    return TransitionRecord(
        mission_id=row.mission_id,
        from_state=row.from_state,
        to_state=row.to_state,
        by=row.by,
        at=row.at,
        reason=row.reason,
        seq=row.seq,
    )


def _mission_record(row: MissionRow, history: list[TransitionRecord]) -> MissionRecord:
    return MissionRecord(
        id=row.id,
        name=row.name,
        template=row.template,
        site=row.site,
        priority=row.priority,
        state=row.state,
        request=row.request,
        submitted_by=row.submitted_by,
        approved_by=row.approved_by,
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        robot=row.robot,
        order_id=row.order_id,
        outcome_reason=row.outcome_reason,
        history=history,
    )


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _alert_fields(a: Alert) -> dict[str, Any]:
    """Every column of an alert's row but its id."""
    return {
        "key": a.key,
        "severity": a.severity.value,
        "severity_rank": a.severity.rank,
        "hazard": a.hazard.value,
        "title": a.title,
        "value": _finite(a.value),
        "unit": a.unit,
        "threshold": _finite(a.threshold),
        "x_m": None if a.location is None else _finite(a.location.x_m),
        "y_m": None if a.location is None else _finite(a.location.y_m),
        "map_id": None if a.location is None else a.location.map_id,
        "robot": a.robot,
        "mission": a.mission,
        # JSON has no NaN (PostgreSQL refuses it): a reading that is not a number is None
        "readings": [
            {
                "at": r.at.isoformat(),
                "channel": r.channel,
                "value": _finite(r.value),
                "unit": r.unit,
                "status": r.status,
            }
            for r in a.readings
        ],
        "raised_at": a.raised_at,
        "last_seen_at": a.last_seen_at,
        "cleared_at": a.cleared_at,
        "occurrences": a.occurrences,
        "peak": _finite(a.peak),
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": a.acknowledged_at,
        "ack_note": a.ack_note,
    }


def _alert(row: AlertRow, image: AlertImageRow | None) -> Alert:
    location = (
        Location(row.x_m, row.y_m, row.map_id)
        if row.x_m is not None and row.y_m is not None
        else None
    )
    return Alert(
        id=row.id,
        key=row.key,
        severity=Severity.parse(row.severity),
        hazard=Hazard.parse(row.hazard),
        title=row.title,
        raised_at=row.raised_at,
        last_seen_at=row.last_seen_at,
        value=row.value,
        unit=row.unit,
        threshold=row.threshold,
        location=location,
        robot=row.robot,
        mission=row.mission,
        readings=tuple(
            Reading(
                datetime.fromisoformat(r["at"]),
                r["channel"],
                r["value"],
                r["unit"],
                r.get("status", "ok"),
            )
            for r in row.readings
        ),
        image=None
        if image is None
        else ImageCrop(image.jpeg, (image.bbox_x, image.bbox_y, image.bbox_w, image.bbox_h)),
        cleared_at=row.cleared_at,
        occurrences=row.occurrences,
        peak=row.peak,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        ack_note=row.ack_note,
    )


def _orig(exc: SQLAlchemyError) -> str:
    """The driver's own message, on one line."""
    original = getattr(exc, "orig", None)
    message = str(original if original is not None else exc)
    return " ".join(message.split())


def _hint(exc: SQLAlchemyError) -> str:
    message = _orig(exc).lower()
    if "no such table" in message or ("does not exist" in message and "relation" in message):
        return " (has Store.migrate() been run on this database?)"
    return ""


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"
