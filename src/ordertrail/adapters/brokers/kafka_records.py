"""How a message travels as a Kafka record: its key, its value and the headers around it.

The key is the tenant and order id (`tenant/order`): order ids are unique per tenant only, and the
key decides the partition, so every message of an order shares one. The value is the milestone
JSON. The message's own headers (`traceparent` and the like) travel as they are; Ordertrail's own
start with `ordertrail-`, and a failure adds its attempt count, first failure, error and, on a
retry topic, the wall-clock time the retry is due.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

from aiokafka.structs import ConsumerRecord

from ordertrail.services.messaging import Message

OURS = "ordertrail-"
H_MESSAGE_ID, H_TENANT, H_ORDER = f"{OURS}message-id", f"{OURS}tenant-id", f"{OURS}order-id"
H_LANE, H_TYPE, H_CREATED = f"{OURS}lane", f"{OURS}event-type", f"{OURS}created-at"
H_ATTEMPTS, H_FIRST_FAILED = f"{OURS}attempts", f"{OURS}first-failed-at"
H_ERROR, H_CONSUMER, H_DUE = f"{OURS}last-error", f"{OURS}dead-consumer", f"{OURS}due-at"
ERROR_HEADER_CHARS_MAX = 1_000

# aiokafka ships no type information, so a record is as typed as aiokafka makes it.
Record: TypeAlias = ConsumerRecord
Headers: TypeAlias = list[tuple[str, bytes]]


class ForeignRecord(ValueError):
    """A record on one of our topics that Ordertrail did not write (its headers are missing)."""


def partition_key(message: Message) -> bytes:
    return f"{message.tenant_id}/{message.order_id}".encode()


def record_headers(message: Message, extra: dict[str, str]) -> Headers:
    """The message's own headers, then ours, then `extra` (a failure's history)."""
    ours = {
        H_MESSAGE_ID: message.message_id,
        H_TENANT: message.tenant_id,
        H_ORDER: message.order_id,
        H_LANE: message.lane,
        H_TYPE: message.event_type,
        H_CREATED: message.created_at.isoformat(),
        **extra,
    }
    return [(name, value.encode()) for name, value in {**message.headers, **ours}.items()]


def failure_headers(
    *, attempts: int, first_failed_at: datetime, error: str, **more: str
) -> dict[str, str]:
    return {
        H_ATTEMPTS: str(attempts),
        H_FIRST_FAILED: first_failed_at.isoformat(),
        H_ERROR: error[:ERROR_HEADER_CHARS_MAX],
        **more,
    }


def due_s(record: Record) -> float:
    """When a retry record is due (Unix time); 0 for a record that is not a retry."""
    for name, value in record.headers:
        if name == H_DUE:
            return float(value.decode())
    return 0.0


def parse_record(record: Record) -> tuple[Message, int, datetime | None]:
    """The message a record carries, its failed attempts and its first failure."""
    try:
        headers = {name: value.decode() for name, value in record.headers}
        first_failed = headers.get(H_FIRST_FAILED)
        message = Message(
            message_id=headers[H_MESSAGE_ID],
            tenant_id=headers[H_TENANT],
            order_id=headers[H_ORDER],
            lane=headers[H_LANE],
            event_type=headers[H_TYPE],
            body=(record.value or b"").decode(),
            created_at=datetime.fromisoformat(headers[H_CREATED]),
            headers={name: value for name, value in headers.items() if not name.startswith(OURS)},
        )
        attempts = int(headers.get(H_ATTEMPTS, "0"))
        first_failed_at = None if first_failed is None else datetime.fromisoformat(first_failed)
    except (KeyError, ValueError) as error:  # UnicodeDecodeError is a ValueError
        raise ForeignRecord(f"not an Ordertrail message: {error!r}") from error
    return message, attempts, first_failed_at
