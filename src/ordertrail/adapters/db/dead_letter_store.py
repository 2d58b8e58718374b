"""Dead letters on SQL: written by the brokers, read, replayed and purged by operators."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update

from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.tables import dead_letter_replays, dead_letters
from ordertrail.services.messaging import DeadLetter, Message
from ordertrail.services.pagination import decode_cursor, page_of
from ordertrail.services.ports import Page

LIST_LIMIT_MAX = 500
# A dead letter replayed more often than this is a loop, not an investigation.
REPLAYS_SHOWN_MAX = 1_000


def encode_headers(message: Message) -> str:
    """The JSON kept beside a message body: its headers, and apart from them its creation time.

    The headers are a JSON object of their own, so every header survives a round trip (a replay
    publishes exactly the headers that came in), whatever its name, `created_at` included.
    """
    return json.dumps(
        {"headers": dict(message.headers), "created_at": message.created_at.isoformat()},
        sort_keys=True,
    )


def decode_headers(text: str) -> tuple[dict[str, str], datetime]:
    """Split what encode_headers wrote (or, for older rows, flat headers) into headers and time.

    Older rows mixed `created_at` into the headers; their header values are all strings, so a
    `headers` entry that is an object marks the current layout.
    """
    document = json.loads(text)
    created_at = datetime.fromisoformat(document.pop("created_at"))
    if isinstance(document.get("headers"), dict):
        document = document["headers"]
    return {str(name): str(value) for name, value in document.items()}, created_at


def message_from_row(row: Any) -> Message:
    headers, created_at = decode_headers(row.headers)
    return Message(
        message_id=row.message_id,
        tenant_id=row.tenant_id,
        order_id=row.order_id,
        lane=row.lane,
        event_type=row.event_type,
        body=row.body,
        created_at=created_at,
        headers=headers,
    )


def insert_dead_letter(
    connection: Connection,
    *,
    message: Message,
    consumer: str,
    error: str,
    attempts: int,
    first_failed_at: datetime,
    last_failed_at: datetime,
) -> None:
    """Record a dead letter on `connection`, inside the caller's transaction."""
    connection.execute(
        insert(dead_letters).values(
            tenant_id=message.tenant_id,
            message_id=message.message_id,
            lane=message.lane,
            consumer=consumer,
            order_id=message.order_id,
            event_type=message.event_type,
            body=message.body,
            headers=encode_headers(message),
            error=error,
            attempts=attempts,
            first_failed_at=first_failed_at,
            last_failed_at=last_failed_at,
            dead_at=last_failed_at,
        )
    )


def _letter(row: Any, replays: tuple[tuple[str, datetime], ...] = ()) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        tenant_id=row.tenant_id,
        consumer=row.consumer,
        message=message_from_row(row),
        error=row.error,
        attempts=row.attempts,
        first_failed_at=row.first_failed_at,
        last_failed_at=row.last_failed_at,
        dead_at=row.dead_at,
        purged_at=row.purged_at,
        purged_by=row.purged_by,
        replays=replays,
    )


class SqlDeadLetterStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def list(
        self, *, tenant_id: str | None, include_purged: bool, limit: int, cursor: str | None
    ) -> Page:
        limit = max(1, min(limit, LIST_LIMIT_MAX))
        query = select(dead_letters).order_by(
            dead_letters.c.dead_at.desc(), dead_letters.c.id.desc()
        )
        if tenant_id is not None:
            query = query.where(dead_letters.c.tenant_id == tenant_id)
        if not include_purged:
            query = query.where(dead_letters.c.purged_at.is_(None))
        if cursor is not None:
            at_text, id_text = decode_cursor(cursor, arity=2)
            try:
                at, after_id = datetime.fromisoformat(at_text), int(id_text)
            except ValueError:
                raise ValueError("the cursor is not one this API issued") from None
            query = query.where(
                or_(
                    dead_letters.c.dead_at < at,
                    and_(dead_letters.c.dead_at == at, dead_letters.c.id < after_id),
                )
            )
        with self._engine.connect() as connection:
            rows = connection.execute(query.limit(limit + 1)).all()
        return page_of(
            rows=rows,
            limit=limit,
            items=[_letter(row).as_dict(with_body=False) for row in rows[:limit]],
            sort_key=lambda r: (r.dead_at.isoformat(), str(r.id)),
        )

    def get(self, *, tenant_id: str, dead_letter_id: int) -> DeadLetter | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(dead_letters).where(
                    dead_letters.c.tenant_id == tenant_id, dead_letters.c.id == dead_letter_id
                )
            ).first()
            if row is None:
                return None
            replays = connection.execute(
                select(dead_letter_replays.c.replayed_by, dead_letter_replays.c.replayed_at)
                .where(
                    dead_letter_replays.c.tenant_id == tenant_id,
                    dead_letter_replays.c.dead_letter_id == dead_letter_id,
                )
                .order_by(dead_letter_replays.c.id)
                .limit(REPLAYS_SHOWN_MAX)
            ).all()
        return _letter(row, tuple((by, at) for by, at in replays))

    def purge(
        self, *, tenant_id: str, dead_letter_id: int, actor: str, purged_at: datetime
    ) -> bool:
        statement = (
            update(dead_letters)
            .where(
                dead_letters.c.tenant_id == tenant_id,
                dead_letters.c.id == dead_letter_id,
                dead_letters.c.purged_at.is_(None),
            )
            .values(purged_at=purged_at, purged_by=actor)
        )
        with self._engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
            purged = connection.execute(statement).rowcount == 1
            connection.commit()
        return purged

    def record_replay(
        self, *, tenant_id: str, dead_letter_id: int, message_id: str, actor: str, at: datetime
    ) -> None:
        with self._engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
            connection.execute(
                insert(dead_letter_replays).values(
                    tenant_id=tenant_id,
                    dead_letter_id=dead_letter_id,
                    message_id=message_id,
                    replayed_by=actor,
                    replayed_at=at,
                )
            )
            connection.commit()
