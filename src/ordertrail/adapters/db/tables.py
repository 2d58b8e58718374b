"""The schema, as SQLAlchemy Core tables. Alembic migrations create it; tests compare the two.

Every table carries tenant_id, and every index a query uses starts with it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
Sequence64 = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases.

    PostgreSQL stores timestamptz. SQLite has no time zones, so values are converted to UTC and
    stored naive, and read back as UTC; a naive datetime on the way in is a bug and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _tenant() -> Column[str]:
    return Column("tenant_id", String(63), nullable=False)


events = Table(
    "events",
    metadata,
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    _tenant(),
    Column("event_id", String(128), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("source", String(100), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("body", Text, nullable=False, comment="The envelope as canonical JSON, as received."),
    Column("checksum_sha256", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("order_version", Integer, nullable=False),
    Column("status_after", String(32), nullable=False),
    Column("effect", String(16), nullable=False),
    Column("late", Boolean, nullable=False),
    UniqueConstraint("tenant_id", "event_id"),
    Index(None, "tenant_id", "order_id", "occurred_at", "seq"),
    comment="Append-only: every accepted event, exactly as received.",
)

transitions = Table(
    "transitions",
    metadata,
    Column("id", Sequence64, primary_key=True, autoincrement=True),
    _tenant(),
    Column("order_id", String(128), nullable=False),
    Column("order_version", Integer, nullable=False),
    Column("from_status", String(32), nullable=True),
    Column("to_status", String(32), nullable=False),
    Column("cause_event_id", String(128), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant_id", "order_id", "order_version"),
    comment="Append-only: every change of an order's status, with its cause.",
)

orders = Table(
    "orders",
    metadata,
    _tenant(),
    Column("order_id", String(128), nullable=False),
    Column("status", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("on_hold", Boolean, nullable=False),
    Column("disputed", Boolean, nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("last_occurred_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("state", Text, nullable=False, comment="The aggregate as JSON (order_to_state)."),
    PrimaryKeyConstraint("tenant_id", "order_id"),
    Index(None, "tenant_id", "status", "updated_at", "order_id"),
    Index(None, "tenant_id", "updated_at", "order_id"),
    comment="Current-state projection: rebuildable from events at any time.",
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("quarantine_id", String(36), primary_key=True),
    _tenant(),
    Column("received_at", UtcDateTime, nullable=False),
    Column("event_id", String(256), nullable=True),
    Column("order_id", String(256), nullable=True),
    Column("event_type", String(256), nullable=True),
    Column("source", String(256), nullable=True),
    Column("reason_code", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("field_errors", Text, nullable=False),
    Column("body", Text, nullable=False, comment="Everything the client sent."),
    Column("checksum_sha256", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Index(None, "tenant_id", "received_at", "quarantine_id"),
    Index(None, "tenant_id", "order_id"),
    comment="Rejected submissions with their reason; nothing a client sent is lost.",
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Sequence64, primary_key=True, autoincrement=True),
    _tenant(),
    Column("order_id", String(128), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("lane", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Column("traceparent", String(55), nullable=True, comment="W3C trace context of the ingest."),
    UniqueConstraint("tenant_id", "event_id"),
    Index(None, "published_at", "id"),
    # The relay scans each lane's unpublished rows in id order, critical first.
    Index(None, "lane", "published_at", "id"),
    comment="Transactional outbox: one milestone message per accepted event.",
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    _tenant(),
    Column("name", String(200), nullable=False),
    Column("roles", String(500), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("owner", String(200), nullable=True, comment="The person the key belongs to."),
    Index(None, "tenant_id"),
    comment="API keys: only the SHA-256 of the secret is stored.",
)


imports = Table(
    "imports",
    metadata,
    _tenant(),
    Column("file_sha256", String(64), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("actor", String(128), nullable=False),
    Column(
        "line_committed",
        Integer,
        nullable=False,
        comment="Every record starting on or before this line of the file is committed.",
    ),
    Column("applied", Integer, nullable=False),
    Column("duplicate", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("conflict", Integer, nullable=False),
    Column("unparseable", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "file_sha256"),
    comment="Batch-file imports: how far each file got for each tenant, so a re-run resumes.",
)

# ---- the event pipeline: the embedded broker's queue, consumer inbox, dead letters -------------

queue_messages = Table(
    "queue_messages",
    metadata,
    Column("id", Sequence64, primary_key=True, autoincrement=True),
    _tenant(),
    Column("message_id", String(200), nullable=False),
    Column("lane", String(16), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("headers", Text, nullable=False, comment="JSON object: traceparent, attempt, ..."),
    Column("enqueued_at", UtcDateTime, nullable=False),
    Column("available_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_failed_at", UtcDateTime, nullable=True),
    Column("last_failed_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("locked_by", String(100), nullable=True),
    # Publishing the same message twice (a relay retry after a lost confirm) enqueues it once.
    UniqueConstraint("lane", "message_id"),
    Index(None, "lane", "available_at", "id"),
    # Per-order ordering: "is an earlier message of this order still in the lane?" is a probe.
    Index(None, "lane", "tenant_id", "order_id", "id"),
    comment="The embedded (db://) broker: one row per message waiting for a consumer.",
)

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(100), nullable=False),
    Column("message_id", String(200), nullable=False),
    _tenant(),
    Column("processed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("consumer", "message_id"),
    comment="Consumer idempotency: written in the same transaction as the consumer's effect.",
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Sequence64, primary_key=True, autoincrement=True),
    _tenant(),
    Column("message_id", String(200), nullable=False),
    Column("lane", String(16), nullable=False),
    Column("consumer", String(100), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("headers", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_failed_at", UtcDateTime, nullable=False),
    Column("last_failed_at", UtcDateTime, nullable=False),
    Column("dead_at", UtcDateTime, nullable=False),
    Column("purged_at", UtcDateTime, nullable=True),
    Column("purged_by", String(128), nullable=True),
    Index(None, "tenant_id", "dead_at", "id"),
    comment="Messages a consumer gave up on, with their error; replayable with their ids.",
)

dead_letter_replays = Table(
    "dead_letter_replays",
    metadata,
    Column("id", Sequence64, primary_key=True, autoincrement=True),
    _tenant(),
    Column("dead_letter_id", BigInteger, nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("replayed_by", String(128), nullable=False),
    Column("replayed_at", UtcDateTime, nullable=False),
    Index(None, "tenant_id", "dead_letter_id"),
    comment="Append-only: who replayed which dead letter, and when.",
)

milestone_log = Table(
    "milestone_log",
    metadata,
    Column("id", Sequence64, primary_key=True, autoincrement=True),
    _tenant(),
    Column("consumer", String(100), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("lane", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False, comment="When ingest wrote the outbox row."),
    Column("handled_at", UtcDateTime, nullable=False, comment="When the consumer handled it."),
    # No unique key of its own: the consumer's inbox row, in the same transaction, is the key.
    Index(None, "tenant_id", "order_id", "id"),
    Index(None, "lane", "handled_at"),
    comment="The milestone log consumer: each milestone handled, with its end-to-end lag.",
)

APPEND_ONLY_TABLES = ("events", "transitions", "dead_letter_replays")
from ordertrail.adapters.db import tables_approvals as _tables_approvals  # noqa: E402, F401
from ordertrail.adapters.db import tables_audit as _tables_audit  # noqa: E402, F401
from ordertrail.adapters.db import tables_carriers as _tables_carriers  # noqa: E402, F401
from ordertrail.adapters.db import tables_controls as _tables_controls  # noqa: E402, F401
from ordertrail.adapters.db import tables_disputes as _tables_disputes  # noqa: E402, F401
from ordertrail.adapters.db import tables_monitoring as _tables_monitoring  # noqa: E402, F401
from ordertrail.adapters.db import tables_polling as _tables_polling  # noqa: E402, F401
from ordertrail.adapters.db import tables_reports as _tables_reports  # noqa: E402, F401
from ordertrail.adapters.db import tables_revenue as _tables_revenue  # noqa: E402, F401
from ordertrail.adapters.db import tables_sources as _tables_sources  # noqa: E402, F401
