"""Consumer idempotency on SQL: the inbox row commits with the consumer's effect, or neither."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from ordertrail.adapters.db.tables import inbox
from ordertrail.services.messaging import Message

# The unique key decides, inside the transaction: no check-then-insert race. On PostgreSQL a
# concurrent insert of the same key waits for the other transaction, then does nothing if that
# one committed. Built once per dialect (keyed by "is this PostgreSQL").
_RECORD = {
    # RETURNING says whether a row went in; psycopg reports no rowcount for this statement.
    postgres: (postgresql.insert if postgres else sqlite.insert)(inbox)
    .on_conflict_do_nothing(index_elements=["consumer", "message_id"])
    .returning(inbox.c.message_id)
    for postgres in (False, True)
}


class SqlInbox:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._insert = _RECORD[connection.dialect.name == "postgresql"]

    def record(self, *, consumer: str, message: Message, processed_at: datetime) -> bool:
        result = self._connection.execute(
            self._insert,
            {
                "consumer": consumer,
                "message_id": message.message_id,
                "tenant_id": message.tenant_id,
                "processed_at": processed_at,
            },
        )
        return result.first() is not None
