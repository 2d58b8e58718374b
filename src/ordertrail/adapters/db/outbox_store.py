"""The outbox as the relay reads it, and the lock that keeps a second relay on standby."""

from __future__ import annotations

import fcntl
import json
import os
import zlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.exc import DBAPIError

from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.tables import outbox
from ordertrail.services.messaging import Message, message_id_of

# One advisory lock key for "the relay" on a PostgreSQL database, derived from its name.
RELAY_LOCK_KEY = zlib.crc32(b"ordertrail.relay")


def _message(row: Any) -> Message:
    headers = {"traceparent": row.traceparent} if row.traceparent else {}
    return Message(
        message_id=message_id_of(tenant_id=row.tenant_id, event_id=row.event_id),
        tenant_id=row.tenant_id,
        order_id=row.order_id,
        lane=row.lane,
        event_type=row.event_type,
        body=row.body,
        created_at=row.created_at,
        headers=headers,
    )


class SqlOutboxStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def unpublished(self, *, lane: str, limit: int) -> list[tuple[int, Message]]:
        query = (
            select(outbox)
            .where(outbox.c.lane == lane, outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [(row.id, _message(row)) for row in connection.execute(query)]

    def mark_published(self, *, ids: Sequence[int], published_at: datetime) -> None:
        statement = (
            update(outbox)
            .where(outbox.c.id.in_(list(ids)), outbox.c.published_at.is_(None))
            .values(published_at=published_at)
        )
        with self._engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
            connection.execute(statement)
            connection.commit()


class PostgresRelayLock:
    """A session-level advisory lock, held on a connection of its own while the relay runs.

    If the relay's process dies its connection closes and PostgreSQL releases the lock, so a
    standby relay takes over on its next try.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            return True
        connection = self._engine.connect()
        taken = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": RELAY_LOCK_KEY}
        ).scalar_one()
        connection.commit()
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            held = self._connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND objid = :key"
                ),
                {"key": RELAY_LOCK_KEY},
            ).scalar_one()
            self._connection.commit()
        except DBAPIError:
            # The session is gone, and the server released its lock with it.
            connection, self._connection = self._connection, None
            connection.invalidate()
            return False
        return bool(held)

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": RELAY_LOCK_KEY})
            connection.commit()
        finally:
            connection.close()


class SqliteRelayLock:
    """An exclusive `flock` on a file beside the database: one relay per SQLite file.

    The kernel drops the lock when the holder's process dies, whatever way it dies.
    """

    def __init__(self, database: Path) -> None:
        self._path = database.with_name(database.name + ".relay-lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid()}).encode())
        self._fd = fd
        return True

    def still_held(self) -> bool:
        # A flock lasts as long as the open file; only release() or death ends it.
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def relay_lock_for(engine: Engine) -> PostgresRelayLock | SqliteRelayLock:
    """The relay lock that fits the engine's database."""
    if engine.dialect.name == "postgresql":
        return PostgresRelayLock(engine)
    database = engine.url.database
    if not database or database == ":memory:":
        raise ValueError("the relay needs a database file to lock beside")
    return SqliteRelayLock(Path(database))
