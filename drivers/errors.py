"""The hazfleet exception tree.

::

    HazfleetError
    ├── ConfigError            bad config or scenario file (source, field path, problem)
    ├── ProtocolError          a wire payload we cannot accept (topic, field path, problem)
    ├── TransportError         the MQTT link or broker failed
    │   └── BrokerError        the embedded broker could not be started
    ├── StoreError             the mission store (database) failed or refused a write
    └── MissionError           a mission cannot be planned (unknown node, no route, ...)
        ├── LifecycleError     an illegal mission state transition
        └── PermitError        an approval the permit-to-work rules refuse

The root and the mission errors live in ``missions/errors.py`` (the pure domain raises
them and may not import from here); this module re-exports the whole tree.

Foreign errors (paho, pydantic, OSError, YAML) are translated at the boundary and raised
``from`` the original.  Expected outcomes (a mission that failed on the robot) are data,
not exceptions.
"""

from __future__ import annotations

from missions.errors import HazfleetError, LifecycleError, MissionError, PermitError

__all__ = [
    "BrokerError",
    "ConfigError",
    "HazfleetError",
    "LifecycleError",
    "MissionError",
    "PermitError",
    "ProtocolError",
    "StoreError",
    "TransportError",
]


class ConfigError(HazfleetError):
    """A config or scenario file is invalid.  ``str()`` is the one-line user message."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {problem}")


class ProtocolError(HazfleetError):
    """A message on the wire is malformed or violates the protocol."""

    def __init__(self, topic: str, field: str, problem: str) -> None:
        self.topic = topic
        self.field = field
        self.problem = problem
        where = f"{topic}: {field}" if field else topic
        super().__init__(f"{where}: {problem}")


class TransportError(HazfleetError):
    """The MQTT connection could not be made or was lost in a way we cannot recover."""


class BrokerError(TransportError):
    """The embedded broker could not be started or stopped."""


class StoreError(HazfleetError):
    """The mission store could not do what was asked: the database is unreachable or not
    migrated, or a write was refused (a duplicate user, a duplicate mission id).

    Raised ``from`` the SQLAlchemy / driver error; ``str()`` is the one-line message.
    """
