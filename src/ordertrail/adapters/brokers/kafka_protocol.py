"""InitProducerId v3 for aiokafka, so its idempotent producer also works on brokers that need it.

aiokafka 0.14 only speaks InitProducerId v0, which carries no producer id or epoch. Apache Kafka
reads v0 as "a new producer" and answers; Tansu (the Kafka-protocol broker the tests run) answers
v0 with UNKNOWN_SERVER_ERROR because it expects the producer id and epoch that v3 added (KIP-360),
set to -1 for a new producer. This module adds v3 to the request aiokafka's sender builds: the
client then sends the highest version both sides support, v3 to Kafka 2.5+ and Tansu, v0 to older
brokers, and v3 with -1/-1 means exactly what v0 meant. Nothing else in aiokafka changes.

`install` swaps the request class the sender module looks up; it is idempotent and is called
when a Kafka broker first builds a producer, never at import time.
"""

from __future__ import annotations

from typing import Any

import aiokafka.producer.sender as aiokafka_sender
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.transaction import InitProducerIdRequest_v0
from aiokafka.protocol.types import CompactString, Int16, Int32, Int64, Schema, TaggedFields

# -1/-1: "a new producer id, please" (KIP-360).
NEW_PRODUCER = -1


class InitProducerIdResponse_v3(Response):  # type: ignore[misc]  # noqa: N801 - aiokafka's naming
    API_KEY = 22
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("tags", TaggedFields),
    )


class InitProducerIdRequest_v3(RequestStruct):  # type: ignore[misc]  # noqa: N801 - aiokafka's naming
    API_KEY = 22
    API_VERSION = 3
    FLEXIBLE_VERSION = True
    RESPONSE_TYPE = InitProducerIdResponse_v3
    SCHEMA = Schema(
        ("transactional_id", CompactString("utf-8")),
        ("transaction_timeout_ms", Int32),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("tags", TaggedFields),
    )


class InitProducerIdRequest(Request[InitProducerIdRequest_v0 | InitProducerIdRequest_v3]):  # type: ignore[misc]
    """aiokafka's InitProducerIdRequest builder, knowing v3 as well as v0."""

    API_KEY = 22

    def __init__(self, transactional_id: str | None, transaction_timeout_ms: int) -> None:
        self._transactional_id = transactional_id
        self._transaction_timeout_ms = transaction_timeout_ms

    def build(self, request_struct_class: type[Any]) -> Any:
        if request_struct_class.API_VERSION >= 3:
            return request_struct_class(
                self._transactional_id, self._transaction_timeout_ms, NEW_PRODUCER, NEW_PRODUCER, {}
            )
        return request_struct_class(self._transactional_id, self._transaction_timeout_ms)


def install() -> None:
    """Make aiokafka's producers ask for their producer id with v3 where the broker has it."""
    aiokafka_sender.InitProducerIdRequest = InitProducerIdRequest
