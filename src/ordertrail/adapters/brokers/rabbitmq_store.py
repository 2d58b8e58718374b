"""What the RabbitMQ broker keeps in the database: parked messages and broker-side dead letters.

Parking. RabbitMQ cannot hold one message back while letting the rest of its queue through, so a
message whose handler failed leaves the lane for the `queue_messages` table (the embedded
broker's), where it waits for its retry. While an order has a row there, every later message of
that order that comes off the lane is appended behind it, so the order's messages are handled
one after another, in their original order, retries included. The table's claims (leases,
`SKIP LOCKED`, "no earlier row of the same order") are the embedded queue's, reused unchanged.

Dead letters that RabbitMQ itself made (a message over the lane's delivery limit: its workers
kept dying on it) are recorded in `dead_letters` once, whatever redelivery of the dead queue
brings them again: a key derived from the message and its death, in the `inbox` table, commits
with the dead letter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from ordertrail.adapters.db.dead_letter_store import encode_headers, insert_dead_letter
from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.tables import inbox, queue_messages
from ordertrail.services.messaging import Message

# The inbox's consumer name for dead letters recorded from the broker's dead queue.
DEAD_QUEUE_RECORDER = "rabbitmq-dead-queue"
ORDERS_PER_QUERY_MAX = 1_000


@dataclass(frozen=True, slots=True)
class Parked:
    """A message to append to its order's parked list, with its retry state so far."""

    message: Message
    attempts: int
    available_at: datetime
    first_failed_at: datetime | None = None
    last_failed_at: datetime | None = None
    last_error: str | None = None


def _write(engine: Engine) -> Connection:
    return engine.connect().execution_options(**{WRITE_OPTION: True})


def _insert_for(connection: Connection) -> Callable[[Table], postgresql.Insert | sqlite.Insert]:
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def park(engine: Engine, *, parked: Sequence[Parked], now: datetime) -> None:
    """Append messages to their orders' parked lists, in the given order, in one transaction.

    A message already parked (a redelivery of one whose ack was lost) is not parked twice.
    """
    if not parked:
        return
    rows = [
        {
            "tenant_id": p.message.tenant_id,
            "message_id": p.message.message_id,
            "lane": p.message.lane,
            "order_id": p.message.order_id,
            "event_type": p.message.event_type,
            "body": p.message.body,
            "headers": encode_headers(p.message),
            "enqueued_at": now,
            "available_at": p.available_at,
            "attempts": p.attempts,
            "first_failed_at": p.first_failed_at,
            "last_failed_at": p.last_failed_at,
            "last_error": p.last_error,
        }
        for p in parked
    ]
    with _write(engine) as connection:
        insert = _insert_for(connection)
        for row in rows:
            # One statement per row keeps the ids in the given order on both databases.
            connection.execute(
                insert(queue_messages).on_conflict_do_nothing(
                    index_elements=["lane", "message_id"]
                ),
                row,
            )
        connection.commit()


def parked_orders(
    engine: Engine, *, lane: str, orders: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of `orders` (tenant id, order id) have a message parked in `lane`."""
    wanted = set(orders)
    if not wanted:
        return set()
    if len(wanted) > ORDERS_PER_QUERY_MAX:
        raise ValueError(f"at most {ORDERS_PER_QUERY_MAX} orders per look-up")
    q = queue_messages
    query = (
        select(q.c.tenant_id, q.c.order_id)
        .where(q.c.lane == lane, q.c.order_id.in_(sorted({order for _, order in wanted})))
        .distinct()
    )
    with engine.connect() as connection:
        found = {(tenant, order) for tenant, order in connection.execute(query)}
    return found & wanted


def dead_queue_key(*, message_id: str, death: str) -> str:
    """The inbox key of one death of one message: the same for every redelivery of it."""
    return "dead:" + hashlib.sha256(f"{message_id}\n{death}".encode()).hexdigest()


def record_broker_dead_letter(
    engine: Engine,
    *,
    message: Message,
    key: str,
    consumer: str,
    error: str,
    attempts: int,
    first_failed_at: datetime,
    now: datetime,
) -> bool:
    """Record a dead letter the broker made, once per `key`; say whether it was new."""
    with _write(engine) as connection:
        inserted = connection.execute(
            _insert_for(connection)(inbox)
            .on_conflict_do_nothing(index_elements=["consumer", "message_id"])
            .returning(inbox.c.message_id),
            {
                "consumer": DEAD_QUEUE_RECORDER,
                "message_id": key,
                "tenant_id": message.tenant_id,
                "processed_at": now,
            },
        ).first()
        if inserted is not None:
            insert_dead_letter(
                connection,
                message=message,
                consumer=consumer,
                error=error,
                attempts=attempts,
                first_failed_at=first_failed_at,
                last_failed_at=now,
            )
        connection.commit()
    return inserted is not None
