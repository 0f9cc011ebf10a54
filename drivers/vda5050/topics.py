"""VDA 5050 MQTT topics as value objects, with the QoS and retain flag of each topic.

Topic layout (section 6.3): ``interfaceName/majorVersion/manufacturer/serialNumber/topic``,
e.g. ``uagv/v2/KIT/0001/order``.

Topic contract (section 6.2, 6.14, 6.15):

================  ===  ======  ==========================================================
topic             QoS  retain  why
================  ===  ======  ==========================================================
order             0    no      standard: QoS 0
instantActions    0    no      standard: QoS 0
state             0    no      standard: QoS 0
visualization     0    no      standard: QoS 0
connection        1    yes     standard: QoS 1, "sent with a retained flag" (last will)
factsheet         0    yes     standard 6.15: "sent with a retained flag" (also our
                               choice: a controller started later still sees it)
================  ===  ======  ==========================================================
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from drivers.errors import ProtocolError
from drivers.vda5050.messages import (
    Connection,
    Factsheet,
    InstantActions,
    Order,
    State,
    VdaMessage,
    Visualization,
)


class TopicName(StrEnum):
    """The six standard topic names (the last topic level)."""

    ORDER = "order"
    INSTANT_ACTIONS = "instantActions"
    STATE = "state"
    VISUALIZATION = "visualization"
    CONNECTION = "connection"
    FACTSHEET = "factsheet"


TOPIC_QOS_RETAIN: dict[TopicName, tuple[int, bool]] = {
    TopicName.ORDER: (0, False),
    TopicName.INSTANT_ACTIONS: (0, False),
    TopicName.STATE: (0, False),
    TopicName.VISUALIZATION: (0, False),
    TopicName.CONNECTION: (1, True),
    TopicName.FACTSHEET: (0, True),
}

MODEL_FOR_TOPIC: dict[TopicName, type[VdaMessage]] = {
    TopicName.ORDER: Order,
    TopicName.INSTANT_ACTIONS: InstantActions,
    TopicName.STATE: State,
    TopicName.VISUALIZATION: Visualization,
    TopicName.CONNECTION: Connection,
    TopicName.FACTSHEET: Factsheet,
}

DEFAULT_MAJOR = "v2"

# Section 6.3: serialNumber (and, by our choice, manufacturer) use only these characters.
_ID_RE = re.compile(r"[A-Za-z0-9_.:-]+")
_MAJOR_RE = re.compile(r"v[0-9]+")
# Any other level: non-empty, no level separator, no MQTT wildcard, no '$' (section 6.3).
_FORBIDDEN_IN_LEVEL = frozenset("/+#$\x00")


def _level_problem(what: str, value: str, *, id_chars: bool) -> str | None:
    """Why ``value`` cannot be the ``what`` topic level, or None if it can."""
    if not isinstance(value, str) or not value:
        return f"{what} must be a non-empty string, got {value!r}"
    if id_chars:
        if _ID_RE.fullmatch(value) is None:
            return f"{what} {value!r} may contain only A-Z a-z 0-9 _ . : -"
    elif _FORBIDDEN_IN_LEVEL.intersection(value):
        return f"{what} {value!r} must not contain '/', '+', '#', '$' or NUL"
    return None


@dataclass(frozen=True, slots=True)
class Topic:
    """One concrete VDA 5050 topic.  ``str(topic)`` is the MQTT topic string.

    ``name`` is usually a :class:`TopicName`, but any legal level is allowed so that
    extension topics (e.g. the controller heartbeat) share the same layout.

    Raises:
        ValueError: on construction with an illegal level (a programming error);
            :meth:`parse` turns the same checks into ProtocolError for wire input.
    """

    interface: str
    manufacturer: str
    serial: str
    name: str
    major: str = DEFAULT_MAJOR

    def __post_init__(self) -> None:
        problem = _topic_problem(
            self.interface, self.major, self.manufacturer, self.serial, self.name
        )
        if problem is not None:
            raise ValueError(problem)

    def __str__(self) -> str:
        return f"{self.interface}/{self.major}/{self.manufacturer}/{self.serial}/{self.name}"

    @property
    def kind(self) -> TopicName | None:
        """The standard topic this is, or None for an extension topic."""
        try:
            return TopicName(self.name)
        except ValueError:
            return None

    def sibling(self, name: str) -> Topic:
        """The topic ``name`` of the same vehicle (e.g. state -> order)."""
        return Topic(self.interface, self.manufacturer, self.serial, name, self.major)

    @classmethod
    def parse(cls, text: str) -> Topic:
        """``uagv/v2/KIT/0001/order`` -> Topic.

        Raises:
            ProtocolError: (source = ``text``) if it does not have five levels or a level
                holds illegal characters.
        """
        levels = text.split("/")
        if len(levels) != 5:
            raise ProtocolError(
                text,
                "topic",
                f"expected 5 levels interface/major/manufacturer/serial/topic, got {len(levels)}",
            )
        interface, major, manufacturer, serial, name = levels
        problem = _topic_problem(interface, major, manufacturer, serial, name)
        if problem is not None:
            raise ProtocolError(text, "topic", problem)
        return cls(interface, manufacturer, serial, name, major)

    @staticmethod
    def filter(
        interface: str,
        name: str,
        manufacturer: str = "+",
        serial: str = "+",
        major: str = DEFAULT_MAJOR,
    ) -> str:
        """An MQTT subscription filter; ``+`` (the default) matches any vehicle.

        Raises:
            ValueError: if a non-wildcard level is illegal.
        """
        checks = (
            ("interface", interface, False),
            ("major version", major, False),
            ("manufacturer", manufacturer, True),
            ("serial number", serial, True),
            ("topic name", name, False),
        )
        for what, value, id_chars in checks:
            if value == "+":
                continue
            problem = _level_problem(what, value, id_chars=id_chars)
            if problem is not None:
                raise ValueError(problem)
        return f"{interface}/{major}/{manufacturer}/{serial}/{name}"


@functools.lru_cache(maxsize=4096)  # every message parses its topic; a fleet has few
def _topic_problem(
    interface: str, major: str, manufacturer: str, serial: str, name: str
) -> str | None:
    for what, value, id_chars in (
        ("interface", interface, False),
        ("manufacturer", manufacturer, True),
        ("serial number", serial, True),
        ("topic name", name, False),
    ):
        problem = _level_problem(what, value, id_chars=id_chars)
        if problem is not None:
            return problem
    if not isinstance(major, str) or _MAJOR_RE.fullmatch(major) is None:
        return f"major version {major!r} must look like 'v2'"
    return None


def qos_retain(name: str) -> tuple[int, bool]:
    """(QoS, retain) for a standard topic name; (0, False) for any other topic."""
    try:
        return TOPIC_QOS_RETAIN[TopicName(name)]
    except ValueError:
        return (0, False)


__all__ = [
    "DEFAULT_MAJOR",
    "MODEL_FOR_TOPIC",
    "TOPIC_QOS_RETAIN",
    "Topic",
    "TopicName",
    "qos_retain",
]
