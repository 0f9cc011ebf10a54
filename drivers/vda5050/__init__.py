"""VDA 5050 v2.1 wire layer: message models, MQTT topics, and the JSON codec.

* :mod:`drivers.vda5050.messages`: frozen pydantic models, field names = JSON names;
* :mod:`drivers.vda5050.topics`: :class:`Topic` value object, QoS/retain per topic;
* :mod:`drivers.vda5050.codec`: encode/decode with ProtocolError, timestamps, headerIds.
"""

from drivers.vda5050.codec import (
    DEFAULT_VERSION,
    SUPPORTED_VERSIONS,
    HeaderCounter,
    decode,
    describe_validation_error,
    encode,
    format_timestamp,
    has_unknown_fields,
    is_supported_version,
    parse_timestamp,
    unknown_fields,
)
from drivers.vda5050.messages import *  # noqa: F403
from drivers.vda5050.messages import __all__ as _messages_all
from drivers.vda5050.topics import (
    DEFAULT_MAJOR,
    MODEL_FOR_TOPIC,
    TOPIC_QOS_RETAIN,
    Topic,
    TopicName,
    qos_retain,
)

__all__ = [
    *_messages_all,
    "DEFAULT_MAJOR",
    "DEFAULT_VERSION",
    "MODEL_FOR_TOPIC",
    "SUPPORTED_VERSIONS",
    "TOPIC_QOS_RETAIN",
    "HeaderCounter",
    "Topic",
    "TopicName",
    "decode",
    "describe_validation_error",
    "encode",
    "format_timestamp",
    "is_supported_version",
    "has_unknown_fields",
    "parse_timestamp",
    "qos_retain",
    "unknown_fields",
]
