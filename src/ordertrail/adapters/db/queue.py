"""The embedded queue: broker operations on the `queue_messages` table of the same database.

Claims are safe for several worker processes. On PostgreSQL a claim locks candidate rows with
`FOR UPDATE SKIP LOCKED` and leases them (`locked_until`), so concurrent workers take different
rows without waiting; on SQLite the claim runs in a `BEGIN IMMEDIATE` transaction, which makes
claims one at a time. A lease that runs out (its worker died) makes the row available again.

Per-order ordering within a lane: a row is handed out only when no earlier row of the same order
is still in the lane, whether leased, waiting for a retry or just queued. Acknowledged rows are
deleted and dead-lettered rows move to `dead_letters`, so "still in the lane" is "unsettled".
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Connection, Engine, delete, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from ordertrail.adapters.db.dead_letter_store import (
    encode_headers,
    insert_dead_letter,
    message_from_row,
)
from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.tables import queue_messages
from ordertrail.services.messaging import Delivery, Message
from ordertrail.services.ports import Clock

LEASE_S_MAX = 3_600
RECEIVE_LIMIT_MAX = 1_000

_earlier = aliased(queue_messages)


def _owner() -> str:
    """Who holds a lease: host and process for an operator, a random part for uniqueness."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class SqlQueue:
    def __init__(self, engine: Engine, *, clock: Clock, lease_s: float) -> None:
        if not 0 < lease_s <= LEASE_S_MAX:
            raise ValueError(f"the lease must be between 0 and {LEASE_S_MAX} seconds")
        self._engine = engine
        self._clock = clock
        self._lease = timedelta(seconds=lease_s)
        self._postgres = engine.dialect.name == "postgresql"
        self._insert = postgresql.insert if self._postgres else sqlite.insert

    def _write(self) -> Connection:
        return self._engine.connect().execution_options(**{WRITE_OPTION: True})

    def publish(self, messages: Sequence[Message]) -> None:
        """Enqueue `messages` in one transaction; its commit is the confirm.

        A message id already in its lane is not enqueued twice: a relay that resends a batch
        whose confirm it lost changes nothing.
        """
        if not messages:
            return
        now = self._clock.now()
        rows = [
            {
                "tenant_id": m.tenant_id,
                "message_id": m.message_id,
                "lane": m.lane,
                "order_id": m.order_id,
                "event_type": m.event_type,
                "body": m.body,
                "headers": encode_headers(m),
                "enqueued_at": now,
                "available_at": now,
                "attempts": 0,
            }
            for m in messages
        ]
        statement = self._insert(queue_messages).on_conflict_do_nothing(
            index_elements=["lane", "message_id"]
        )
        with self._write() as connection:
            connection.execute(statement, rows)
            connection.commit()

    def receive(self, *, lane: str, limit: int) -> list[Delivery]:
        limit = max(1, min(limit, RECEIVE_LIMIT_MAX))
        now = self._clock.now()
        q = queue_messages
        earlier_unsettled = (
            select(literal(1))
            .where(
                _earlier.c.lane == q.c.lane,
                _earlier.c.tenant_id == q.c.tenant_id,
                _earlier.c.order_id == q.c.order_id,
                _earlier.c.id < q.c.id,
            )
            .exists()
        )
        query = (
            select(q)
            .where(
                q.c.lane == lane,
                q.c.available_at <= now,
                or_(q.c.locked_until.is_(None), q.c.locked_until <= now),
                ~earlier_unsettled,
            )
            .order_by(q.c.id)
            .limit(limit)
        )
        # An idle worker looks without the write lock first: on SQLite a claim takes the
        # database's single write lock, which ingest needs far more than an empty poll does.
        with self._engine.connect() as connection:
            if connection.execute(query.with_only_columns(q.c.id)).first() is None:
                return []
        if self._postgres:
            query = query.with_for_update(skip_locked=True, of=q)
        lease = _owner()
        with self._write() as connection:
            rows = connection.execute(query).all()
            if rows:
                connection.execute(
                    update(q)
                    .where(q.c.id.in_([row.id for row in rows]))
                    .values(locked_until=now + self._lease, locked_by=lease)
                )
            connection.commit()
        return [
            Delivery(
                message=message_from_row(row),
                attempts=row.attempts,
                first_failed_at=row.first_failed_at,
                tag=json.dumps([row.id, lease]),
            )
            for row in rows
        ]

    def ack(self, *, tag: str) -> None:
        # Unconditional: the effects committed, so the row is done whoever holds its lease now.
        row_id, _ = json.loads(tag)
        with self._write() as connection:
            connection.execute(delete(queue_messages).where(queue_messages.c.id == row_id))
            connection.commit()

    def retry(self, *, tag: str, error: str, delay_s: float) -> None:
        row_id, lease = json.loads(tag)
        now = self._clock.now()
        q = queue_messages
        with self._write() as connection:
            # Only the lease holder reschedules: a worker whose lease ran out (and whose
            # message another worker took) must not move it.
            connection.execute(
                update(q)
                .where(q.c.id == row_id, q.c.locked_by == lease)
                .values(
                    attempts=q.c.attempts + 1,
                    available_at=now + timedelta(seconds=delay_s),
                    first_failed_at=func.coalesce(q.c.first_failed_at, now),
                    last_failed_at=now,
                    last_error=error,
                    locked_until=None,
                    locked_by=None,
                )
            )
            connection.commit()

    def dead_letter(self, *, tag: str, consumer: str, error: str) -> None:
        row_id, lease = json.loads(tag)
        now = self._clock.now()
        q = queue_messages
        query = select(q).where(q.c.id == row_id, q.c.locked_by == lease)
        if self._postgres:
            query = query.with_for_update()
        with self._write() as connection:
            row = connection.execute(query).first()
            if row is None:
                return  # the lease ran out and another worker holds the message now
            insert_dead_letter(
                connection,
                message=message_from_row(row),
                consumer=consumer,
                error=error,
                attempts=row.attempts + 1,
                first_failed_at=row.first_failed_at or now,
                last_failed_at=now,
            )
            connection.execute(delete(q).where(q.c.id == row_id))
            connection.commit()
