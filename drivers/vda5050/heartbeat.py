"""The controller heartbeat: hazfleet's extension topic beside the VDA 5050 ones.

Topic ``{interface}/hazfleet/{controllerId}/heartbeat``, retained; outside the
``v2/{manufacturer}/{serial}`` tree so that no robot-topic subscription matches it.
ONLINE on start and every ``intervalMs``, OFFLINE on a clean stop, CONNECTIONBROKEN as
the controller's MQTT last will.  Robots pause themselves after 3 x ``intervalMs``
without an ONLINE beat.  Specified for integrators in ``docs/protocol.md``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from drivers.vda5050.messages import ConnectionState, UInt32

HEARTBEAT_QOS = 1
"""QoS of the robots' subscription and of every change of state (first ONLINE, OFFLINE,
the CONNECTIONBROKEN will): these must arrive"""
BEAT_QOS = 0
"""QoS of the periodic ONLINE repeats: a lost one is replaced by the next, as VDA 5050
sends its periodic ``state`` at QoS 0 (and a QoS 1 beat cost every robot an
acknowledgement per interval)"""
HEARTBEAT_RETAIN = True
DEFAULT_INTERVAL_MS = 1000
MISSED_BEATS = 3
"""a robot pauses after this many intervals without an ONLINE beat"""


def heartbeat_topic(interface: str, controller_id: str) -> str:
    return f"{interface}/hazfleet/{controller_id}/heartbeat"


def heartbeat_filter(interface: str) -> str:
    """What a robot subscribes: the heartbeat of any controller on this interface."""
    return f"{interface}/hazfleet/+/heartbeat"


class Heartbeat(BaseModel):
    """One heartbeat message.  Unknown extra fields are ignored so the payload may grow."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    headerId: UInt32
    timestamp: StrictStr
    """UTC, ``YYYY-MM-DDTHH:mm:ss.ffZ``"""
    version: StrictStr
    controllerId: StrictStr = Field(min_length=1)
    connectionState: ConnectionState
    intervalMs: StrictInt = Field(default=DEFAULT_INTERVAL_MS, gt=0)
    """the period, in milliseconds, at which ONLINE is repeated"""
